"""Pictures of what the pipeline sees: boxes, labels and probability bars drawn on RGB frames.

Pure functions on numpy RGB images; OpenCV is imported when a picture is drawn, so importing this module is cheap.
`EMOTION_COLORS` is the one colour table: overlays, snapshots and `emograph plot` all use it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.fusion import as_scores
from models.labels import EMOTIONS

# One colour per class (RGB), after matplotlib's tab10 where it fits the usual associations.
EMOTION_COLORS: dict[str, tuple[int, int, int]] = {
    "angry": (214, 39, 40),      # red
    "disgust": (44, 160, 44),    # green
    "fear": (148, 103, 189),     # purple
    "happy": (240, 180, 0),      # gold, dark enough to read on white
    "sad": (31, 119, 180),       # blue
    "surprise": (255, 127, 14),  # orange
    "neutral": (127, 127, 127),  # grey
}

Face = Mapping[str, Any]  # {"id", "box": [x1, y1, x2, y2], "scores": {label: p} or 7 floats, "emotion"?}: a fused event's or an expressions message's face


def mpl_color(emotion: str) -> tuple[float, float, float]:
    """The class colour as matplotlib wants it (0..1 floats)."""
    return tuple(c / 255 for c in EMOTION_COLORS[emotion])  # type: ignore[return-value]


def draw_overlay(
    frame: np.ndarray,
    faces: Sequence[Face],
    transcript: str | None = None,
    *,
    bars: bool = True,
    scale: float | None = None,
) -> np.ndarray:
    """A copy of `frame` (H, W, 3 uint8 RGB) with each face's box, id, label and class bars, and the transcript line.

    `scale` sizes text and bars (default: from the frame size, 1.0 at 640 px wide).
    """
    import cv2

    img = _check_frame(frame).copy()
    h, w = img.shape[:2]
    u = scale or max(min(w, 1.6 * h) / 640, 0.5)
    for face in faces:
        scores, fid = as_scores(face["scores"]), face.get("id")
        emotion = face.get("emotion") or EMOTIONS[int(np.argmax(scores))]
        x1, y1, x2, y2 = (int(round(float(v))) for v in face["box"])
        color = EMOTION_COLORS[emotion]
        cv2.rectangle(img, (x1, y1), (x2, y2), color, max(2, round(2 * u)), cv2.LINE_AA)
        label = f"{'#%s ' % fid if fid is not None else ''}{emotion} {scores.max():.0%}"
        _label(img, label, (x1, y1), color, u)
        if bars:
            _bars_panel(img, scores, (x1, y1, x2, y2), u)
    if transcript:
        _transcript(img, transcript, u)
    return img


def face_card(frame: np.ndarray, face: Face, size: int = 160) -> np.ndarray:
    """One face's crop beside a bar chart of its seven probabilities, for snapshots (RGB, `size` px high)."""
    import cv2

    img = _check_frame(frame)
    scores = as_scores(face["scores"])
    emotion = face.get("emotion") or EMOTIONS[int(np.argmax(scores))]
    crop = cv2.resize(_square_crop(img, face["box"]), (size, size), interpolation=cv2.INTER_AREA)
    cv2.rectangle(crop, (0, 0), (size - 1, size - 1), EMOTION_COLORS[emotion], max(2, size // 60))

    u = size / 160
    chart = np.full((size, int(size * 1.75), 3), 255, np.uint8)
    fid = face.get("id")
    title = f"{'#%s ' % fid if fid is not None else ''}{emotion} {scores.max():.0%}"
    _text(chart, title, (int(8 * u), int(17 * u)), 0.5 * u, (20, 20, 20), 1 if u < 1.5 else 2)
    top, row = int(26 * u), (size - int(30 * u)) / len(EMOTIONS)
    label_w, value_w = int(62 * u), int(34 * u)
    x0, x_end = int(8 * u) + label_w, chart.shape[1] - value_w
    cv2.line(chart, (x0, top), (x0, int(top + row * len(EMOTIONS))), (60, 60, 60), 1)
    for i, (name, p) in enumerate(zip(EMOTIONS, scores)):
        y = int(top + i * row)
        yc = int(y + row / 2)
        _text(chart, name, (int(8 * u), yc + int(4 * u)), 0.38 * u, (40, 40, 40), 1)
        cv2.rectangle(chart, (x0 + 1, y + 2), (x0 + 1 + int((x_end - x0 - 4) * p), int(y + row) - 2), EMOTION_COLORS[name], -1)
        _text(chart, f"{p:.2f}", (x_end - int(2 * u) + 2, yc + int(4 * u)), 0.36 * u, (40, 40, 40), 1)
    return np.concatenate([crop, chart], axis=1)


def snapshot(frame: np.ndarray, faces: Sequence[Face], size: int = 160) -> np.ndarray:
    """Every face's card, stacked top to bottom with a thin gap (an empty white card when there is no face)."""
    if not faces:
        return np.full((size, int(size * 2.75), 3), 255, np.uint8)
    cards = [face_card(frame, f, size) for f in faces]
    gap = np.full((4, cards[0].shape[1], 3), 255, np.uint8)
    return np.concatenate([part for c in cards for part in (c, gap)][:-1], axis=0)


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Writes an RGB image as PNG (OpenCV writes BGR, hence the swap)."""
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(_check_frame(image)[..., ::-1])):
        raise OSError(f"cannot write PNG {path}")
    return path


# --- drawing helpers ---------------------------------------------------------------------------------------------
def _check_frame(frame: np.ndarray) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        got = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
        raise ValueError(f"expected an RGB image (H, W, 3) uint8, got {got}")
    return frame


def _square_crop(img: np.ndarray, box: Sequence[float], margin: float = 0.15) -> np.ndarray:
    """The box grown by `margin` into a square around its centre; the part outside the frame is grey."""
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1, 1.0) * (1 + 2 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    sx, sy, n = int(round(cx - side / 2)), int(round(cy - side / 2)), int(round(side))
    out = np.full((n, n, 3), 128, np.uint8)
    h, w = img.shape[:2]
    ax, ay, bx, by = max(sx, 0), max(sy, 0), min(sx + n, w), min(sy + n, h)
    if bx > ax and by > ay:
        out[ay - sy : by - sy, ax - sx : bx - sx] = img[ay:by, ax:bx]
    return out


def _ascii(text: str) -> str:
    """OpenCV's Hershey fonts draw ASCII only: fold accents, drop the rest."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float, color: tuple[int, int, int], thick: int) -> None:
    import cv2

    cv2.putText(img, _ascii(text), org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick, cv2.LINE_AA)


def _ink(color: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on `color`."""
    r, g, b = color
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


def _blend_rect(img: np.ndarray, x1: int, y1: int, x2: int, y2: int, color: tuple[int, int, int], alpha: float) -> None:
    h, w = img.shape[:2]
    x1, x2, y1, y2 = max(x1, 0), min(x2, w), max(y1, 0), min(y2, h)
    if x2 > x1 and y2 > y1:
        region = img[y1:y2, x1:x2].astype(np.float32)
        img[y1:y2, x1:x2] = (region * (1 - alpha) + np.array(color, np.float32) * alpha).astype(np.uint8)


def _label(img: np.ndarray, text: str, at: tuple[int, int], color: tuple[int, int, int], u: float) -> None:
    """A filled tag above the box's top-left corner (inside the box when there is no room above)."""
    import cv2

    fs, thick = 0.55 * u, max(1, round(1.3 * u))
    (tw, th), base = cv2.getTextSize(_ascii(text), cv2.FONT_HERSHEY_SIMPLEX, fs, thick)
    x, y = at
    pad = max(2, round(3 * u))
    top = y - th - base - 2 * pad
    if top < 0:
        top = y
    x = min(max(x, 0), max(img.shape[1] - tw - 2 * pad, 0))
    cv2.rectangle(img, (x, top), (x + tw + 2 * pad, top + th + base + 2 * pad), color, -1)
    _text(img, text, (x + pad, top + pad + th), fs, _ink(color), thick)


def _bars_panel(img: np.ndarray, scores: np.ndarray, box: tuple[int, int, int, int], u: float) -> None:
    """Seven labelled bars in a translucent panel beside the box: right of it if it fits, else left, else inside."""
    import cv2

    h, w = img.shape[:2]
    row = max(int(17 * u), 12)
    pw, ph = int(196 * u), row * len(EMOTIONS) + int(8 * u)
    x1, y1, x2, y2 = box
    gap = int(6 * u)
    if x2 + gap + pw <= w:
        px = x2 + gap
    elif x1 - gap - pw >= 0:
        px = x1 - gap - pw
    else:
        px = min(max(x1, 0), max(w - pw, 0))
    py = min(max(y1, 0), max(h - ph, 0))
    _blend_rect(img, px, py, px + pw, py + ph, (0, 0, 0), 0.55)
    fs, label_w, value_w = 0.45 * u, int(68 * u), int(36 * u)
    bar_x, bar_max = px + int(4 * u) + label_w, pw - label_w - value_w - int(8 * u)
    for i, (name, p) in enumerate(zip(EMOTIONS, scores)):
        y = py + int(4 * u) + i * row
        _text(img, name, (px + int(4 * u), y + row - int(4 * u)), fs, (255, 255, 255), 1)
        cv2.rectangle(img, (bar_x, y + 2), (bar_x + max(int(bar_max * p), 1), y + row - 2), EMOTION_COLORS[name], -1)
        _text(img, f"{p:.2f}", (px + pw - value_w, y + row - int(4 * u)), fs, (255, 255, 255), 1)


def _transcript(img: np.ndarray, text: str, u: float) -> None:
    """The latest words on a dark band along the bottom; a long line keeps its end, which is the newest."""
    import cv2

    h, w = img.shape[:2]
    fs, thick = 0.6 * u, max(1, round(1.3 * u))
    line = _ascii(" ".join(text.split()))
    pad = int(8 * u)
    while line and cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, fs, thick)[0][0] > w - 2 * pad:
        line = "..." + line[4:].lstrip() if not line.startswith("...") else "..." + line[4:]
    (_, th), base = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, fs, thick)
    band = th + base + 2 * pad
    _blend_rect(img, 0, h - band, w, h, (0, 0, 0), 0.6)
    _text(img, line, (pad, h - pad - base), fs, (255, 255, 255), thick)
