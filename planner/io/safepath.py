"""File names made from user data (a profile's name, a record's device fields, a provider id): a safe alphabet, no
separators, no `..`, and a check that the joined path stays inside its directory after resolving links."""
from __future__ import annotations

import re
from pathlib import Path

from planner.errors import InputError

_UNSAFE = r"[^A-Za-z0-9_.-]+"
"""Runs of characters a file name made from user data leaves out (compiled on first use: re's cache)."""
MAX_NAME_CHARS = 100
"""Longest file-name stem made from user data (file systems allow 255 bytes; the rest is left for suffixes)."""


def safe_name(text: str, fallback: str = "unnamed") -> str:
    """`text` as a file-name stem: runs of characters outside [A-Za-z0-9_.-] become '-', leading and trailing dots
    and dashes go (so no '..', no hidden file, no option-like name), at most MAX_NAME_CHARS characters."""
    stem = re.sub(_UNSAFE, "-", text)
    stem = re.sub(r"\.{2,}", ".", stem).strip(".-")[:MAX_NAME_CHARS].strip(".-")
    return stem or fallback


def inside(directory: Path | str, name: str) -> Path:
    """directory/name, refused unless it resolves to a path directly inside `directory` (links followed)."""
    base = Path(directory)
    path = base / name
    if Path(name).name != name or name in ("", ".", ".."):
        raise InputError(f"file name {name!r} is not a plain name inside {base}", file=str(path))
    if path.resolve().parent != base.resolve():
        raise InputError(f"resolves to {path.resolve()}, outside {base.resolve()}; refusing to write there",
                         file=str(path))
    return path
