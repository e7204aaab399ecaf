"""The validated profile, cached by content: validating a profile first builds pydantic's validators for the profile's
and the architecture's ~40 models (~8 ms of every cold `gpuplan estimate`, docs/internals.md 'Start-up: what every
run pays'), though the same file against the same catalog gives the same LoadedProfile every time. A profile that
loaded without error is written once as plain JSON, next to the compiled catalog (planner/catalog/compiled.py, whose
encoding it uses), and read back without validation the next time.

Why it cannot serve stale or foreign data:
- the key is the SHA-256 of the file's name and text, the `--set` overrides, the catalog's own content key (its
  files and the code that validates them: Catalog.content_key) and the source of every module the profile's loading
  runs (CODE_FILES; tests/test_profile_cache.py checks the list holds every module planner/project/load.py imports,
  directly or not); a profile from a dict, or a catalog with no content key, is never cached;
- an entry is JSON whose stored key must equal the one asked for, read by the compiled catalog's decoder (no code
  run, only the schema's own models by name with exactly their fields); anything else is a miss;
- only a profile that loaded without error is stored, so every error message still comes from a full validation.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from planner.catalog.compiled import (
    _Decoder,
    _model_classes,
    code_fingerprint,
    store_entry,
)
from planner.io.digest import sha256
from planner.io.positions import SourcePositions
from planner.io.statcache import remembered
from planner.io.yamlcache import cache_dir
from planner.schema.model import Architecture
from planner.schema.profile import Profile

PROFILE_FORMAT = "gpuplan-profile-2"
"""Part of every key: a change to how entries are written changes it."""
KEEP_ENTRIES = 64
"""Cached profiles kept in the cache folder (the newest): every edit and every `--set` variant is an entry."""
CODE_FILES = ("project/load.py", "project/cache.py", "io/positions.py", "io/whatif.py", "io/atomic.py",
              "model/standard_shape.py", "model/workload.py", "model/precision.py", "model/gemm_shapes.py",
              "model/layers.py", "errors.py", "dataclass.py")
"""planner/ modules the profile's loading runs beyond the catalog's (compiled.code_fingerprint: schema/, catalog/,
io/loading.py, io/yamlfile.py, io/yamldoc.py, io/yamlparse.py, io/jsontext.py, io/yamlcache.py, io/statcache.py,
io/digest.py)."""


@lru_cache(maxsize=1)
def _code() -> str | None:
    """SHA-256 of the catalog's code fingerprint and CODE_FILES' source (read once per process: the code a process
    runs is the code it imported); None when the source cannot be read: nothing is cached."""
    catalog_code = code_fingerprint()
    if catalog_code is None:
        return None
    root = Path(__file__).resolve().parents[1]
    head = f"{PROFILE_FORMAT}\n{catalog_code}\n"

    def digest_source() -> str | None:
        digest = sha256(head.encode())
        try:
            for name in CODE_FILES:
                digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
        except OSError:
            return None
        return digest.hexdigest()

    # remembered by the files' signatures (io/statcache.py): their ~110 kB of source is not read on each run
    return remembered(f"profile-code\n{head}", [str(root / name) for name in CODE_FILES], digest_source)


def profile_key(file: str, text: str, overrides: tuple[str, ...], catalog_key: str) -> str | None:
    """The entry's key for a profile file's name and text loaded against a catalog with `--set` overrides; None:
    not cached (no catalog key, or the code cannot be read)."""
    code = _code()
    if code is None or not catalog_key:
        return None
    digest = sha256(code.encode() + b"\0" + catalog_key.encode() + b"\0")
    for part in (file, text, *overrides):
        digest.update(len(part).to_bytes(8, "little") + part.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _entry(key: str) -> Path:
    return cache_dir() / f"profile-{key}.json"


LOADED_FIELDS = ("profile", "arch", "gpu_ids", "provider_ids", "positions", "warnings", "owned_gpu_ids", "discounts",
                 "sequence_arch")
"""project/load.py LoadedProfile's fields, which an entry holds (tests/test_profile_cache.py checks they are all)."""


def store_profile(key: str, loaded: dict[str, Any]) -> None:
    """Write a loaded profile's fields (LOADED_FIELDS) under `key`, atomically; a value JSON cannot hold exactly,
    or a cache folder that cannot be written, costs only the speed-up."""
    positions: SourcePositions = loaded["positions"]
    gpu_ids, provider_ids = loaded["gpu_ids"], loaded["provider_ids"]
    sequence = loaded["sequence_arch"]
    if sequence is not None and sequence[0] is not loaded["profile"].model:
        return
    marks = [[list(path), list(mark)] for path, mark in positions.marks.items()]
    overrides = [[list(path), option] for path, option in positions.overrides.items()]
    if not _plain(marks) or not _plain(overrides):
        return
    store_entry(_entry(key), {
        "format": PROFILE_FORMAT, "key": key, "file": positions.file, "marks": marks, "overrides": overrides,
        "profile": loaded["profile"], "arch": loaded["arch"],
        "gpu_ids": None if gpu_ids is None else sorted(gpu_ids),
        "provider_ids": None if provider_ids is None else sorted(provider_ids),
        "warnings": list(loaded["warnings"]), "owned": list(loaded["owned_gpu_ids"]),
        "discounts": [list(d) for d in loaded["discounts"]],
        "sequence_arch": None if sequence is None else [sequence[1], sequence[2]]}, KEEP_ENTRIES)


def _plain(pairs: list[list[Any]]) -> bool:
    """Paths of plain keys (str or int, as YAML gives them) that JSON gives back as they were."""
    return all(all(type(part) in (str, int) for part in path) for path, _ in pairs)


def load_cached_profile(key: str) -> dict[str, Any] | None:
    """The loaded profile's fields (LOADED_FIELDS) stored under `key`, or None: no entry, or one that is not exactly
    what store_profile writes."""
    try:
        stored = json.loads(_entry(key).read_bytes(), object_hook=_Decoder(_model_classes()))
        if not isinstance(stored, dict) or stored.get("key") != key or stored.get("format") != PROFILE_FORMAT:
            return None
        profile, arch = stored["profile"], stored["arch"]
        if type(profile) is not Profile or type(arch) is not Architecture:
            return None
        marks = {tuple(path): (int(line), int(column)) for path, (line, column) in stored["marks"]}
        overrides = {tuple(path): str(option) for path, option in stored["overrides"]}
        gpu_ids, provider_ids = stored["gpu_ids"], stored["provider_ids"]
        sequence = stored["sequence_arch"]
        if sequence is not None:
            length, sequence_arch = sequence
            if type(length) is not int or type(sequence_arch) is not Architecture:
                return None
            sequence = (profile.model, length, sequence_arch)
        return {"profile": profile, "arch": arch,
                "gpu_ids": None if gpu_ids is None else frozenset(map(str, gpu_ids)),
                "provider_ids": None if provider_ids is None else frozenset(map(str, provider_ids)),
                "positions": SourcePositions(str(stored["file"]), marks, overrides),
                "warnings": tuple(map(str, stored["warnings"])), "owned_gpu_ids": tuple(map(str, stored["owned"])),
                "discounts": tuple((str(pid), percent) for pid, percent in stored["discounts"]),
                "sequence_arch": sequence}
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError):
        return None  # no entry, or not one this code wrote: validate the file
