"""The model catalog (catalog.yaml) and where each model's files are in the store.

Runners ask here for a path; a model that was never exported is a `ModelMissing` naming the command that makes it,
so a graph fails at validation with a fix, not at the first frame with a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.store import Manifest, model_dir, read_manifest, store_dir

__all__ = ["CatalogError", "UnknownModel", "ModelMissing", "Source", "InputSpec", "ModelEntry", "ModelConfig",
           "load_catalog", "entry", "store_dir", "present_variants", "is_present", "model_path", "model_config",
           "choose_variant", "export_command"]

CATALOG = Path(__file__).resolve().parent / "catalog.yaml"
PRECISIONS = ("fp32", "fp16", "int8")
# int8 first on a CPU (dynamic int8 is the fast CPU path); on a GPU int8 has no CUDA kernels and runs on the CPU.
CPU_ORDER = ("int8", "fp32", "fp16")
GPU_ORDER = ("fp16", "fp32", "int8")


class CatalogError(Exception):
    """A model cannot be used as asked; the message says what to do."""


class UnknownModel(CatalogError):
    pass


class ModelMissing(CatalogError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    hub: str | None = None
    package: str | None = Field(None, description="pip requirement of a wheel that ships the weights")
    files: list[str] = Field(default_factory=list, description="the weights' paths inside the wheel")


class InputSpec(_Strict):
    size: int = Field(gt=0)
    color: Literal["rgb", "grey"] = "rgb"
    mean: list[float]
    std: list[float]


class ModelEntry(_Strict):
    name: str
    task: str
    format: Literal["onnx", "ctranslate2"]
    description: str = ""
    source: Source
    exporter: str = Field(pattern=r"^[\w.]+:\w+$")
    files: list[str] = Field(default_factory=list)
    variants: dict[Literal["fp32", "fp16", "int8"], str] = Field(default_factory=dict)
    input: InputSpec | None = None
    labels: list[str] = Field(default_factory=list)
    license: str = ""


class ModelConfig(_Strict):
    """What a runner needs to feed a model: the manifest's (the exported model's own) over the catalog's."""

    name: str
    labels: list[str]
    input: InputSpec | None


def load_catalog(path: Path = CATALOG) -> dict[str, ModelEntry]:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot read the model catalog: {exc}") from exc
    try:
        return {name: ModelEntry(name=name, **spec) for name, spec in (raw or {}).items()}
    except (ValidationError, TypeError) as exc:
        raise CatalogError(f"{path}: invalid model catalog: {exc}") from exc


def entry(name: str) -> ModelEntry:
    catalog = load_catalog()
    if name not in catalog:
        raise UnknownModel(f"unknown model {name!r}; the catalog has: {', '.join(catalog)}")
    return catalog[name]


def export_command(name: str, variant: str | None = None) -> str:
    return f"emograph export {name}" + (f" --precision {variant}" if variant else "")


def _file_ok(manifest: Manifest, rel: str) -> bool:
    """Present and the size the export wrote (a cheap check for a truncated copy; `verify` hashes)."""
    path, rec = model_dir(manifest.name) / rel, manifest.files.get(rel)
    return rec is not None and path.is_file() and path.stat().st_size == rec.bytes


def present_variants(name: str) -> list[str]:
    """The precisions of `name` in the store, in the catalog's order (empty for a model without variants)."""
    e, manifest = entry(name), read_manifest(name)
    if manifest is None or not all(_file_ok(manifest, f) for f in e.files):
        return []
    return [v for v, f in e.variants.items() if _file_ok(manifest, f)]


def is_present(name: str, variant: str | None = None) -> bool:
    e, manifest = entry(name), read_manifest(name)
    if manifest is None or not all(_file_ok(manifest, f) for f in e.files):
        return False
    if not e.variants:
        return True
    have = present_variants(name)
    return variant in have if variant else bool(have)


def _absent(name: str, variant: str | None) -> ModelMissing:
    """The error for a model (or one precision of it) the store cannot give: never made, or damaged since."""
    damage = _damage(name, variant)
    if damage:
        return ModelMissing(f"model {name!r} is damaged in the store ({store_dir()}): {damage}; "
                            f"make it again with `{export_command(name, variant)}`")
    what = f"({variant}) is not" if variant else "is not"
    return ModelMissing(f"model {name!r} {what} in the store ({store_dir()}): "
                        f"make it with `{export_command(name, variant)}`")


def _damage(name: str, variant: str | None) -> str | None:
    """Which of the files an export made is now another size (a truncated copy), if any."""
    e, manifest = entry(name), read_manifest(name)
    if manifest is None:
        return None
    wanted = list(e.files) + ([e.variants[variant]] if variant else list(e.variants.values()))
    for rel in wanted:
        path, rec = model_dir(name) / rel, manifest.files.get(rel)
        if rec is not None and path.is_file() and path.stat().st_size != rec.bytes:
            return f"{path} is {path.stat().st_size} bytes, the export made {rec.bytes}"
    return None


def choose_variant(name: str, gpu: bool = False) -> str | None:
    """The precision to run: int8 on a CPU, fp16 on a GPU, else what there is. None for a model without variants."""
    e = entry(name)
    if not e.variants:
        return None
    have = present_variants(name)
    for v in GPU_ORDER if gpu else CPU_ORDER:
        if v in have:
            return v
    raise _absent(name, None)


def model_path(name: str, variant: str | None = None) -> Path:
    """The ONNX file of a model with variants (the CPU choice when `variant` is None), else the model's folder."""
    e = entry(name)
    if variant is not None and variant not in e.variants:
        raise CatalogError(f"model {name!r} has no {variant!r} variant; it has: {', '.join(e.variants) or 'none'}")
    if not is_present(name, variant):
        raise _absent(name, variant)
    if not e.variants:
        return model_dir(name)
    return model_dir(name) / e.variants[variant or choose_variant(name)]


def model_config(name: str) -> ModelConfig:
    e, manifest = entry(name), read_manifest(name)
    cfg = manifest.config if manifest else {}
    labels = [str(x).lower() for x in cfg.get("labels", e.labels)]
    spec = cfg.get("input")
    return ModelConfig(name=name, labels=labels, input=InputSpec(**spec) if spec else e.input)
