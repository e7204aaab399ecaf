"""Digests of files remembered between runs by the files' stat signatures, so that a cold `gpuplan estimate` does not
read and hash ~1.6 MB of files that have not changed since the last run: the catalog's YAML (its compiled entry's
key), the source of the code that loads it and the profile (code fingerprints) and the validation's inputs
(decide/confidence.py), ~4 ms and ~500 page faults of every start (docs/internals.md 'Start-up: what every run
pays').

A file is known by its device, inode, size and modification and change times in ns, as decide/confidence.py
remembers a file within a process; an edit changes its change time, which no program can set.
Only files settled for SETTLED_NS are remembered (a file system with coarse timestamps could keep the signature
through a second edit within the same tick, git's "racy" files); the signatures are taken again after the digest
is computed, and a file that changed meanwhile is not remembered. Entries are JSON written atomically, read with no
code run, and a miss or an unreadable entry computes the digest from the files as before."""
from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable, Sequence

from planner.errors import InputError
from planner.io.atomic import write_text_atomic
from planner.io.digest import sha256
from planner.io.yamlcache import cache_dir

STAT_FORMAT = "gpuplan-stat-1"
"""Part of every key: a change to what is stored changes it."""
KEEP_ENTRIES = 64
"""Remembered digests kept in the cache folder (the newest)."""
SETTLED_NS = 2_000_000_000
"""How long ago a file must have last changed to be remembered by its signature: FAT's timestamps are 2 s apart."""

Signature = tuple[int, int, int, int, int]


def signature(path: str) -> Signature | None:
    """A regular file's device, inode, size, modification and change times in ns; None: missing or not a file."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def remembered(kind: str, paths: Sequence[str], compute: Callable[[], str | None]) -> str | None:
    """`compute()`, a digest of the files at `paths` (and of whatever `kind` names: a format, a version), remembered
    by the files' signatures; None (nothing remembered) when compute gives None."""
    signatures = [signature(path) for path in paths]
    key = sha256(repr((STAT_FORMAT, kind, list(zip(paths, signatures)))).encode()).hexdigest()
    entry = cache_dir() / f"stat-{key}.json"
    try:
        stored = json.loads(entry.read_bytes())
        if isinstance(stored, dict) and stored.get("key") == key and isinstance(stored.get("value"), str):
            value: str = stored["value"]
            return value
    except (OSError, ValueError, TypeError):
        pass  # not remembered: compute
    computed = compute()
    settled = time.time_ns() - SETTLED_NS
    if computed is not None and all(s is None or max(s[3], s[4]) < settled for s in signatures) \
            and [signature(path) for path in paths] == signatures:
        _store(entry, {"key": key, "value": computed})
    return computed


def _store(entry: os.PathLike[str], document: dict[str, str]) -> None:
    """Write an entry atomically and keep the KEEP_ENTRIES newest; a folder that cannot be written costs only the
    speed-up."""
    from pathlib import Path

    path = Path(entry)
    try:
        write_text_atomic(path, json.dumps(document))
        entries = sorted(path.parent.glob("stat-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP_ENTRIES:]:
            old.unlink(missing_ok=True)
    except (OSError, InputError):
        return
