"""Read YAML safely (size cap, UTF-8, no aliases bombs, no duplicate keys) and remember where every field sits.

The parser (PyYAML and the loader built on it) is planner/io/yamlparse.py, imported when a text is parsed: an estimate
whose catalog, profile and accuracy table come from their caches parses nothing, and importing PyYAML compiles its
scanner's and resolver's patterns (~90 M instructions, ~8 % of a cold lora-7b-a6000 estimate; docs/internals.md
'Start-up: what every run pays')."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from planner.errors import InputError
from planner.io.yamldoc import MAX_DEPTH, MAX_NODES, Path_, YamlDocument

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "Path_", "YamlDocument", "load_yaml", "parse_yaml", "read_text"]

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Largest YAML file accepted: catalogs and profiles are kilobytes; anything bigger is a mistake or an attack."""


def read_text(path: Path | str, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The file's text, refusing missing, special (FIFO, device, directory), oversized and non-UTF-8 files with a
    clear message. Opened non-blocking, so a FIFO never hangs the read."""
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise InputError("file not found", file=name) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a YAML file", file=name) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=name) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError("is a directory, expected a YAML file", file=name)
        if not stat.S_ISREG(info.st_mode):
            from planner.io.atomic import _kind

            raise InputError(f"is {_kind(info.st_mode)}, not a regular file; refusing to read it", file=name)
        if info.st_size > max_bytes:
            raise InputError(f"file is {info.st_size:,} bytes, larger than the {max_bytes:,}-byte limit", file=name)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=name) from None
    finally:
        os.close(fd)
    if len(raw) > max_bytes:
        raise InputError(f"file is larger than the {max_bytes:,}-byte limit", file=name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                         file=name, line=line) from None


def load_yaml(path: Path | str) -> YamlDocument:
    """Parse a YAML file into plain Python data plus a map of where each field is."""
    return parse_yaml(read_text(path), str(path))


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse YAML text (one document) with the safe loader; see `load_yaml`."""
    from planner.io.yamlparse import parse_yaml as parse

    return parse(text, file)
