"""Whisper for faster-whisper: a Hugging Face Whisper (hub id or folder) converted to a CTranslate2 folder.

The folder gets tokenizer.json and preprocessor_config.json beside model.bin, without which faster-whisper goes to
the hub for them. Weights are stored in float16 by default: CTranslate2 runs them as float16 on a GPU and
quantizes them to int8 as it loads them on a CPU, so one folder serves both (`quantization="int8"` halves the
disk for CPU-only devices). A folder that is already a faster-whisper model (model.bin + tokenizer.json) is taken
as it is. Either way the result is loaded back with CTranslate2 and, for a conversion, its encoder is checked
against PyTorch's on the same features.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from tools.export.base import ExportError, ExportRequest, ExportResult, hf_folder, log

QUANTIZATIONS = ("float16", "int8", "int8_float16", "float32")
MIN_COSINE = {"float32": 0.9999, "float16": 0.999, "int8_float16": 0.98, "int8": 0.98}
CT2_FILES = ("model.bin", "config.json", "vocabulary.json", "vocabulary.txt", "tokenizer.json",
             "preprocessor_config.json")


def export(req: ExportRequest) -> ExportResult:
    return convert(hf_folder(req), req.out)


def is_ct2_folder(folder: Path) -> bool:
    return (folder / "model.bin").is_file() and (folder / "tokenizer.json").is_file()


def convert(source: str | Path, out: str | Path, quantization: str = "float16") -> ExportResult:
    """Writes the faster-whisper folder for `source` (an HF Whisper folder or a ready CT2 one) into `out`."""
    source, out = Path(source), Path(out)
    if quantization not in QUANTIZATIONS:
        raise ExportError(f"quantization {quantization!r}: choose from {', '.join(QUANTIZATIONS)}")
    if is_ct2_folder(source):
        return _copy_ready(source, out)
    if not (source / "config.json").is_file():
        raise ExportError(f"{source}: neither a Hugging Face Whisper folder (config.json) nor a faster-whisper "
                          f"folder (model.bin + tokenizer.json)")
    from ctranslate2.converters import TransformersConverter

    config = json.loads((source / "config.json").read_text())
    if config.get("model_type") != "whisper":
        raise ExportError(f"{source}/config.json: model_type is {config.get('model_type')!r}, not 'whisper'")
    staging = out / ".ct2"
    copy = [f for f in ("tokenizer.json", "preprocessor_config.json") if (source / f).is_file()]
    log.info("converting %s to CTranslate2 (%s)", source, quantization)
    try:
        TransformersConverter(str(source), copy_files=copy, low_cpu_mem_usage=True).convert(
            str(staging), quantization=quantization, force=True)
    except Exception as exc:
        raise ExportError(f"{source}: CTranslate2 cannot convert it ({type(exc).__name__}: {exc})") from exc
    for f in staging.iterdir():
        shutil.move(str(f), str(out / f.name))
    staging.rmdir()
    if not (out / "tokenizer.json").is_file():  # older folders have only vocab.json + merges.txt
        from transformers import AutoTokenizer

        AutoTokenizer.from_pretrained(str(source)).backend_tokenizer.save(str(out / "tokenizer.json"))
    if not (out / "preprocessor_config.json").is_file():
        _write_preprocessor(out, config.get("num_mel_bins", 80))
    cosine = _check_encoder(source, out, quantization)
    described = {**_describe(out, quantization), "random": bool(config.get("emograph_random_weights", False))}
    return ExportResult(str(source), config=described,
                        checks={"model.bin": {"encoder_cosine_vs_pytorch": cosine, "min": MIN_COSINE[quantization]}})


def _copy_ready(source: Path, out: Path) -> ExportResult:
    log.info("%s is a faster-whisper folder: copying it", source)
    for name in CT2_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, out / name)
    model = _load(out)
    if not (out / "preprocessor_config.json").is_file():
        _write_preprocessor(out, model.n_mels)
    return ExportResult(str(source), config=_describe(out, None, model))


def _write_preprocessor(out: Path, n_mels: int) -> None:
    from transformers import WhisperFeatureExtractor

    WhisperFeatureExtractor(feature_size=n_mels).to_json_file(str(out / "preprocessor_config.json"))


def _load(folder: Path, compute_type: str = "int8") -> Any:
    import ctranslate2

    try:
        return ctranslate2.models.Whisper(str(folder), device="cpu", compute_type=compute_type)
    except Exception as exc:
        raise ExportError(f"{folder}: CTranslate2 cannot load the converted model ({exc})") from exc


def _describe(out: Path, quantization: str | None, model: Any = None) -> dict[str, Any]:
    model = model or _load(out)
    return {"n_mels": model.n_mels, "multilingual": bool(model.is_multilingual), "languages": model.num_languages,
            "quantization": quantization or "as given"}


def _test_features(n_mels: int, seconds: float = 2.0) -> np.ndarray:
    """Log-mel features of a fixed chirp, padded to Whisper's 30 s window."""
    from transformers import WhisperFeatureExtractor

    t = np.arange(int(16000 * seconds)) / 16000
    chirp = (0.3 * np.sin(2 * np.pi * (200 + 400 * t) * t)).astype(np.float32)
    fe = WhisperFeatureExtractor(feature_size=n_mels)
    return fe(chirp, sampling_rate=16000, return_tensors="np").input_features.astype(np.float32)


def _check_encoder(source: Path, out: Path, quantization: str) -> float:
    """Cosine between CTranslate2's encoder output (float32 compute over the stored weights) and PyTorch's."""
    import ctranslate2
    import torch
    from transformers import WhisperForConditionalGeneration

    model = WhisperForConditionalGeneration.from_pretrained(str(source), dtype=torch.float32).eval()
    features = _test_features(model.config.num_mel_bins)
    with torch.no_grad():
        ref = model.model.encoder(torch.from_numpy(features)).last_hidden_state.numpy()
    del model
    ct2 = _load(out, "float32" if quantization != "int8" else "int8_float32")
    got = np.array(ct2.encode(ctranslate2.StorageView.from_array(features), to_cpu=True))
    cosine = float(np.dot(ref.ravel(), got.ravel()) / (np.linalg.norm(ref) * np.linalg.norm(got) + 1e-12))
    log.info("encoder output against PyTorch: cosine %.6f (%s)", cosine, quantization)
    if not cosine >= MIN_COSINE[quantization]:
        raise ExportError(f"{out}/model.bin: encoder output differs from PyTorch's: cosine {cosine:.5f} "
                          f"< {MIN_COSINE[quantization]} ({quantization})")
    return round(cosine, 6)
