"""The YAML parser behind planner/io/yamlfile.py parse_yaml: PyYAML's safe loader (the C one when built), with
dates, integers and floats read strictly, every node's position recorded, and node, depth and tag limits."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import yaml

from planner.errors import InputError
from planner.io.yamldoc import MAX_DEPTH, MAX_NODES, Path_, YamlDocument

try:  # the C loader is several times faster; the pure-Python one behaves the same
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


def _tab_at(text: str, line: int, column: int) -> str:
    """'' unless the character at a YAML mark's 0-based line and column is a tab; then what to say after 'found a tab
    character': indentation (only whitespace before it on its line) or a tab elsewhere that the scanner refused."""
    lines = text.split("\n")
    if not 0 <= line < len(lines) or lines[line][column:column + 1] != "\t":
        return ""
    if not lines[line][:column].strip():
        return "; YAML indents with spaces, never tabs"
    return " where YAML takes only spaces"


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse YAML text (one document) with the safe loader; see `load_yaml`."""
    try:
        # a node takes at least half a character (the densest form, '[?,?,…]', has 3 nodes per 2), so a shorter
        # text cannot pass the cap before its aliases are expanded, which _index counts
        if 2 * len(text) > MAX_NODES:
            _count_nodes(text, file)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        if file.lower().endswith(".json"):
            _json_syntax(text, file)  # a .json file that is not JSON: JSON's words, not YAML's
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        tab = _tab_at(text, mark.line, mark.column) if mark is not None else ""
        if tab:
            # PyYAML says only 'found character that cannot start any token' (or 'a tab character that violates
            # indentation'): the character it stopped at is a tab, which YAML forbids in indentation
            raise InputError(f"YAML syntax error: found a tab character{tab}", file=file, line=line, column=column,
                             hint="Replace the tab with spaces (as many as the lines above it use).") from None
        if problem == "but found another document":
            # PyYAML's words for a second document (`---` after the first): new-user QA round 12 found them cryptic
            raise InputError("YAML syntax error: a second YAML document starts here; this file takes one", file=file,
                             line=line, column=column,
                             hint="Remove the '---' line and what follows it (one document per file).") from None
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


def _json_syntax(text: str, file: str) -> None:
    """Raise the JSON syntax error of `text` (planner/io/jsontext.py), if it has one. JSON is YAML, so a profile,
    catalog file or record written as JSON is read by the YAML parser, whose words for a JSON mistake are YAML's: a
    cut-short JSON record read 'YAML syntax error: found unexpected end of stream' (new-user QA leftover)."""
    import json

    from planner.io.jsontext import json_error

    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise json_error(exc, file) from None
    except ValueError:  # an integer of more than 4,300 digits: YAML's error says what it says
        pass


def _field_at(marks: dict[Path_, tuple[int, int]], line: int, column: int) -> str | None:
    """The dotted field whose key sits on `line` nearest before `column` (the value's owner), if any."""
    owners = [(col, path) for path, (ln, col) in marks.items() if ln == line and col <= column and path]
    return ".".join(str(p) for p in max(owners, key=lambda o: (o[0], len(o[1])))[1]) if owners else None


class _Constructor(yaml.constructor.SafeConstructor):
    """The safe constructor, with values it cannot build (an impossible date 2026-13-45, `!!int zz`, `!!float abc`,
    an integer of more than 4,300 digits, Python's int-from-text limit) a placed error instead of a ValueError."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> dt.date:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(None, None, f"{_short(node.value)} is not a valid date ({exc})",
                                                    node.start_mark) from None

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except (ValueError, OverflowError) as exc:
            reason = "more than 4,300 digits" if "digits" in str(exc) else "not an integer"
            raise yaml.constructor.ConstructorError(None, None, f"{_short(node.value)} is {reason}",
                                                    node.start_mark) from None

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        try:
            return super().construct_yaml_float(node)
        except (ValueError, OverflowError):
            raise yaml.constructor.ConstructorError(None, None, f"{_short(node.value)} is not a number",
                                                    node.start_mark) from None


_Constructor.add_constructor("tag:yaml.org,2002:timestamp",  # type: ignore[type-var]  # stub expects a function
                             _Constructor.construct_yaml_timestamp)
_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)  # type: ignore[type-var]
_Constructor.add_constructor("tag:yaml.org,2002:float", _Constructor.construct_yaml_float)  # type: ignore[type-var]


def _short(text: str, limit: int = 40) -> str:
    return repr(text) if len(text) <= limit else f"{text[:limit - 10]!r}…({len(text):,} characters)"


_TAG = "tag:yaml.org,2002:"
ALLOWED_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")}
"""The only tags a gpuplan file may hold (implicitly or as `!!str` …): plain values, lists and mappings. `!!binary`,
`!!set`, `!!omap`, `!!python/…` and local `!tags` build objects no field expects."""
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")
_YAML11_BOOLEANS = {"yes", "no", "on", "off", "y", "n"}


def _check_scalar(node: yaml.ScalarNode, file: str, path: Path_) -> None:
    """YAML 1.1 readings a person would not expect: `1:30` is 90 (base 60), `yes`/`no`/`on`/`off` are booleans."""
    if node.style:  # quoted or block: a string as written (plain scalars have style None or "")
        return
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    field_ = ".".join(str(p) for p in path) or None
    if node.tag in (_TAG + "int", _TAG + "float") and _SEXAGESIMAL.match(node.value):
        raise InputError(f"{node.value} is a base-60 number in YAML 1.1 (1:30 reads as 90), not a time or ratio",
                         hint="Write the number itself, or a duration such as 90s or 1.5h, or quote it.", file=file,
                         line=line, column=column, field=field_)
    if node.tag in (_TAG + "int", _TAG + "float") and "_" in node.value:
        # YAML 1.1 reads `epochs: 1_5` as 15, as Python's int() does (new-user QA round 18): digits grouped in threes
        # (1_000_000) are read, any other underscore is the one message every number gets
        from planner.schema.units import check_digit_groups

        try:
            check_digit_groups(node.value, "a number")
        except ValueError as exc:
            raise InputError(str(exc), file=file, line=line, column=column, field=field_) from None
    if node.tag == _TAG + "int" and node.value.lstrip("+-")[:1] == "0" and len(node.value.lstrip("+-")) > 1:
        # YAML 1.1 reads `gpu_count: 010` as 8 (octal), 0x10 as 16 and 0b10 as 2 (new-user QA round 18)
        read = int(yaml.load(node.value, Loader=_Loader))
        digits = node.value.replace("_", "")
        if not (digits.lstrip("+-").isdigit() and read == int(digits, 10)):  # 00 and 007 read as written
            base = {"x": "a hexadecimal", "b": "a binary"}.get(digits.lstrip("+-")[1:2], "an octal")
            hint = (f"Write {int(digits, 10)} without the leading zero" if base == "an octal"
                    else f"Write {read} if that is the number meant") + ", or quote it."
            raise InputError(f"{node.value} is {base} number in YAML 1.1 (it reads as {read:,})", hint=hint,
                             file=file, line=line, column=column, field=field_)
    if node.tag == _TAG + "bool" and node.value.lower() in _YAML11_BOOLEANS:
        raise InputError(f"{node.value} is a YAML 1.1 boolean (yes/no/on/off mean true/false)",
                         hint="Write true or false, or quote the word if you mean the text.", file=file, line=line,
                         column=column, field=field_)


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
    if node.tag not in ALLOWED_TAGS:
        shown = node.tag.replace(_TAG, "!!")
        raise InputError(f"the YAML tag {shown} is not allowed here", file=file, line=node.start_mark.line + 1,
                         column=node.start_mark.column + 1, field=".".join(str(p) for p in path) or None,
                         hint="Use plain values, lists and mappings (tags !!str, !!int, !!float, !!bool, !!null at most).")
    if isinstance(node, yaml.ScalarNode):
        _check_scalar(node, file, path)
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
