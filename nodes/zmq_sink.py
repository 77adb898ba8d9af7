"""Publishes a stream as JSON for any ZeroMQ client: topic frame, then one JSON object (docs/stream.md)."""

from __future__ import annotations

import json
from pathlib import Path

import zmq
from pydantic import Field

from graph.message import Message
from graph.node import In, Node, NodeError, Params


class ZmqSink(Node):
    """Publishes each message's data as JSON on a PUB socket (127.0.0.1 unless you bind elsewhere)."""

    inputs = {"fused": In("*", doc="usually fusion.fused")}

    class Params(Params):
        bind: str = "tcp://127.0.0.1:5560"
        topic: str = "emotion"
        curve_secret: Path | None = Field(None, description="this publisher's NAME.key_secret: encrypt with CurveZMQ")
        curve_clients: Path | None = Field(None, description="folder of subscribers' public keys to accept (else any)")

    def setup(self) -> None:
        from graph.curve import KeyFileError, allow_only, serve_curve

        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.PUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDHWM, 100)
        self.auth = None
        try:
            if self.params.curve_secret:
                if self.params.curve_clients:
                    self.auth = allow_only(self.ctx, self.params.curve_clients)
                serve_curve(self.sock, self.params.curve_secret)
            self.sock.bind(self.params.bind)
        except KeyFileError as exc:
            raise NodeError(str(exc)) from None
        except zmq.ZMQError as exc:
            raise NodeError(f"cannot bind {self.params.bind}: {exc} (is another graph publishing there?)") from None
        self.topic = self.params.topic.encode()

    def on_fused(self, msg: Message) -> None:
        self.sock.send_multipart([self.topic, json.dumps(msg.data, separators=(",", ":")).encode()])

    def teardown(self) -> None:
        if hasattr(self, "sock"):
            self.sock.close(0)
        if getattr(self, "auth", None) is not None:
            self.auth.stop()
