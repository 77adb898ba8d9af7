"""End to end: the demo graph as processes, read through the public stream like any subscriber would."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from graph.client import subscribe
from tests.test_graph_runtime import records, run
from tools.demo import real_whisper
from tools.demo_media import build

ENDPOINT = "tcp://127.0.0.1:47561"


@pytest.fixture(scope="module")
def demo_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("demo"))


def test_the_demo_graph_streams_fused_events(tmp_path: Path, demo_media: Path, mtcnn_model: Path, fer_model: Path,
                                             tiny_whisper_model: Path) -> None:
    """The random tiny Whisper's words are noise: the speech checks are about times, never about what it wrote."""
    truth = json.loads(demo_media.with_name("demo.json").read_text())
    run_log, overlay = tmp_path / "run.jsonl", tmp_path / "overlay.mp4"
    sets = {
        "cam.source": demo_media, "mic.source": demo_media, "out.bind": ENDPOINT, "record.path": run_log,
        "overlay.path": overlay, "overlay.snapshots": tmp_path / "snaps", "asr.model": "whisper-tiny",
        "asr.max_new_tokens": 8, "asr.no_speech_threshold": "null", "asr.logprob_threshold": "null",
        "asr.compression_ratio_threshold": "null", "asr.word_timestamps": "false",
    }
    events: list[dict] = []
    reader = threading.Thread(target=lambda: events.extend(subscribe(ENDPOINT, timeout_s=30)), daemon=True)
    reader.start()
    args = ["run", "configs/demo.yaml", "--duration", str(truth["duration_s"] + 6)]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    res = run(args, timeout=120)
    reader.join(40)
    assert res.returncode == 0, res.stderr[-3000:]

    assert len(events) > 50
    assert all(b["seq"] == a["seq"] + 1 for a, b in zip(events, events[1:]))
    for e in events:
        assert sum(e["scores"].values()) == pytest.approx(1.0, abs=1e-3)
    with_faces = [e for e in events if e["faces"]]
    assert len(with_faces) > 30
    assert all(e["latency_ms"] > 0 for e in with_faces)
    for e in with_faces:
        x1, y1, x2, y2 = e["faces"][0]["box"]
        assert 100 < (x1 + x2) / 2 < 540 and 0 < (y1 + y2) / 2 < 300  # the photo's face, in the 640x480 frame
    assert any(e["faces"][0]["emotion"] == "happy" for e in with_faces)  # the smiling astronaut
    assert any(e["speech"]["active"] for e in events)

    # The speech fields follow the espeak-ng utterances: three of them, spaced and sized as the clip was built.
    heard = sorted({(e["speech"]["start_ns"], e["speech"]["end_ns"]) for e in events if e["speech"]["start_ns"]})
    said = [(u["start_s"], u["end_s"]) for u in truth["speech"]]
    assert len(heard) == len(said), heard
    for (start, end), (said_start, said_end) in zip(heard, said):
        assert abs((start - heard[0][0]) / 1e9 - (said_start - said[0][0])) < 0.2
        assert abs((end - start) / 1e9 - (said_end - said_start)) < 0.3
    assert all(-1 <= e["speech"]["sentiment"]["compound"] <= 1 for e in events if e["speech"]["sentiment"])

    kinds = {r["kind"] for r in records(run_log)}
    assert {"expressions", "sentiment", "speech/activity", "fused"} <= kinds
    assert overlay.stat().st_size > 10_000 and list((tmp_path / "snaps").glob("*.png"))
    assert not real_whisper("whisper-tiny")  # the demo would never run this random model's words as speech
    plot = run(["plot", str(run_log), "-o", str(tmp_path / "timeline.png")])
    assert plot.returncode == 0 and (tmp_path / "timeline.png").stat().st_size > 20_000
