"""The compiled catalog cache (planner/catalog/compiled.py): what it gives back is what validating the YAML gives,
an edited file is never served from it, and a malformed or foreign entry is ignored, not trusted."""
import dataclasses
import json
import shutil

import pytest

from planner.catalog import compiled
from planner.catalog.load import _LOADED, BUNDLED_CATALOG, _catalog_texts, _from_fields, _load_catalog, load_catalog
from planner.errors import InputError


def _same(a, b, path="catalog"):
    """Deep equality that also holds types, field order and pydantic's set-fields bookkeeping."""
    assert type(a) is type(b), path
    if hasattr(a, "__pydantic_fields_set__"):
        assert a.__pydantic_fields_set__ == b.__pydantic_fields_set__, path
        assert (a.__pydantic_extra__, a.__pydantic_private__) == (b.__pydantic_extra__, b.__pydantic_private__), path
        assert list(a.__dict__) == list(b.__dict__), path
        for k in a.__dict__:
            _same(a.__dict__[k], b.__dict__[k], f"{path}.{k}")
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            _same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert a == b and repr(a) == repr(b), path


def _fresh_process_load(directory):
    """load_catalog as a new process does it: nothing kept in memory."""
    _LOADED.clear()
    return load_catalog(directory)


def _entries():
    return sorted(compiled.cache_dir().glob("catalog-*.json"))


@pytest.fixture
def copy(tmp_path):
    target = tmp_path / "catalog"
    shutil.copytree(BUNDLED_CATALOG, target)
    return target


def test_the_compiled_catalog_is_the_validated_one(copy):
    root = copy.resolve()
    validated = _load_catalog(root, _catalog_texts(root))
    first = _fresh_process_load(copy)  # validated and stored (or already stored by another test: the same key)
    key = compiled.compiled_key(root, {p: compiled_key_of(t) for p, t in _catalog_texts(root).items()})
    fields = compiled.load_compiled(key)
    assert fields is not None
    thawed = _from_fields(fields, root, key)
    # a catalog loaded by load_catalog carries its entry's key (what is derived from it is cached by it)
    object.__setattr__(validated, "content_key", key)
    _same(validated, thawed)
    _same(validated, first)
    assert thawed.directory == str(root) and thawed.content_key == key


def compiled_key_of(text):
    from planner.io.yamlcache import content_key

    return content_key(text)


def test_an_edited_price_is_never_served_stale(copy):
    before = _fresh_process_load(copy)
    offers = copy / "offers" / "lambda.yaml"
    text = offers.read_text()
    price = before.providers["lambda"].offers[0].usd_per_hour
    edited = text.replace(f"usd_per_hour: {price}", f"usd_per_hour: {price + 1}", 1)
    assert edited != text
    offers.write_text(edited)
    after = _fresh_process_load(copy)
    assert after.providers["lambda"].offers[0].usd_per_hour == price + 1
    offers.write_text(text)
    assert _fresh_process_load(copy).providers["lambda"].offers[0].usd_per_hour == price


def test_a_bad_file_is_reported_with_its_place_after_a_good_catalog_was_stored(copy):
    _fresh_process_load(copy)
    gpus = copy / "gpus.yaml"
    gpus.write_text(gpus.read_text().replace("memory_gb: 80", "memory_gb: eighty", 1))
    with pytest.raises(InputError) as err:
        _fresh_process_load(copy)
    assert err.value.file.endswith("gpus.yaml") and err.value.line is not None


@pytest.mark.parametrize("damage", [
    lambda e: "not json",
    lambda e: json.dumps({"\u0000": "dict", "key": "another", "catalog": {}}),
    lambda e: e.replace('"planner.schema.catalog.Offer"', '"os.system"', 1),
    lambda e: e.replace('"planner.schema.catalog.Offer"', '"planner.catalog.load.Catalog"', 1),
    lambda e: e.replace('"\\u0002":[', '"\\u0002":[1,', 1),  # one value more than the model has fields
    lambda e: e.replace('{"\\u0000":"date"', '{"\\u0000":"set"', 1),
])
def test_a_malformed_or_foreign_entry_is_ignored(copy, damage):
    expected = _fresh_process_load(copy)
    root = copy.resolve()
    key = compiled.compiled_key(root, {p: compiled_key_of(t) for p, t in _catalog_texts(root).items()})
    entry = compiled.cache_dir() / f"catalog-{key}.json"
    good = entry.read_text(encoding="utf-8")
    entry.write_text(damage(good), encoding="utf-8")
    assert compiled.load_compiled(key) is None
    _same(expected, _fresh_process_load(copy))  # validated from the YAML again


def test_an_unwritable_cache_folder_only_costs_the_speed_up(copy, monkeypatch, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(blocked))
    catalog = _fresh_process_load(copy)
    assert catalog.providers and not blocked.is_dir()


def test_old_entries_are_pruned(tmp_path, monkeypatch):
    # store_entry keeps the KEEP_ENTRIES newest entries of its own kind (the new one among them), no other kind's
    import os

    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(tmp_path))
    for i in range(compiled.KEEP_ENTRIES + 3):
        old = tmp_path / f"catalog-{i:064x}.json"
        old.write_text("{}")
        os.utime(old, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "profile-0.json").write_text("{}")
    newest = tmp_path / f"catalog-{'f' * 64}.json"
    compiled.store_entry(newest, {"format": "x"}, compiled.KEEP_ENTRIES)
    kept = set(tmp_path.glob("catalog-*.json"))
    assert len(kept) == compiled.KEEP_ENTRIES and newest in kept
    assert tmp_path / f"catalog-{0:064x}.json" not in kept and (tmp_path / "profile-0.json").exists()


def test_without_readable_source_nothing_is_cached(copy, monkeypatch, tmp_path):
    # an install without the .py files cannot key entries by its code: it validates every time and stores nothing
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(compiled, "_CODE_PACKAGES", ("schema", "no-such-package"))
    compiled.code_fingerprint.cache_clear()
    try:
        assert compiled.code_fingerprint() is None
        _same(_load_catalog(copy.resolve(), _catalog_texts(copy.resolve())), _fresh_process_load(copy))
        assert not list((tmp_path / "cache").glob("catalog-*.json"))
    finally:
        monkeypatch.undo()
        compiled.code_fingerprint.cache_clear()
