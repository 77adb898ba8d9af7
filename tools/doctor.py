"""`emograph doctor`: what this machine can run, and what is broken, before a graph finds out the hard way.

The classic trap: faster-whisper depends on `onnxruntime`, and `onnxruntime-gpu` installs the same module; whichever
was installed last wins, and a GPU machine then runs everything on the CPU without a word.
"""

from __future__ import annotations

import argparse
import glob
import importlib
import importlib.metadata as md
import shutil
from dataclasses import dataclass


@dataclass
class Check:
    level: str  # ok | warn | fail
    what: str
    detail: str


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def has_nvidia_gpu() -> bool:
    return bool(glob.glob("/dev/nvidia[0-9]*")) or shutil.which("nvidia-smi") is not None


def check_onnxruntime() -> list[Check]:
    dists = {d: v for d in ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-openvino") if (v := _version(d))}
    try:
        import onnxruntime as ort
    except ImportError as exc:
        return [Check("fail", "onnxruntime", f"cannot import: {exc}; pip install onnxruntime (or onnxruntime-gpu)")]
    providers = ort.get_available_providers()
    out = [Check("ok", "onnxruntime", f"{ort.__version__}, providers: {', '.join(providers)}")]
    if len(dists) > 1:
        owner = "onnxruntime-gpu" if "CUDAExecutionProvider" in providers else "onnxruntime"
        out.append(Check("warn", "onnxruntime mix", f"{', '.join(f'{d} {v}' for d, v in dists.items())} are all installed; "
                         f"the module on disk is {owner}'s (the last installed)"))
    if has_nvidia_gpu() and "CUDAExecutionProvider" not in providers:
        out.append(Check("fail", "onnxruntime GPU", "an NVIDIA GPU is present but onnxruntime has no CUDA provider: "
                         "`pip install --force-reinstall --no-deps onnxruntime-gpu` after faster-whisper"))
    return out


def check_module(module: str, what: str, hint: str) -> Check:
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # a broken native library raises OSError, not only ImportError
        return Check("fail", what, f"cannot import {module}: {exc}; {hint}")
    return Check("ok", what, getattr(mod, "__version__", "importable"))


def check_opencv() -> list[Check]:
    try:
        import cv2
    except ImportError as exc:
        return [Check("fail", "opencv", f"{exc}; pip install 'opencv-python-headless<5'")]
    out = [Check("ok", "opencv", cv2.__version__)]
    if not hasattr(cv2, "CascadeClassifier") or not hasattr(cv2, "data"):
        out.append(Check("warn", "haar cascade", "this OpenCV has no Haar cascades (5.x): the 'haar' detector is unavailable"))
    return out


def check_whisper() -> list[Check]:
    try:
        import ctranslate2
    except ImportError as exc:
        return [Check("fail", "faster-whisper", f"{exc}; pip install faster-whisper")]
    cuda = ctranslate2.get_cuda_device_count()
    level = "warn" if has_nvidia_gpu() and not cuda else "ok"
    note = "" if level == "ok" else " (no CUDA build: Whisper runs int8 on the CPU; on a Jetson build CTranslate2 from source)"
    return [Check(level, "faster-whisper", f"ctranslate2 {ctranslate2.__version__}, CUDA devices: {cuda}{note}")]


def check_audio() -> list[Check]:
    try:
        import sounddevice as sd
    except OSError as exc:
        return [Check("warn", "microphone", f"PortAudio missing ({exc}): apt-get install libportaudio2")]
    inputs = [d["name"] for d in sd.query_devices() if d["max_input_channels"] > 0]
    if not inputs:
        return [Check("warn", "microphone", "PortAudio works but lists no input device: use a file source")]
    return [Check("ok", "microphone", f"{len(inputs)} input device(s): {', '.join(inputs[:3])}")]


def check_cameras() -> Check:
    cams = sorted(glob.glob("/dev/video*"))
    return Check("ok", "cameras", ", ".join(cams)) if cams else Check("warn", "cameras", "no /dev/video*: use a file source")


def check_tools() -> list[Check]:
    out = []
    for tool, why in (("espeak-ng", "demo speech"), ("ffmpeg", "video files")):
        out.append(Check("ok", tool, shutil.which(tool) or "") if shutil.which(tool) else Check("warn", tool, f"not found ({why})"))
    return out


def check_models() -> list[Check]:
    try:
        from models.catalog import load_catalog, present
    except ImportError:
        return []
    entries = load_catalog()
    have = [name for name in entries if present(name)]
    return [Check("ok" if have else "warn", "models", f"{len(have)}/{len(entries)} in the store: {', '.join(have) or 'none'} "
                  "(`emograph models`; make one with `emograph export NAME`)")]


def run_checks() -> list[Check]:
    return [
        *check_onnxruntime(),
        *check_opencv(),
        *check_whisper(),
        check_module("webrtcvad", "webrtcvad", "pip install webrtcvad-wheels"),
        check_module("vaderSentiment.vaderSentiment", "vader", "pip install vaderSentiment"),
        check_module("av", "pyav", "pip install av"),
        *check_audio(),
        check_cameras(),
        *check_tools(),
        *check_models(),
    ]


def cmd_doctor(args: argparse.Namespace) -> int:
    checks = run_checks()
    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    for c in checks:
        print(f"{marks[c.level]}  {c.what:<16} {c.detail}")
    return 1 if any(c.level == "fail" for c in checks) else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check the installation: onnxruntime providers, devices, tools, models")
    p.set_defaults(func=cmd_doctor)
