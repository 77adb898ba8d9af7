"""Read a published stream from your own program: `for event in subscribe(): ...`.

The stream is plain ZeroMQ (a topic frame, then one JSON object), so any language's ZeroMQ library reads it too.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import zmq

DEFAULT_ENDPOINT = "tcp://127.0.0.1:5560"


def subscribe(
    endpoint: str = DEFAULT_ENDPOINT,
    topic: str = "emotion",
    *,
    timeout_s: float | None = None,
    count: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield each event published on `endpoint`; stop after `count` events or `timeout_s` seconds of silence."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SUBSCRIBE, topic.encode())
    sock.connect(endpoint)
    seen = 0
    try:
        while count is None or seen < count:
            if not sock.poll(None if timeout_s is None else int(timeout_s * 1000)):
                return
            frames = sock.recv_multipart()
            if len(frames) != 2:
                continue
            try:
                event = json.loads(frames[1])
            except ValueError:
                continue
            seen += 1
            yield event
    finally:
        sock.close(0)
