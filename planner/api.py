"""The library: load a catalog and a profile, plan them, get the `estimate --format json` document. The CLI, `diff`
and the tests go through these three functions like any Python user."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from planner.dataclass import dataclass
from pathlib import Path
from typing import Any

from planner.catalog.load import BUNDLED_CATALOG, Catalog, load_catalog as _load_catalog
from planner.decide.choices import Decision, check_confidence, decide, parse_confidence
from planner.errors import InputError, PlannerError, option
from planner.plans import search
from planner.plans.search import Estimate
from planner.project.load import load_profile as _load_profile, LoadedProfile
from planner.schema.bounds import MAX_USD_PER_GPU_HOUR

DEFAULT_TOP = 10
"""Plans per section in `to_dict()`, as `gpuplan estimate` shows by default (`--top`)."""


def load_catalog(path: Path | str | None = None) -> Catalog:
    """The catalog directory at `path` (default: the bundled one), validated and cross-checked."""
    if path is not None and not isinstance(path, (str, Path)):
        # new-user QA round 10 (notebook): load_catalog(3) was a TypeError from inside pathlib
        raise PlannerError(f"load_catalog() takes a catalog directory's path, or nothing for the bundled catalog, "
                           f"got a value of type {type(path).__name__}")
    return _load_catalog(BUNDLED_CATALOG if path is None else path)


def load_profile(source: Path | str | Mapping[str, Any], catalog: Catalog,
                 overrides: Sequence[str] = ()) -> LoadedProfile:
    """A profile from a YAML file or a dict of the same shape, with `--set`-style overrides ("training.epochs=3");
    errors name the file, line and field (a dict's errors name the field). One override may be given as a string."""
    if isinstance(overrides, str):  # a str is a Sequence of one-letter overrides: '--set t: expected KEY.PATH=VALUE'
        overrides = (overrides,)
    elif overrides is None:  # "no overrides", as a notebook writes it (new-user QA round 11: a TypeError)
        overrides = ()
    if not isinstance(source, (str, Path, Mapping)):
        # new-user QA round 10 (notebook): load_profile(None, catalog) or a list was a TypeError from open()
        raise PlannerError(f"load_profile() takes a YAML file's path or a dict of the profile, got a "
                           f"value of type {type(source).__name__}")
    if isinstance(source, str) and "\n" in source:
        # new-user QA round 13 (notebook): a profile's YAML text was read as a file name, the whole text then printed
        # before ': file not found'
        raise PlannerError("load_profile() takes a YAML file's path or a dict of the profile, got a string of "
                           f"{len(source.splitlines())} lines (YAML text?): pass yaml.safe_load(text), or the path of "
                           "a file holding it")
    _check_catalog("load_profile", catalog)
    try:
        given = tuple(overrides)
    except TypeError:
        given = None
    if given is None or not all(isinstance(o, str) for o in given):
        # new-user QA round 11 (notebook): overrides=[3] was "TypeError: object of type 'int' has no len()"
        raise PlannerError(f"overrides {overrides!r}: expected a list of 'KEY.PATH=VALUE' strings, e.g. "
                           "overrides=['training.epochs=3']")
    return _load_profile(source, catalog, given)


def _check_catalog(function: str, catalog: object) -> None:
    """The catalog argument is the one load_catalog returns (new-user QA round 11, notebook: None or a path there
    was an AttributeError from deep inside)."""
    if not isinstance(catalog, Catalog):
        raise PlannerError(f"{function}() takes the catalog planner.load_catalog returns, got a value of type "
                           f"{type(catalog).__name__}: catalog = planner.load_catalog()")


@dataclass(frozen=True)
class PlanResult:
    """What `plan` found: the estimate (ranked plans per offer), the decision over the same options, and the
    profile they answer."""

    profile: LoadedProfile
    estimate: Estimate
    decision: Decision

    @property
    def feasible(self) -> bool:
        """Every section asked for has a plan meeting its constraints (the CLI exits 1 otherwise)."""
        return self.estimate.feasible

    def __repr__(self) -> str:
        """One line (new-user QA: a notebook cell ending in `result` printed the dataclass repr, 7.5 MB for
        pretrain-1b-72h, every option with its efficiency records); the parts keep their own short reprs."""
        return f"PlanResult({self.estimate!r}, feasible={self.feasible})"

    def to_dict(self, top: int | None = DEFAULT_TOP) -> dict[str, Any]:
        """The `gpuplan estimate --format json` document (`top` plans per section; None or 0: all)."""
        from planner.render.report import estimate_dict

        if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 0):
            # new-user QA (notebook): top=-1 dropped the last plans, top="3" and 2.5 were read as "all but a few"
            raise PlannerError(f"top={top!r}: expected a whole number of plans per section, 0 or None for all")

        return estimate_dict(self.estimate, top or None, self.decision)

    def to_json(self, top: int | None = DEFAULT_TOP) -> str:
        """`to_dict` as the CLI prints it."""
        return json.dumps(self.to_dict(top), indent=2)


def check_local_usd_per_hour(value: float) -> float:
    """The hourly cost of the measured machine, or a PlannerError: a number from 0 to MAX_USD_PER_GPU_HOUR (new-user
    QA round 10, notebook: plan(local_usd_per_hour=-5) priced the 'this machine' rows at -$401,000, nan and inf
    wrote NaN and Infinity into to_dict(); the command line refused them)."""
    import math

    name = option("--local-usd-per-hour")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{name} {value!r} is not a number", hint="Give the machine's cost per hour in USD, 0 for "
                                                                   "none.")
    if not math.isfinite(value) or value > MAX_USD_PER_GPU_HOUR:
        raise InputError(f"{name} {value:g}: expected a finite cost of at most ${MAX_USD_PER_GPU_HOUR:,.0f} per hour")
    if value < 0:
        raise InputError(f"{name} {value:g}: expected a cost of at least 0 (0: the machine costs nothing to run)")
    return value


def plan(profile: LoadedProfile, catalog: Catalog, *, confidence: float | str = 0.5,
         calibrations: Path | str | None = None, measurements: Path | str | None = None, simulate: bool = False,
         local_usd_per_hour: float = 0.0, seed: int = 0, today: dt.date | None = None) -> PlanResult:
    """Plan the profile's training and serving over the catalog's offers, every candidate judged once at
    `confidence` (0.5: median hours; 0.9: P90; or as --confidence reads it, "90%" or "P90"), and decide over them.

    calibrations: a calibration records directory (default: the catalog's own calibrations/); measurements: a
    `gpuplan profile` record, which adds the measured machine as provider "local" (at `local_usd_per_hour`);
    simulate: check each serving plan with the seeded discrete-event simulation and add replicas where it refutes
    the analytic count."""
    from planner.efficiency.stores import efficiency_inputs

    if not isinstance(profile, LoadedProfile):
        # new-user QA round 9 (notebook): plan({"name": "x"}, catalog) raised AttributeError from deep inside
        raise PlannerError(f"plan() takes the profile planner.load_profile returns, got a {type(profile).__name__}: "
                           "planner.plan(planner.load_profile(path_or_dict, catalog), catalog)")
    _check_catalog("plan", catalog)
    for keyword, given in (("calibrations", calibrations), ("measurements", measurements)):
        if given is not None and not isinstance(given, (str, Path)):
            # new-user QA round 11 (notebook): calibrations=3 was a TypeError from pathlib
            raise PlannerError(f"{keyword} {given!r}: expected a path (str or pathlib.Path), or None")
    if not isinstance(simulate, bool):
        # new-user QA round 13 (notebook): simulate="yes", "no", 1 or None were read for their truth, so "no" simulated
        raise PlannerError(f"simulate {simulate!r}: expected True or False (check each serving plan by simulation)")
    if isinstance(confidence, str):  # as --confidence reads it: '0.9', '90%' or 'P90' (new-user QA round 23)
        confidence = parse_confidence(confidence)
    check_confidence(confidence)
    check_local_usd_per_hour(local_usd_per_hour)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        # new-user QA round 10 (notebook): seed=-1 was numpy's 'ValueError: expected non-negative integer', seed="a"
        # a TypeError from SeedSequence, and both only once a serving plan was simulated
        raise PlannerError(f"seed {seed!r}: expected a whole number of at least 0 (the simulation's random seed)")
    if today is not None and not isinstance(today, dt.date):
        raise PlannerError(f"today {today!r}: expected a datetime.date (the day prices are dated against), or None")
    book, local = efficiency_inputs(catalog, catalog.directory or BUNDLED_CATALOG, calibrations, measurements,
                                    local_usd_per_hour)
    from planner.plans.collector import fewer_collections

    with fewer_collections(), _serving_stores(profile):
        # looked up on the module, so that a stand-in for it (tests/conftest.py's shared estimates) is the one run
        est = search.estimate(profile, catalog, today=today, book=book, local=local, confidence=confidence,
                              simulate=simulate, seed=seed)
        return PlanResult(profile, est, decide(profile, catalog, est))


@contextmanager
def _serving_stores(profile: LoadedProfile) -> Iterator[None]:
    """A serving search with the M/D/c quantiles and dynamic-batching chains of earlier searches, by content
    (planner/model/md_c_store.py, planner/model/batching_store.py), and what it works out kept for the next: the
    command line and a notebook's repeated calls alike (new-user QA: the library worked out every chain again,
    ~4 s a call for bert-train-then-serve at 1,000 req/s). A search cut short keeps nothing."""
    if profile.profile.inference is None:
        yield
        return
    # deferred: a training-only estimate never imports the stores
    from planner.model import batching_store, md_c_store

    md_c_store.load()
    batching_store.load()
    try:
        yield
    except BaseException:
        batching_store.clear()  # a bisection cut short is not kept; later searches here look nothing up
        raise
    md_c_store.save()
    batching_store.save()  # and stops looking chains up
