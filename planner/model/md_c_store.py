"""The M/D/c quantiles kept between runs of `gpuplan estimate`, by content: a serving search computes a few hundred
W + U·s quantiles by the FFT path and ~1,000 more by the no-wait shortcut or the asymptotic tail
(planner/model/md_c.py), each a pure function of its six arguments, and the same profile planned again asks for the
same ones. They are stored in one file per code fingerprint — the SHA-256 of md_c.py's and queueing.py's source and
of numpy's version file, so changed code or another numpy is a new file, never a stale answer — in the cache folder of
planner/io/yamlcache.py, written atomically; reading it runs no code. The file is a header, each quantile's six
arguments (KEY) and then the quantiles, as little-endian 64-bit integers and doubles, which hold every float
exactly: unpacked in C (~0.5 ms for a full file), where decoding them from JSON text took ~10 ms of every serving
run once the file was full (KEPT). A run that finds every queue it needs there imports no numpy (~95 ms of CPU) and
computes no FFT. Beside it, three files of the same fingerprint keep md_c.quantile_within's verdicts (True, False or
None per seven arguments), md_c.quantile_bounds' pairs, which a second run otherwise redoes from their Poisson
sums, and queueing.poisson_quantiles' TPOT cut-in counts, each a pass over a Poisson distribution. A folder that cannot be read or written is simply not used."""
from __future__ import annotations

import importlib.util
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from planner.errors import InputError
from planner.io.atomic import write_bytes_atomic
from planner.io.digest import sha256
from planner.io.statcache import remembered
from planner.io.yamlcache import cache_dir
from planner.model import md_c, queueing

STORE_FORMAT = "gpuplan-mdc-2"
HEADER = STORE_FORMAT.encode() + b"\n"
"""The file's first bytes: anything else is not this store's."""
KEY = struct.Struct("<q5d")
"""A quantile's arguments: servers, arrival rate, service seconds, spread, q, largest q (md_c.QuantileKey)."""
VALUE = struct.Struct("<d")
KEPT = 8192
"""Quantiles kept in the file, the newest (a search asks for up to ~1,400: serve-7b-chat's ~300 by the FFT and ~1,050
by the shortcut or the tail)."""
WITHIN_HEADER = b"gpuplan-mdcw-1\n"
"""The first bytes of the second file, md_c.quantile_within's verdicts: each one's seven arguments (WITHIN_KEY),
then one byte per verdict (WITHIN_CODES)."""
WITHIN_KEY = struct.Struct("<q6d")
WITHIN_CODES: tuple[bool | None, ...] = (False, True, None)
"""A verdict's byte is its index here."""
WITHIN_KEPT = 8192
"""Verdicts kept in the file, the newest (serve-7b-chat's search reaches ~1,900; the eight example profiles ~2,200)."""
BOUNDS_HEADER = b"gpuplan-mdcb-1\n"
"""The first bytes of the third file, md_c.quantile_bounds' pairs: each one's six arguments (KEY), then the pairs
(BOUNDS_VALUE)."""
BOUNDS_VALUE = struct.Struct("<2d")
BOUNDS_KEPT = 4096
"""Pairs kept in the file, the newest (serve-7b-chat's search works out ~600)."""

POISSON_HEADER = b"gpuplan-mdcp-1\n"
"""The first bytes of the fourth file, queueing.poisson_quantiles' answers of two quantiles (the TPOT p50 and p95 the
serving search asks for): each one's mean, cap and two quantiles (POISSON_KEY), then the two counts
(POISSON_VALUE)."""
POISSON_KEY = struct.Struct("<dq2d")
POISSON_VALUE = struct.Struct("<2q")
POISSON_KEPT = 8192
"""Answers kept in the file, the newest (serve-7b-chat's search works out ~900)."""

Key = TypeVar("Key")
Value = TypeVar("Value")


def fingerprint() -> str:
    """SHA-256 of the store format, the quantile code's source and numpy's version file (read, not imported)."""
    sources = [Path(module.__file__ or "") for module in (md_c, queueing)]
    spec = importlib.util.find_spec("numpy")
    version = Path(spec.origin).with_name("version.py") if spec is not None and spec.origin is not None else None

    def digest_files() -> str:
        digest = sha256(STORE_FORMAT.encode())
        for source in sources:
            digest.update(source.read_bytes())
        if version is not None:
            digest.update(version.read_bytes() if version.is_file() else b"?")
        return digest.hexdigest()

    # remembered by the files' signatures (io/statcache.py), numpy's version file among them; a source that cannot
    # be read raises as before
    paths = [str(p) for p in sources] + ([str(version)] if version is not None else [])
    return remembered(f"mdc-code\n{STORE_FORMAT}\n{version is not None}", paths, digest_files) or digest_files()


def _entry() -> Path:
    return cache_dir() / f"mdc-{fingerprint()[:32]}.bin"


def _within_entry() -> Path:
    return cache_dir() / f"mdcw-{fingerprint()[:32]}.bin"


def _bounds_entry() -> Path:
    return cache_dir() / f"mdcb-{fingerprint()[:32]}.bin"


def _poisson_entry() -> Path:
    return cache_dir() / f"mdcp-{fingerprint()[:32]}.bin"


def load() -> None:
    """Put the stored quantiles in md_c.KNOWN_QUANTILES (nothing when there are none, or they cannot be read), and
    have the search compute every quantile it asks for (md_c.STORING), so that the next run finds them all."""
    md_c.STORING[0] = True
    queueing.POISSON_STORING[0] = True
    _load_within()
    _load_bounds()
    _load_poisson()
    found = _read(_entry(), HEADER, KEY, VALUE.size)
    if found is not None:
        keys, values, count = found
        md_c.KNOWN_QUANTILES.update(zip(keys, struct.unpack(f"<{count}d", values)))


def _read(entry: Path, header: bytes, key: struct.Struct, value_size: int
          ) -> tuple[Iterator[tuple[Any, ...]], memoryview, int] | None:
    """A store file's keys (unpacked by `key`), its values' bytes and their count; None where it
    cannot be read, is not this store's (another header) or is cut short (not whole entries): all of it is ignored."""
    try:
        data = entry.read_bytes()
    except OSError:
        return None
    body = memoryview(data)[len(header):]
    count, rest = divmod(len(body), key.size + value_size)
    if not data.startswith(header) or rest:
        return None
    return key.iter_unpack(body[:count * key.size]), body[count * key.size:], count


def _load_within() -> None:
    """Put the stored verdicts in md_c.KNOWN_WITHIN (nothing when there are none, or they cannot be read)."""
    found = _read(_within_entry(), WITHIN_HEADER, WITHIN_KEY, 1)
    if found is None:
        return
    keys, values, _ = found
    codes = bytes(values)
    if codes.translate(None, b"\0\1\2"):
        return  # a byte that is no verdict: damaged, ignore all of it
    md_c.KNOWN_WITHIN.update(zip(keys, map(WITHIN_CODES.__getitem__, codes)))


def _newest(known: dict[Key, Value], computed: dict[Key, Value], most: int) -> list[tuple[Key, Value]]:
    """The stored entries with this process's added, the newest `most` (a recomputed entry counts as new)."""
    kept = dict(known)
    for key, value in computed.items():
        kept.pop(key, None)
        kept[key] = value  # newest last
    return list(kept.items())[-most:]


def _write(entry: Path, blob: Callable[[], bytes]) -> None:
    """Write a store file atomically; a read-only home or cache folder (or an unpackable entry): run without it."""
    try:
        write_bytes_atomic(entry, blob())
    except (OSError, InputError, struct.error):  # write_bytes_atomic says why as an InputError
        pass


def _save_within() -> None:
    """Add the verdicts this process reached to their file (the newest WITHIN_KEPT), when there are any."""
    if md_c.COMPUTED_WITHIN:
        newest = _newest(md_c.KNOWN_WITHIN, md_c.COMPUTED_WITHIN, WITHIN_KEPT)
        _write(_within_entry(), lambda: WITHIN_HEADER + b"".join(WITHIN_KEY.pack(int(key[0]), *key[1:])
                                                                 for key, _ in newest)
               + bytes(WITHIN_CODES.index(verdict) for _, verdict in newest))


def _load_bounds() -> None:
    """Put the stored pairs in md_c.KNOWN_BOUNDS (nothing when there are none, or they cannot be read)."""
    found = _read(_bounds_entry(), BOUNDS_HEADER, KEY, BOUNDS_VALUE.size)
    if found is not None:
        keys, values, _ = found
        md_c.KNOWN_BOUNDS.update(zip(keys, BOUNDS_VALUE.iter_unpack(values)))


def _save_bounds() -> None:
    """Add the pairs this process worked out to their file (the newest BOUNDS_KEPT), when there are any."""
    if md_c.COMPUTED_BOUNDS:
        newest = _newest(md_c.KNOWN_BOUNDS, md_c.COMPUTED_BOUNDS, BOUNDS_KEPT)
        _write(_bounds_entry(), lambda: BOUNDS_HEADER + b"".join(KEY.pack(int(key[0]), *key[1:]) for key, _ in newest)
               + b"".join(BOUNDS_VALUE.pack(*pair) for _, pair in newest))


def _load_poisson() -> None:
    """Put the stored answers in queueing.KNOWN_POISSON (nothing when there are none, or they cannot be read)."""
    found = _read(_poisson_entry(), POISSON_HEADER, POISSON_KEY, POISSON_VALUE.size)
    if found is not None:
        keys, values, _ = found
        queueing.KNOWN_POISSON.update(((mean, (q1, q2), cap), counts) for (mean, cap, q1, q2), counts
                                      in zip(keys, POISSON_VALUE.iter_unpack(values)))


def _save_poisson() -> None:
    """Add the two-quantile answers this process worked out to their file (the newest POISSON_KEPT), when there
    are any."""
    computed = {key: value for key, value in queueing.COMPUTED_POISSON.items() if len(key[1]) == 2}
    if computed:
        newest = _newest(queueing.KNOWN_POISSON, computed, POISSON_KEPT)
        _write(_poisson_entry(), lambda: POISSON_HEADER + b"".join(
            POISSON_KEY.pack(mean, int(cap), *qs) for (mean, qs, cap), _ in newest)
            + b"".join(POISSON_VALUE.pack(*counts) for _, counts in newest))


def save() -> None:
    """Add the quantiles, verdicts and bounds this process computed to their files (the newest KEPT, WITHIN_KEPT,
    BOUNDS_KEPT), when there are any."""
    _save_within()
    _save_bounds()
    _save_poisson()
    if md_c.COMPUTED_QUANTILES:
        newest = _newest(md_c.KNOWN_QUANTILES, md_c.COMPUTED_QUANTILES, KEPT)
        _write(_entry(), lambda: HEADER + b"".join(KEY.pack(int(key[0]), *key[1:]) for key, _ in newest)
               + b"".join(VALUE.pack(value) for _, value in newest))
