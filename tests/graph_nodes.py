"""Node types used only by the runtime's tests, referenced from graph files as `tests.graph_nodes:Class`."""

from __future__ import annotations

import os
import time

from pydantic import Field

from graph.message import Message
from graph.node import In, Node, Out, Params


class Relay(Node):
    """Forwards every message unchanged, optionally after a delay."""

    inputs = {"in": In("*")}
    outputs = {"out": Out("text")}

    class Params(Params):
        delay_ms: float = Field(0.0, ge=0)

    def on_in(self, msg: Message) -> None:
        if self.params.delay_ms:
            time.sleep(self.params.delay_ms / 1000)
        self.emit("out", msg.data, {k: a.copy() for k, a in msg.arrays.items()})


class Slow(Node):
    """Takes `delay_ms` per frame, like a heavy model; reads the newest frame only."""

    inputs = {"frames": In("video/frame", policy="latest")}
    outputs = {"out": Out("text")}

    class Params(Params):
        delay_ms: float = 200.0

    def on_frames(self, msg: Message) -> None:
        time.sleep(self.params.delay_ms / 1000)
        self.emit("out", {"index": msg.data["index"]})


class Garbage(Node):
    """Sends random bytes straight onto its socket, as a broken or hostile peer would."""

    outputs = {"out": Out("text")}

    class Params(Params):
        fps: float = 50.0

    def setup(self) -> None:
        self.every(1 / self.params.fps, self.tick)

    def tick(self) -> None:
        sock = self._rt().pubs["out"]
        sock.send_multipart([os.urandom(16), os.urandom(64)])
        sock.send(os.urandom(32))


class Crash(Node):
    """Raises in setup: an ordinary crash the supervisor should restart, up to its cap."""

    inputs = {"in": In("*")}

    def setup(self) -> None:
        raise RuntimeError("boom")

    def on_in(self, msg: Message) -> None:  # pragma: no cover
        pass


class Hang(Node):
    """Stops answering on its first message, as a node stuck in a driver call would."""

    inputs = {"in": In("*")}

    def on_in(self, msg: Message) -> None:
        time.sleep(3600)
