"""Publishes a stream as JSON for any ZeroMQ client: topic frame, then one JSON object (docs/stream.md)."""

from __future__ import annotations

import json

import zmq

from graph.message import Message
from graph.node import In, Node, Params


class ZmqSink(Node):
    """Publishes each message's data as JSON on a PUB socket (127.0.0.1 unless you bind elsewhere)."""

    inputs = {"fused": In("*", doc="usually fusion.fused")}

    class Params(Params):
        bind: str = "tcp://127.0.0.1:5560"
        topic: str = "emotion"

    def setup(self) -> None:
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.PUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDHWM, 100)
        try:
            self.sock.bind(self.params.bind)
        except zmq.ZMQError as exc:
            from graph.node import NodeError

            raise NodeError(f"cannot bind {self.params.bind}: {exc} (is another graph publishing there?)") from None
        self.topic = self.params.topic.encode()

    def on_fused(self, msg: Message) -> None:
        self.sock.send_multipart([self.topic, json.dumps(msg.data, separators=(",", ":")).encode()])

    def teardown(self) -> None:
        if hasattr(self, "sock"):
            self.sock.close(0)
