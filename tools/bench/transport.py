"""Per-hop latency and throughput of the runtime's sockets against bare pyzmq, in one run.

A pinger process sends a payload to an echo process and back: per-hop latency is half the round trip. The echo is a
real `Runtime` hosting a node (runtime path) or a bare pyzmq loop (baseline), over the same ipc or tcp endpoint kind.
Throughput streams messages through the same echo and counts what comes back per second.

    python tools/bench/transport.py [--json] [--sizes 1024,65536,921600,6220800] [--transports ipc,tcp]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from graph.message import Message  # noqa: E402
from graph.node import In, Node, Out  # noqa: E402
from graph.plan import InputPlan, NodePlan  # noqa: E402
from graph.transport import bind_pub, connect_sub, receive, send  # noqa: E402

SIZES = {"1KB": 1024, "64KB": 65536, "640x480 RGB": 921_600, "1080p RGB": 6_220_800}


class Echo(Node):
    """Sends every message straight back, arrays untouched (zero-copy in and out)."""

    inputs = {"in": In("*")}
    outputs = {"out": Out("bench")}

    def on_in(self, msg: Message) -> None:
        self.emit("out", msg.data, msg.arrays)


def endpoints(kind: str, tmp: str, n: int) -> tuple[str, str]:
    if kind == "ipc":
        return f"ipc://{tmp}/ping{n}", f"ipc://{tmp}/pong{n}"
    base = 47000 + 2 * n
    return f"tcp://127.0.0.1:{base}", f"tcp://127.0.0.1:{base + 1}"


def run_echo(mode: str, ping: str, pong: str) -> None:
    if mode == "runtime":
        from graph.worker import serve

        plan = NodePlan("bench", "echo", "echo", "tools.bench.transport:Echo", {}, {"in": InputPlan("*", "queue", [ping])},
                        {"out": pong}, {"out": 1}, "")
        serve(plan)
        return
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 1000)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(ping)
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 1000)
    pub.bind(pong)
    while True:
        pub.send_multipart(sub.recv_multipart(copy=False), copy=False)


class Pinger:
    def __init__(self, mode: str, ping: str, pong: str, payload: np.ndarray) -> None:
        self.mode, self.payload = mode, payload
        self.ctx = zmq.Context()
        if mode == "runtime":
            self.pub = bind_pub(self.ctx, ping)
            self.sub = connect_sub(self.ctx, [pong], latest=False)
        else:
            self.pub = self.ctx.socket(zmq.PUB)
            self.pub.setsockopt(zmq.SNDHWM, 1000)
            self.pub.bind(ping)
            self.sub = self.ctx.socket(zmq.SUB)
            self.sub.setsockopt(zmq.RCVHWM, 1000)
            self.sub.setsockopt(zmq.SUBSCRIBE, b"")
            self.sub.connect(pong)
        self.seq = 0

    def send(self) -> None:
        if self.mode == "runtime":
            send(self.pub, Message("bench", {"i": self.seq}, {"payload": self.payload}, "bench", self.seq, time.time_ns()))
        else:
            self.pub.send_multipart([self.seq.to_bytes(8, "little"), self.payload], copy=False)
        self.seq += 1

    def recv(self, timeout_ms: int) -> bool:
        if not self.sub.poll(timeout_ms):
            return False
        if self.mode == "runtime":
            while receive(self.sub, latest=False).message is None:
                self.sub.poll(timeout_ms)
        else:
            self.sub.recv_multipart(copy=False)
        return True

    def warm_up(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.send()
            if self.recv(100):
                while self.recv(50):
                    pass
                return
        raise RuntimeError("echo never answered")

    def close(self) -> None:
        self.pub.close(0)
        self.sub.close(0)
        self.ctx.term()


def measure(mode: str, transport: str, size: int, n: int, rounds: int, stream: int) -> dict:
    tmp = tempfile.mkdtemp(prefix="emograph-bench-")
    ping, pong = endpoints(transport, tmp, n)
    payload = np.random.default_rng(0).integers(0, 255, size, dtype=np.uint8)
    echo = mp.get_context("spawn").Process(target=run_echo, args=(mode, ping, pong), daemon=True)
    echo.start()
    pinger = Pinger(mode, ping, pong, payload)
    try:
        pinger.warm_up()
        hops = []
        for _ in range(rounds):
            t0 = time.perf_counter_ns()
            pinger.send()
            if not pinger.recv(5000):
                raise RuntimeError("lost a ping")
            hops.append((time.perf_counter_ns() - t0) / 2e3)  # microseconds per hop
        got, t0 = 0, time.perf_counter()
        for _ in range(stream):
            pinger.send()
            while pinger.recv(0):
                got += 1
        while pinger.recv(300):
            got += 1
        elapsed = time.perf_counter() - t0
    finally:
        pinger.close()
        echo.terminate()
        echo.join(5)
    hops.sort()
    return {
        "p50_us": round(statistics.median(hops), 1),
        "p99_us": round(hops[min(len(hops) - 1, int(0.99 * len(hops)))], 1),
        "msgs_per_s": round(got / elapsed, 1),
        "delivered": got,
        "sent": stream,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--transports", default="ipc,tcp")
    ap.add_argument("--sizes", default=",".join(str(v) for v in SIZES.values()))
    ap.add_argument("--rounds", type=int, default=300, help="round trips per case (fewer for payloads over 1 MB)")
    ap.add_argument("--stream", type=int, default=2000, help="messages streamed per case for throughput")
    args = ap.parse_args(argv)
    names = {v: k for k, v in SIZES.items()}
    results, n = [], 0
    for transport in args.transports.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            big = size > 1_000_000
            rounds, stream = (max(30, args.rounds // 5), max(100, args.stream // 10)) if big else (args.rounds, args.stream)
            row = {"transport": transport, "payload": names.get(size, f"{size} B"), "bytes": size}
            for mode in ("runtime", "pyzmq"):
                row[mode] = measure(mode, transport, size, n, rounds, stream)
                n += 1
            row["latency_ratio"] = round(row["runtime"]["p50_us"] / row["pyzmq"]["p50_us"], 3)
            row["throughput_ratio"] = round(row["runtime"]["msgs_per_s"] / max(row["pyzmq"]["msgs_per_s"], 1e-9), 3)
            results.append(row)
            if not args.json:
                r, b = row["runtime"], row["pyzmq"]
                print(
                    f"{transport:<4} {row['payload']:<12} hop p50/p99 us: runtime {r['p50_us']:>8.1f}/{r['p99_us']:>8.1f}"
                    f"  pyzmq {b['p50_us']:>8.1f}/{b['p99_us']:>8.1f}  ratio {row['latency_ratio']:.2f}"
                    f" | msg/s runtime {r['msgs_per_s']:>9.1f} pyzmq {b['msgs_per_s']:>9.1f} ratio {row['throughput_ratio']:.2f}",
                    flush=True,
                )
    if args.json:
        print(json.dumps({"benchmark": "transport", "cpu_count": os.cpu_count(), "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
