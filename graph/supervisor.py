"""`emograph run`: one process per node, supervised.

It prefixes every log line with the node's name, restarts crashed or hung nodes with back-off, forwards stats to
`emograph top` and `--stats`, and stops everything within 3 s on Ctrl-C or SIGTERM. Children die with it even if it
is killed with SIGKILL (PR_SET_PDEATHSIG, plus a parent check in each worker's loop).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TextIO

import msgpack
import zmq

from graph.plan import NodePlan, make_plan
from graph.runs import RunInfo, new_run_dir, write_info
from graph.spec import LOCAL, GraphSpec
from graph.worker import EXIT_CONFIG

STOP_GRACE_S = 2.0  # SIGTERM, then SIGKILL: all gone within 3 s
STABLE_S = 30.0  # a node that ran this long has its back-off reset
DRAINED_S = 2.0  # once every source has finished, a graph whose nodes took nothing in for this long is done
BACKOFF_S = (0.25, 8.0)


@dataclass
class Child:
    plan: NodePlan
    proc: subprocess.Popen | None = None
    state: str = "waiting"  # waiting | running | done | failed
    started: float = 0.0
    ready: bool = False
    last_seen: float = 0.0
    restarts: int = 0
    streak: int = 0
    next_start: float = 0.0
    taken: int = -1  # messages taken in so far, from its last report
    idle_since: float = 0.0
    threads: list[threading.Thread] = field(default_factory=list)


class Supervisor:
    def __init__(
        self,
        spec: GraphSpec,
        *,
        host: str = LOCAL,
        duration: float | None = None,
        stats_path: Path | None = None,
        skip: tuple[str, ...] = (),
        out: TextIO = sys.stdout,
        err: TextIO = sys.stderr,
    ) -> None:
        self.spec = spec
        self.host = host
        self.duration = duration
        self.stats_path = stats_path
        self.skip = skip
        self.out, self.err = out, err
        self.lock = threading.Lock()
        self.stopping = False
        self.exit_code = 0

    def say(self, text: str) -> None:
        self._write(self.err, "emograph", text)

    def run(self) -> int:
        run_dir = new_run_dir(self.spec.name)
        plan = make_plan(self.spec, run_dir, self.host)
        plan_path = plan.save()
        ctx = zmq.Context()
        control = ctx.socket(zmq.PULL)
        control.bind(plan.control)
        stats_pub = ctx.socket(zmq.PUB)
        stats_pub.setsockopt(zmq.LINGER, 0)
        stats_pub.bind(plan.stats)
        write_info(RunInfo(plan.graph, plan.path, os.getpid(), self.host, str(run_dir), plan.stats, list(self.skip), time.time()))
        stats_file = open(self.stats_path, "a", encoding="utf-8") if self.stats_path else None
        children = {n: Child(p) for n, p in plan.nodes.items() if n not in self.skip}
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        self.say(f"graph '{plan.graph}': {len(children)} node(s) on host '{self.host}', run folder {run_dir}")
        deadline = time.monotonic() + self.duration if self.duration else None
        try:
            while not self.stopping:
                if control.poll(100):
                    self._drain(control, children, stats_pub, stats_file)
                now = time.monotonic()
                for child in children.values():
                    self._tend(child, plan_path, now)
                if deadline and now >= deadline:
                    self.say(f"ran for {self.duration:g} s; stopping")
                    break
                if children and all(c.state in ("done", "failed") for c in children.values()):
                    self.say("every node has finished")
                    break
                if self._drained(children, now):
                    self.say("every source has finished and the rest is drained; stopping")
                    break
        finally:
            self._shutdown(children)
            for s, handler in old.items():
                signal.signal(s, handler)
            control.close(0)
            stats_pub.close(0)
            ctx.term()
            if stats_file:
                stats_file.close()
            shutil.rmtree(run_dir, ignore_errors=True)
        return self.exit_code

    # -- children ----------------------------------------------------------------------------------------------
    def _tend(self, child: Child, plan_path: Path, now: float) -> None:
        if child.state == "waiting" and now >= child.next_start:
            self._start(child, plan_path)
        elif child.state == "running" and child.proc is not None:
            rc = child.proc.poll()
            if rc is not None:
                self._exited(child, rc, now)
            elif self._hung(child, now):
                self.say(f"node '{child.plan.name}' sent no heartbeat for {now - child.last_seen:.1f} s; killing it")
                child.proc.kill()

    def _drained(self, children: dict[str, Child], now: float) -> bool:
        """Files are done: sources finished, and every other node is alive, reporting, and took nothing in lately."""
        sources = [c for c in children.values() if not c.plan.inputs]
        if not sources or any(c.state != "done" for c in sources):
            return False
        return all(
            c.state in ("done", "failed")
            or (c.state == "running" and now - c.last_seen < 1.5 and c.taken >= 0 and now - c.idle_since >= DRAINED_S)
            for c in children.values() if c.plan.inputs
        )

    def _hung(self, child: Child, now: float) -> bool:
        limit = child.plan.hang_timeout if child.ready else max(60.0, 4 * child.plan.hang_timeout)
        return now - child.last_seen > limit

    def _start(self, child: Child, plan_path: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        child.proc = subprocess.Popen(
            [sys.executable, "-m", "graph.worker", "--child", str(plan_path), child.plan.name],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env, text=True, errors="replace",
        )
        child.state, child.ready = "running", False
        child.started = child.last_seen = time.monotonic()
        child.threads = [
            threading.Thread(target=self._pump, args=(child.proc.stdout, self.out, child.plan.name), daemon=True),
            threading.Thread(target=self._pump, args=(child.proc.stderr, self.err, child.plan.name), daemon=True),
        ]
        for t in child.threads:
            t.start()

    def _exited(self, child: Child, rc: int, now: float) -> None:
        name, policy = child.plan.name, child.plan.restart
        if rc == EXIT_CONFIG:
            self.say(f"node '{name}' cannot run (see its message above); stopping the graph")
            child.state, self.exit_code, self.stopping = "failed", EXIT_CONFIG, True
            return
        if rc == 0 and policy != "always" or policy == "never":
            child.state = "done" if rc == 0 else "failed"
            self.say(f"node '{name}' {'finished' if rc == 0 else f'exited with {_describe(rc)}'}")
            return
        if now - child.started > STABLE_S:
            child.streak = 0
        if child.streak >= child.plan.max_restarts:
            self.say(f"node '{name}' exited with {_describe(rc)} after {child.streak} restart(s); giving up")
            child.state, self.exit_code, self.stopping = "failed", 1, True
            return
        delay = min(BACKOFF_S[0] * 2**child.streak, BACKOFF_S[1])
        child.streak += 1
        child.restarts += 1
        child.state, child.next_start = "waiting", now + delay
        self.say(f"node '{name}' exited with {_describe(rc)}; restart {child.restarts} in {delay:.2f} s")

    def _shutdown(self, children: dict[str, Child]) -> None:
        live = [c.proc for c in children.values() if c.proc is not None and c.proc.poll() is None]
        for proc in live:
            _signal(proc, signal.SIGTERM)
        end = time.monotonic() + STOP_GRACE_S
        for proc in live:
            try:
                proc.wait(timeout=max(0.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(proc, signal.SIGKILL)
        for proc in live:
            proc.wait()
        for child in children.values():
            for t in child.threads:
                t.join(timeout=0.5)

    # -- control channel ---------------------------------------------------------------------------------------
    def _drain(self, control: zmq.Socket, children: dict[str, Child], pub: zmq.Socket, stats_file: IO | None) -> None:
        while True:
            try:
                raw = control.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                report = msgpack.unpackb(raw, raw=False)
                name = report["node"]
            except Exception:  # anything can connect to a socket; a bad report is ignored
                continue
            child = children.get(name)
            if child is not None:
                child.last_seen = time.monotonic()
                child.ready = True
            if report.get("type") != "stats":
                continue
            report["graph"] = self.spec.name
            report["restarts"] = child.restarts if child else 0
            if child is not None:
                taken = sum(p.get("total", 0) for p in report.get("in", {}).values())
                if taken != child.taken:
                    child.taken, child.idle_since = taken, time.monotonic()
            line = json.dumps(report)
            pub.send_string(line)
            if stats_file:
                stats_file.write(line + "\n")
                stats_file.flush()

    # -- plumbing ----------------------------------------------------------------------------------------------
    def _pump(self, stream: IO[str], sink: TextIO, name: str) -> None:
        for line in stream:
            self._write(sink, name, line.rstrip("\n"))

    def _write(self, sink: TextIO, name: str, text: str) -> None:
        with self.lock:
            try:
                sink.write(f"{name:>10} | {text}\n")
                sink.flush()
            except (ValueError, OSError):
                pass

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.say(f"{signal.Signals(signum).name}: stopping")


def _signal(proc: subprocess.Popen, sig: int) -> None:
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass


def _describe(rc: int) -> str:
    return f"signal {signal.Signals(-rc).name}" if rc < 0 else f"code {rc}"
