"""A Hugging Face model folder -> ONNX with optimum, in fp32, fp16 and int8, each checked against PyTorch's logits.

Task-generic (image-classification, text-classification, ...): the task picks the PyTorch class to compare with and
the check inputs. fp16 keeps its inputs and outputs fp32 and runs LayerNorm and Softmax in fp32 (ViT loses accuracy
otherwise); int8 is dynamic quantisation for CPUs, checked by top-class agreement since its logits move more.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from tools.export.base import ExportError, log

TASK_CLASSES = {
    "image-classification": "AutoModelForImageClassification",
    "text-classification": "AutoModelForSequenceClassification",
    "audio-classification": "AutoModelForAudioClassification",
}
SAMPLE_TEXTS = ["I love this, it is wonderful!", "This is terrible and I am angry.", "The meeting is at noon.",
                "Oh no, I am so scared.", "What a surprise to see you here!", "I feel sad and lonely today.",
                "That smells disgusting.", "Thanks, that was really helpful."]


@dataclass(frozen=True)
class Tolerance:
    fp32_atol: float = 1e-4  # max |logit diff|
    fp16_rtol: float = 2e-2  # max |logit diff| / max(1, max |logit|)
    int8_agree: float = 0.75  # share of inputs with PyTorch's top class


def sample_inputs(folder: Path, task: str, n: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    """Check inputs in the model's own format: smooth random images at its size, or tokenised sentences."""
    from transformers import AutoConfig

    rng = np.random.default_rng(seed)
    if task == "text-classification":
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(folder)
        return dict(tok(SAMPLE_TEXTS[:n], padding=True, return_tensors="np"))
    if task == "image-classification":
        cfg = AutoConfig.from_pretrained(folder)
        size, ch = int(getattr(cfg, "image_size", 224)), int(getattr(cfg, "num_channels", 3))
        coarse = rng.uniform(-1, 1, (n, ch, 4, 4)).repeat(size // 4 + 1, axis=2).repeat(size // 4 + 1, axis=3)
        pixels = 0.7 * coarse[:, :, :size, :size] + 0.3 * rng.uniform(-1, 1, (n, ch, size, size))
        return {"pixel_values": pixels.astype(np.float32)}
    raise ExportError(f"no check inputs for task {task!r}; pass sample= to export_hf")


def torch_logits(folder: Path, task: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
    import torch
    import transformers

    cls = getattr(transformers, TASK_CLASSES[task])
    model = cls.from_pretrained(folder).eval()
    with torch.no_grad():
        return model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits.float().numpy()


def onnx_logits(path: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    return session.run(["logits"], {k: v for k, v in inputs.items() if k in names})[0].astype(np.float32)


def to_fp16(src: Path, dst: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True,
                                     op_block_list=DEFAULT_OP_BLOCK_LIST + ["LayerNormalization", "Softmax"])
    onnx.save(model, str(dst))


@contextlib.contextmanager
def _quiet_root() -> Iterator[None]:
    """onnxruntime's quantiser logs through the root logger (configuring it on first use): keep that off."""
    root = logging.getLogger()
    level, guard = root.level, logging.NullHandler()
    root.addHandler(guard)
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
        root.removeHandler(guard)


def to_int8(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_root():
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)


def compare(precision: str, want: np.ndarray, got: np.ndarray, tol: Tolerance) -> dict[str, Any]:
    """Differences of one variant from PyTorch; raises ExportError beyond the tolerance, saying both."""
    diff = float(np.abs(want - got).max())
    agree = float((want.argmax(-1) == got.argmax(-1)).mean())
    check: dict[str, Any] = {"max_abs_diff": diff, "top1_agreement": agree, "inputs": len(want)}
    if precision == "fp32":
        check["tolerance"] = f"max |diff| <= {tol.fp32_atol:g}"
        ok = diff <= tol.fp32_atol
    elif precision == "fp16":
        limit = tol.fp16_rtol * max(1.0, float(np.abs(want).max()))
        check["tolerance"] = f"max |diff| <= {limit:.3g}"
        ok = diff <= limit
    else:
        check["tolerance"] = f"top-1 agreement >= {tol.int8_agree:g}"
        ok = agree >= tol.int8_agree
    if not ok:
        raise ExportError(f"{precision} ONNX logits differ from PyTorch: max |diff| {diff:.3g}, top-1 agreement "
                          f"{agree:.0%} on {len(want)} inputs; tolerance: {check['tolerance']}")
    return check


def export_hf(folder: Path, out: Path, task: str, files: dict[str, str],
              precisions: Sequence[str] = ("fp32", "fp16", "int8"), keep: Sequence[str] = (), tolerance: Tolerance = Tolerance(),
              sample: Callable[[Path, str], dict[str, np.ndarray]] = sample_inputs) -> dict[str, Any]:
    """Exports `folder` for `task`, writes `files[precision]` for each precision and the `keep` files into `out`.

    Returns the checks per file. The fp32 model is always made (the others derive from it), kept only if asked.
    """
    from optimum.exporters.onnx import main_export
    from optimum.utils import logging as optimum_logging
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # notes about the model's own config and optional packages, not this export
    optimum_logging.set_verbosity_error()
    if task not in TASK_CLASSES:
        raise ExportError(f"task {task!r} is not supported; choose from {', '.join(TASK_CLASSES)}")
    if not (folder / "config.json").is_file():
        raise ExportError(f"{folder}: no config.json, not a Hugging Face model folder")
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        work = Path(tmp)
        try:
            main_export(str(folder), output=work, task=task, do_validation=False)
        except Exception as exc:
            raise ExportError(f"optimum could not export {folder} for {task}: {' '.join(str(exc).split())[:300]}") from exc
        fp32 = work / "model.onnx"
        made = {"fp32": fp32}
        if "fp16" in precisions:
            made["fp16"] = work / "model_fp16.onnx"
            to_fp16(fp32, made["fp16"])
        if "int8" in precisions:
            made["int8"] = work / "model_int8.onnx"
            to_int8(fp32, made["int8"])
        inputs = sample(folder, task)
        want = torch_logits(folder, task, inputs)
        checks = {}
        for precision in [p for p in ("fp32", "fp16", "int8") if p in made]:
            check = compare(precision, want, onnx_logits(made[precision], inputs), tolerance)
            log.info("%s: max |diff| vs PyTorch %.2g, top-1 agreement %.0f%% on %d inputs (tolerance: %s)", precision,
                     check["max_abs_diff"], 100 * check["top1_agreement"], check["inputs"], check["tolerance"])
            if precision in precisions:
                checks[files[precision]] = check
                shutil.move(str(made[precision]), str(out / files[precision]))
        for name in keep:
            src = work / name if (work / name).is_file() else folder / name
            if src.is_file():
                shutil.copy2(src, out / name)
    return checks


def labels_of(folder: Path) -> list[str]:
    """The model's class names by id, lowercased, from its config.json."""
    import json

    cfg = json.loads((folder / "config.json").read_text())
    id2label = cfg.get("id2label") or {}
    return [str(id2label[k]).lower() for k in sorted(id2label, key=int)]
