"""Capture from a real file, publish to a real subscriber."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from pathlib import Path

import cv2
import numpy as np

from graph.client import subscribe
from tests.test_graph_runtime import EMOGRAPH, ROOT, records, run, start, write


def make_clip(path: Path, frames: int = 12, fps: int = 10) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (320, 240))
    for i in range(frames):
        img = np.full((240, 320, 3), (0, 0, 255), np.uint8)  # BGR red
        cv2.putText(img, str(i), (100, 150), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 5)
        w.write(img)
    w.release()
    return path


def test_video_file_frames_arrive_in_rgb_with_capture_times(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4")
    out = tmp_path / "frames.jsonl"
    g = write(tmp_path, f"""
name: file
nodes:
  cam:  {{type: video_source, params: {{source: "{clip}", realtime: false}}}}
  sink: {{type: jsonl_sink, inputs: {{in: cam.frames}}, params: {{path: "{out}"}}}}
""")
    res = run(["run", str(g), "--duration", "15"])
    assert res.returncode == 0, res.stderr
    got = records(out)
    assert [r["data"]["index"] for r in got] == list(range(12))
    assert got[0]["arrays"]["image"] == {"dtype": "|u1", "shape": [240, 320, 3]}
    assert all(r["t"] > 0 and r["recv"] >= r["t"] for r in got)
    assert "end of" in res.stderr and "finished" in res.stderr


def test_video_source_emits_rgb_pixels(tmp_path: Path) -> None:
    from nodes.video_source import VideoSource

    clip = make_clip(tmp_path / "clip.mp4", frames=2)
    sent: list[np.ndarray] = []
    node = VideoSource("cam", VideoSource.Params(source=str(clip), realtime=False))

    class Capture:
        def emit(self, port, data, arrays, **_):  # the runtime's side of emit, to look at pixels
            sent.append(arrays["image"])

        def add_timer(self, *_):
            pass

    node._runtime = Capture()  # type: ignore[assignment]
    node.setup()
    node.grab()
    node.teardown()
    r, g, b = sent[0][5, 5]
    assert r > 200 and g < 60 and b < 60  # red stays red: converted from BGR exactly once


def test_a_camera_that_cannot_open_says_which_and_why(tmp_path: Path) -> None:
    res = run(["launch", "video_source source=7 ! print_sink", "--duration", "10"])
    assert res.returncode == 2
    assert "video source 7 cannot be opened: /dev/video7 does not exist" in res.stderr
    res = run(["launch", f"video_source source={tmp_path}/nope.mp4 ! print_sink", "--duration", "10"])
    assert res.returncode == 2 and "no such file" in res.stderr


def test_zmq_sink_publishes_json_that_subscribe_reads(tmp_path: Path) -> None:
    endpoint = "tcp://127.0.0.1:47555"
    g = write(tmp_path, f"""
name: pub
nodes:
  src: {{type: test_source, params: {{kind: text, fps: 20, text: hi}}}}
  out: {{type: zmq_sink, inputs: {{fused: src.out}}, params: {{bind: "{endpoint}"}}}}
""")
    got: list[dict] = []
    reader = threading.Thread(target=lambda: got.extend(subscribe(endpoint, count=5, timeout_s=15)))
    reader.start()
    proc = start(["run", str(g), "--duration", "20"])
    reader.join(20)
    cli = subprocess.run([*EMOGRAPH, "subscribe", endpoint, "--count", "2", "--timeout", "10"], cwd=ROOT,
                         capture_output=True, text=True, timeout=20)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    assert [e["text"] for e in got] == ["hi"] * 5
    assert [e["index"] for e in got] == list(range(got[0]["index"], got[0]["index"] + 5))
    lines = cli.stdout.splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["text"] == "hi"


def test_an_encrypted_stream_reaches_only_listed_subscribers(tmp_path: Path) -> None:
    import shutil

    keys, alice, clients = tmp_path / "keys", tmp_path / "alice", tmp_path / "clients"
    assert run(["keys", str(keys), "--name", "pub"]).returncode == 0
    assert run(["keys", str(alice), "--name", "alice"]).returncode == 0
    clients.mkdir()
    shutil.copy(alice / "alice.key", clients / "alice.key")  # the publisher knows alice's public key only
    endpoint = "tcp://127.0.0.1:47557"
    g = write(tmp_path, f"""
name: secret
nodes:
  src: {{type: test_source, params: {{kind: text, fps: 20, text: psst}}}}
  out:
    type: zmq_sink
    inputs: {{fused: src.out}}
    params: {{bind: "{endpoint}", curve_secret: "{keys}/pub.key_secret", curve_clients: "{clients}"}}
""")
    got: dict[str, list] = {"alice": [], "stranger": [], "plain": []}
    readers = [
        threading.Thread(target=lambda: got["alice"].extend(subscribe(endpoint, count=3, timeout_s=10, server_key=keys / "pub.key",
                                                                      client_key=alice / "alice.key_secret"))),
        threading.Thread(target=lambda: got["stranger"].extend(subscribe(endpoint, count=1, timeout_s=4, server_key=keys / "pub.key"))),
        threading.Thread(target=lambda: got["plain"].extend(subscribe(endpoint, count=1, timeout_s=4))),
    ]
    for r in readers:
        r.start()
    proc = start(["run", str(g), "--duration", "20"])
    for r in readers:
        r.join(15)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    assert [e["text"] for e in got["alice"]] == ["psst"] * 3
    assert got["stranger"] == [] and got["plain"] == []
