"""Digests remembered by the files' stat signatures (planner/io/statcache.py): a remembered digest is given back only
while every file keeps its signature, never for a file changed since, nor for one changed too recently to trust."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from planner.catalog.load import BUNDLED_CATALOG, _catalog_paths, _catalog_texts, _content_keys
from planner.io import statcache
from planner.io.yamlcache import content_key


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(folder))
    return folder


def _counting(path: Path) -> tuple[list[int], Callable[[], str | None]]:
    calls = [0]

    def compute() -> str | None:
        calls[0] += 1
        return content_key(path.read_text())
    return calls, compute


def test_remembered_until_the_file_changes(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statcache, "SETTLED_NS", 0)  # the file was just written: trust it at once here
    path = tmp_path / "a.yaml"
    path.write_text("a: 1\n")
    calls, compute = _counting(path)
    first = statcache.remembered("test", [str(path)], compute)
    assert statcache.remembered("test", [str(path)], compute) == first == content_key("a: 1\n")
    assert calls[0] == 1  # the second answer read no file
    path.write_text("a: 2\n")  # the same size: the times and (on a fine clock) nothing else differ
    assert statcache.remembered("test", [str(path)], compute) == content_key("a: 2\n")
    assert calls[0] == 2
    assert statcache.remembered("other kind", [str(path)], compute) == content_key("a: 2\n")
    assert calls[0] == 3  # another kind (a format, a version) is another entry


def test_a_recent_change_is_not_remembered(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("a: 1\n")
    calls, compute = _counting(path)
    for _ in range(2):
        assert statcache.remembered("test", [str(path)], compute) == content_key("a: 1\n")
    assert calls[0] == 2 and not list(cache.glob("stat-*.json"))


def test_nothing_remembered_without_a_digest_and_a_bad_entry_is_a_miss(cache: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statcache, "SETTLED_NS", 0)
    path = tmp_path / "a.yaml"
    path.write_text("a: 1\n")
    assert statcache.remembered("test", [str(path)], lambda: None) is None
    assert not list(cache.glob("stat-*.json"))
    calls, compute = _counting(path)
    statcache.remembered("test", [str(path)], compute)
    (entry,) = cache.glob("stat-*.json")
    entry.write_text(json.dumps({"key": "another", "value": "forged"}))
    assert statcache.remembered("test", [str(path)], compute) == content_key("a: 1\n")
    entry.write_text("{not json")
    assert statcache.remembered("test", [str(path)], compute) == content_key("a: 1\n")
    assert calls[0] == 3


def test_the_catalogs_remembered_keys_are_its_files_keys(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statcache, "SETTLED_NS", 0)
    paths = _catalog_paths(BUNDLED_CATALOG)
    expected = {name: content_key(text) for name, text in _catalog_texts(BUNDLED_CATALOG).items()}
    assert _content_keys(paths) == expected  # computed
    assert list(cache.glob("stat-*.json"))
    assert _content_keys(paths) == expected  # remembered
