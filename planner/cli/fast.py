"""The arguments of a plain `gpuplan estimate`, read without Typer.

Importing Typer and having it build the command (its parameters, and a pydantic TypeAdapter for each, on every run)
cost ~30 ms of a cold estimate, a quarter of the import floor of benchmarks/bench_estimate.py (docs/internals.md
'Start-up: what every run pays'). Most runs are one profile and a few well-formed options, which this reads as
Typer would; anything else (--help, --debug, another command, an unknown or repeated option, a value that is not
plainly valid, a path that exists but cannot be read, shell completion) returns None and Typer parses it, with its
own messages. tests/test_fast_cli.py checks, over many command lines, that every one read here gives the same
EstimateArgs as Typer's parse.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from planner.cli.estimate import Emit, EstimateArgs, Format

_INT = r"0|[1-9][0-9]{0,8}"
"""A count as plain digits (pydantic's lax int reads more forms: those go to Typer)."""
_FLOAT = r"[0-9]{1,12}(\.[0-9]{1,12})?"
"""A number as plain decimal digits (exponents, signs, inf and nan go to Typer)."""

_VALUED = {
    "--format": "format", "-f": "format", "--catalog": "catalog", "--top": "top", "--confidence": "confidence",
    "--set": "overrides", "--plot": "plot", "--html": "html", "--emit": "emit", "--measurements": "measurements",
    "--local-usd-per-hour": "local_usd_per_hour", "--calibrations": "calibrations", "--seed": "seed",
}
"""Options that take a value (cli/commands.py `estimate`), by every name Typer gives them."""
_FLAGS = {"--simulate": "simulate", "--wide": "wide"}
_PATHS = ("profile", "catalog", "plot", "html", "measurements", "calibrations")


def _completing() -> bool:
    """Whether the shell asks for completions (Typer reads `_<PROG>_COMPLETE`; the program's name may vary)."""
    return any(name.startswith("_") and name.endswith("_COMPLETE") for name in os.environ)


def _utf8(text: str) -> bool:
    """Whether `text` is valid Unicode (an argument with bytes the file system's encoding could not decode holds
    lone surrogates, which pydantic's validators, and so Typer's, refuse)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _path(text: str) -> Path | None:
    """A path option's value as Typer makes it, or None where Typer would refuse it or might (empty, '-', or a
    path that exists and is not readable)."""
    if not text or text == "-" or "\0" in text:
        return None
    try:
        os.stat(text)
    except (OSError, ValueError):
        return Path(text)  # a path that does not exist yet is taken as it is (exists=False)
    return Path(text) if os.access(text, os.R_OK) else None


def _value(name: str, text: str) -> Any:
    """An option's value, or None: not one read here."""
    if name == "format":
        return Format(text) if text in Format._value2member_map_ else None
    if name == "emit":
        return Emit(text) if text in Emit._value2member_map_ else None
    if name in ("top", "seed"):
        return int(text) if re.fullmatch(_INT, text) else None
    if name == "confidence":  # outside its range: left to Typer, whose error quotes the text (parse_confidence)
        return float(text) if re.fullmatch(_FLOAT, text) and 0.5 <= float(text) < 1.0 else None
    if name == "local_usd_per_hour":
        return float(text) if re.fullmatch(_FLOAT, text) else None
    if name == "overrides":
        return text
    return _path(text)


def parse_estimate(argv: list[str]) -> EstimateArgs | None:
    """`argv` (the arguments after the program's name) as EstimateArgs when it is a plain estimate, else None."""
    if not argv or argv[0] != "estimate" or _completing() or not all(map(_utf8, argv)):
        return None
    values: dict[str, Any] = {}
    overrides: list[str] = []
    positional: list[str] = []
    rest = argv[1:]
    i = 0
    while i < len(rest):
        token = rest[i]
        i += 1
        if token in _FLAGS:
            values[_FLAGS[token]] = True
            continue
        name, text = token, None
        if token.startswith("--") and "=" in token:
            name, text = token.split("=", 1)
        if name in _VALUED:
            key = _VALUED[name]
            if text is None:
                if i >= len(rest):
                    return None
                text = rest[i]
                i += 1
            if text.startswith("-") and text != "-":
                return None  # Typer may read it as the value or as the next option: left to it
            if key == "overrides":
                overrides.append(text)
                continue
            if key in values:
                return None  # repeated: Typer keeps the last; left to it
            value = _value(key, text)
            if value is None:
                return None
            values[key] = value
            continue
        if token.startswith("-"):
            return None  # --help, --, an unknown option, joined short options
        positional.append(token)
    if len(positional) != 1:
        return None
    profile = _path(positional[0])
    if profile is None:
        return None
    return EstimateArgs(profile=profile, overrides=tuple(overrides), **values)
