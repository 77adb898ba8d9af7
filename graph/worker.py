"""One node in one process: sockets, the event loop, timers, stats and heartbeats.

    python -m graph.worker GRAPH.yaml NODE    run one node alone against a running graph (started with --skip NODE)
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import msgpack
import numpy as np
import zmq

from graph.message import Message
from graph.node import Node, NodeError
from graph.plan import NodePlan, RunPlan
from graph.registry import load
from graph.stats import NodeStats
from graph.transport import bind_pub, connect_sub, count_subscriptions, receive, send

REPORT_S = 1.0
SUBSCRIBE_WAIT_S = 5.0  # a source waits this long at most for its consumers before it starts
MAX_WAIT_S = 0.1  # the longest the loop sleeps, so signals and a vanished parent are noticed quickly
EXIT_CONFIG = 2  # a NodeError: a problem the user must fix, not worth restarting for


@dataclass
class Timer:
    period: float
    callback: Callable[[], None]
    due: float


class Runtime:
    """Hosts one Node: receives, dispatches to `on_<port>`, runs timers, emits, reports."""

    def __init__(self, plan: NodePlan, ctx: zmq.Context | None = None) -> None:
        self.plan = plan
        self.ctx = ctx or zmq.Context.instance()
        cls = load(plan.target)
        params = cls.Params(**plan.params)
        self.node: Node = cls(plan.name, params, self)
        self.kinds = {port: out.kind for port, out in cls.output_ports(params).items()}
        self.handlers = {port: getattr(self.node, f"on_{port}") for port in plan.inputs}
        self.stats = NodeStats(plan.name, list(plan.inputs), list(plan.outputs))
        self.timers: list[Timer] = []
        self.seq = {port: 0 for port in plan.outputs}
        self.current: Message | None = None
        self.recv_ns = 0
        self.running = True
        self.pubs: dict[str, zmq.Socket] = {}
        self.subs: dict[str, zmq.Socket] = {}
        self.control: zmq.Socket | None = None

    # -- the Node's side ---------------------------------------------------------------------------------------
    def emit(self, port: str, data: dict, arrays: dict[str, np.ndarray], *, t: int | None, stream: str | None) -> None:
        if port not in self.pubs:
            raise KeyError(f"node '{self.plan.name}' has no output port '{port}' (outputs: {', '.join(self.pubs)})")
        cur, now = self.current, time.time_ns()
        trace = [*cur.trace, [self.plan.name, self.recv_ns, now]] if cur else [[self.plan.name, now, now]]
        msg = Message(
            kind=self.kinds[port], data=data, arrays=arrays,
            stream=stream or (cur.stream if cur else self.plan.name), seq=self.seq[port],
            t=t if t is not None else (cur.t if cur else now), trace=trace,
        )
        send(self.pubs[port], msg)
        self.seq[port] += 1
        out = self.stats.outputs[port]
        out.total += 1
        out.window += 1

    def add_timer(self, period_s: float, callback: Callable[[], None]) -> None:
        self.timers.append(Timer(max(0.0, period_s), callback, time.monotonic()))

    def count(self, counter: str, n: int) -> None:
        self.stats.counters[counter] += n

    def stop(self) -> None:
        self.running = False

    # -- the process's side ------------------------------------------------------------------------------------
    def open(self) -> None:
        for port, endpoint in self.plan.outputs.items():
            self.pubs[port] = bind_pub(self.ctx, endpoint)
        for port, inp in self.plan.inputs.items():
            self.subs[port] = connect_sub(self.ctx, inp.endpoints, latest=inp.policy == "latest")
        if self.plan.control:
            self.control = self.ctx.socket(zmq.PUSH)
            self.control.setsockopt(zmq.LINGER, 0)
            self.control.setsockopt(zmq.SNDHWM, 10)
            self.control.connect(self.plan.control)

    def close(self) -> None:
        """Inputs and control go at once; outputs keep their linger so the last messages still leave."""
        for sock in [*self.subs.values(), *([self.control] if self.control else [])]:
            sock.close(linger=0)
        for sock in self.pubs.values():
            sock.close()

    def run(self) -> int:
        self.open()
        try:
            self.node.setup()
            self._tell({"type": "ready", "node": self.plan.name, "pid": os.getpid()})
            self._await_subscribers()
            self._loop()
        finally:
            try:
                self.node.teardown()
            finally:
                self.close()
        return 0

    def _await_subscribers(self) -> None:
        """Hold the timers (a source's first frames) until every consumer is connected, so none is lost."""
        want = dict(self.plan.subscribers)
        deadline = time.monotonic() + SUBSCRIBE_WAIT_S
        while self.running and time.monotonic() < deadline:
            for port, sock in self.pubs.items():
                want[port] -= count_subscriptions(sock)
            if all(n <= 0 for n in want.values()):
                return
            time.sleep(0.005)

    def _loop(self) -> None:
        poller = zmq.Poller()
        by_sock = {}
        for port, sock in self.subs.items():
            poller.register(sock, zmq.POLLIN)
            by_sock[sock] = port
        next_report = time.monotonic() + REPORT_S
        parent = os.getppid()
        while self.running:
            now = time.monotonic()
            wait = min([next_report - now, MAX_WAIT_S, *(t.due - now for t in self.timers)])
            ready = poller.poll(max(0.0, wait) * 1000) if by_sock else (time.sleep(max(0.0, wait)) or [])
            for sock, _ in ready:
                self._take(by_sock[sock], sock)
            now = time.monotonic()
            for timer in self.timers:
                if now >= timer.due and self.running:
                    timer.callback()
                    timer.due = max(timer.due + timer.period, now) if timer.period else now
            if now >= next_report:
                self._tell(self.stats.report())
                next_report = now + REPORT_S
                if os.getppid() != parent and parent != 1:
                    logging.getLogger(self.plan.name).warning("supervisor is gone; stopping")
                    self.running = False

    def _take(self, port: str, sock: zmq.Socket) -> None:
        inp = self.stats.inputs[port]
        got = receive(sock, latest=self.plan.inputs[port].policy == "latest")
        inp.bad += got.bad
        inp.skipped += got.skipped
        msg = got.message
        if msg is None:
            return
        self.recv_ns = time.time_ns()
        inp.total += 1
        inp.window += 1
        producer = msg.trace[-1][0] if msg.trace and isinstance(msg.trace[-1], list) and msg.trace[-1] else msg.stream
        inp.seen(str(producer), msg.seq)
        if msg.t:
            inp.latency_ms.append((self.recv_ns - msg.t) / 1e6)
        if msg.trace and isinstance(msg.trace[-1], list) and len(msg.trace[-1]) == 3:
            inp.hop_ms.append((self.recv_ns - int(msg.trace[-1][2])) / 1e6)
        self.current = msg
        start = time.perf_counter()
        try:
            self.handlers[port](msg)
        except NodeError:
            raise
        except Exception:  # a message a handler cannot digest is dropped and counted, never fatal
            self.stats.errors += 1
            if self.stats.errors == 1 or self.stats.errors % 100 == 0:
                logging.getLogger(self.plan.name).error(
                    "dropped a message on '%s' (error %d):\n%s", port, self.stats.errors, traceback.format_exc().rstrip()
                )
        finally:
            self.stats.proc_ms.append((time.perf_counter() - start) * 1000)
            self.current = None

    def _tell(self, report: dict[str, Any]) -> None:
        if self.control is None:
            return
        try:
            self.control.send(msgpack.packb(report, use_bin_type=True), flags=zmq.NOBLOCK)
        except zmq.Again:
            pass


def _die_with_parent() -> None:
    """Linux: the kernel sends SIGTERM to this process when the supervisor dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # elsewhere the loop's parent check does it, within a second


def serve(plan: NodePlan) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    runtime = Runtime(plan)

    def on_signal(signum: int, _frame: object) -> None:
        runtime.running = False

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return runtime.run()
    except NodeError as exc:
        print(f"node '{plan.name}': {exc}", file=sys.stderr)
        return EXIT_CONFIG
    finally:
        runtime.ctx.destroy(linger=500)  # a finished source still delivers its last frames; a stray socket cannot hang us


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m graph.worker", description=__doc__.strip().splitlines()[0])
    ap.add_argument("graph", help="the graph file, or a plan.json (what the supervisor passes)")
    ap.add_argument("node")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _die_with_parent()
        plan = RunPlan.load(Path(args.graph))
    else:
        from graph.runs import attach_plan  # only when run by hand

        plan = attach_plan(args.graph, args.node)
        if plan is None:
            return EXIT_CONFIG
    if args.node not in plan.nodes:
        print(f"{args.graph}: no node '{args.node}' on this host (nodes: {', '.join(plan.nodes)})", file=sys.stderr)
        return EXIT_CONFIG
    return serve(plan.nodes[args.node])


if __name__ == "__main__":
    sys.exit(main())
