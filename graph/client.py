"""Read a published stream from your own program: `for event in subscribe(): ...`.

The stream is plain ZeroMQ (a topic frame, then one JSON object), so any language's ZeroMQ library reads it too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import zmq

DEFAULT_ENDPOINT = "tcp://127.0.0.1:5560"


def subscribe(
    endpoint: str = DEFAULT_ENDPOINT,
    topic: str = "emotion",
    *,
    timeout_s: float | None = None,
    count: int | None = None,
    server_key: Path | None = None,
    client_key: Path | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield each event published on `endpoint`; stop after `count` events or `timeout_s` seconds of silence.

    `server_key` is the publisher's public key file when it encrypts (CurveZMQ); `client_key` this subscriber's
    NAME.key_secret when the publisher accepts listed keys only.
    """
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    if server_key is not None:
        from graph.curve import connect_curve

        connect_curve(sock, server_key, client_key)
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
