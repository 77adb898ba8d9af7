"""Node types any graph may use: a synthetic source and two sinks for any kind."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import IO, Literal

import numpy as np
from pydantic import Field

from graph.message import Message
from graph.node import In, Node, Out, Params

KINDS = {"video": "video/frame", "audio": "audio/chunk", "text": "text"}


class TestSource(Node):
    """Synthetic video frames, audio chunks or text at a steady rate, stamped with real capture times."""

    __test__ = False  # not a pytest class
    outputs = {"out": Out("video/frame", "the chosen kind: video/frame, audio/chunk or text")}

    class Params(Params):
        kind: Literal["video", "audio", "text"] = "video"
        fps: float = Field(30.0, gt=0, description="messages per second")
        width: int = Field(640, gt=0)
        height: int = Field(480, gt=0)
        rate: int = Field(16000, gt=0, description="audio sample rate")
        text: str = "hello from test_source"
        count: int = Field(0, ge=0, description="stop after this many messages; 0 runs forever")

    @classmethod
    def output_ports(cls, params: Params) -> dict[str, Out]:
        return {"out": Out(KINDS[params.kind])}

    def setup(self) -> None:
        self.index = 0
        p = self.params
        if p.kind == "video":
            y, x = np.mgrid[0 : p.height, 0 : p.width]
            self.base = np.stack([x * 255 // max(p.width - 1, 1), y * 255 // max(p.height - 1, 1), 0 * x], -1).astype(np.uint8)
        self.every(1.0 / p.fps, self.tick)

    def tick(self) -> None:
        p, i = self.params, self.index
        if p.kind == "video":
            frame = np.roll(self.base, i * 4, axis=1)
            self.emit("out", {"index": i, "width": p.width, "height": p.height}, {"image": frame})
        elif p.kind == "audio":
            n = int(p.rate / p.fps)
            t = (np.arange(n) + i * n) / p.rate
            samples = (0.2 * 32767 * np.sin(2 * math.pi * 440 * t)).astype(np.int16)
            self.emit("out", {"index": i, "rate": p.rate}, {"samples": samples})
        else:
            self.emit("out", {"index": i, "text": p.text})
        self.index += 1
        if p.count and self.index >= p.count:
            self.stop()


class PrintSink(Node):
    """Prints one line per message: kind, stream, seq, age and its data."""

    inputs = {"in": In("*")}

    class Params(Params):
        every: int = Field(1, ge=1, description="print every Nth message")
        width: int = Field(160, ge=20, description="cut lines to this many characters")

    def setup(self) -> None:
        self.seen = 0

    def on_in(self, msg: Message) -> None:
        self.seen += 1
        if self.seen % self.params.every:
            return
        arrays = " ".join(f"{k}{list(a.shape)}" for k, a in msg.arrays.items())
        line = f"{msg.kind} {msg.stream}#{msg.seq} age={msg.age_ms:.1f}ms {json.dumps(msg.data, default=str)} {arrays}"
        print(line[: self.params.width], flush=True)


class JsonlSink(Node):
    """Writes every message as one JSON line (header and data; arrays by name, dtype and shape)."""

    inputs = {"in": In("*")}

    class Params(Params):
        path: Path
        append: bool = False

    def setup(self) -> None:
        self.params.path.parent.mkdir(parents=True, exist_ok=True)
        self.file: IO[str] = open(self.params.path, "a" if self.params.append else "w", encoding="utf-8")

    def on_in(self, msg: Message) -> None:
        self.file.write(json.dumps(as_record(msg), default=str) + "\n")
        self.file.flush()

    def teardown(self) -> None:
        if hasattr(self, "file"):
            self.file.close()


def as_record(msg: Message) -> dict:
    """A message as a JSON-able dict, the format of jsonl_sink files."""
    return {
        "v": msg.v, "kind": msg.kind, "stream": msg.stream, "seq": msg.seq, "t": msg.t,
        "recv": time.time_ns(), "trace": msg.trace, "data": msg.data,
        "arrays": {k: {"dtype": a.dtype.str, "shape": list(a.shape)} for k, a in msg.arrays.items()},
    }

