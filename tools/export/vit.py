"""`trpakov/vit-face-expression` (or any local ViTForImageClassification folder) -> ONNX fp32, fp16, int8.

The manifest gets the model's own labels (config.json's id2label, lowercased) and preprocessing
(preprocessor_config.json's size, mean and std), so runners feed a fine-tuned model the way it was trained.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.export.base import ExportError, ExportRequest, ExportResult, hf_folder, log
from tools.export.hf_onnx import export_hf, labels_of

TASK = "image-classification"
DEFAULT_PRECISIONS = ("fp32", "fp16", "int8")


def input_spec(folder: Path) -> dict[str, Any]:
    """Size, colour, mean and std from the image processor's config (ViT's defaults where it has none)."""
    cfg = json.loads((folder / "config.json").read_text())
    path = folder / "preprocessor_config.json"
    proc = json.loads(path.read_text()) if path.is_file() else {}
    if not proc:
        log.warning("%s: no preprocessor_config.json; using image_size %s and mean = std = 0.5", folder,
                    cfg.get("image_size"))
    size = proc.get("size", cfg.get("image_size", 224))
    if isinstance(size, dict):
        size = size.get("height") or size.get("shortest_edge")
    if proc.get("do_rescale", True) is False or abs(proc.get("rescale_factor", 1 / 255) - 1 / 255) > 1e-9:
        raise ExportError(f"{path}: only pixel scaling by 1/255 is supported")
    normalise = proc.get("do_normalize", True)
    channels = int(cfg.get("num_channels", 3))
    mean = proc.get("image_mean", [0.5] * channels) if normalise else [0.0] * channels
    std = proc.get("image_std", [0.5] * channels) if normalise else [1.0] * channels
    return {"size": int(size), "color": "rgb" if channels == 3 else "grey", "mean": mean, "std": std}


def export(req: ExportRequest) -> ExportResult:
    folder = hf_folder(req)
    cfg = json.loads((folder / "config.json").read_text()) if (folder / "config.json").is_file() else {}
    if cfg and "ViTForImageClassification" not in cfg.get("architectures", ["ViTForImageClassification"]):
        log.warning("%s: architectures %s, not ViTForImageClassification; exporting it as an image classifier",
                    folder, cfg.get("architectures"))
    checks = export_hf(folder, req.out, TASK, req.entry.variants, req.precisions or DEFAULT_PRECISIONS,
                       keep=("config.json", "preprocessor_config.json"))
    return ExportResult(source=str(req.source or req.entry.source.hub),
                        config={"labels": labels_of(folder), "input": input_spec(folder)}, checks=checks)
