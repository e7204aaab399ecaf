"""The validated catalog, cached by content: a cold `gpuplan estimate` spent ~0.15 s building pydantic's validators for
the catalog's models and validating 1,000+ offers that are the same from run to run. A catalog that loaded without
error is written once as plain JSON (next to the YAML parse cache, planner/io/yamlcache.py) and read back without
validation the next time the same files are loaded by the same code.

Why it cannot serve stale or foreign data:
- the key is the SHA-256 of every catalog file's name and bytes, and of the source of the modules that validate and
  assemble a catalog (planner/schema/, this package's loader) with pydantic's version: an edited price, schema or
  loader is a different key, and an entry whose stored key differs from the one asked for is ignored;
- entries are JSON written atomically (planner/io/atomic.py): reading one runs no code — no pickle. The only objects
  it makes are the catalog's own pydantic models (subclasses of planner.schema.base.Strict, looked up by name among
  those already imported), dates, lists, tuples and dicts; anything else, or any malformed entry, is a miss, and the
  catalog is validated from its YAML as before;
- only a catalog that loaded without error is stored, so every error message (file:line:field) still comes from a
  full validation of the files as they are.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from planner.errors import InputError
from planner.io.atomic import write_text_atomic
from planner.io.digest import sha256
from planner.io.statcache import remembered
from planner.io.yamlcache import cache_dir
from planner.schema.base import Strict

COMPILED_FORMAT = "gpuplan-catalog-3"
"""Part of every key: a change to how entries are written changes it."""
KEEP_ENTRIES = 16
"""Compiled catalogs kept in the cache folder (the newest): each edit of a catalog writes a new one."""
_CODE_PACKAGES = ("schema", "catalog")
"""planner/ subpackages whose source is part of the key: the models, their validators and the catalog's assembly."""
_CODE_FILES = ("io/loading.py", "io/yamlfile.py", "io/yamldoc.py", "io/yamlparse.py", "io/jsontext.py",
               "io/yamlcache.py", "io/statcache.py", "io/digest.py")


@lru_cache(maxsize=1)
def code_fingerprint() -> str | None:
    """SHA-256 of the source that turns catalog files into a Catalog, and of pydantic's version (read once per
    process: the code a process runs is the code it imported); None when that source cannot be read (an install
    without .py files): then nothing is cached, rather than entries keyed without the code."""
    import pydantic

    root = Path(__file__).resolve().parents[1]
    packages = [sorted((root / package).glob("*.py")) for package in _CODE_PACKAGES]
    if not all(packages):
        return None
    paths = [p for files in packages for p in files] + [root / name for name in _CODE_FILES]
    head = f"{COMPILED_FORMAT}\npydantic {pydantic.VERSION}\n"

    def digest_source() -> str | None:
        digest = sha256(head.encode())
        try:
            for path in paths:
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        except OSError:
            return None
        return digest.hexdigest()

    # the same digest, remembered by the files' signatures (io/statcache.py): ~250 kB of source not read each run
    return remembered(f"catalog-code\n{head}", [str(p) for p in paths], digest_source)


def compiled_key(root: Path, content_keys: dict[str, str]) -> str | None:
    """The entry's key: the code's fingerprint and each file's name (relative to the catalog folder) and content;
    None: no compiled cache (code_fingerprint)."""
    code = code_fingerprint()
    if code is None:
        return None
    digest = sha256(code.encode())
    for path, key in sorted(content_keys.items()):
        digest.update(Path(path).relative_to(root).as_posix().encode() + b"\0" + key.encode() + b"\0")
    return digest.hexdigest()


def _entry(key: str) -> Path:
    return cache_dir() / f"catalog-{key}.json"


def load_compiled(key: str) -> dict[str, Any] | None:
    """The catalog's fields stored under `key`, or None: no entry, or one that is not exactly what `store_compiled`
    writes."""
    try:
        stored = json.loads(_entry(key).read_bytes(), object_hook=_Decoder(_model_classes()))
        if not isinstance(stored, dict) or stored.get("key") != key or not isinstance(stored.get("catalog"), dict):
            return None
        fields: dict[str, Any] = stored["catalog"]
        return fields
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError):
        return None  # no entry, or not one this code wrote: validate the YAML


def store_compiled(fields: dict[str, Any], key: str) -> None:
    """Write a catalog's fields under `key`, atomically; a cache folder that cannot be written, or a value JSON
    cannot hold exactly, is simply not used."""
    store_entry(_entry(key), {"format": COMPILED_FORMAT, "key": key, "catalog": fields}, KEEP_ENTRIES)


def store_entry(entry: Path, document: dict[str, Any], keep: int) -> None:
    """Write a cache entry (this module's encoding) atomically and keep the `keep` newest entries of its kind (the
    files of its folder whose names share its prefix before the key); a value JSON cannot hold exactly, or a folder
    that cannot be written, leaves the cache unused (write_text_atomic says why), costing only the speed-up."""
    try:
        text = json.dumps(_encode(document), separators=(",", ":"))
    except (TypeError, ValueError):
        return
    try:
        write_text_atomic(entry, text)
        kind = entry.name.split("-", 1)[0]
        entries = sorted(entry.parent.glob(f"{kind}-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[keep:]:
            old.unlink(missing_ok=True)
    except (OSError, InputError):
        return


# Encoding: JSON scalars and lists as themselves; every other value a JSON object whose TAG key says what it is, so
# that json.loads rebuilds the objects bottom-up in one pass (object_hook) with no walk over the data in Python.
TAG = "\u0000"
"""Key of the kind of a stored object; no model field or catalog key begins with a NUL (mappings that hold one are
not stored)."""
SET = "\u0001"
"""Key of a model's explicitly set fields (pydantic's model_fields_set)."""
VALUE = "\u0002"


def _encode(value: object) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Strict):
        cls = type(value)
        if cls.__pydantic_post_init__ or cls.__pydantic_root_model__ or value.__pydantic_extra__ is not None or \
                value.__pydantic_private__ is not None:
            raise TypeError(f"{cls.__name__}: not a plain model")
        names = list(cls.model_fields)
        if list(value.__dict__) != names:
            raise TypeError(f"{cls.__name__}: fields out of their declared order")
        # values in the fields' declared order (no names repeated per offer), the set fields as their positions
        return {TAG: _class_name(cls), SET: [names.index(f) for f in sorted(value.__pydantic_fields_set__)],
                VALUE: [_encode(v) for v in value.__dict__.values()]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return {TAG: "tuple", VALUE: [_encode(v) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) and not k.startswith((TAG, SET, VALUE)) for k in value):
            raise TypeError("a mapping with keys other than plain strings")
        return {TAG: "dict", **{k: _encode(v) for k, v in value.items()}}
    if isinstance(value, dt.datetime):
        return {TAG: "datetime", VALUE: value.isoformat()}
    if isinstance(value, dt.date):
        return {TAG: "date", VALUE: value.isoformat()}
    raise TypeError(f"not cacheable: {type(value).__name__}")


class _Decoder:
    """json.loads's object_hook: each stored object back to what it was (inner objects come first), by the maker of
    its tag; a model class's maker is made on its first object, with the class's field names and checks, which
    were read per object before (~1,800 objects a catalog, ~2 ms of every start)."""

    def __init__(self, classes: dict[str, type[BaseModel]]) -> None:
        self.classes = classes
        self.makers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "dict": _as_dict, "tuple": _as_tuple, "date": _as_date, "datetime": _as_datetime}

    def __call__(self, obj: dict[str, Any]) -> Any:
        tag = obj.pop(TAG)
        make = self.makers.get(tag)
        if make is None:
            make = self.makers[tag] = _model_maker(tag, self.classes[tag])
        return make(obj)


def _as_dict(obj: dict[str, Any]) -> Any:
    return obj


def _as_tuple(obj: dict[str, Any]) -> Any:
    return tuple(obj[VALUE])


def _as_date(obj: dict[str, Any]) -> Any:
    return dt.date.fromisoformat(obj[VALUE])


def _as_datetime(obj: dict[str, Any]) -> Any:
    return dt.datetime.fromisoformat(obj[VALUE])


def _model_maker(tag: str, cls: type[BaseModel]) -> Callable[[dict[str, Any]], BaseModel]:
    """What makes a stored model of `cls` back: exactly its set fields' positions and one value per field."""
    if cls.__pydantic_post_init__ or cls.__pydantic_root_model__:
        raise ValueError(f"{tag}: not a plain model")
    names = tuple(cls.model_fields)
    count = len(names)
    new = cls.__new__
    set_attribute = object.__setattr__
    fields_sets: dict[tuple[int, ...], frozenset[str]] = {}
    """The set fields' names by their positions: a catalog's ~1,600 models have ~70 distinct sets."""

    def make(obj: dict[str, Any]) -> BaseModel:
        values = obj[VALUE]
        if len(obj) != 2 or len(values) != count:  # two keys, VALUE and (read below) SET
            raise ValueError(f"{tag}: not the stored model's fields")
        positions = tuple(obj[SET])
        fields_set = fields_sets.get(positions)
        if fields_set is None:
            fields_set = fields_sets[positions] = frozenset([names[i] for i in positions])
        model = new(cls)
        # what BaseModel.model_construct sets for a model without aliases, extras, private attributes or
        # post-init (checked when the entry was written): the stored values are those a validation produced
        set_attribute(model, "__dict__", dict(zip(names, values)))
        set_attribute(model, "__pydantic_fields_set__", set(fields_set))  # each model its own, as pydantic's
        set_attribute(model, "__pydantic_extra__", None)
        set_attribute(model, "__pydantic_private__", None)
        return model

    return make


def _class_name(cls: type[BaseModel]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _model_classes() -> dict[str, type[BaseModel]]:
    """The catalog's model classes by name: every subclass of Strict already imported."""
    found: dict[str, type[BaseModel]] = {}
    pending: list[type[BaseModel]] = [Strict]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if _class_name(sub) not in found:
                found[_class_name(sub)] = sub
                pending.append(sub)
    return found
