"""The model store: one folder per model, each with a `manifest.json` recording what the export made.

    $EMOGRAPH_MODELS or models/store/
      vit-face-expression/  model.onnx  model_int8.onnx  manifest.json
      mtcnn/                pnet.onnx  rnet.onnx  onet.onnx  manifest.json

Checksums are recorded at export time, not in the catalog, because the same entry can be exported from the real
weights or from a local folder (a fine-tuned or a random test model): the manifest says which files this store holds.
The manifest's `config` (labels, input size, normalisation) is the exported model's own and wins over the catalog's.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
_DEFAULT = Path(__file__).resolve().parent / "store"


def store_dir() -> Path:
    """The store in use: $EMOGRAPH_MODELS, else models/store/ beside this file."""
    return Path(os.environ.get("EMOGRAPH_MODELS") or _DEFAULT).expanduser()


def model_dir(name: str) -> Path:
    return store_dir() / name


@dataclass
class FileRecord:
    sha256: str
    bytes: int


@dataclass
class Manifest:
    """What one export produced; written last, so a folder without it holds no finished export."""

    name: str
    exporter: str
    source: str
    created: str
    files: dict[str, FileRecord] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        files = {k: FileRecord(**v) for k, v in data.get("files", {}).items()}
        return cls(data["name"], data.get("exporter", ""), data.get("source", ""), data.get("created", ""), files,
                   data.get("config", {}), data.get("checks", {}))

    @property
    def size(self) -> int:
        return sum(f.bytes for f in self.files.values())


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(name: str) -> Manifest | None:
    path = model_dir(name) / MANIFEST
    if not path.is_file():
        return None
    try:
        return Manifest.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: unreadable manifest ({exc}); export the model again") from exc


def install(name: str, staging: Path, *, exporter: str, source: str, config: dict[str, Any],
            checks: dict[str, Any]) -> Manifest:
    """Moves every file made in `staging` into the model's folder, then records all its files and checksums.

    Files from an earlier export that this one did not remake (another precision, say) are kept and stay listed.
    """
    dest = model_dir(name)
    dest.mkdir(parents=True, exist_ok=True)
    old = read_manifest(name)
    made = sorted(p for p in staging.rglob("*") if p.is_file())
    for src in made:
        target = dest / src.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(src), str(target))
    names = {str(p.relative_to(staging)) for p in made} | (set(old.files) if old else set())
    files = {n: FileRecord(sha256(dest / n), (dest / n).stat().st_size) for n in sorted(names) if (dest / n).is_file()}
    manifest = Manifest(name, exporter, source, time.strftime("%Y-%m-%dT%H:%M:%S%z"), files,
                        {**(old.config if old else {}), **config}, {**(old.checks if old else {}), **checks})
    tmp = dest / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    tmp.replace(dest / MANIFEST)
    return manifest


def verify(name: str) -> list[str]:
    """Problems with a model's files against its manifest (missing, truncated, changed); empty when all is well."""
    manifest = read_manifest(name)
    if manifest is None:
        return [f"{model_dir(name)}: no {MANIFEST}"]
    problems = []
    for rel, rec in manifest.files.items():
        path = model_dir(name) / rel
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.stat().st_size != rec.bytes:
            problems.append(f"{path}: {path.stat().st_size} bytes, the manifest says {rec.bytes}")
        elif sha256(path) != rec.sha256:
            problems.append(f"{path}: sha256 differs from the manifest")
    return problems
