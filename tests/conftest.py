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
