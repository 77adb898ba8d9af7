"""`emograph plot RUN.jsonl -o timeline.png`: what the face, the words and the fusion said over a recorded run.

Reads a `jsonl_sink` file (one message per line: `kind`, `t`, `data`, ...) and draws one panel per source on a
shared time axis, in the class colours of `models.visual.EMOTION_COLORS`. Kinds that are missing leave their panel
empty with a note; lines of other kinds are ignored.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from models.fusion import EMOTIONS, VALENCE_VEC, Utterance, as_scores, text_scores
from models.visual import mpl_color

PLOTTED = ("expressions", "sentiment", "text/emotion", "fused")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="draw a recorded run (a jsonl_sink file) as a timeline PNG")
    p.add_argument("run", type=Path, help="the JSONL file a jsonl_sink wrote")
    p.add_argument("-o", "--output", type=Path, help="PNG to write (default: RUN with .png)")
    p.add_argument("--face", type=int, metavar="ID", help="face id for the face panel (default: the largest face in each frame)")
    p.add_argument("--title", help="figure title (default: the file name)")
    p.set_defaults(func=cmd_plot)


def cmd_plot(args: argparse.Namespace) -> int:
    out = args.output or args.run.with_suffix(".png")
    try:
        records = load_records(args.run)
    except (OSError, ValueError) as exc:
        print(f"emograph plot: {exc}", file=sys.stderr)
        return 2
    if not records:
        print(f"emograph plot: {args.run} has no {', '.join(PLOTTED[:-1])} or {PLOTTED[-1]} lines to plot", file=sys.stderr)
        return 2
    fig = plot_run(records, face=args.face, title=args.title or args.run.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    print(f"wrote {out}")
    return 0


def load_records(path: Path) -> list[dict[str, Any]]:
    """The lines of the kinds we plot, in file order; a line that is not a JSON object is an error naming it."""
    records = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{n}: not JSON ({exc.msg})") from None
            if not isinstance(rec, dict):
                raise ValueError(f"{path}:{n}: expected a JSON object, got {type(rec).__name__}")
            if rec.get("kind") in PLOTTED:
                if not isinstance(rec.get("t"), int) or not isinstance(rec.get("data"), dict):
                    raise ValueError(f"{path}:{n}: a {rec['kind']} line needs an integer 't' and a 'data' object")
                try:
                    _check(rec)
                except (KeyError, TypeError, ValueError) as exc:
                    raise ValueError(f"{path}:{n}: bad {rec['kind']} data: {exc}") from None
                records.append(rec)
    return records


def _check(rec: dict[str, Any]) -> None:
    """Raises on the fields the panels read, so a bad line is named by the loader, not met mid-drawing."""
    data, kind = rec["data"], rec["kind"]
    if kind == "fused":
        as_scores(data["scores"])
    if kind in ("expressions", "fused"):
        for f in data.get("faces", []):
            as_scores(f["scores"])
    if kind == "sentiment":
        float(data["compound"])
    _times(rec)


def plot_run(records: Iterable[dict[str, Any]], *, face: int | None = None, title: str = ""):
    """A matplotlib Figure with three panels (face, words, fusion) sharing the time axis in seconds."""
    from matplotlib.figure import Figure  # no pyplot: no global figure state, renders with Agg

    by_kind: dict[str, list[dict[str, Any]]] = {k: [] for k in PLOTTED}
    for rec in records:
        by_kind[rec["kind"]].append(rec)
    t0 = min((_times(rec)[0] for recs in by_kind.values() for rec in recs), default=0)

    fig = Figure(figsize=(12, 8), dpi=100, layout="constrained")
    ax_face, ax_words, ax_fused = fig.subplots(3, 1, sharex=True)
    _face_panel(ax_face, by_kind["expressions"], by_kind["fused"], face, t0)
    _words_panel(ax_words, by_kind["sentiment"], by_kind["text/emotion"], t0)
    _fused_panel(ax_fused, by_kind["fused"], t0)
    for ax in (ax_face, ax_words, ax_fused):
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("probability")
        ax.grid(True, alpha=0.3)
    ax_fused.set_xlabel("seconds from the first event")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=mpl_color(e), lw=2.5, label=e) for e in EMOTIONS]
    handles.append(Line2D([], [], color="black", lw=1.5, ls="--", label="valence (right axis)"))
    fig.legend(handles=handles, loc="outside lower center", ncol=8, frameon=False)
    if title:
        fig.suptitle(title)
    return fig


def _times(rec: dict[str, Any]) -> tuple[int, int]:
    """Start and end of what a record is about: an utterance's span, else the capture time."""
    data = rec["data"]
    if rec["kind"] in ("sentiment", "text/emotion"):
        start = data.get("start_ns", data.get("start", rec["t"]))
        return int(start), int(data.get("end_ns", data.get("end", start)))
    t = int(data.get("t") or rec["t"]) if rec["kind"] == "fused" else rec["t"]
    return t, t


def _empty(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} in this run", transform=ax.transAxes, ha="center", va="center", color="grey")


def _lines(ax, x: list[float], rows: list[np.ndarray]) -> None:
    y = np.array(rows)
    for k, e in enumerate(EMOTIONS):
        ax.plot(x, y[:, k], color=mpl_color(e), lw=1.8, drawstyle="steps-post" if len(x) < 3 else "default")


def _face_panel(ax, expressions: list[dict], fused: list[dict], face: int | None, t0: int) -> None:
    """Raw per-frame probabilities of one face id; the fused events' smoothed faces if no expressions were kept."""
    source, what = (expressions, "raw") if expressions else (fused, "smoothed")
    ids = Counter(f.get("id") for rec in source for f in rec["data"].get("faces", []))
    if not ids:
        ax.set_title("face")
        _empty(ax, "faces")
        return
    x, rows = [], []
    for rec in source:
        faces = [f for f in rec["data"].get("faces", []) if face is None or f.get("id") == face]
        if faces:  # one face per frame: the chosen id, else the largest face, whichever id it has
            main = max(faces, key=lambda f: (f["box"][2] - f["box"][0]) * (f["box"][3] - f["box"][1]))
            x.append((_times(rec)[0] - t0) / 1e9)
            rows.append(as_scores(main["scores"]))
    who = f"face #{face}" if face is not None else f"largest face (ids {', '.join(map(str, sorted(ids)))})"
    fid = face
    ax.set_title(f"{who}, {what}, {len(x)} frames", loc="left")
    if not x:
        _empty(ax, f"face #{fid}")
        return
    _lines(ax, x, rows)
    _valence(ax, x, [float(r @ VALENCE_VEC) for r in rows])


def _words_panel(ax, sentiment: list[dict], goemotions: list[dict], t0: int) -> None:
    """Each utterance's own distribution (VADER, and GoEmotions when recorded) held over its span, with its words."""
    ax.set_title(f"words ({len(sentiment)} utterances)", loc="left")
    if not sentiment:
        _empty(ax, "sentiment")
        return
    extra = {(_times(r)): r["data"].get("scores") for r in goemotions}
    vx: list[float] = []
    vy: list[float] = []
    notes: list[tuple[float, float, str]] = []
    for rec in sentiment:
        d = rec["data"]
        start, end = _times(rec)
        utt = Utterance(str(d.get("text", "")), start, end, float(d.get("compound", 0.0)),
                        goemotions=d.get("goemotions") or extra.get((start, end)))
        scores = text_scores(utt)
        x0, x1 = (start - t0) / 1e9, (max(end, start) - t0) / 1e9
        ax.axvspan(x0, x1, color="0.93", zorder=0)
        for k, e in enumerate(EMOTIONS):
            ax.hlines(scores[k], x0, x1, color=mpl_color(e), lw=2.5)
        vx += [x0, x1, np.nan]
        vy += [utt.compound, utt.compound, np.nan]
        text = utt.text if len(utt.text) <= 40 else utt.text[:39] + "…"
        y = 0.97 if (utt.compound + 1.04) / 2.08 < 0.8 else 0.76  # keep clear of the valence line
        notes.append((x0, y, f"“{text}” ({utt.compound:+.2f})"))
    twin = _valence(ax, vx, vy)
    for x0, y, note in notes:  # on the valence axis, which is drawn last, so the words stay on top
        twin.annotate(note, (x0, y), xycoords=("data", "axes fraction"), fontsize=8, va="top", color="0.2",
                      bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.8", "alpha": 0.9},
                      annotation_clip=False)


def _fused_panel(ax, fused: list[dict], t0: int) -> None:
    ax.set_title(f"fusion ({len(fused)} events)", loc="left")
    if not fused:
        _empty(ax, "fused events")
        return
    x = [(_times(rec)[0] - t0) / 1e9 for rec in fused]
    _lines(ax, x, [as_scores(rec["data"]["scores"]) for rec in fused])
    _valence(ax, x, [float(rec["data"].get("valence", 0.0)) for rec in fused])


def _valence(ax, x: list[float], v: list[float]):
    """Valence on a right-hand axis from -1 to 1, dashed black."""
    twin = ax.twinx()
    twin.set_ylim(-1.04, 1.04)
    twin.set_ylabel("valence")
    twin.axhline(0, color="0.6", lw=0.6)
    twin.plot(x, v, color="black", lw=1.5, ls="--")
    return twin
