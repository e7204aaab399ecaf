"""planner/io/yamlcache.py safe_load_cached: yaml.safe_load's data, from the content cache after the first load."""
from __future__ import annotations

import datetime as dt
import math

import pytest
import yaml

from planner.io import yamlcache

TEXT = "groups:\n  a: {n: 7, median_abs_error: 0.12, when: 2026-11-30}\n  b: [1, -0.0, .inf, null, 'x']\n"

@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv(yamlcache.CACHE_ENV, str(tmp_path))

def test_the_stored_data_is_safe_loads(cache: None) -> None:
    first = yamlcache.safe_load_cached(TEXT)
    entry = yamlcache.cache_dir() / f"plain-{yamlcache.content_key(TEXT)}.json"
    assert entry.is_file()
    again = yamlcache.safe_load_cached(TEXT)  # read back from the entry
    assert first == again == yaml.safe_load(TEXT)
    assert again["groups"]["a"]["when"] == dt.date(2026, 11, 30)
    assert math.copysign(1.0, again["groups"]["b"][1]) == -1.0 and again["groups"]["b"][2] == math.inf
    assert type(again["groups"]["a"]["n"]) is int

def test_an_edited_text_is_parsed_afresh_and_data_json_cannot_keep_is_not_stored(cache: None) -> None:
    yamlcache.safe_load_cached(TEXT)
    edited = TEXT.replace("0.12", "0.13")
    assert yamlcache.safe_load_cached(edited)["groups"]["a"]["median_abs_error"] == 0.13
    odd = "{1: a, x: .nan}\n"
    assert yamlcache.safe_load_cached(odd).keys() == {1, "x"}
    assert not (yamlcache.cache_dir() / f"plain-{yamlcache.content_key(odd)}.json").exists()

def test_a_damaged_entry_is_ignored(cache: None) -> None:
    yamlcache.safe_load_cached(TEXT)
    entry = yamlcache.cache_dir() / f"plain-{yamlcache.content_key(TEXT)}.json"
    for damage in ("{", "[1]", '{"data": 1, "more": 2}'):
        entry.write_text(damage, encoding="utf-8")
        assert yamlcache.safe_load_cached(TEXT) == yaml.safe_load(TEXT)
