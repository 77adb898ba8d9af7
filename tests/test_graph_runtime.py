"""The runtime with real processes and real sockets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from graph.message import DecodeError, Message, decode, encode

EMOGRAPH = [sys.executable, "-m", "tools.cli"]
ROOT = Path(__file__).resolve().parents[1]


def write(tmp: Path, text: str, name: str = "g.yaml") -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*EMOGRAPH, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([*EMOGRAPH, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def stats(path: Path) -> list[dict]:
    return records(path)


def wait_for(cond, timeout: float, step: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(step)
    return cond()


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in state  # a zombie has exited; only its parent's bookkeeping is left


def node_pids(stats_path: Path) -> dict[str, set[int]]:
    pids: dict[str, set[int]] = {}
    for s in stats(stats_path):
        pids.setdefault(s["node"], set()).add(s["pid"])
    return pids


# -- messages ------------------------------------------------------------------------------------------------------
def test_message_round_trip_keeps_arrays_and_header() -> None:
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    boxes = np.array([[1.5, 2, 3, 4]], dtype=np.float32)
    msg = Message("faces", {"n": 1, "labels": ["a"]}, {"image": img, "boxes": boxes}, "cam", 7, 123, [["a", 1, 2]])
    back = decode([bytes(f) for f in encode(msg)])
    assert (back.kind, back.stream, back.seq, back.t, back.trace, back.data) == ("faces", "cam", 7, 123, [["a", 1, 2]], {"n": 1, "labels": ["a"]})
    assert np.array_equal(back.arrays["image"], img) and back.arrays["boxes"].dtype == np.float32


@pytest.mark.parametrize("frames", [[b""], [os.urandom(40)], [b"\x81\xa1v\x01"], [encode(Message("x"))[0], b"extra"]])
def test_garbage_does_not_decode(frames: list[bytes]) -> None:
    with pytest.raises(DecodeError):
        decode(frames)


# -- graphs as processes ---------------------------------------------------------------------------------------------
def test_queue_edges_deliver_every_message_in_order(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    g = write(tmp_path, f"""
name: three
nodes:
  src:   {{type: test_source, params: {{kind: text, fps: 200, count: 300}}}}
  relay: {{type: "tests.graph_nodes:Relay", inputs: {{in: src.out}}}}
  sink:  {{type: jsonl_sink, inputs: {{in: relay.out}}, params: {{path: "{out}"}}}}
""")
    proc = start(["run", str(g), "--duration", "20"])
    wait_for(lambda: len(records(out)) >= 300, 20)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    got = records(out)
    assert [r["data"]["index"] for r in got] == list(range(300))
    assert [r["seq"] for r in got] == list(range(300))
    assert all(r["trace"][0][0] == "src" and r["trace"][-1][0] == "relay" for r in got)


def test_latest_edge_keeps_latency_low_behind_a_slow_node(tmp_path: Path) -> None:
    out, st = tmp_path / "out.jsonl", tmp_path / "stats.jsonl"
    g = write(tmp_path, f"""
name: slow
nodes:
  cam:  {{type: test_source, params: {{kind: video, fps: 30, width: 640, height: 480}}}}
  slow: {{type: "tests.graph_nodes:Slow", inputs: {{frames: cam.out}}, params: {{delay_ms: 200}}}}
  sink: {{type: jsonl_sink, inputs: {{in: slow.out}}, params: {{path: "{out}"}}}}
""")
    res = run(["run", str(g), "--duration", "6", "--stats", str(st)])
    assert res.returncode == 0, res.stderr
    got = records(out)
    assert len(got) >= 15  # ~5 per second once started
    latency_ms = [(r["recv"] - r["t"]) / 1e6 for r in got[3:]]
    assert max(latency_ms) < 400, latency_ms
    indices = [r["data"]["index"] for r in got]
    assert indices[-1] - indices[0] > 2 * len(indices)  # frames were skipped, not queued
    skipped = max(s["in"]["frames"]["skipped"] for s in stats(st) if s["node"] == "slow")
    assert skipped > 0


def test_a_killed_node_is_back_within_two_seconds(tmp_path: Path) -> None:
    out, st = tmp_path / "out.jsonl", tmp_path / "stats.jsonl"
    g = write(tmp_path, f"""
name: killme
nodes:
  src:   {{type: test_source, params: {{kind: text, fps: 50}}}}
  relay: {{type: "tests.graph_nodes:Relay", inputs: {{in: src.out}}}}
  sink:  {{type: jsonl_sink, inputs: {{in: relay.out}}, params: {{path: "{out}"}}}}
""")
    proc = start(["run", str(g), "--duration", "30", "--stats", str(st)])
    try:
        first = wait_for(lambda: node_pids(st).get("relay"), 20)
        assert first, "relay never reported"
        victim = next(iter(first))
        os.kill(victim, signal.SIGKILL)
        killed_at = time.time_ns()
        assert wait_for(lambda: len(records(out)) and records(out)[-1]["t"] > killed_at + 0.5e9, 2.5), "stream did not resume within 2 s"
        assert any(p != victim for p in node_pids(st).get("relay", ())) or wait_for(
            lambda: any(p != victim for p in node_pids(st).get("relay", ())), 2
        )
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert "restart 1" in err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_no_node_outlives_the_supervisor(tmp_path: Path, sig: signal.Signals) -> None:
    st = tmp_path / "stats.jsonl"
    g = write(tmp_path, """
name: stopme
nodes:
  src:  {type: test_source, params: {kind: video, fps: 30}}
  slow: {type: "tests.graph_nodes:Slow", inputs: {frames: src.out}, params: {delay_ms: 1000}}
  sink: {type: print_sink, inputs: {in: slow.out}}
""")
    proc = start(["run", str(g), "--duration", "60", "--stats", str(st)])
    pids = wait_for(lambda: (p := node_pids(st)) and len(p) == 3 and p, 20)
    assert pids, "the graph did not come up"
    t0 = time.monotonic()
    proc.send_signal(sig)
    proc.communicate(timeout=10)
    everyone = [pid for ps in pids.values() for pid in ps]
    assert wait_for(lambda: all(gone(p) for p in everyone), 3.0), f"left behind: {[p for p in everyone if not gone(p)]}"
    assert time.monotonic() - t0 < 3.5


def test_random_bytes_are_counted_and_dropped(tmp_path: Path) -> None:
    out, st = tmp_path / "out.jsonl", tmp_path / "stats.jsonl"
    g = write(tmp_path, f"""
name: garbage
nodes:
  src:   {{type: test_source, params: {{kind: text, fps: 50}}}}
  noise: {{type: "tests.graph_nodes:Garbage"}}
  relay: {{type: "tests.graph_nodes:Relay", inputs: {{in: [src.out, noise.out]}}}}
  sink:  {{type: jsonl_sink, inputs: {{in: relay.out}}, params: {{path: "{out}"}}}}
""")
    res = run(["run", str(g), "--duration", "4", "--stats", str(st)])
    assert res.returncode == 0, res.stderr
    relay = [s for s in stats(st) if s["node"] == "relay"]
    assert relay[-1]["in"]["in"]["bad"] > 50
    assert relay[-1]["errors"] == 0 and relay[-1]["restarts"] == 0
    assert len({s["pid"] for s in relay}) == 1
    assert len(records(out)) > 100


def test_a_node_that_keeps_crashing_is_given_up_on(tmp_path: Path) -> None:
    g = write(tmp_path, """
name: crashy
nodes:
  src:  {type: test_source, params: {kind: text, fps: 10}}
  bad:  {type: "tests.graph_nodes:Crash", inputs: {in: src.out}, max_restarts: 2}
""")
    res = run(["run", str(g), "--duration", "30"])
    assert res.returncode == 1
    assert "restart 2 in" in res.stderr and "giving up" in res.stderr
    assert "RuntimeError: boom" in res.stderr and "       bad | " in res.stderr  # prefixed log lines


def test_launch_one_liner_runs(tmp_path: Path) -> None:
    res = run(["launch", "test_source kind=text fps=50 count=10 ! print_sink", "--duration", "30"])
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("text test_source#") == 10
    run_dir = Path(res.stderr.split("run folder ")[1].split()[0])
    assert not run_dir.exists() and (run_dir.parent.stat().st_mode & 0o777) == 0o700  # ipc sockets: owner only, removed


def test_top_and_attaching_a_node_by_hand(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    g = write(tmp_path, f"""
name: attach
nodes:
  src:   {{type: test_source, params: {{kind: text, fps: 50}}}}
  relay: {{type: "tests.graph_nodes:Relay", inputs: {{in: src.out}}}}
  sink:  {{type: jsonl_sink, inputs: {{in: relay.out}}, params: {{path: "{out}"}}}}
""")
    proc = start(["run", str(g), "--duration", "30", "--skip", "relay"])
    worker = None
    try:
        time.sleep(1.0)
        busy = run(["top", "nope", "--once"])
        assert busy.returncode == 2
        worker = subprocess.Popen([sys.executable, "-m", "graph.worker", str(g), "relay"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        assert wait_for(lambda: len(records(out)) > 20, 15)
        table = run(["top", "attach", "--once"])
        assert table.returncode == 0 and "relay" in table.stdout and "src" in table.stdout
    finally:
        if worker:
            worker.send_signal(signal.SIGINT)
            worker.wait(timeout=5)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    again = subprocess.run([sys.executable, "-m", "graph.worker", str(g), "relay"], cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 2 and "is not running" in again.stderr


def test_nodes_on_two_hosts_talk_over_tcp(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    g = write(tmp_path, f"""
name: twohosts
hosts:
  edge: {{address: 127.0.0.1, port_base: 47100}}
  box:  {{address: 127.0.0.1, port_base: 47200}}
nodes:
  src:  {{type: test_source, host: edge, params: {{kind: text, fps: 50}}}}
  sink: {{type: jsonl_sink, host: box, inputs: {{in: src.out}}, params: {{path: "{out}"}}}}
""")
    box = start(["run", str(g), "--host", "box", "--duration", "20"])
    edge = start(["run", str(g), "--host", "edge", "--duration", "20"])
    try:
        assert wait_for(lambda: len(records(out)) > 20, 15)
    finally:
        for p in (edge, box):
            p.send_signal(signal.SIGINT)
            p.communicate(timeout=10)
    assert records(out)[0]["trace"][0][0] == "src"


def test_a_hung_node_is_killed_and_restarted(tmp_path: Path) -> None:
    g = write(tmp_path, """
name: hung
nodes:
  src:  {type: test_source, params: {kind: text, fps: 10}}
  stuck: {type: "tests.graph_nodes:Hang", inputs: {in: src.out}, hang_timeout: 1.5, max_restarts: 1}
""")
    res = run(["run", str(g), "--duration", "30"])
    assert "node 'stuck' sent no heartbeat" in res.stderr
    assert "restart 1 in" in res.stderr and "giving up" in res.stderr and res.returncode == 1
