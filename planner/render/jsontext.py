"""`json.dumps(value, indent=2)`, the same text made faster: the JSON an estimate prints.

With an indent, Python's json writes through its pure-Python encoder, whose chunks pass up a generator per level
of nesting (bert-train-then-serve's ~105 KB document: ~2.6 ms of a cold estimate's ~390 ms, docs/internals.md
'Start-up: what every run pays'). Here the same separators (',' and ': '), newlines and two-space indents are
appended to one list, strings escaped by json's own (C) ASCII escaper and numbers written as json writes them;
anything else (a key that is not a str, a str or number subclass such as an enum, another type, a cycle) is left
to `json.dumps`, which writes or refuses it as always. tests/test_jsontext.py compares both over random documents
and every example estimate.
"""
from __future__ import annotations

import json
from json.encoder import INFINITY, encode_basestring_ascii
from typing import Any


class _NotPlain(Exception):
    """A value this writer leaves to json.dumps."""


def _number(value: float) -> str:
    """A float as json writes it (allow_nan: NaN, Infinity, -Infinity)."""
    if value != value:
        return "NaN"
    if value == INFINITY:
        return "Infinity"
    if value == -INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def dumps_indented(value: Any) -> str:
    """`json.dumps(value, indent=2)`."""
    parts: list[str] = []
    add = parts.append

    def write(item: Any, newline: str) -> None:
        kind = type(item)
        if kind is str:
            add(encode_basestring_ascii(item))
        elif item is None:
            add("null")
        elif item is True:
            add("true")
        elif item is False:
            add("false")
        elif kind is int:
            add(int.__repr__(item))
        elif kind is float:
            add(_number(item))
        elif kind is dict:
            if not item:
                add("{}")
                return
            inner = newline + "  "
            separator = inner
            add("{")
            for key, member in item.items():
                if type(key) is not str:
                    raise _NotPlain
                add(separator)
                separator = "," + inner
                add(encode_basestring_ascii(key))
                add(": ")
                write(member, inner)
            add(newline)
            add("}")
        elif kind is list or kind is tuple:
            if not item:
                add("[]")
                return
            inner = newline + "  "
            separator = inner
            add("[")
            for member in item:
                add(separator)
                separator = "," + inner
                write(member, inner)
            add(newline)
            add("]")
        else:
            raise _NotPlain

    try:
        write(value, "\n")
    except (_NotPlain, RecursionError):
        return json.dumps(value, indent=2)
    return "".join(parts)
