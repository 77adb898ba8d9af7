"""`emograph top`: a live table of a running graph, fed by its supervisor's stats socket."""

from __future__ import annotations

import json
import sys
import time

import zmq

from graph.runs import live_runs

COLUMNS = f"{'node':<14}{'in/s':>8}{'out/s':>8}{'proc p50':>10}{'p99 ms':>8}{'e2e p50':>9}{'p99 ms':>8}{'lost':>6}{'skip':>6}{'bad':>5}{'err':>5}{'rst':>4}{'cpu%':>6}{'MB':>7}"


def row(s: dict) -> str:
    ins, outs = s.get("in", {}), s.get("out", {})
    rate_in = sum(p["rate"] for p in ins.values())
    rate_out = sum(p["rate"] for p in outs.values())
    lat = [p["latency_ms"] for p in ins.values() if p.get("latency_ms")]
    e50 = max((l["p50"] for l in lat), default=None)
    e99 = max((l["p99"] for l in lat), default=None)
    proc = s.get("proc_ms") or {}
    f = lambda v, w: f"{v:>{w}.1f}" if isinstance(v, (int, float)) else f"{'-':>{w}}"  # noqa: E731
    return (
        f"{s['node']:<14}{rate_in:>8.1f}{rate_out:>8.1f}{f(proc.get('p50'), 10)}{f(proc.get('p99'), 8)}"
        f"{f(e50, 9)}{f(e99, 8)}{sum(p['lost'] for p in ins.values()):>6}{sum(p['skipped'] for p in ins.values()):>6}"
        f"{sum(p['bad'] for p in ins.values()):>5}{s.get('errors', 0):>5}{s.get('restarts', 0):>4}"
        f"{s.get('cpu_percent', 0):>6.0f}{s.get('rss_mb', 0):>7.0f}"
    )


def top(graph: str | None, once: bool = False) -> int:
    runs = [r for r in live_runs() if graph in (None, r.graph)]
    if not runs:
        print(f"emograph top: no running graph{f' named {graph!r}' if graph else ''}", file=sys.stderr)
        return 2
    run = runs[0]
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(run.stats)
    latest: dict[str, dict] = {}
    next_draw = time.monotonic() + 1.5
    try:
        while True:
            if sock.poll(200):
                s = json.loads(sock.recv())
                latest[s["node"]] = s
            if time.monotonic() >= next_draw and latest:
                table = "\n".join([f"graph '{run.graph}' (supervisor {run.pid})", COLUMNS, *(row(latest[n]) for n in sorted(latest))])
                if once:
                    print(table)
                    return 0
                sys.stdout.write("\x1b[H\x1b[2J" + table + "\n")
                sys.stdout.flush()
                next_draw = time.monotonic() + 1.0
    except KeyboardInterrupt:
        return 0
    finally:
        sock.close(0)
