"""Shared fixtures: the bundled catalog and a CLI runner."""
from __future__ import annotations

from pathlib import Path

import pytest

from planner.catalog.load import BUNDLED_CATALOG, load_catalog

ROOT = Path(__file__).resolve().parent.parent
PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))


def docs_text() -> str:
    """README.md and every page of the reference under docs/, as one text (the documentation a user reads)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(p.read_text(encoding="utf-8") for p in pages)


@pytest.fixture(scope="session")
def catalog():
    return load_catalog(BUNDLED_CATALOG)


@pytest.fixture
def write(tmp_path):
    """Write a file under tmp_path and return its path."""
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    return _write


@pytest.fixture(autouse=True, scope="session")
def _yaml_cache_in_a_temporary_folder(tmp_path_factory):
    """Tests never write the user's cache folder: the content cache (planner/io/yamlcache.py) goes to a temporary
    one, inherited by the CLI subprocesses the tests start."""
    import os

    from planner.io.yamlcache import CACHE_ENV

    saved = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("gpuplan-cache"))
    yield
    if saved is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = saved
