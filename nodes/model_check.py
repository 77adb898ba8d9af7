"""What every model-backed node does alike: refuse a missing model at validation, and turn load errors into one line."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from graph.node import NodeError


def require(name: str, variant: str | None = None, note: str = "") -> None:
    """For a params validator: the model must be in the store, so `emograph validate` fails before any process starts."""
    from models.catalog import CatalogError, export_command, is_present

    try:
        present = is_present(name, variant)
    except CatalogError as exc:
        raise ValueError(str(exc)) from None
    if not present:
        which = f"{name!r} ({variant})" if variant else repr(name)
        raise ValueError(f"model {which} is not in the store: make it with `{export_command(name, variant)}`{note}")


@contextmanager
def loading() -> Iterator[None]:
    """Around a runner's construction in `setup()`: a model that will not load is the user's to fix, not a crash."""
    from models.catalog import CatalogError
    from models.onnx_session import ModelLoadError

    try:
        yield
    except (CatalogError, ModelLoadError) as exc:
        raise NodeError(str(exc)) from None
