"""Dynamic batching's percentiles kept between runs of `gpuplan estimate`, by content, as model/md_c_store.py keeps
the M/D/c quantiles: bert-train-then-serve's search asks for 223 chains (model/batching_chain.py, 149 made), and
making them and bisecting their percentiles, numpy's import included, was over half of its run.

A chain is a pure function of batching_chain's arguments — rate, replicas, batch limit, delay — and of the service
times it reads, S(b) at the batch sizes b it asks for (which sizes depends on the times read before: the sizes read
and their times determine the chain). An entry is kept under those four numbers, the sizes it read and the SHA-256
of the times there; a later run finds it only where its own service curve gives the same floats at every one of
those sizes, so changed costs, efficiencies or catalogs find nothing stale. The chain's percentiles are kept as
their Percentile intervals (low, high, tolerance, points): each is bisected from the chain's bounds on its own grid
only (Percentile.step; dynamic_batching.py works out a chain's values one percentile at a time), so every interval a
percentile ever holds lies on one sequence of nested intervals, the same in every run, and every comparison
(Percentile.within, .below, .value) decided on an interval is decided the same on any interval inside it. A run
reading the store therefore decides exactly as a run computing every chain afresh: the same plans, the same printed
bytes (tests/test_batching_store.py). A percentile asked to go finer than its entry, or one not kept, builds the
chain then (numpy imported) and goes on from the stored interval. The one-server chains the search decides some
counts by without making theirs (batching_chain.one_server_low, plans/serving.py known_over) are kept the same way,
as ONE_SERVER entries (stored_one_server): else a rerun would make them again, numpy imported.

One file per code fingerprint — the SHA-256 of the store format, this module's, dynamic_batching.py's,
percentile.py's and every planner/model/*chain*.py source and numpy's version file — and machine() (BLAS threads,
CPU), in the cache folder of planner/io/yamlcache.py, written atomically, packed little-endian integers and doubles
read with struct (no numpy, no code run). A file cut short or not this format's is ignored whole; a folder that
cannot be read or written is not used. Only the CLI reads and writes it (cli/estimate.py); planner.plan() computes
every chain. bert-train-then-serve `estimate --format json`, callgrind instructions (floor 653 M): main 6fdaa43
3,150 M; a profile's first run 3,382 M (each percentile refined alone +173 M, recording and writing +59 M), every run
after it 1,647 M (docs/internals.md 'Dynamic batching's chains kept between runs')."""
from __future__ import annotations

import importlib.util
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from planner.errors import InputError
from planner.io.atomic import write_bytes_atomic
from planner.io.digest import sha256
from planner.io.statcache import remembered
from planner.io.yamlcache import cache_dir
from planner.model.percentile import Percentile

if TYPE_CHECKING:
    import numpy as np

    from planner.model.batching_chain import Chain, ChainsByCurve

STORE_FORMAT = "gpuplan-chains-2"
HEADER = STORE_FORMAT.encode() + b"\n"
"""The file's first bytes: anything else is not this store's."""
COUNT = struct.Struct("<q")
"""Entries in the file, after the header."""
ENTRY = struct.Struct("<dqqdBqqq16s")
"""An entry: rate, replicas (−1: unlimited), limit, delay, kind (OPEN, ONE_SERVER), top, runs of sizes,
percentiles, the times' digest."""
OPEN = 1
"""An entry's kind: an open chain (Chain.open)."""
ONE_SERVER = 2
"""An entry's kind: not batching_chain's chain but batching_chain.one_server_low's, the bound the serving search
decides a count by without making its chain (plans/serving.py known_over): kept, a later run decides that count
again without numpy (stored_one_server)."""
RUN = struct.Struct("<qq")
"""Consecutive batch sizes read: the first, how many."""
POINT = struct.Struct("<ddddq")
"""A percentile: q, low, high, tolerance, points."""
KEPT = 1024
"""Entries kept in the file, the newest: bert-train-then-serve keeps 159 (36 kB, read in ~0.6 ms: ~4 µs an entry)."""

Key = tuple[float, "int | None", int, float]
"""batching_chain's arguments but the service curve: rate, replicas, limit, delay."""
Sizes = bytes
"""The batch sizes a chain read, sorted, as their RUNs packed (as in the file: a load decodes only what it looks up)."""
Interval = tuple[float, float, float, int]
"""A Percentile's low, high, tolerance and points."""


class Entry:
    """A chain kept: what the search reads of it besides its percentiles (open, top: plans/serving.py shares open
    chains between limits) and its percentiles' intervals, packed POINTs as in the file."""

    __slots__ = ("open", "top", "points")

    def __init__(self, open_: bool, top: int, points: bytes) -> None:
        self.open, self.top, self.points = open_, top, points

    def intervals(self) -> dict[float, Interval]:
        """The percentiles' intervals by q."""
        return {q: (low, high, tolerance, n) for q, low, high, tolerance, n in POINT.iter_unpack(self.points)}


Entries = dict[Key, dict[Sizes, dict[bytes, Entry]]]
"""Entries by arguments, then the sizes they read, then the digest of the times there."""
KNOWN: Entries = {}
"""The chains load() read."""
ONE_SERVER_KNOWN: Entries = {}
"""The one-server bounds load() read (ONE_SERVER)."""
ACTIVE = False
"""load() has run (a `gpuplan estimate`): chains are looked up and the ones this process uses are kept for save()."""
_READ = False
"""The file has been read into KNOWN since load()."""
_USED: list[tuple[Key, dict[float, float] | Sizes, bytes | None, Chain | KnownChain, bool]] = []
"""The chains this process asked for: arguments, the times the chain read (a made chain) or the entry's sizes and
digest (a known one), the chain, and whether it is a one-server bound (ONE_SERVER)."""
_DIGESTS: dict[tuple[Callable[[float], float], Sizes], bytes] = {}
"""A service curve's digest at the sizes an entry read (the curves of one GPU's configurations ask again)."""


class KnownChain:
    """A chain found in the store: its percentiles from their stored intervals, the chain itself built only when one
    must go finer than its entry or is not kept (what the search reads of a chain: dynamic_batching.ChainView)."""

    __slots__ = ("key", "service_of", "open", "top", "intervals", "percentiles", "one_server", "_chain")

    def __init__(self, key: Key, service_of: Callable[[float], float], entry: Entry, one_server: bool = False
                 ) -> None:
        self.key, self.service_of, self.open, self.top = key, service_of, entry.open, entry.top
        self.one_server = one_server  # batching_chain.one_server_low's chain (ONE_SERVER), not batching_chain's
        self.intervals = entry.intervals()
        self.percentiles: dict[float, Percentile] = {}
        self._chain: Chain | None = None

    def percentile(self, q: float) -> Percentile:
        """The q-quantile as a Percentile (one per q), resuming from its stored interval."""
        found = self.percentiles.get(q)
        if found is None:
            interval = self.intervals.get(q)
            if interval is None:
                found = self._made().percentile(q)
            else:
                low, high, tolerance, points = interval
                found = Percentile(low, high, self._cdf, q, self._cdfs, points)
                found.tolerance = tolerance
            self.percentiles[q] = found
        return found

    def _made(self) -> Chain:
        if self._chain is None:
            from planner.model.batching_chain import batching_chain, one_server_low  # numpy: the entry is not enough

            rate, replicas, limit, delay = self.key
            if self.one_server:
                low = one_server_low(rate, replicas, limit, delay, self.service_of)
                assert low is not None, "kept only where one_server_low made a chain, for the same times"
                self._chain = low
            else:
                self._chain = batching_chain(rate, replicas, limit, delay, self.service_of)
        return self._chain

    def _cdf(self, x: float) -> float:
        return self._made().cdf(x)

    def _cdfs(self, xs: np.ndarray) -> np.ndarray:
        return self._made().cdfs(xs)


def stored_chain(rate: float, replicas: int | None, limit: int, delay: float, service_of: Callable[[float], float],
                 shared: ChainsByCurve | None = None) -> Chain | KnownChain:
    """batching_chain(rate, replicas, limit, delay, service_of, shared), from the store when a run of this code kept
    it for the same service times (module docstring); made as before otherwise (and kept, once save() runs)."""
    key: Key = (rate, replicas, limit, delay)
    known = _known(KNOWN, key, service_of, False)
    if known is not None:
        return known
    from planner.model.batching_chain import batching_chain  # numpy: only runs that make a chain

    if not ACTIVE:
        return batching_chain(rate, replicas, limit, delay, service_of, shared)
    read: dict[float, float] = {}
    chain = batching_chain(rate, replicas, limit, delay, _reading(service_of, read), shared)
    _USED.append((key, read, None, chain, False))
    return chain


def stored_one_server(rate: float, replicas: int, limit: int, delay: float, service_of: Callable[[float], float]
                      ) -> Chain | KnownChain | None:
    """batching_chain.one_server_low(rate, replicas, limit, delay, service_of), from the store as stored_chain finds
    a chain (the same arguments and the same floats at every size it read: its percentiles' intervals decide every
    comparison as the chain's would); made as before otherwise (and kept, once save() runs)."""
    key: Key = (rate, replicas, limit, delay)
    known = _known(ONE_SERVER_KNOWN, key, service_of, True)
    if known is not None:
        return known
    from planner.model.batching_chain import one_server_low  # numpy: only runs that make the chain

    if not ACTIVE:
        return one_server_low(rate, replicas, limit, delay, service_of)
    read: dict[float, float] = {}
    low = one_server_low(rate, replicas, limit, delay, _reading(service_of, read))
    if low is not None:
        _USED.append((key, read, None, low, True))
    return low


def _known(table: Entries, key: Key, service_of: Callable[[float], float], one_server: bool) -> KnownChain | None:
    """The entry of `table` (KNOWN, ONE_SERVER_KNOWN) for these arguments and times, once load() has run."""
    if not ACTIVE:
        return None
    if not _READ:
        _read()
    for sizes, entries in table.get(key, {}).items():
        digest = _digest_of(service_of, sizes)
        entry = entries.get(digest)
        if entry is not None:
            known = KnownChain(key, service_of, entry, one_server)
            _USED.append((key, sizes, digest, known, one_server))
            return known
    return None


def _reading(service_of: Callable[[float], float], read: dict[float, float]) -> Callable[[float], float]:
    """service_of, recording each time it gives in `read` (the sizes and times a made chain's entry is kept by)."""
    def reading(b: float) -> float:
        found = read[b] = service_of(b)
        return found

    return reading


def kept(rate: float, replicas: int | None, limit: int, delay: float, service_of: Callable[[float], float]) -> bool:
    """Whether stored_chain would find this chain in the store (the serving search then reads it rather than bound
    it: plans/serving.py)."""
    if not ACTIVE:
        return False
    if not _READ:
        _read()
    return any(_digest_of(service_of, sizes) in entries
               for sizes, entries in KNOWN.get((rate, replicas, limit, delay), {}).items())


def _digest_of(service_of: Callable[[float], float], sizes: Sizes) -> bytes:
    found = _DIGESTS.get((service_of, sizes))
    if found is None:
        found = _DIGESTS[(service_of, sizes)] = _digest(
            [service_of(float(b)) for first, length in RUN.iter_unpack(sizes) for b in range(first, first + length)])
    return found


def _digest(times: list[float]) -> bytes:
    return sha256(struct.pack(f"<{len(times)}d", *times)).digest()[:16]


def _sources() -> list[Path]:
    """The chains' source: this module, dynamic_batching.py, percentile.py and every planner/model/*chain*.py
    (batching_chain.py, pair_chain.py, chain_math.py, chain_scope.py and any chain added beside them)."""
    here = Path(__file__)
    return sorted({here, here.with_name("dynamic_batching.py"), here.with_name("percentile.py"),
                   *here.parent.glob("*chain*.py")})


def fingerprint() -> str:
    """SHA-256 of the store format, the chains' source (_sources) and numpy's version file (not imported)."""
    sources = _sources()
    spec = importlib.util.find_spec("numpy")
    version = Path(spec.origin).with_name("version.py") if spec is not None and spec.origin is not None else None

    def digest_files() -> str:
        digest = sha256(STORE_FORMAT.encode())
        for source in sources:
            digest.update(source.name.encode() + b"\n" + source.read_bytes())
        if version is not None:
            digest.update(version.read_bytes() if version.is_file() else b"?")
        return digest.hexdigest()

    # remembered by the files' signatures (io/statcache.py); the names are in the kind, so a chain module added or
    # removed is another key
    paths = [str(p) for p in sources] + ([str(version)] if version is not None else [])
    kind = f"chains-code\n{STORE_FORMAT}\n{version is not None}\n{[p.name for p in sources]}"
    return remembered(kind, paths, digest_files) or digest_files()


THREADS_ENV = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""What sets numpy's BLAS threads (OpenBLAS reads the first set of its three)."""


def machine() -> str:
    """What the chains' floats depend on besides the code: BLAS splits a matrix product between its threads and picks
    its kernels by CPU, and one grid's cdf differs in the last bits between one thread and two (2026-12-01, this
    2-core machine) — so the threads' settings, the CPUs, and the CPU's model (a shared cache folder on another
    machine is another file)."""
    settings = [os.environ.get(name, "") for name in THREADS_ENV]
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = -1
    model = b""
    try:
        with open("/proc/cpuinfo", "rb") as info:
            model = next((line for line in info.read(8192).split(b"\n") if line.startswith(b"model name")), b"")
    except OSError:
        pass
    return repr((settings, os.cpu_count(), usable, os.uname().machine if hasattr(os, "uname") else "", model))


def _entry() -> Path:
    return cache_dir() / f"chains-{sha256((fingerprint() + machine()).encode()).hexdigest()[:32]}.bin"


def load() -> None:
    """Look chains up in the store from now on, with what it holds (nothing when it is empty or cannot be read); the
    file is read when the first chain is asked for (a generative serving search asks for none)."""
    global ACTIVE, _READ
    ACTIVE, _READ = True, False


def _read() -> None:
    global _READ
    _READ = True
    try:
        data = _entry().read_bytes()
    except OSError:
        return
    try:
        chains, lows = _parsed(data)
    except (struct.error, ValueError):
        return  # cut short or padded: ignore all of it
    KNOWN.clear()
    KNOWN.update(chains)
    ONE_SERVER_KNOWN.clear()
    ONE_SERVER_KNOWN.update(lows)


def _parsed(data: bytes) -> tuple[Entries, Entries]:
    """The chains and the one-server bounds of a file's bytes; ValueError or struct.error when they are not a whole
    file of this format."""
    if not data.startswith(HEADER):
        raise ValueError("not this store's")
    at = len(HEADER)
    (count,) = COUNT.unpack_from(data, at)
    at += COUNT.size
    if not 0 <= count <= len(data) // ENTRY.size:
        raise ValueError("not a count of entries")
    chains: Entries = {}
    lows: Entries = {}
    for _ in range(count):
        rate, replicas, limit, delay, kind, top, runs, points, digest = ENTRY.unpack_from(data, at)
        at += ENTRY.size
        if runs < 1 or points < 0 or kind & ~(OPEN | ONE_SERVER):
            raise ValueError("not an entry")
        sizes = data[at:at + runs * RUN.size]
        at += runs * RUN.size
        intervals = data[at:at + points * POINT.size]
        at += points * POINT.size
        if len(intervals) != points * POINT.size:
            raise ValueError("cut short")
        key: Key = (rate, None if replicas < 0 else replicas, limit, delay)
        found = lows if kind & ONE_SERVER else chains
        found.setdefault(key, {}).setdefault(sizes, {})[digest] = Entry(bool(kind & OPEN), top, intervals)
    if at != len(data):
        raise ValueError("not a whole file")
    return chains, lows


def save() -> None:
    """Keep the chains this process used, their percentiles as far as they were worked out (the newest KEPT), when
    any is new or went finer than its entry; then clear(): a process that plans again (tests) holds no chains."""
    try:
        if ACTIVE and _USED:
            _write()
    finally:
        clear()


def _write() -> None:
    kept: dict[tuple[bool, Key, Sizes, bytes], Entry] = {
        (one_server, key, sizes, digest): entry
        for one_server, table in ((False, KNOWN), (True, ONE_SERVER_KNOWN)) for key, by_sizes in table.items()
        for sizes, entries in by_sizes.items() for digest, entry in entries.items()}
    changed = False
    for key, read, digest, chain, one_server in _USED:
        if isinstance(read, dict):  # a chain made here: the sizes it read and their times
            order = sorted(read)
            whole = [int(b) for b in order]
            if not order or whole != order or whole[0] < 1:
                continue  # no size read, or one that is not a whole batch: not kept
            sizes = b"".join(RUN.pack(first, length) for first, length in _runs(whole))
            digest = _digest([read[b] for b in order])
        else:
            sizes = read
        assert digest is not None
        intervals = {q: (p.low, p.high, p.tolerance, p.points) for q, p in chain.percentiles.items()}
        old = kept.pop((one_server, key, sizes, digest), None)
        before = {} if old is None else old.intervals()
        for q, interval in before.items():  # of two intervals of one percentile, the inner one
            mine = intervals.get(q)
            if mine is None or mine[1] - mine[0] > interval[1] - interval[0]:
                intervals[q] = interval
        changed = changed or old is None or before != intervals
        points = b"".join(POINT.pack(q, *interval) for q, interval in intervals.items())
        kept[(one_server, key, sizes, digest)] = Entry(chain.open, chain.top, points)  # newest last
    if not changed:
        return
    newest = list(kept.items())[-KEPT:]
    try:
        parts = [HEADER, COUNT.pack(len(newest))]
        for (one_server, (rate, replicas, limit, delay), sizes, digest), entry in newest:
            kind = (OPEN if entry.open else 0) | (ONE_SERVER if one_server else 0)
            parts += [ENTRY.pack(rate, -1 if replicas is None else replicas, limit, delay, kind, entry.top,
                                 len(sizes) // RUN.size, len(entry.points) // POINT.size, digest), sizes, entry.points]
        write_bytes_atomic(_entry(), b"".join(parts))
    except (OSError, InputError, struct.error):  # write_bytes_atomic says why as an InputError
        pass  # a read-only home or cache folder: run without the store


def _runs(sizes: list[int]) -> list[tuple[int, int]]:
    """Sorted sizes (at least one) as runs of consecutive ones: (first, how many)."""
    runs: list[tuple[int, int]] = []
    first = last = sizes[0]
    for b in sizes[1:]:
        if b != last + 1:
            runs.append((first, last - first + 1))
            first = b
        last = b
    runs.append((first, last - first + 1))
    return runs


def clear() -> None:
    """Forget what load() read and what this process used, and stop looking chains up (tests, benchmarks)."""
    global ACTIVE, _READ
    ACTIVE = _READ = False
    KNOWN.clear()
    ONE_SERVER_KNOWN.clear()
    _USED.clear()
    _DIGESTS.clear()
