"""Parsed YAML cached by content: the catalog's YAML (1,000+ offers) takes most of a cold start to parse, and is
the same from run to run. The cache key is the SHA-256 of the file's bytes, so an edited file is parsed afresh
and a stale entry can never be served; entries are JSON written atomically (no pickle: reading the cache runs no
code). A cache folder that cannot be written is simply not used."""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from planner.errors import InputError
from planner.io.atomic import write_text_atomic
from planner.io.digest import sha256
from planner.io.yamlfile import YamlDocument, parse_yaml

CACHE_FORMAT = "gpuplan-yaml-1"
"""Part of every key: a change to what is stored (data, marks) changes it, and old entries are ignored."""
CACHE_ENV = "GPUPLAN_CACHE_DIR"


def cache_dir() -> Path:
    """$GPUPLAN_CACHE_DIR, else $XDG_CACHE_HOME/gpuplan, else ~/.cache/gpuplan."""
    given = os.environ.get(CACHE_ENV)
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gpuplan"


def content_key(text: str) -> str:
    """SHA-256 of the cache format and the text."""
    return sha256(f"{CACHE_FORMAT}\n{text}".encode()).hexdigest()


def parse_yaml_cached(text: str, file: str) -> YamlDocument:
    """`parse_yaml(text, file)`, from the content cache when this exact text was parsed before."""
    key = content_key(text)
    entry = cache_dir() / f"yaml-{key}.json"
    try:
        stored = json.loads(entry.read_text(encoding="utf-8"), object_hook=_decode)
        marks = {tuple(path): (line, column) for path, line, column in stored["marks"]}
        return YamlDocument(stored["data"], file, marks)
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no entry (or an unreadable one): parse
    doc = parse_yaml(text, file)
    if _json_safe(doc.data):
        try:
            write_text_atomic(entry, json.dumps(
                {"data": doc.data, "marks": [[list(path), line, column] for path, (line, column) in doc.marks.items()]},
                default=_encode, separators=(",", ":")))
        except (OSError, InputError):  # write_text_atomic says why as an InputError
            pass  # a read-only home or cache folder: run without the cache
    return doc


def safe_load_cached(text: str) -> Any:
    """`yaml.safe_load(text)`: plain data without positions (catalog/accuracy.yaml, read by every estimate: ~5 ms of
    pure-Python parsing), from the content cache when this exact text was loaded before. Errors are safe_load's."""
    entry = cache_dir() / f"plain-{content_key(text)}.json"
    try:
        stored = json.loads(entry.read_text(encoding="utf-8"), object_hook=_decode)
        if isinstance(stored, dict) and stored.keys() == {"data"}:
            return stored["data"]
    except (OSError, ValueError, TypeError):
        pass  # no entry (or an unreadable one): parse
    import yaml

    data = yaml.safe_load(text)
    if _json_safe(data):
        try:
            write_text_atomic(entry, json.dumps({"data": data}, default=_encode, separators=(",", ":")))
        except (OSError, InputError):  # write_text_atomic says why as an InputError
            pass  # a read-only home or cache folder: run without the cache
    return data


def _encode(value: object) -> dict[str, str]:
    if isinstance(value, dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, dt.date):
        return {"__date__": value.isoformat()}
    raise TypeError(f"not cacheable: {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> object:
    if len(obj) == 1:
        if "__date__" in obj:
            return dt.date.fromisoformat(obj["__date__"])
        if "__datetime__" in obj:
            return dt.datetime.fromisoformat(obj["__datetime__"])
    return obj


def _json_safe(value: object) -> bool:
    """JSON keeps this data as it is: string keys only, no tagged-looking mappings, no tuples or sets."""
    if isinstance(value, dict):
        return all(isinstance(k, str) for k in value) and not (len(value) == 1 and (
            "__date__" in value or "__datetime__" in value)) and all(_json_safe(v) for v in value.values())
    if isinstance(value, list):
        return all(_json_safe(v) for v in value)
    return isinstance(value, (str, int, float, bool, dt.date, type(None))) and not (
        isinstance(value, float) and value != value)  # NaN would round-trip, but keep the check simple and exact
