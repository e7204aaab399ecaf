"""Shared fixtures: the bundled catalog and a CLI runner."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# One OpenMP thread per torch (and OpenBLAS) kernel in the tests and the processes they start, set before either is
# loaded: the tests assert counts, memory, records and exit codes, never speed, and on 2 cores shared with other test
# runs two threads per kernel spin-wait on each other (tests/test_profiler*.py under load: 50 s of CPU with 2 threads,
# 19 s with 1). A value set outside (CI, a user) is kept.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest
from typer.testing import CliRunner

from planner.catalog.load import BUNDLED_CATALOG, load_catalog
from planner.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))


@dataclass(frozen=True)
class CliRun:
    """What one in-process `gpuplan` command printed, and its exit code (read-only: shared by the tests that run the
    same command)."""

    exit_code: int
    stdout: str
    stderr: str
    output: str


_CLI_RUNS: dict[tuple[object, ...], CliRun] = {}
READ_ONLY_INPUTS = (ROOT / "profiles", ROOT / "catalog")


def gpuplan(*args: str, env: dict[str, str] | None = None) -> CliRun:
    """`gpuplan ARGS` through typer's CliRunner, run once per session for each command line, working directory and
    environment (`env` over os.environ, COLUMNS included): the example profiles' estimates are asked for by many
    tests, and the same command on the same files prints the same text. Only for commands whose input files are the
    repository's profiles and catalog, which no test changes: a command naming any other file (a test's temporary
    profile) runs every time, and so does one that raised."""
    if not all(_read_only(arg) for arg in args):
        result = CliRunner().invoke(app, list(args), env=env)
        return CliRun(result.exit_code, result.stdout, result.stderr, result.output)
    environment = {**os.environ, **(env or {})}
    environment.pop("PYTEST_CURRENT_TEST", None)  # pytest's name of the running test: read by nothing it runs
    key = (args, os.getcwd(), tuple(sorted(environment.items())))
    found = _CLI_RUNS.get(key)
    if found is None:
        result = CliRunner().invoke(app, list(args), env=env)
        found = CliRun(result.exit_code, result.stdout, result.stderr, result.output)
        if result.exception is None or isinstance(result.exception, SystemExit):
            _CLI_RUNS[key] = found
    return found


def _read_only(arg: str) -> bool:
    """Not a path (no '/', no such file), or an existing file of the repository's example profiles or catalog: an
    output path (--html, --plot, --out) or a temporary file is never read-only."""
    path = Path(arg)
    if "/" not in arg and not path.exists():
        return True
    return path.exists() and any(path.resolve().is_relative_to(folder) for folder in READ_ONLY_INPUTS)


def docs_text() -> str:
    """README.md and every page of the reference under docs/, as one text (the documentation a user reads)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(p.read_text(encoding="utf-8") for p in pages)


@pytest.fixture(scope="session")
def catalog():
    return load_catalog(BUNDLED_CATALOG)


@pytest.fixture(scope="session")
def source_cv_rows():
    """`validate(BUNDLED_CATALOG, cross_validate="source")`, run once for the tests that read it (the grouped
    cross-validation ratchets of test_crossval.py and scripts/build_accuracy.py's file in test_accuracy_note.py), as
    a tuple of frozen rows."""
    from planner.validate.runs import validate

    return tuple(validate(BUNDLED_CATALOG, cross_validate="source"))


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


_SHARED_ESTIMATES: dict[str, object] = {}
_SHARING = {"on": False}
SHARED_ESTIMATES_KEPT = 64
"""Estimates kept per worker, the oldest dropped first: a bound on memory, not tuned for hits (the repeats sit
mostly within one file, which --dist loadfile keeps in one worker; the most distinct estimates a file makes is 87,
tests/test_properties.py's random profiles, none repeated, the next 44)."""


def _estimate_key(loaded, catalog, today, book, local, confidence, simulate, seed) -> str | None:
    """What planner.plans.search.estimate's answer is a function of, as text; None where that cannot be told from
    the inputs' values: a catalog not made by load_catalog (no content_key: changed with dataclasses.replace), or
    an input whose repr names an object's address rather than its contents."""
    from planner.io.yamlcache import CACHE_ENV

    if not catalog.content_key:
        return None
    key = repr((loaded, catalog.content_key, catalog.directory, today, book, local, confidence, simulate, seed,
                os.environ.get(CACHE_ENV), os.environ.get("XDG_CACHE_HOME")))
    return None if " at 0x" in key else key


@pytest.fixture(autouse=True, scope="session")
def _estimates_shared_across_tests():
    """The same estimate, asked for again, is the one already worked out (frozen dataclasses; the rows made on
    demand are made the same whoever reads them first): 832 estimates a run, 412 of them distinct, and the repeats within one worker were 90 s of its CPU (the
    example profiles as given, in table, JSON, HTML and at several widths, through the CLI and the library). Keyed
    by the inputs' values (_estimate_key): two calls share an answer only where their inputs are equal, so what it
    hides is a search whose answer differs between two runs of equal inputs. Off for a test that takes
    `monkeypatch` (it may change the code the search runs) and for one marked `fresh_estimates`: it asserts what a
    search does on its way (what it leaves unmade), or that two runs of equal inputs agree (a seed's draw)."""
    import planner.plans.search as search

    worked_out = search.estimate

    def estimate(loaded, catalog, today=None, book=None, local=None, confidence=0.5, simulate=False, seed=0):
        key = _estimate_key(loaded, catalog, today, book, local, confidence, simulate, seed) \
            if _SHARING["on"] else None
        if key is not None:
            found = _SHARED_ESTIMATES.get(key)
            if found is not None:
                return found
        done = worked_out(loaded, catalog, today, book, local, confidence, simulate, seed)
        if key is not None:
            if len(_SHARED_ESTIMATES) >= SHARED_ESTIMATES_KEPT:
                del _SHARED_ESTIMATES[next(iter(_SHARED_ESTIMATES))]
            _SHARED_ESTIMATES[key] = done
        return done

    search.estimate = estimate
    yield
    search.estimate = worked_out


@pytest.fixture(autouse=True)
def _sharing_estimates_for_this_test(request):
    _SHARING["on"] = "monkeypatch" not in request.fixturenames and \
        request.node.get_closest_marker("fresh_estimates") is None
    yield
    _SHARING["on"] = False


@pytest.fixture(autouse=True, scope="session")
def _yaml_cache_in_a_temporary_folder(tmp_path_factory):
    """Tests never write the user's cache folder: the content cache (planner/io/yamlcache.py) goes to a temporary
    one, inherited by the CLI subprocesses the tests start."""
    from planner.io.yamlcache import CACHE_ENV

    saved = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("gpuplan-cache"))
    yield
    if saved is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = saved


def pytest_sessionfinish(session):
    """Collect once, then freeze what is left (it lives until exit): pytest ends a session with two full
    collections (its unraisableexception and threadexception plugins), which in a worker holding torch, the catalog
    and ~500,000 objects took 1.2–1.8 s each on the shared 2 cores. They run after the worker has told xdist it
    finished, and execnet gives a worker 5 s from then before it sends it SIGINT (execnet/gateway_base.py
    `_terminate_execution`): under load the signal landed in hypothesis's gc callback during those collections, and
    `make test` ended with "Exception ignored in: <function gc_cumulative_time.<locals>.gc_callback> …
    KeyboardInterrupt". Frozen objects are not scanned, so those collections see only what unconfigure makes; the
    collect here, before freezing, still runs the finalizers of garbage left by the tests, and pytest reports what
    they raise."""
    import gc

    gc.collect()
    gc.freeze()


def bill_cells(text: str, line: str) -> list[str]:
    """The cells of a bill row ('compute', 'storage', ...) in a table, markdown or HTML rendering of a report."""
    for old, new in (("<tr><td>", "\n|"), ("</td><td>", "|"), ("</td></tr>", "|\n")):
        text = text.replace(old, new)
    for row in text.splitlines():
        cells = [c.strip() for c in row.replace("│", "|").strip(" |").split("|")] if "|" in row or "│" in row \
            else row.split(None, 2)
        if cells and cells[0] == line:
            return cells
    raise AssertionError(f"no {line!r} row in:\n{text}")


def finite_json(text: str) -> object:
    """The JSON document, refused (AssertionError) if it holds a NaN, Infinity or -Infinity literal: the words in a
    string are no number (AMD's GPU-to-GPU link is 'Infinity Fabric')."""
    import json

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the JSON")

    return json.loads(text, parse_constant=refuse)
