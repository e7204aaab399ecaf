"""Hypothesis fuzz of the loaders: random bytes, YAML-ish text, random structures and mutated valid profiles,
catalogs and records end in a result or one PlannerError — never another exception, never a hang."""
from __future__ import annotations

import copy
import datetime as dt
import shutil
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.catalog.load import BUNDLED_CATALOG, load_catalog
from planner.efficiency.records import check_device_identity, load_record
from planner.errors import PlannerError
from planner.plans.search import estimate
from planner.project.load import load_profile
from planner.render.report import render_json

from .conftest import finite_json

CATALOG = load_catalog(BUNDLED_CATALOG)
CORPUS = Path(__file__).resolve().parent / "bad_inputs"
LOADER_SETTINGS = settings(
    max_examples=60, database=None, suppress_health_check=[HealthCheck.too_slow],
    # a hang guard, not a benchmark: loading a few kilobytes takes milliseconds, a bomb that got through takes
    # forever; 30 s leaves room for a machine shared by other jobs (5 s was exceeded at 6.3 s on 2 busy cores)
    deadline=dt.timedelta(seconds=30))

TRAIN = {"name": "fuzz", "model": {"preset": "pythia-1b"},
         "training": {"dataset": {"tokens": "20B"}, "epochs": 1, "batch": {"global_tokens": "2M"},
                      "precision": "bf16", "optimizer": "adamw", "deadline": "72h", "budget": "$20k"},
         "constraints": {"gpus": ["H100-SXM"], "max_gpus": 64}}
SERVE = {"name": "fuzz", "model": {"preset": "llama-2-7b", "seq_len": 4096},
         "inference": {"rate": "20/s", "average_rate": "8/s", "prompt_tokens": 512, "output_tokens": 256,
                       "precision": "bf16", "slo": {"ttft_p95": "500ms", "tpot_p95": "50ms"}},
         "constraints": {"gpus": ["L40S"]}}
RECORD_TEXT = (CORPUS / "records" / "wrong-kind.yaml").read_text(encoding="utf-8").replace(
    "kind: profile", "kind: gpuplan/calibration")
KEYS = sorted({"name", "model", "preset", "family", "params", "layers", "hidden", "heads", "training", "dataset",
               "tokens", "samples", "epochs", "batch", "inference", "rate", "slo", "ttft_p95", "constraints",
               "gpus", "kind", "version", "device", "peaks", "workloads", "points", "offers", "gpu"})

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from((0, -1, 1e-300, 1e300, 1e30, 65537, "", "7B", "72h", "$20k", "20/s", "1e999", "-5ms",
                     "H100", "nan", "inf", "0/s", "∞", "\x00")),
    st.text(max_size=12))
structures = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4)),
    max_leaves=12)
YAML_ALPHABET = ":{}[]-&*!|>'\"#,?%@` \n\t\\abyn01.e+"


def _try(action) -> object:
    """Run `action`; a PlannerError is an accepted outcome, anything else propagates and fails the test."""
    try:
        return action()
    except PlannerError as exc:
        assert str(exc)  # every error says something
        return exc


def _profile(path: Path) -> object:
    def action():
        loaded = load_profile(path, CATALOG)
        result = estimate(loaded, CATALOG)
        finite_json(render_json(result))
        return result
    return _try(action)


def _write(folder: str, data: bytes) -> Path:
    path = Path(folder) / "input.yaml"
    path.write_bytes(data)
    return path


@LOADER_SETTINGS
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    with tempfile.TemporaryDirectory() as folder:
        path = _write(folder, data)
        _profile(path)
        _try(lambda: load_record(path))


@LOADER_SETTINGS
@given(st.text(alphabet=YAML_ALPHABET, max_size=400))
def test_yaml_like_text(text):
    with tempfile.TemporaryDirectory() as folder:
        path = _write(folder, text.encode("utf-8"))
        _profile(path)
        _try(lambda: load_record(path))


@LOADER_SETTINGS
@given(structures)
def test_random_structures(data):
    with tempfile.TemporaryDirectory() as folder:
        path = _write(folder, yaml.safe_dump(data, allow_unicode=True).encode("utf-8"))
        _profile(path)
        _try(lambda: load_record(path))


def _paths(tree, prefix=()):
    """Every key path in a nested dict/list."""
    yield prefix
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from _paths(value, (*prefix, i))


def _mutate(tree, path, value, delete: bool):
    tree = copy.deepcopy(tree)
    if not path:
        return value
    parent = tree
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return tree


@LOADER_SETTINGS
@given(st.sampled_from((TRAIN, SERVE)), st.data(), structures, st.booleans())
def test_mutated_profiles(base, data, value, delete):
    path = data.draw(st.sampled_from(list(_paths(base))))
    mutated = _mutate(base, path, value, delete and bool(path))
    with tempfile.TemporaryDirectory() as folder:
        _profile(_write(folder, yaml.safe_dump(mutated, allow_unicode=True).encode("utf-8")))


@LOADER_SETTINGS
@given(st.data(), structures, st.booleans())
def test_mutated_records(data, value, delete):
    base = yaml.safe_load(RECORD_TEXT)
    path = data.draw(st.sampled_from(list(_paths(base))))
    mutated = _mutate(base, path, value, delete and bool(path))
    with tempfile.TemporaryDirectory() as folder:
        file = _write(folder, yaml.safe_dump(mutated, allow_unicode=True).encode("utf-8"))
        _try(lambda: check_device_identity(load_record(file), CATALOG, str(file)))


@settings(max_examples=25, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(("gpus.yaml", "offers/aws.yaml", "models.yaml", "priors.yaml")), st.binary(max_size=2048)
       | st.text(alphabet=YAML_ALPHABET, max_size=300).map(str.encode))
def test_catalog_file_replaced_by_garbage(name, data):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "catalog"
        shutil.copytree(BUNDLED_CATALOG, root, ignore=shutil.ignore_patterns("published_runs.yaml", "calibrations"))
        (root / name).write_bytes(data)
        outcome = _try(lambda: load_catalog(root))
        assert isinstance(outcome, PlannerError)  # garbage never passes for a catalog file

