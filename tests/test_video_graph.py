"""The video branch as processes: file -> face_detect -> expression -> jsonl_sink, on real photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from tests.test_graph_runtime import records, run, write
from tools.demo_media import face_photo


def photo_clip(path: Path, faces: list[str], fps: int = 10) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    for name in faces:
        w.write(cv2.cvtColor(face_photo(name), cv2.COLOR_RGB2BGR))
    w.release()
    return path


@pytest.mark.parametrize("detector", ["mtcnn", "haar"])
def test_every_frame_has_the_face_with_a_stable_id(tmp_path: Path, mtcnn_model: Path, fer_model: Path, detector: str) -> None:
    clip = photo_clip(tmp_path / "astronaut.mp4", ["astronaut"] * 12)
    out = tmp_path / "expr.jsonl"
    g = write(tmp_path, f"""
name: video
nodes:
  cam:   {{type: video_source, params: {{source: "{clip}", realtime: false}}}}
  faces: {{type: face_detect, inputs: {{frames: {{from: cam.frames, policy: queue}}}}, params: {{detector: {detector}, every: 3}}}}
  expr:  {{type: expression, inputs: {{faces: {{from: faces.faces, policy: queue}}}}, params: {{model: fer-minixception}}}}
  sink:  {{type: jsonl_sink, inputs: {{in: expr.expressions}}, params: {{path: "{out}"}}}}
""")
    res = run(["run", str(g), "--duration", "25"])
    assert res.returncode == 0, res.stderr
    got = records(out)
    assert [r["data"]["index"] for r in got] == list(range(12))
    ids = {f["id"] for r in got for f in r["data"]["faces"]}
    assert all(len(r["data"]["faces"]) == 1 for r in got) and len(ids) == 1
    for r in got:
        face = r["data"]["faces"][0]
        assert sum(face["scores"].values()) == pytest.approx(1.0, abs=1e-3)
        x1, y1, x2, y2 = face["box"]
        assert 150 < (x1 + x2) / 2 < 450 and 40 < (y1 + y2) / 2 < 300  # the face, not the suit or the flag
    assert got[0]["data"]["faces"][0]["emotion"] == "happy"
    assert got[-1]["trace"][0][0] == "cam" and [h[0] for h in got[-1]["trace"]] == ["cam", "faces", "expr"]


def test_a_missing_model_names_the_export_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOGRAPH_MODELS", str(tmp_path / "empty-store"))
    g = write(tmp_path, """
name: nomodel
nodes:
  cam:   {type: test_source, params: {kind: video}}
  faces:
    type: face_detect
    inputs: {frames: cam.out}
""")
    res = run(["validate", str(g)])
    assert res.returncode == 2
    assert res.stderr.strip().startswith(f"{g}:5: node 'faces': params:")
    assert "`emograph export mtcnn`" in res.stderr
