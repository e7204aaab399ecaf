"""The FFT path's M/D/c quantiles kept between runs of `gpuplan estimate`, by content: a serving search computes a
few hundred W + U·s quantiles (planner/model/md_c.py), each a pure function of its six arguments, and the same
profile planned again asks for the same ones. They are stored in one file per code fingerprint — the SHA-256 of
md_c.py's and queueing.py's source and of numpy's version file, so changed code or another numpy is a new file,
never a stale answer — in the cache folder of planner/io/yamlcache.py, written atomically; reading it runs no code.
The file is a header, each quantile's six arguments (KEY) and then the quantiles, as little-endian 64-bit integers
and doubles, which hold every float exactly: unpacked in C (~0.5 ms for a full file), where decoding them from JSON
text took ~10 ms of every serving run once the file was full (KEPT). A run that finds every queue it needs there imports no numpy (~95 ms
of CPU) and computes no FFT. A folder that cannot be read or written is simply not used."""
from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

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
KEPT = 4096
"""Quantiles kept in the file, the newest (a search asks for ~100–300)."""


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


def load() -> None:
    """Put the stored quantiles in md_c.KNOWN_QUANTILES (nothing when there are none, or they cannot be read), and
    have the search compute every quantile it asks for (md_c.STORING), so that the next run finds them all."""
    md_c.STORING[0] = True
    try:
        data = _entry().read_bytes()
    except OSError:
        return
    body = memoryview(data)[len(HEADER):]
    count, rest = divmod(len(body), KEY.size + VALUE.size)
    if not data.startswith(HEADER) or rest:
        return  # not this store's, or cut short: ignore all of it
    keys = KEY.iter_unpack(body[:count * KEY.size])
    values = struct.unpack(f"<{count}d", body[count * KEY.size:])
    md_c.KNOWN_QUANTILES.update(zip(keys, values))


def save() -> None:
    """Add the quantiles this process computed to the file (the newest KEPT), when there are any."""
    if not md_c.COMPUTED_QUANTILES:
        return
    kept = dict(md_c.KNOWN_QUANTILES)
    for key, value in md_c.COMPUTED_QUANTILES.items():
        kept.pop(key, None)
        kept[key] = value  # newest last
    newest = list(kept.items())[-KEPT:]
    try:
        keys = b"".join(KEY.pack(int(c), rate, service, spread, q, largest)
                        for (c, rate, service, spread, q, largest), _ in newest)
        write_bytes_atomic(_entry(), HEADER + keys + b"".join(VALUE.pack(value) for _, value in newest))
    except (OSError, InputError, struct.error):  # write_bytes_atomic says why as an InputError
        pass  # a read-only home or cache folder: run without the store
