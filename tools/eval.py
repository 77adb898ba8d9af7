"""`emograph eval MODEL DATA`: how well an expression model does on labelled faces.

DATA is either a folder with one subfolder per class (`happy/`, `sad/`, ...; the usual other spellings such as
`anger` or `happiness` are accepted), or a FER2013-style CSV (`emotion,pixels[,Usage]`, with 48x48 grey pixels as
space-separated ints and the emotion index in FER order). Prints accuracy, per-class precision, recall and F1, and
the confusion matrix; `-o` also writes the matrix as a PNG. The metrics are plain numpy.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

FER_ORDER = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # FER2013's emotion indices
CORNER = "true \\ pred"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="accuracy and confusion matrix of an expression model on labelled faces")
    p.add_argument("model", help="catalog name of an image classifier, e.g. fer-minixception")
    p.add_argument("data", type=Path, help="a folder with one subfolder per class, or a FER2013-style CSV")
    p.add_argument("-o", "--output", type=Path, metavar="PNG", help="write the confusion matrix as a PNG")
    p.add_argument("--detect", choices=("none", "mtcnn", "haar"), default="none",
                   help="find the face first (default none: datasets are usually crops already)")
    p.add_argument("--variant", help="precision to run (fp32, fp16, int8; default: the best present for the CPU)")
    p.add_argument("--usage", help="CSV only: keep rows whose Usage is this (e.g. PrivateTest)")
    p.add_argument("--limit", type=int, metavar="N", help="evaluate the first N images only")
    p.add_argument("--batch", type=int, default=64, help="faces per inference batch (default 64)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.set_defaults(func=cmd_eval)


# --- data --------------------------------------------------------------------------------------------------------
@dataclass
class Sample:
    name: str  # file path, or FILE:LINE for a CSV row
    label: str
    load: Callable[[], np.ndarray]  # (H, W, 3) uint8 RGB, read when needed


def read_folder(root: Path, normalise: Callable[[str], str]) -> list[Sample]:
    """One sample per image in each class subfolder, sorted for a stable order."""
    classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise ValueError(f"{root}: no class subfolders (expected e.g. {root}/happy/*.png)")
    samples = []
    for d in classes:
        label = normalise(d.name)
        samples += [Sample(str(f), label, lambda f=f: _read_image(f)) for f in sorted(d.rglob("*"))
                    if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()]
    if not samples:
        raise ValueError(f"{root}: no images in {', '.join(d.name for d in classes)}")
    return samples


def read_csv(path: Path, usage: str | None = None) -> list[Sample]:
    """FER2013 rows as samples; a bad row is an error naming its line."""
    samples = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"emotion", "pixels"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}; a FER2013 CSV has emotion,pixels[,Usage]")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if usage is not None and row.get("Usage") != usage:
                continue
            try:
                index = int(row["emotion"])
                label = FER_ORDER[index]
            except (ValueError, IndexError):
                raise ValueError(f"{where}: emotion must be an index 0..6 in FER order, got {row['emotion']!r}") from None
            pixels = np.array(row["pixels"].split(), dtype=np.int64) if row["pixels"] else np.zeros(0, np.int64)
            if pixels.size != 48 * 48 or pixels.min() < 0 or pixels.max() > 255:
                raise ValueError(f"{where}: pixels must be 2304 integers 0..255 (48x48), got {pixels.size}")
            grey = pixels.astype(np.uint8).reshape(48, 48)
            samples.append(Sample(where, label, lambda g=grey: np.repeat(g[..., None], 3, axis=2)))
    if not samples:
        raise ValueError(f"{path}: no rows" + (f" with Usage {usage!r}" if usage else ""))
    return samples


def _read_image(path: Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path}: cannot read this image")
    return np.ascontiguousarray(img[..., ::-1])


# --- metrics -----------------------------------------------------------------------------------------------------
def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], k: int) -> np.ndarray:
    """(k, k) counts: row = true class, column = predicted class."""
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return cm


@dataclass
class Metrics:
    accuracy: float
    precision: np.ndarray  # per class; 0 where the class was never predicted
    recall: np.ndarray  # per class; 0 where the class never occurs
    f1: np.ndarray
    support: np.ndarray  # true samples per class
    macro_f1: float  # mean F1 over the classes that occur


def metrics(cm: np.ndarray) -> Metrics:
    tp = np.diag(cm).astype(float)
    predicted, support = cm.sum(0), cm.sum(1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    total = cm.sum()
    return Metrics(
        accuracy=float(tp.sum() / total) if total else 0.0, precision=precision, recall=recall, f1=f1,
        support=support, macro_f1=float(f1[support > 0].mean()) if (support > 0).any() else 0.0,
    )


# --- running -----------------------------------------------------------------------------------------------------
@dataclass
class EvalResult:
    labels: tuple[str, ...]
    cm: np.ndarray
    names: list[str] = field(default_factory=list)  # evaluated samples, in order
    y_true: list[int] = field(default_factory=list)
    y_pred: list[int] = field(default_factory=list)
    no_face: list[str] = field(default_factory=list)  # samples where --detect found nothing: left out


def evaluate(classifier: Any, samples: Sequence[Sample], detector: Any = None, batch: int = 64,
             progress: bool = True) -> EvalResult:
    """Runs `classifier.predict` over the samples in batches; with a detector, on the largest face of each image."""
    from tqdm import tqdm

    labels = tuple(classifier.labels)
    unknown = sorted({s.label for s in samples} - set(labels))
    if unknown:
        raise ValueError(f"class(es) {', '.join(unknown)} in the data are not labels of model "
                         f"{classifier.model!r} ({', '.join(labels)})")
    result = EvalResult(labels, np.zeros((len(labels),) * 2, np.int64))
    with tqdm(total=len(samples), unit="img", desc="eval", disable=None if progress else True, file=sys.stderr) as bar:
        for chunk in _chunks(samples, max(batch, 1)):
            crops, kept = [], []
            for s in chunk:
                face = _face(s.load(), detector, classifier.size)
                if face is None:
                    result.no_face.append(s.name)
                else:
                    crops.append(face)
                    kept.append(s)
            if crops:
                pred = classifier.predict(np.stack(crops)).argmax(1)
                result.names += [s.name for s in kept]
                result.y_true += [labels.index(s.label) for s in kept]
                result.y_pred += [int(p) for p in pred]
            bar.update(len(chunk))
    result.cm = confusion_matrix(result.y_true, result.y_pred, len(labels))
    return result


def _chunks(items: Sequence[Sample], n: int) -> Iterator[Sequence[Sample]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _face(image: np.ndarray, detector: Any, size: int) -> np.ndarray | None:
    """The image itself (resized to the model's size), or the crop of its largest detected face."""
    import cv2

    if detector is None:
        interp = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_LINEAR
        return cv2.resize(image, (size, size), interpolation=interp)
    from models.face_detector import crop_faces

    faces = detector.detect(image)
    if not faces:
        return None
    biggest = max(faces, key=lambda f: float((f.box[2] - f.box[0]) * (f.box[3] - f.box[1])))
    return crop_faces(image, [biggest.box], size)[0]


# --- output ------------------------------------------------------------------------------------------------------
def format_report(result: EvalResult, m: Metrics) -> str:
    labels, cm = result.labels, result.cm
    w = max(len(x) for x in (*labels, CORNER)) + 2
    lines = [f"accuracy {m.accuracy:.4f} ({int(np.trace(cm))}/{int(cm.sum())}), macro F1 {m.macro_f1:.4f}", ""]
    lines.append(f"{'class':<{w}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for i, name in enumerate(labels):
        lines.append(f"{name:<{w}}{m.precision[i]:>10.4f}{m.recall[i]:>10.4f}{m.f1[i]:>10.4f}{m.support[i]:>10d}")
    lines += ["", "confusion matrix (rows: true class, columns: predicted class)"]
    cw = max(max(len(x) for x in labels), len(str(int(cm.max(initial=0))))) + 2
    lines.append(f"{CORNER:<{w}}" + "".join(f"{x:>{cw}}" for x in labels))
    for i, name in enumerate(labels):
        lines.append(f"{name:<{w}}" + "".join(f"{int(c):>{cw}d}" for c in cm[i]))
    if result.no_face:
        lines += ["", f"no face found in {len(result.no_face)} image(s), left out: {', '.join(result.no_face[:5])}"
                  + (" ..." if len(result.no_face) > 5 else "")]
    return "\n".join(lines)


def plot_confusion(cm: np.ndarray, labels: Sequence[str], path: Path, title: str = "") -> Path:
    """The matrix as a PNG: cells shaded by the share of their row (recall), annotated with counts."""
    from matplotlib.figure import Figure

    from models.visual import EMOTION_COLORS, mpl_color

    rows = cm.sum(1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    k = len(labels)
    fig = Figure(figsize=(0.8 * k + 2.6, 0.75 * k + 1.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of the true class")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{cm[i, j]}", ha="center", va="center", fontsize=10,
                    color="white" if share[i, j] > 0.5 else "black" if cm[i, j] else "0.7")
    ax.set_xticks(range(k), labels, rotation=35, ha="right")
    ax.set_yticks(range(k), labels)
    for tick, name in (*zip(ax.get_xticklabels(), labels), *zip(ax.get_yticklabels(), labels)):
        if name in EMOTION_COLORS:
            tick.set_color(mpl_color(name))
            tick.set_fontweight("bold")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def cmd_eval(args: argparse.Namespace) -> int:
    from models.catalog import CatalogError
    from models.expression import ExpressionClassifier
    from models.labels import normalise_label

    try:
        if not args.data.exists():
            raise ValueError(f"{args.data}: no such file or folder")
        samples = read_folder(args.data, normalise_label) if args.data.is_dir() else read_csv(args.data, args.usage)
        if args.limit:
            samples = samples[: args.limit]
        classifier = ExpressionClassifier(args.model, variant=args.variant)
        detector = None
        if args.detect != "none":
            from models.face_detector import FaceDetector

            detector = FaceDetector(args.detect)
        result = evaluate(classifier, samples, detector, args.batch, progress=not args.json)
    except (CatalogError, ValueError, OSError, RuntimeError) as exc:
        print(f"emograph eval: {exc}", file=sys.stderr)
        return 2
    m = metrics(result.cm)
    title = f"{classifier.model} ({classifier.variant}) on {args.data.name}: accuracy {m.accuracy:.3f}"
    if args.output:
        plot_confusion(result.cm, result.labels, args.output, title)
    if args.json:
        print(json.dumps({
            "model": classifier.model, "variant": classifier.variant, "data": str(args.data), "labels": list(result.labels),
            "n": int(result.cm.sum()), "accuracy": m.accuracy, "macro_f1": m.macro_f1,
            "per_class": {l: {"precision": float(m.precision[i]), "recall": float(m.recall[i]), "f1": float(m.f1[i]),
                              "support": int(m.support[i])} for i, l in enumerate(result.labels)},
            "confusion": result.cm.tolist(), "no_face": result.no_face,
        }))
    else:
        print(f"{classifier.model} ({classifier.variant}, {classifier.provider}) on {args.data}: "
              f"{int(result.cm.sum())} images, detect {args.detect}")
        print(format_report(result, m))
        if args.output:
            print(f"wrote {args.output}")
    return 0
