"""SHA-256 for the content caches' keys without loading OpenSSL.

`hashlib` imports `_hashlib`, which loads OpenSSL's libcrypto (~12 M instructions and ~200 page faults, ~5 ms of a
cold `gpuplan estimate` on the loaded 2-core machine, docs/internals.md 'Start-up: what every run pays'), though a
warm estimate hashes only a few short keys (planner/io/statcache.py remembers the files' digests). CPython's own
SHA-256 module gives the same digests; where an interpreter has none, hashlib's is used."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashlib import sha256 as sha256
else:
    try:
        from _sha256 import sha256  # CPython 3.11 and earlier
    except ImportError:
        try:
            from _sha2 import sha256  # CPython 3.12 and later
        except ImportError:
            from hashlib import sha256
