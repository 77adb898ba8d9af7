"""`emograph export NAME` and `emograph models`: make a catalog model in the store, list what the store holds.

The catalog entry names its exporter as "module:function", so a new model needs a catalog entry and an exporter
module, never an edit here. Register with `tools.export.cli` in the CLI's command modules.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import shutil
import sys
import time
import warnings

from models import store
from models.catalog import PRECISIONS, CatalogError, entry, is_present, load_catalog, present_variants
from tools.export.base import ExportError, ExportRequest, ExportResult

EXIT_USAGE = 2


def register(sub: argparse._SubParsersAction) -> None:
    exp = sub.add_parser("export", help="make a catalog model (ONNX, CTranslate2) in the model store")
    exp.add_argument("name", help="catalog name (see `emograph models`)")
    exp.add_argument("--from", dest="source", metavar="HUB_ID_OR_PATH",
                     help="a hub id, a local model folder, or a wheel (default: the catalog's source)")
    exp.add_argument("--precision", action="append", default=[], metavar="P",
                     help=f"one of {', '.join(PRECISIONS)}; repeat or comma-separate (default: the exporter's)")
    exp.set_defaults(func=cmd_export)

    mod = sub.add_parser("models", help="list catalog models and what the store holds")
    mod.add_argument("--verify", action="store_true", help="recompute every present file's sha256 against the manifest")
    mod.set_defaults(func=cmd_models)


def export_model(name: str, source: str | None = None, precisions: tuple[str, ...] = ()) -> store.Manifest:
    """Runs the entry's exporter into a staging folder and installs the result; raises CatalogError or ExportError."""
    e = entry(name)
    bad = [p for p in precisions if p not in e.variants]
    if bad:
        raise ExportError(f"model {name!r} has no precision {', '.join(bad)}; it has: {', '.join(e.variants) or 'none'}")
    module, _, func = e.exporter.partition(":")
    try:
        exporter = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as exc:
        raise ExportError(f"model {name!r}: its exporter {e.exporter} cannot be loaded ({exc})") from exc
    staging = store.store_dir() / ".staging" / f"{name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with warnings.catch_warnings():  # tracer and deprecation chatter from torch/optimum; our checks are logged
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", module=r"(torch|optimum|transformers|onnxruntime)(\.|$)")
            result: ExportResult = exporter(ExportRequest(e, staging, source, tuple(precisions)))
        made = {str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file()}
        expected = set(e.files) | ({e.variants[p] for p in precisions} if precisions else set())
        if expected - made:
            raise ExportError(f"exporter {e.exporter} did not write {', '.join(sorted(expected - made))}")
        return store.install(name, staging, exporter=e.exporter, source=result.source, config=result.config,
                             checks=result.checks)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            staging.parent.rmdir()  # only when no other export is staging


def _precisions(values: list[str]) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(p.strip() for v in values for p in v.split(",") if p.strip()))
    bad = [p for p in out if p not in PRECISIONS]
    if bad:
        raise ExportError(f"unknown precision {', '.join(bad)}; choose from {', '.join(PRECISIONS)}")
    return out


def cmd_export(args: argparse.Namespace) -> int:
    ours = logging.getLogger("emograph")  # progress and checks; the libraries' own INFO chatter stays off
    if not ours.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
        ours.propagate = False
    start = time.monotonic()
    try:
        manifest = export_model(args.name, args.source, _precisions(args.precision))
    except (CatalogError, ExportError) as exc:
        print(f"emograph: export {args.name}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{args.name}: {', '.join(manifest.files)} ({_size(manifest.size)}) in {store.model_dir(args.name)}, "
          f"{time.monotonic() - start:.1f} s")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    try:
        catalog = load_catalog()
    except CatalogError as exc:
        print(f"emograph: {exc}", file=sys.stderr)
        return EXIT_USAGE
    rows = [("NAME", "TASK", "FORMAT", "STATUS", "VARIANTS", "SIZE", "SOURCE")]
    problems: list[str] = []
    for name, e in catalog.items():
        manifest = store.read_manifest(name) if store.model_dir(name).is_dir() else None
        present = is_present(name)
        have = present_variants(name)
        variants = " ".join(v if v in have else f"({v})" for v in e.variants) or "-"
        src = manifest.source if manifest and present else (e.source.hub or e.source.package or "")
        rows.append((name, e.task, e.format, "present" if present else "absent", variants,
                     _size(manifest.size) if manifest and present else "-", src))
        if args.verify and manifest:
            problems += store.verify(name)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"store: {store.store_dir()}   (variant) = not exported; make one with `emograph export NAME`")
    for p in problems:
        print(f"emograph: {p}", file=sys.stderr)
    return 1 if problems else 0


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"
