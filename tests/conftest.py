"""Session-wide fixtures. Models are made by the same exporters users run, once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.video", "tests.fixtures.audio", "tests.fixtures.media"]


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model store for this session; node processes find it through EMOGRAPH_MODELS."""
    path = Path(os.environ.get("EMOGRAPH_TEST_STORE") or tmp_path_factory.mktemp("store"))
    path.mkdir(parents=True, exist_ok=True)
    os.environ["EMOGRAPH_MODELS"] = str(path)
    return path
