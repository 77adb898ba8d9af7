"""The exporter contract: `emograph export NAME` calls the catalog entry's `exporter` ("module:function") with an
`ExportRequest` and installs what it wrote in `out` into the store, with checksums, from the `ExportResult`.

    def export(req: ExportRequest) -> ExportResult

An exporter writes the files its catalog entry names into `req.out`, checks them against the framework it came from,
and raises `ExportError` (one line: what differed, by how much, against which tolerance) when they disagree.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.catalog import ModelEntry

log = logging.getLogger("emograph.export")


class ExportError(Exception):
    """An export that cannot be made or did not check out; the message says what and where."""


@dataclass
class ExportRequest:
    entry: ModelEntry
    out: Path  # an empty staging folder in the store
    source: str | None = None  # --from: a hub id, a local folder or a wheel; None: the catalog's source
    precisions: tuple[str, ...] = ()  # empty: the exporter's default
    cache: Path = field(default_factory=lambda: cache_dir())


@dataclass
class ExportResult:
    source: str  # what was exported, for the manifest
    config: dict[str, Any] = field(default_factory=dict)  # labels, input: what runners read from the manifest
    checks: dict[str, Any] = field(default_factory=dict)  # per file: max |diff| against the original, tolerance


def cache_dir() -> Path:
    """Downloads kept between exports: $EMOGRAPH_CACHE, else ~/.cache/emograph."""
    base = os.environ.get("EMOGRAPH_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "emograph"
    return Path(base).expanduser()


def hf_folder(req: ExportRequest) -> Path:
    """A local folder with the Hugging Face model: --from as given, or the catalog's hub id fetched once."""
    src = req.source or req.entry.source.hub
    if src is None:
        raise ExportError(f"model {req.entry.name!r} has no hub source; pass a local folder with --from")
    if Path(src).expanduser().is_dir():
        return Path(src).expanduser()
    if Path(src).exists() or src.startswith((".", "/", "~")):
        raise ExportError(f"{src}: not a folder with a Hugging Face model")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(src, cache_dir=req.cache / "hub"))
    except Exception as exc:
        first = " ".join(str(exc).split()).split(". ")[0][:200]
        raise ExportError(f"cannot fetch {src!r} from the Hugging Face hub ({type(exc).__name__}: {first}); "
                          "download it where the hub is reachable and pass its folder with --from") from exc
