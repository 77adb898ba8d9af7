"""`emograph plot`: a recorded run (expressions, sentiment and fused lines, as jsonl_sink writes them) as a timeline."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.fusion import EMOTIONS, Fusion, faces_from_data, to_event, utterance_from_data
from models.visual import mpl_color
from tools.plot import load_records, plot_run, register

S = 10**9
T0 = 1_764_460_800 * S


def record(kind: str, seq: int, t: int, data: dict) -> dict:
    return {"v": 1, "kind": kind, "stream": "camera", "seq": seq, "t": t, "recv": t + 5_000_000, "trace": [],
            "data": data, "arrays": {}}


def make_run(path: Path, kinds: tuple[str, ...] = ("expressions", "sentiment", "fused")) -> Path:
    """Six seconds at 10 fps: a neutral face turns happy, then sad; two utterances; fused events from real fusion."""
    rng = np.random.default_rng(1)
    fusion, lines = Fusion(), []
    utterances = [("What a lovely day", 1.0, 2.0, 0.6), ("This is awful", 3.5, 4.5, -0.8)]
    for i in range(60):
        t, s = T0 + i * S // 10, i / 10
        mean = np.full(7, 0.03)
        mean[6 if s < 1.5 else 3 if s < 3.5 else 4] = 0.8
        p = rng.dirichlet(mean * 60)
        data = {"index": i, "faces": [{"id": 3, "box": [10, 10, 90, 110], "score": 0.99, "emotion": EMOTIONS[int(p.argmax())],
                                       "scores": dict(zip(EMOTIONS, p.tolist()))}]}
        lines.append(record("expressions", i, t, data))
        for obs in faces_from_data(data, t):
            fusion.add_face(obs)
        for text, a, b, c in utterances:
            if i == int(b * 10) + 3:
                d = {"text": text, "start_ns": T0 + int(a * S), "end_ns": T0 + int(b * S), "compound": c, "neg": 0.2,
                     "neu": 0.5, "pos": 0.3, "sentences": []}
                lines.append(record("sentiment", 0, d["start_ns"], d))
                fusion.add_utterance(utterance_from_data(d))
        event = to_event(fusion.fuse(t + 20_000_000), i, t + 20_000_000)
        lines.append(record("fused", i, event["t"], event))
    lines.insert(5, record("video/frame", 0, T0, {"index": 0, "width": 640, "height": 480}))  # ignored
    with open(path, "w") as f:
        for rec in lines:
            if rec["kind"] in kinds or rec["kind"] == "video/frame":
                f.write(json.dumps(rec) + "\n")
    return path


def plot_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="emograph")
    register(parser.add_subparsers())
    args = parser.parse_args(["plot", *argv])
    return args.func(args)


def main_axes(fig) -> list:
    return [ax for ax in fig.axes if ax.get_ylabel() == "probability"]


def test_plot_writes_a_timeline_with_three_panels(tmp_path: Path, capsys: pytest.CaptureFixture):
    run = make_run(tmp_path / "run.jsonl")
    out = tmp_path / "plots" / "timeline.png"
    assert plot_cli(str(run), "-o", str(out)) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (800, 1200, 3)
    # each third of the picture holds a panel with drawn lines, not just a frame: many non-white, non-grey pixels
    for band in np.array_split(img, 3, axis=0):
        colourful = (band.max(-1).astype(int) - band.min(-1)) > 60
        assert colourful.sum() > 2000

    fig = plot_run(load_records(run))
    face, words, fused = main_axes(fig)
    assert face.get_title(loc="left") == "largest face (ids 3), raw, 60 frames"
    assert words.get_title(loc="left") == "words (2 utterances)"
    assert fused.get_title(loc="left") == "fusion (60 events)"
    assert face.get_shared_x_axes().joined(face, fused) and words.get_shared_x_axes().joined(words, fused)
    for ax in (face, fused):
        colours = [tuple(np.round(line.get_color(), 4)) for line in ax.get_lines()]
        assert colours == [tuple(np.round(mpl_color(e), 4)) for e in EMOTIONS]  # one line per class, shared colours
        x = ax.get_lines()[0].get_xdata()
        assert x[0] == pytest.approx(0.0) and x[-1] == pytest.approx(5.9)  # seconds from the first event
    happy = face.get_lines()[EMOTIONS.index("happy")].get_ydata()
    assert happy[20:35].mean() > 0.6 > happy[:10].mean()  # the face's happy stretch is where it was recorded
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [*EMOTIONS, "valence (right axis)"]


def test_missing_kinds_leave_a_note_not_an_error(tmp_path: Path):
    run = make_run(tmp_path / "faces_only.jsonl", kinds=("expressions",))
    fig = plot_run(load_records(run))
    face, words, fused = main_axes(fig)
    assert len(face.get_lines()) == 7
    assert [t.get_text() for t in words.texts] == ["no sentiment in this run"]
    assert [t.get_text() for t in fused.texts] == ["no fused events in this run"]
    assert plot_cli(str(run)) == 0 and run.with_suffix(".png").exists()  # default output beside the run


def test_only_fused_events_still_show_the_face(tmp_path: Path):
    run = make_run(tmp_path / "fused_only.jsonl", kinds=("fused",))
    face = main_axes(plot_run(load_records(run), face=3))[0]
    assert face.get_title(loc="left") == "face #3, smoothed, 60 frames"


def test_bad_files_get_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(record("fused", 0, T0, {"scores": {"happy": 1}})) + "\n{not json\n")
    assert plot_cli(str(bad)) == 2
    assert capsys.readouterr().err.strip() == f"emograph plot: {bad}:2: not JSON (Expecting property name enclosed in double quotes)"
    nothing = tmp_path / "frames.jsonl"
    nothing.write_text(json.dumps(record("video/frame", 0, T0, {})) + "\n")
    assert plot_cli(str(nothing)) == 2
    assert "has no expressions, sentiment, text/emotion or fused lines to plot" in capsys.readouterr().err
    assert plot_cli(str(tmp_path / "missing.jsonl")) == 2
    assert "No such file" in capsys.readouterr().err
    no_t = tmp_path / "no_t.jsonl"
    no_t.write_text('{"kind": "fused", "data": {}}\n')
    assert plot_cli(str(no_t)) == 2
    assert capsys.readouterr().err.strip() == f"emograph plot: {no_t}:1: a fused line needs an integer 't' and a 'data' object"
    no_scores = tmp_path / "no_scores.jsonl"
    no_scores.write_text(json.dumps(record("expressions", 0, T0, {"faces": [{"id": 1, "scores": {"glee": 1}}]})) + "\n")
    assert plot_cli(str(no_scores)) == 2
    assert capsys.readouterr().err.strip() == (
        f"emograph plot: {no_scores}:1: bad expressions data: unknown emotion label 'glee': "
        "expected one of angry, disgust, fear, happy, sad, surprise, neutral")
