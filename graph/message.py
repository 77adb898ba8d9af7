"""The wire format: one ZeroMQ multipart message per item.

Frame 0 is a msgpack header; frames 1..n are the raw buffers of the arrays, sent and received without a copy.
Anything that does not decode raises `DecodeError`, which the runtime counts and drops.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np

VERSION = 1


class DecodeError(ValueError):
    """A message on a socket that is not ours, or is broken."""


@dataclass
class Message:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    stream: str = ""
    seq: int = 0
    t: int = 0  # capture time, ns since the epoch, carried unchanged through derived messages
    trace: list[list[Any]] = field(default_factory=list)  # [node, recv_ns, send_ns] per hop
    v: int = VERSION

    @property
    def age_ms(self) -> float:
        """Milliseconds from capture to now."""
        return (time.time_ns() - self.t) / 1e6


def encode(msg: Message) -> list[Any]:
    """Header plus one buffer per array; arrays are passed by reference (zero-copy)."""
    specs = []
    buffers: list[Any] = []
    for name, arr in msg.arrays.items():
        a = np.ascontiguousarray(arr)
        specs.append([name, a.dtype.str, list(a.shape)])
        buffers.append(memoryview(a).cast("B") if a.size else b"")
    header = {
        "v": msg.v,
        "kind": msg.kind,
        "stream": msg.stream,
        "seq": msg.seq,
        "t": msg.t,
        "trace": msg.trace,
        "data": msg.data,
        "arrays": specs,
    }
    return [msgpack.packb(header, use_bin_type=True, default=_to_plain), *buffers]


def decode(frames: list[Any]) -> Message:
    """Inverse of `encode`. Arrays are read-only views on the received buffers."""
    if not frames:
        raise DecodeError("empty message")
    try:
        header = msgpack.unpackb(_bytes(frames[0]), raw=False, strict_map_key=False)
    except Exception as exc:  # msgpack raises several unrelated types
        raise DecodeError(f"header is not msgpack: {exc}") from None
    if not isinstance(header, dict) or header.get("v") != VERSION or not isinstance(header.get("kind"), str):
        raise DecodeError("header lacks v/kind or has another schema version")
    specs = header.get("arrays") or []
    if not isinstance(specs, list) or len(specs) != len(frames) - 1:
        raise DecodeError(f"header names {len(specs) if isinstance(specs, list) else '?'} arrays, got {len(frames) - 1}")
    arrays: dict[str, np.ndarray] = {}
    try:
        for (name, dtype, shape), frame in zip(specs, frames[1:]):
            buf = frame.buffer if hasattr(frame, "buffer") else frame
            arrays[name] = np.frombuffer(buf, dtype=np.dtype(dtype)).reshape(shape)
        return Message(
            kind=header["kind"],
            data=dict(header.get("data") or {}),
            arrays=arrays,
            stream=str(header.get("stream", "")),
            seq=int(header.get("seq", 0)),
            t=int(header.get("t", 0)),
            trace=list(header.get("trace") or []),
        )
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"bad array or field: {exc}") from None


def _bytes(frame: Any) -> bytes | memoryview:
    return frame.buffer if hasattr(frame, "buffer") else frame


def _to_plain(obj: Any) -> Any:
    """Let handlers put numpy scalars and small arrays in `data` without thinking about it."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"cannot send {type(obj).__name__} in a message's data")
