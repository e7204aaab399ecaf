"""The FFT path's M/D/c quantiles kept between runs of `gpuplan estimate`, by content: a serving search computes a
few hundred W + U·s quantiles (planner/model/md_c.py), each a pure function of its six arguments, and the same
profile planned again asks for the same ones. They are stored in one JSON file per code fingerprint — the SHA-256 of
md_c.py's and queueing.py's source and of numpy's version file, so changed code or another numpy is a new file,
never a stale answer — in the cache folder of planner/io/yamlcache.py, written atomically; reading it runs no code
(floats round-trip exactly through JSON). A run that finds every queue it needs there imports no numpy (~95 ms of
CPU) and computes no FFT. A folder that cannot be read or written is simply not used."""
from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

from planner.errors import InputError
from planner.io.atomic import write_text_atomic
from planner.io.yamlcache import cache_dir
from planner.model import md_c, queueing

STORE_FORMAT = "gpuplan-mdc-1"
KEPT = 4096
"""Quantiles kept in the file, the newest (a search asks for ~100–300; reading 4,096 takes ~3 ms)."""


def fingerprint() -> str:
    """SHA-256 of the store format, the quantile code's source and numpy's version file (read, not imported)."""
    digest = hashlib.sha256(STORE_FORMAT.encode())
    for module in (md_c, queueing):
        digest.update(Path(module.__file__ or "").read_bytes())
    spec = importlib.util.find_spec("numpy")
    if spec is not None and spec.origin is not None:
        version = Path(spec.origin).with_name("version.py")
        digest.update(version.read_bytes() if version.is_file() else b"?")
    return digest.hexdigest()


def _entry() -> Path:
    return cache_dir() / f"mdc-{fingerprint()[:32]}.json"


def load() -> None:
    """Put the stored quantiles in md_c.KNOWN_QUANTILES (nothing when there are none, or they cannot be read)."""
    try:
        stored = json.loads(_entry().read_text(encoding="utf-8"))
        if stored.get("format") != STORE_FORMAT:
            return
        known = {}
        for servers, rate, service, spread, q, largest, value in stored["quantiles"]:
            if not (isinstance(servers, int) and all(isinstance(x, float) for x in (rate, service, spread, q, largest,
                                                                                     value))):
                return  # not this store's: ignore all of it
            known[(servers, rate, service, spread, q, largest)] = value
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return
    md_c.KNOWN_QUANTILES.update(known)


def save() -> None:
    """Add the quantiles this process computed to the file (the newest KEPT), when there are any."""
    if not md_c.COMPUTED_QUANTILES:
        return
    kept = dict(md_c.KNOWN_QUANTILES)
    for key, value in md_c.COMPUTED_QUANTILES.items():
        kept.pop(key, None)
        kept[key] = value  # newest last
    rows = [[int(c), float(rate), float(service), float(spread), float(q), float(largest), float(value)]
            for (c, rate, service, spread, q, largest), value in kept.items()][-KEPT:]
    try:
        write_text_atomic(_entry(), json.dumps({"format": STORE_FORMAT, "quantiles": rows}, separators=(",", ":")))
    except (OSError, InputError):  # write_text_atomic says why as an InputError
        pass  # a read-only home or cache folder: run without the store
