"""Read YAML safely (size cap, UTF-8, no aliases bombs, no duplicate keys) and remember where every field sits."""
from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from planner.errors import InputError
from planner.io.positions import SourcePositions

try:  # the C loader is several times faster; the pure-Python one behaves the same
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Largest YAML file accepted: catalogs and profiles are kilobytes; anything bigger is a mistake or an attack."""
MAX_NODES = 200_000
"""Largest number of YAML nodes visited (aliases counted each time), which stops 'billion laughs' documents."""
MAX_DEPTH = 64
"""Deepest nesting accepted; real profiles are four levels deep."""

Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class YamlDocument:
    """A loaded YAML document and the (line, column) of every mapping key and sequence item, by path."""

    data: Any
    file: str
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    @property
    def positions(self) -> SourcePositions:
        """Where each field sits, without the data: what travels beside a validated model."""
        return SourcePositions(self.file, self.marks)

    def where(self, path: Path_) -> tuple[int | None, int | None]:
        """Line and column (1-based) of the deepest known prefix of `path`."""
        return self.positions.where(path)

    def error(self, path: Path_, message: str, hint: str | None = None) -> InputError:
        """An InputError placed at `path` in this file."""
        return self.positions.error(path, message, hint)


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
    try:
        # a node takes at least half a character (the densest form, '[?,?,…]', has 3 nodes per 2), so a shorter
        # text cannot pass the cap before its aliases are expanded, which _index counts
        if 2 * len(text) > MAX_NODES:
            _count_nodes(text, file)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(f"YAML syntax error: {problem}", file=file, line=line, column=column) from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, file) from None
    except yaml.YAMLError as exc:
        raise InputError(f"YAML error: {exc}", file=file) from None
    if node is None:
        return YamlDocument(None, file, {})
    marks: dict[Path_, tuple[int, int]] = {}
    _index(node, (), marks, file, [0], 0)
    constructor = _Constructor()
    try:
        data = constructor.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"YAML error: {getattr(exc, 'problem', exc)}", file=file,
                         line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
                         field=_field_at(marks, mark.line + 1, mark.column + 1) if mark else None) from None
    return YamlDocument(data, file, marks)


def _field_at(marks: dict[Path_, tuple[int, int]], line: int, column: int) -> str | None:
    """The dotted field whose key sits on `line` nearest before `column` (the value's owner), if any."""
    owners = [(col, path) for path, (ln, col) in marks.items() if ln == line and col <= column and path]
    return ".".join(str(p) for p in max(owners, key=lambda o: (o[0], len(o[1])))[1]) if owners else None


class _Constructor(yaml.constructor.SafeConstructor):
    """The safe constructor, with an impossible date (2026-13-45) a placed error instead of a ValueError."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> dt.date:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(None, None, f"{node.value!r} is not a valid date ({exc})",
                                                    node.start_mark) from None


_Constructor.add_constructor("tag:yaml.org,2002:timestamp",  # type: ignore[type-var]  # stub expects a function
                             _Constructor.construct_yaml_timestamp)


def _reader_error(exc: yaml.reader.ReaderError, text: str, file: str) -> InputError:
    """A character YAML does not allow (NUL, other control characters), placed by line and column."""
    before = text[: exc.position]
    line = before.count("\n") + 1
    column = exc.position - (before.rfind("\n") + 1) + 1
    return InputError(f"character U+{exc.character:04X} is not allowed in YAML ({exc.reason})", file=file,
                      line=line, column=column)


_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)


def _count_nodes(text: str, file: str) -> None:
    """Stream the parser's events (constant memory) and stop at MAX_NODES, before any node graph is built: a 2 MB
    file of one-character list items would otherwise become a million node objects (~400 MB) first."""
    nodes = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, _NODE_EVENTS):
            nodes += 1
            if nodes > MAX_NODES:
                raise InputError(f"document has more than {MAX_NODES:,} nodes; refusing to read it", file=file,
                                 line=event.start_mark.line + 1 if event.start_mark else None)


def _index(node: yaml.Node, path: Path_, marks: dict[Path_, tuple[int, int]], file: str, visited: list[int], depth: int) -> None:
    visited[0] += 1
    if visited[0] > MAX_NODES:
        raise InputError(f"document has more than {MAX_NODES:,} nodes (aliases included); refusing to expand it",
                         file=file)
    if depth > MAX_DEPTH:
        raise InputError(f"document is nested deeper than {MAX_DEPTH} levels", file=file,
                         line=node.start_mark.line + 1)
    marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise InputError(f"duplicate key {key!r} (first at line {seen[key]})", file=file, line=line,
                                 column=key_node.start_mark.column + 1,
                                 field=".".join(str(p) for p in path + (key,)))
            seen[key] = line
            key_path = path + (key,)
            marks[key_path] = (line, key_node.start_mark.column + 1)
            _index(value_node, key_path, marks, file, visited, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, i), marks, file, visited, depth + 1)
