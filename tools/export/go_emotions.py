"""`SamLowe/roberta-base-go_emotions` (or any local sequence-classification folder) -> ONNX fp32 and int8.

The runner tokenizes with the `tokenizers` library from the exported tokenizer.json (the runtime never imports
transformers), so the manifest records what it needs besides: labels in output order, the padding id, the longest
input, and whether the labels are independent (sigmoid, GoEmotions' 28) or exclusive (softmax).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.export.base import ExportError, ExportRequest, ExportResult, hf_folder
from tools.export.hf_onnx import export_hf, labels_of

TASK = "text-classification"
DEFAULT_PRECISIONS = ("fp32", "int8")


def text_config(folder: Path) -> dict[str, Any]:
    cfg = json.loads((folder / "config.json").read_text())
    labels = labels_of(folder)
    if not labels:
        raise ExportError(f"{folder}/config.json: no id2label, so the outputs have no names")
    exclusive = cfg.get("problem_type") == "single_label_classification"
    positions = int(cfg.get("max_position_embeddings", 514))
    offset = int(cfg.get("pad_token_id", 1)) + 1 if cfg.get("model_type") in ("roberta", "xlm-roberta") else 0
    return {"labels": labels, "activation": "softmax" if exclusive else "sigmoid",
            "pad_id": int(cfg.get("pad_token_id") or 0), "max_length": min(512, positions - offset)}


def export(req: ExportRequest) -> ExportResult:
    folder = hf_folder(req)
    if not (folder / "config.json").is_file():
        raise ExportError(f"{folder}: no config.json, not a Hugging Face model folder")
    config = text_config(folder)
    checks = export_hf(folder, req.out, TASK, req.entry.variants, req.precisions or DEFAULT_PRECISIONS,
                       keep=("tokenizer.json", "config.json"))
    if not (req.out / "tokenizer.json").is_file():
        raise ExportError(f"{folder}: no tokenizer.json (a fast tokenizer) to export beside the model")
    return ExportResult(source=str(req.source or req.entry.source.hub), config=config, checks=checks)
