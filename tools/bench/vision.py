"""Face detection and expression speed on this machine, the ONNX runners against the transformers pipeline, in one run.

MTCNN: median ms per 640x480 frame (the astronaut letterboxed) at several minimum face sizes, one thread per net.
Expression: a ViT-B/16 with random weights and the real model's architecture (ViTConfig defaults, 7 labels, 224x224),
exported by the same code as `emograph export vit-face-expression` into a temporary store; the `ExpressionClassifier`
on its fp32 and int8 ONNX files against `pipeline("image-classification")` on the same PyTorch model, at batch 1, 4
and 8, preprocessing of 224x224 face crops included on both sides. Speed only: the weights are random.

    python tools/bench/vision.py [--json] [--repeats 5] [--batches 1,4,8] [--threads N] [--store DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def timed(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def frame_640x480() -> np.ndarray:
    import cv2
    from skimage import data

    img = cv2.resize(data.astronaut(), (480, 480), interpolation=cv2.INTER_AREA)
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, 80:560] = img
    return frame


def bench_mtcnn(frame: np.ndarray, repeats: int, min_faces: list[int]) -> dict[str, Any]:
    from models.catalog import is_present
    from models.face_detector import FaceDetector
    from tools.export.cli import export_model

    if not is_present("mtcnn"):
        export_model("mtcnn")
    out: dict[str, Any] = {}
    for m in min_faces:
        det = FaceDetector("mtcnn", min_face=m, threads=1)
        times = timed(lambda: det.detect(frame), repeats)
        out[f"min_face_{m}"] = {"ms_median": 1e3 * statistics.median(times), "faces": len(det.detect(frame)),
                                "scales": len(det._mtcnn.scales(*frame.shape[:2]))}
    haar = FaceDetector("haar", min_face=40)
    out["haar_min_face_40"] = {"ms_median": 1e3 * statistics.median(timed(lambda: haar.detect(frame), repeats)),
                               "faces": len(haar.detect(frame))}
    return out


def make_vit_b(folder: Path) -> None:
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    labels = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    torch.manual_seed(0)
    config = ViTConfig(num_labels=7, id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 224, "width": 224}, image_mean=[0.5] * 3, image_std=[0.5] * 3).save_pretrained(folder)


def bench_vit(crop: np.ndarray, repeats: int, batches: list[int], threads: int, store: Path) -> dict[str, Any]:
    import torch
    from PIL import Image
    from transformers import ViTForImageClassification, ViTImageProcessor, pipeline
    from transformers.utils import logging as hf_logging

    from models.catalog import present_variants
    from models.expression import ExpressionClassifier
    from tools.export.cli import export_model

    folder = store / "_vit_b_random"
    result: dict[str, Any] = {"export_s": None}
    if not (folder / "config.json").is_file():
        make_vit_b(folder)
    if set(present_variants("vit-face-expression")) < {"fp32", "int8"}:
        t = time.perf_counter()
        manifest = export_model("vit-face-expression", source=str(folder), precisions=("fp32", "int8"))
        result["export_s"] = time.perf_counter() - t
        result["export_checks"] = manifest.checks
    torch.set_num_threads(threads)
    hf_logging.set_verbosity_error()
    runners: dict[str, Callable[[list[np.ndarray]], Any]] = {}
    for variant in ("fp32", "int8"):
        clf = ExpressionClassifier("vit-face-expression", variant=variant, threads=threads)
        runners[f"onnx_{variant}"] = clf.predict
    model = ViTForImageClassification.from_pretrained(folder).eval()
    pipe = pipeline("image-classification", model=model, image_processor=ViTImageProcessor.from_pretrained(folder),
                    device="cpu")
    pil = Image.fromarray(crop)
    runners["pipeline"] = lambda crops: pipe([pil] * len(crops), batch_size=len(crops))
    # Runtimes take turns within each repeat, so load from other processes falls on all of them alike.
    times: dict[str, dict[int, list[float]]] = {name: {b: [] for b in batches} for name in runners}
    for b in batches:
        crops = [crop] * b
        for run in runners.values():
            run(crops)
        for _ in range(repeats):
            for name, run in runners.items():
                times[name][b] += timed(lambda: run(crops), 1, warmup=0)
    for name in runners:
        result[name] = {str(b): {"batch_ms_median": 1e3 * statistics.median(times[name][b]),
                                 "images_per_s": b / statistics.median(times[name][b])} for b in batches}
    result["ratios_vs_pipeline"] = {
        name: {str(b): result[name][str(b)]["images_per_s"] / result["pipeline"][str(b)]["images_per_s"] for b in batches}
        for name in ("onnx_fp32", "onnx_int8")}
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per setting (median reported)")
    ap.add_argument("--batches", default="1,4,8")
    ap.add_argument("--min-faces", default="20,40,80", help="MTCNN minimum face sizes to time")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for the ViT (ONNX and torch)")
    ap.add_argument("--store", type=Path, help="model store to use and keep (default: a temporary one)")
    ap.add_argument("--skip-vit", action="store_true", help="only MTCNN and Haar")
    args = ap.parse_args(argv)
    logging.getLogger("emograph.models").setLevel(logging.ERROR)
    batches = [int(b) for b in args.batches.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or Path(tmp)
        store.mkdir(parents=True, exist_ok=True)
        os.environ["EMOGRAPH_MODELS"] = str(store)
        import onnxruntime as ort
        import torch

        from models.face_detector import FaceDetector, crop_faces

        frame = frame_640x480()
        out: dict[str, Any] = {"benchmark": "vision", "cpu_count": os.cpu_count(), "threads": args.threads,
                               "repeats": args.repeats, "onnxruntime": ort.__version__, "torch": torch.__version__,
                               "providers": ort.get_available_providers(),
                               "load_average_at_start": os.getloadavg()[0]}
        out["mtcnn"] = bench_mtcnn(frame, args.repeats, [int(m) for m in args.min_faces.split(",")])
        if not args.skip_vit:
            face = FaceDetector("mtcnn").detect(frame)[0]
            crop = crop_faces(frame, [face.box], 224)[0]
            out["vit_b16"] = bench_vit(crop, args.repeats, batches, args.threads, store)
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"providers: {', '.join(out['providers'])}; {out['cpu_count']} CPUs (load {out['load_average_at_start']:.1f} "
          f"at start), ViT threads {args.threads}, median of {args.repeats}")
    for k, v in out["mtcnn"].items():
        print(f"{k:<22} {v['ms_median']:7.1f} ms per 640x480 frame, {v['faces']} face(s)")
    if "vit_b16" in out:
        vit = out["vit_b16"]
        if vit["export_s"]:
            print(f"ViT-B/16 export (fp32 + int8, checked): {vit['export_s']:.0f} s")
        print(f"{'ViT-B/16 224':<12}" + "".join(f"{'batch ' + str(b):>22}" for b in batches))
        for name in ("onnx_fp32", "onnx_int8", "pipeline"):
            cells = "".join(f"{vit[name][str(b)]['images_per_s']:8.2f} img/s {vit[name][str(b)]['batch_ms_median']:6.0f} ms"
                            for b in batches)
            print(f"{name:<12}{cells}")
        for name, r in vit["ratios_vs_pipeline"].items():
            print(f"{name} / pipeline: " + ", ".join(f"batch {b}: {x:.2f}x" for b, x in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
