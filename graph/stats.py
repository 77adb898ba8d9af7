"""Per-node counters and one-second windows of timings, reported as one JSON-able dict a second."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import psutil


def percentiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": round(float(p50), 3), "p95": round(float(p95), 3), "p99": round(float(p99), 3), "max": round(max(values), 3)}


@dataclass
class PortIn:
    total: int = 0
    lost: int = 0  # seq gaps on the way here
    skipped: int = 0  # passed over on a `latest` edge
    bad: int = 0  # did not decode
    window: int = 0
    latency_ms: list[float] = field(default_factory=list)  # capture -> received here
    hop_ms: list[float] = field(default_factory=list)  # previous node's send -> received here
    last_seq: dict[str, int] = field(default_factory=dict)  # per producer

    def seen(self, producer: str, seq: int) -> None:
        last = self.last_seq.get(producer)
        if last is not None and seq > last + 1:
            self.lost += seq - last - 1
        self.last_seq[producer] = seq  # a lower seq means the producer restarted: start counting again


@dataclass
class PortOut:
    total: int = 0
    window: int = 0


class NodeStats:
    def __init__(self, node: str, inputs: list[str], outputs: list[str]) -> None:
        self.node = node
        self.inputs = {p: PortIn() for p in inputs}
        self.outputs = {p: PortOut() for p in outputs}
        self.proc_ms: list[float] = []
        self.errors = 0
        self.counters: dict[str, int] = defaultdict(int)
        self.started = time.monotonic()
        self._window_start = time.monotonic()
        self._proc = psutil.Process(os.getpid())
        self._proc.cpu_percent(None)

    def report(self) -> dict:
        now = time.monotonic()
        span = max(now - self._window_start, 1e-6)
        mem = self._proc.memory_info().rss / 2**20
        out = {
            "type": "stats",
            "node": self.node,
            "pid": os.getpid(),
            "time": time.time(),
            "uptime_s": round(now - self.started, 1),
            "in": {
                p: {
                    "total": s.total, "rate": round(s.window / span, 2), "lost": s.lost, "skipped": s.skipped,
                    "bad": s.bad, "latency_ms": percentiles(s.latency_ms), "hop_ms": percentiles(s.hop_ms),
                }
                for p, s in self.inputs.items()
            },
            "out": {p: {"total": s.total, "rate": round(s.window / span, 2)} for p, s in self.outputs.items()},
            "proc_ms": percentiles(self.proc_ms),
            "errors": self.errors,
            "counters": dict(self.counters),
            "cpu_percent": self._proc.cpu_percent(None),
            "rss_mb": round(mem, 1),
        }
        for s in self.inputs.values():
            s.window, s.latency_ms, s.hop_ms = 0, [], []
        for o in self.outputs.values():
            o.window = 0
        self.proc_ms = []
        self._window_start = now
        return out
