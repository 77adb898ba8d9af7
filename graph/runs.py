"""Run folders: one per running graph, owner-only, holding its ipc sockets, plan.json and run.json.

`emograph top` and `python -m graph.worker` find running graphs here.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from graph.plan import RunPlan


@dataclass
class RunInfo:
    graph: str
    path: str
    pid: int
    host: str
    run_dir: str
    stats: str
    skipped: list[str]
    started: float


def base_dir() -> Path:
    base = Path(os.environ.get("EMOGRAPH_RUN_DIR") or Path(tempfile.gettempdir()) / f"emograph-{os.getuid()}")
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(base, 0o700)
    return base


def new_run_dir(graph: str) -> Path:
    sweep_stale()
    path = base_dir() / f"{graph}-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700)
    return path


def write_info(info: RunInfo) -> None:
    (Path(info.run_dir) / "run.json").write_text(json.dumps(asdict(info)))


def live_runs() -> list[RunInfo]:
    """Runs whose supervisor is alive, newest first."""
    runs = []
    for path in base_dir().glob("*/run.json"):
        try:
            info = RunInfo(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if _alive(info.pid):
            runs.append(info)
    return sorted(runs, key=lambda r: r.started, reverse=True)


def sweep_stale() -> None:
    """Remove folders left by supervisors that were killed before they could clean up."""
    for path in base_dir().iterdir():
        pid = path.name.rsplit("-", 1)[-1]
        if path.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def attach_plan(graph_file: str, node: str) -> RunPlan | None:
    """The plan of the newest running instance of GRAPH_FILE's graph, for running NODE by hand."""
    from graph.spec import SpecError, load_file

    try:
        name = load_file(graph_file).name
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return None
    run = next((r for r in live_runs() if r.graph == name), None)
    if run is None:
        print(f"{graph_file}: graph '{name}' is not running; start it with `emograph run {graph_file} --skip {node}`", file=sys.stderr)
        return None
    if node not in run.skipped:
        print(
            f"{graph_file}: node '{node}' already runs under supervisor {run.pid}; "
            f"restart the graph with `emograph run {graph_file} --skip {node}` to run it by hand",
            file=sys.stderr,
        )
        return None
    return RunPlan.load(Path(run.run_dir) / "plan.json")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
