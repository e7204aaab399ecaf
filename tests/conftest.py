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
def _cli_command_built_once():
    """typer's CliRunner.invoke rebuilds the click command from the Typer app on every call (typer.main.get_command:
    ~20 ms, 900 invocations a run); the `gpuplan` entry point builds it once per process. The tests do the same: one
    build per app object (the app is never changed after import), so each invoke runs the command as a user's
    process would."""
    import typer.testing

    built: dict[int, tuple[object, object]] = {}
    unmemoised = typer.testing._get_command

    def get_command(app):  # type: ignore[no-untyped-def]
        entry = built.get(id(app))
        if entry is None or entry[0] is not app:
            entry = built[id(app)] = (app, unmemoised(app))
        return entry[1]

    typer.testing._get_command = get_command
    yield
    typer.testing._get_command = unmemoised


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
