"""The one place that opens an onnxruntime session: providers by preference, a quiet fallback, one log line.

onnxruntime-gpu on a machine without CUDA libraries prints pages of errors and then runs on the CPU anyway; and an
`onnxruntime` installed after `onnxruntime-gpu` silently takes its module. So we ask only for providers this build
has, try them in order ourselves, and say once which one runs. A list without "cpu" is a promise not to fall back to
the CPU: if no GPU provider starts, that is an error, not a slow surprise.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from models.store import store_dir

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger("emograph.models")

PROVIDERS = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider"}
_SHORT = {v: k for k, v in PROVIDERS.items()}


class ModelLoadError(Exception):
    """A model file that will not open, or no usable provider: one line naming the file."""


def available_providers() -> list[str]:
    """Short names (tensorrt, cuda, cpu) of the providers this onnxruntime build has."""
    import onnxruntime as ort

    return [_SHORT[p] for p in ort.get_available_providers() if p in _SHORT]


def provider_options(name: str, trt_cache: Path) -> dict[str, Any]:
    if name == "tensorrt":
        # Engines take minutes to build: keep them on disk. LayerNorm in fp32 keeps ViT accurate under fp16.
        return {"trt_engine_cache_enable": True, "trt_engine_cache_path": str(trt_cache), "trt_fp16_enable": True,
                "trt_timing_cache_enable": True, "trt_timing_cache_path": str(trt_cache),
                "trt_layer_norm_fp32_fallback": True}
    return {}


def open_session(path: Path | str, providers: Sequence[str] = ("cpu",), threads: int = 1,
                 trt_cache: Path | None = None) -> ort.InferenceSession:
    """Opens `path` on the first of `providers` (tensorrt, cuda, cpu) that starts; logs which runs.

    `threads` is intra-op threads: 1 suits small nets (a second thread made MTCNN slower on 2 cores).
    """
    import onnxruntime as ort

    path = Path(path)
    unknown = [p for p in providers if p not in PROVIDERS]
    if unknown or not providers:
        raise ValueError(f"unknown execution provider(s) {unknown or '[]'}; choose from: {', '.join(PROVIDERS)}")
    if not path.is_file():
        raise ModelLoadError(f"{path}: model file not found")
    have = available_providers()
    chain = [p for p in providers if p in have]
    if not chain:
        raise ModelLoadError(f"{path}: none of the providers {list(providers)} is in this onnxruntime build "
                             f"(it has: {', '.join(have)}); add 'cpu' to run on the CPU")
    trt_cache = trt_cache or store_dir() / ".trt" / path.parent.name
    if "tensorrt" in chain:
        trt_cache.mkdir(parents=True, exist_ok=True)

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    # Idle pool threads would spin-wait after every run, taking the cores the graph's other nodes need (measured:
    # a second session ran 35 ms slower right after a spinning one on 2 cores). Sleep instead.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    # A CUDA build without its libraries logs errors at ERROR level through the default logger before falling back.
    ort.set_default_logger_severity(4 if chain != ["cpu"] else 3)
    failures: list[str] = []
    session = None
    try:
        for i in range(len(chain)):
            names = chain[i:]
            try:
                session = ort.InferenceSession(str(path), opts, providers=[PROVIDERS[n] for n in names],
                                               provider_options=[provider_options(n, trt_cache) for n in names],
                                               enable_fallback=0)
                break
            except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf/NoSuchFile types
                reason = _one_line(exc)
                if _is_model_error(reason):
                    raise ModelLoadError(f"{path}: not a valid ONNX model ({reason})") from None
                failures.append(f"{names[0]}: {reason}")
    finally:
        ort.set_default_logger_severity(3)
    if session is None:
        raise ModelLoadError(f"{path}: no provider started ({'; '.join(failures)})")

    first = session.get_providers()[0]
    running = _SHORT.get(first, first)
    if running not in providers:
        raise ModelLoadError(f"{path}: onnxruntime fell back to {running}, which is not in {list(providers)}")
    skipped = list(providers)[:list(providers).index(running)]
    if skipped:
        why = "; ".join(failures + [f"{p}: not in this onnxruntime build" for p in skipped if p not in have])
        why = why or "its libraries did not load; see `emograph doctor`"
        # A provider this build lacks is the machine's nature (INFO); one that is there and did not start is a problem.
        lacking = all(p not in have for p in skipped)
        log.log(logging.INFO if lacking else logging.WARNING, "%s/%s runs on %s, not %s (%s)",
                path.parent.name, path.name, running, skipped[0], why)
    else:
        log.info("%s/%s runs on %s", path.parent.name, path.name, running)
    return session


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _is_model_error(reason: str) -> bool:
    return any(s in reason for s in ("INVALID_PROTOBUF", "Protobuf parsing failed", "INVALID_GRAPH", "NO_SUCHFILE",
                                     "Load model from", "ModelProto"))
