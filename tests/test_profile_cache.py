"""The validated profile cached by content (planner/project/cache.py): what comes back is what validation gives,
an edited file, option or catalog is validated afresh, errors always come from validation."""
import dataclasses
import sys

import pytest

from planner.errors import InputError
from planner.project import cache as profile_cache
from planner.project.load import LoadedProfile, load_profile

from .conftest import PROFILES, ROOT
from .test_compiled_catalog import _same as _same_value


def _same(a, b, path="loaded"):
    """Deep equality with types (test_compiled_catalog._same) of two loaded profiles; the GPU and provider id sets
    as sets (their iteration order follows string hashing, which differs from process to process anyway)."""
    if isinstance(a, LoadedProfile):
        assert (a.gpu_ids, a.provider_ids) == (b.gpu_ids, b.provider_ids)
        a, b = (dataclasses.replace(x, gpu_ids=None, provider_ids=None) for x in (a, b))
    _same_value(a, b, path)


def _entries():
    return set(profile_cache.cache_dir().glob("profile-*.json"))


def _validated(source, catalog, overrides=()):
    """load_profile with the cache out of the way (a changed copy of the catalog has no key: nothing read or
    written)."""
    copy = dataclasses.replace(catalog)
    assert copy.content_key == ""
    return load_profile(source, copy, overrides)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_a_cached_profile_is_the_validated_one(profile, catalog):
    assert catalog.content_key  # the bundled catalog, loaded by load_catalog, carries its key
    first = load_profile(profile, catalog)  # validated and stored (or read back: the same key)
    again = load_profile(profile, catalog)  # read back
    validated = _validated(profile, catalog)
    _same(validated, again, "loaded")
    _same(validated, first, "loaded")
    key = profile_cache.profile_key(str(profile), profile.read_text(), (), catalog.content_key)
    assert key is not None and profile_cache.load_cached_profile(key) is not None


def test_overrides_are_part_of_the_key(catalog):
    path = ROOT / "profiles" / "pretrain-1b-72h.yaml"
    two = load_profile(path, catalog, ["training.epochs=2"])
    three = load_profile(path, catalog, ["training.epochs=3"])
    assert (two.profile.training.epochs, three.profile.training.epochs) == (2, 3)
    _same(_validated(path, catalog, ["training.epochs=3"]), load_profile(path, catalog, ["training.epochs=3"]))
    assert load_profile(path, catalog, ["training.epochs=3"]).positions.overrides == {
        ("training", "epochs"): "training.epochs=3"}


def test_an_edited_profile_is_never_served_stale_and_errors_come_from_validation(catalog, write):
    text = (ROOT / "profiles" / "pretrain-1b-72h.yaml").read_text()
    path = write("p.yaml", text)
    assert load_profile(path, catalog).profile.training.epochs == 1
    load_profile(path, catalog)
    path.write_text(text.replace("epochs: 1", "epochs: 4"))
    assert load_profile(path, catalog).profile.training.epochs == 4
    path.write_text(text.replace("epochs: 1", "epochs: -4"))
    with pytest.raises(InputError, match=r"p\.yaml:\d+:\d+: training\.epochs"):
        load_profile(path, catalog)


def test_another_catalog_or_file_name_is_another_key(catalog):
    text = "name: x\n"
    keys = {profile_cache.profile_key("a.yaml", text, (), catalog.content_key),
            profile_cache.profile_key("b.yaml", text, (), catalog.content_key),
            profile_cache.profile_key("a.yaml", text, (), "another catalog"),
            profile_cache.profile_key("a.yaml", text, ("x=1",), catalog.content_key),
            profile_cache.profile_key("a.yaml", text + " ", (), catalog.content_key)}
    assert len(keys) == 5 and None not in keys
    assert profile_cache.profile_key("a.yaml", text, (), "") is None  # a catalog without a key: no cache


def test_a_damaged_or_foreign_entry_is_a_miss(catalog, write):
    path = write("p.yaml", (ROOT / "profiles" / "lora-7b-a6000.yaml").read_text())
    before = _entries()
    expected = load_profile(path, catalog)
    (entry,) = _entries() - before
    key = entry.name.removeprefix("profile-").removesuffix(".json")
    stored = entry.read_text()
    for damaged in ("", "{", '{"format": "gpuplan-profile-1"}', stored.replace('"key":"', '"key":"0', 1),
                    stored.replace(profile_cache.PROFILE_FORMAT, "gpuplan-profile-0")):
        entry.write_text(damaged)
        assert profile_cache.load_cached_profile(key) is None
        _same(expected, load_profile(path, catalog))  # validated again (and stored again)


def test_a_profile_from_a_dict_is_never_cached(catalog):
    before = _entries()
    load_profile({"name": "d", "model": {"preset": "pythia-1b"}, "training": {"dataset": {"tokens": "1B"}}}, catalog)
    assert _entries() == before


def test_an_entry_holds_every_field_of_a_loaded_profile():
    assert profile_cache.LOADED_FIELDS == tuple(f.name for f in dataclasses.fields(LoadedProfile))


def test_the_key_covers_every_module_the_profiles_loading_runs():
    """CODE_FILES and the catalog's fingerprint together hold each planner module planner/project/load.py imports,
    directly or not: a change to any of them is a new key."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_layout import import_graph

    from planner.catalog.compiled import _CODE_FILES, _CODE_PACKAGES

    graph, seen, todo = import_graph(), set(), ["planner.project.load"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    files = {m.removeprefix("planner.").replace(".", "/") + ".py" for m in seen}
    covered = set(profile_cache.CODE_FILES) | set(_CODE_FILES)
    assert {f for f in files if f.split("/")[0] not in _CODE_PACKAGES} <= covered


def test_the_sequence_architecture_is_kept_with_the_profile(catalog):
    """The model at the dataset's sequence length, resolved while loading (plans/search.py reads it), comes back
    from the cache as resolution gives it, and only for that length and that model section."""
    from planner.project.load import resolve_architecture

    path = ROOT / "profiles" / "lora-7b-a6000.yaml"
    first, again = load_profile(path, catalog), load_profile(path, catalog)
    tokens = int(first.profile.training.dataset.tokens_per_sample)
    assert tokens != first.arch.seq_len  # the case the search resolves again
    expected = resolve_architecture(first.profile.model, catalog, first.profile.name, seq_len=tokens)
    for loaded in (first, again, _validated(path, catalog)):
        _same_value(loaded.architecture_at(tokens), expected, "arch")
        assert loaded.architecture_at(tokens + 1) is None
    other = dataclasses.replace(again, profile=again.profile.model_copy(
        update={"model": again.profile.model.model_copy()}))
    assert other.architecture_at(tokens) is None
    assert load_profile(ROOT / "profiles" / "serve-7b-chat.yaml", catalog).sequence_arch is None  # no training
