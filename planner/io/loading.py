"""Files → validated models: YAML with places, pydantic errors mapped back to file:line:column."""
from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from planner.errors import InputError, did_you_mean
from planner.io.yamlcache import parse_yaml_cached
from planner.io.yamlfile import YamlDocument, load_yaml

M = TypeVar("M", bound=BaseModel)


def validate_document(doc: YamlDocument, model: type[M], what: str = "file") -> M:
    """Validate a YAML document against `model`; the first problem becomes one InputError with its place."""
    if not isinstance(doc.data, dict):
        kind = "empty" if doc.data is None else f"a {type(doc.data).__name__}"
        raise InputError(f"expected a YAML mapping at the top of the {what}, found {kind}", file=doc.file, line=1)
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise error_from_validation(exc, doc, model) from None


MAX_REPORTED_ERRORS = 20
"""Problems of one file reported at once; past this, the count of the rest."""


def error_from_validation(exc: ValidationError, doc: YamlDocument, model: type[BaseModel],
                          prefix: tuple[Any, ...] = ()) -> InputError:
    """One InputError for every problem of a ValidationError, placed in `doc`: the first (an unknown key first: a
    misspelt key is also a missing field) as the error, up to MAX_REPORTED_ERRORS − 1 more as lines under it."""
    errors = exc.errors(include_url=False)
    data = doc.data
    for part in prefix:
        data = data.get(part) if isinstance(data, dict) else None
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    errors = unknown + [e for e in errors if e["type"] != "extra_forbidden" and not _same_mistake(e, unknown)]
    placed = [_placed(e, doc, model, prefix, data) for e in errors]
    first, rest = placed[0], placed[1:]
    if rest:
        shown_rest = rest[:MAX_REPORTED_ERRORS - 1]
        over = len(rest) - len(shown_rest)
        count = f"({len(rest)} more problem{'s' if len(rest) > 1 else ''} below)"
        # after the hint when there is one: "unknown key 'x'. Did you mean 'y'? (1 more problem below)", not the
        # count between the problem and its fix (new-user QA round 12)
        if first.hint:
            first.hint = f"{first.hint} {count}"
        else:
            first.message += f" {count}"
        first.also = tuple(str(e) for e in shown_rest) + ((f"… and {over} more",) if over else ())
    return first


def _same_mistake(error: Any, unknown: list[Any]) -> bool:
    """A missing field next to an unknown key that resembles it (memroy_gb for memory_gb) is the same typo."""
    if error["type"] != "missing":
        return False
    import difflib

    loc = error["loc"]
    return any(u["loc"][:-1] == loc[:-1] and difflib.SequenceMatcher(None, str(u["loc"][-1]), str(loc[-1])).ratio()
               >= 0.6 for u in unknown)


def _placed(first: Any, doc: YamlDocument, model: type[BaseModel], prefix: tuple[Any, ...], data: Any) -> InputError:
    """One pydantic error as a placed InputError with its did-you-mean."""
    loc = _user_loc(first["loc"], data)
    message, hint = explained(first, model, loc, data)
    return doc.error((*prefix, *loc), message, hint=hint)


def first_problem(exc: ValidationError, model: type[BaseModel], data: Any = None) -> str:
    """The first problem of a ValidationError as one line in the project's words, 'key.path: message', for what is
    validated without a document to place it in (an importer's rows, new-user QA round 18: '(gpus_per_instance: Input
    should be less than or equal to 64)'). `data`: what was validated, when at hand (its values as written)."""
    first = exc.errors(include_url=False)[0]
    loc = _user_loc(first["loc"], data)
    message, _ = explained(first, model, loc, data)
    where = ".".join(str(p) for p in loc)
    return f"{where}: {message}" if where else message


def explained(first: Any, model: type[BaseModel], loc: tuple[Any, ...], data: Any) -> tuple[str, str | None]:
    """One pydantic error's message and hint in the project's words (the field at `loc` of `model`, `data` the
    validated input)."""
    if first["type"] == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        hint = did_you_mean(str(loc[-1]), known) or (f"Known keys: {', '.join(sorted(known))}." if known else None)
        return f"unknown key {str(loc[-1])!r}", hint
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if (first["type"] != "missing" and "input" in first and not isinstance(first["input"], (dict, list))
            and "got " not in message and not message.startswith(f"{first['input']} ")):
        # a message that opens with the value says it already (new-user QA round 18: 'inference.average_rate: 8/s is
        # above the peak rate of 5/s (…) (got '8/s')')
        message += f" (got {_shown(first['input'])})"
    if first["type"] == "missing":
        message = "required field is missing"
    if first["type"] in _RANGE_ERRORS and "input" in first:
        # new-user QA round 17: `max_gpus: 1e20` read pydantic's "Input should be less than or equal to 100000 (got
        # '1e20')"; the range in the project's words, both ends where the field has both
        written = _written(data, loc, first["input"])
        message = f"expected {_allowed_range(first, model, loc)}, got {_shown(written)}"
    if first["type"] in _NUMBER_ERRORS and "input" in first:
        # new-user QA round 18: `lora_rank: abc` read pydantic's "Input should be a valid integer, unable to parse
        # string as an integer"; the field's numbers in the words its range errors use
        bounds = {kind: getattr(meta, kind) for meta in _field_metadata(model, loc) for kind in ("gt", "ge", "lt", "le")
                  if getattr(meta, kind, None) is not None}
        # a whole-number field's inf or 1e+20 (a YAML 1.0e+400 or 1.0e+20 GPU count) reads as its other errors do
        # (new-user QA: 'expected a finite number from 1 to 64', pydantic's 'Unable to parse input string as an
        # integer, exceeded maximum size')
        plain = int if _plain_number_field(model, loc) is int else _NUMBER_ERRORS[first["type"]]
        words = range_words(bounds, plain)
        if first["type"] == "finite_number":  # inf is more than 0: the words say finite
            words = words.replace("a number", "a finite number", 1)
        message = f"expected {words}, got {_shown(first['input'])}"
    hint = None
    if first["type"] == "too_short" and first.get("input") in ([], ()):
        # new-user QA round 17: `constraints.gpus: []` read pydantic's "List should have at least 1 item after
        # validation, not 0"
        least = first.get("ctx", {}).get("min_length", 1)
        message = f"an empty list; expected at least {least} item{'s' if least != 1 else ''}"
        hint = "Name one, or leave the key out for its default." if _has_default(model, loc) else None
    if first["type"] == "model_type":  # pydantic's 'a valid dictionary or instance of OwnedMachine' names a class
        # the user never wrote (new-user QA: `owned: [RTX-4090]`); say what the section takes instead
        known = _fields_at(model, loc)
        message = "expected a section of key: value pairs" + (f", got {_shown(first['input'])}"
                                                               if "input" in first else "")
        hint = f"Its keys: {', '.join(known)}." if 0 < len(known) <= MAX_KEYS_LISTED else None
        if "preset" in known and isinstance(first.get("input"), str):
            # new-user QA round 12: `model: pythia-1b` named neither the key a preset goes under nor the keys
            hint = f"A preset is written {{preset: {first['input']}}}."
    number = _number_with_unit(first)
    if number is not None:
        # new-user QA: `dataset_gb: 80GB`, `usd_per_kwh: $0.30`, `lifetime_years: 3y` read "unable to parse string as
        # a number" with no word that the unit is the field's own
        hint = f"Write the number alone ({number}): the field's name gives its unit."
    if first["type"] == "list_type" and isinstance(first.get("input"), (str, int, float)) \
            and not isinstance(first.get("input"), bool):
        # new-user QA round 12: `--set constraints.gpus=A100` read only "Input should be a valid list (got 'A100')"
        hint = f"Write a list, in brackets: [{first['input']}]."
    if first["type"] in _KIND_ERRORS and "input" in first:
        # new-user QA round 18: pydantic's "Input should be a valid list (got 'A100')", "… a valid boolean …"
        given = first["input"]
        shown = "a section of key: value pairs" if isinstance(given, dict) else "a list" if isinstance(given, list) \
            else _shown(given)
        message = f"expected {_KIND_ERRORS[first['type']]}, got {shown}"
    if first["type"] in ("string_too_long", "string_too_short") and "input" in first:
        limit = first.get("ctx", {}).get("max_length" if first["type"] == "string_too_long" else "min_length")
        most = "at most" if first["type"] == "string_too_long" else "at least"
        message = f"expected {most} {limit:,} character{'s' if limit != 1 else ''}, got {_shown(first['input'])}"
    if first["type"] == "literal_error" and "input" in first and first.get("ctx", {}).get("expected"):
        # new-user QA round 18: pydantic's "Input should be 'fp32', … or 'fp8' (got 'fp64')"
        message = f"expected {first['ctx']['expected']}, got {_shown(first['input'])}"
    if first["type"] == "literal_error" and isinstance(first.get("input"), str):
        choices = re.findall(r"'([^']*)'", str(first.get("ctx", {}).get("expected", "")))
        hint = did_you_mean(first["input"], choices) or None
    return message, hint


_NUMBER_AND_UNIT = r"\s*(\$?)\s*([0-9][0-9_,]*(?:\.[0-9]+)?|\.[0-9]+)\s*([A-Za-z$%/][A-Za-z/$%\- ]*)?"
"""A number with a unit in a validation error's input (compiled when an error is explained: re's cache)."""


def _number_with_unit(error: Any) -> str | None:
    """The number of a plain-number field written with a unit ('80GB', '$0.30', '3y'), else None."""
    if error["type"] not in ("float_parsing", "int_parsing") or not isinstance(error.get("input"), str):
        return None
    match = re.fullmatch(_NUMBER_AND_UNIT, error["input"])
    if match is None or not (match.group(1) or match.group(3)):
        return None
    return match.group(2).replace(",", "").replace("_", "")


_KIND_ERRORS = {"list_type": "a list", "string_type": "text", "bool_type": "true or false",
                "bool_parsing": "true or false", "dict_type": "a section of key: value pairs"}
"""pydantic's error types for a value of the wrong kind, with what the field takes in words."""

_NUMBER_ERRORS: dict[str, type] = {"int_parsing": int, "int_type": int, "int_parsing_size": int,
                                  "float_parsing": float, "float_type": float, "finite_number": float}
"""pydantic's error types for a value that is no number, with the kind of number the field takes."""

_RANGE_ERRORS = {"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt", "less_than_equal": "le"}
"""pydantic's error types for a number out of a field's bounds, with the bound each names."""


def _allowed_range(error: Any, model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """A field's allowed numbers in words: 'a whole number from 1 to 100,000', 'a number more than 0 and at most 1';
    the bound pydantic names alone where the field's own are out of reach (a list's or a mapping's items)."""
    bounds = {kind: getattr(meta, kind) for meta in _field_metadata(model, loc) for kind in ("gt", "ge", "lt", "le")
              if getattr(meta, kind, None) is not None}
    if not bounds:
        kind = _RANGE_ERRORS[error["type"]]
        bounds = {kind: error.get("ctx", {}).get(kind)}
    return range_words(bounds, _plain_number_field(model, loc))


def range_words(bounds: dict[str, Any], plain: type | None) -> str:
    """Numbers within `bounds` (pydantic's gt, ge, lt, le) in words, as every range error reads, a profile field's
    and a command-line option's alike (cli/numbers.py): 'a whole number from 1 to 65,536' (`plain` int), 'a number
    more than 0 and at most 1' (float), 'more than 0' (None: a field in human units)."""
    kind = "a whole number " if plain is int else "a number " if plain is float else ""
    if "ge" in bounds and "le" in bounds:
        return f"{kind}from {_bound(bounds['ge'])} to {_bound(bounds['le'])}"
    words = {"gt": "more than", "ge": "at least", "lt": "less than", "le": "at most"}
    return (kind + " and ".join(f"{words[k]} {_bound(bounds[k])}" for k in ("gt", "ge", "lt", "le")
                                if k in bounds)).strip()


def _written(data: Any, loc: tuple[Any, ...], value: object) -> object:
    """The value at `loc` as the document writes it ('1e20', where a whole-number field's error holds 10**20), else
    `value`."""
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return value
    return data if isinstance(data, (str, int, float)) else value


def _bound(value: object) -> str:
    if isinstance(value, (int, float)) and float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _field_metadata(model: type[BaseModel], loc: tuple[Any, ...]) -> list[Any]:
    """The constraints and validators (annotated_types Gt, Le, …, BeforeValidator) of the model field at `loc`, its
    Annotated type's too (Seconds | None holds them inside); [] where `loc` is no model field."""
    field = _field_info(model, loc)
    if field is None:
        return []
    found = list(field.metadata)
    annotation = field.annotation
    for arg in typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else ():
        if typing.get_origin(arg) is typing.Annotated:
            for meta in arg.__metadata__:
                found.extend(getattr(meta, "metadata", None) or [meta])
    return found


def _plain_number_field(model: type[BaseModel], loc: tuple[Any, ...]) -> type | None:
    """int or float for a field of that type written as a plain number; None for one in human units (a duration, an
    amount, a rate: a BeforeValidator reads it) or out of reach."""
    field = _field_info(model, loc)
    if field is None or any(type(meta).__name__ == "BeforeValidator" for meta in _field_metadata(model, loc)):
        return None
    kind = _unwrap(field.annotation)
    return kind if kind in (int, float) else None


def _field_info(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    if not loc or not isinstance(loc[-1], str):
        return None
    parent: Any = model
    for part in loc[:-1]:
        parent = _unwrap(parent, list_item=isinstance(part, int))
        if isinstance(part, int):
            continue
        if not (isinstance(parent, type) and issubclass(parent, BaseModel)) or part not in parent.model_fields:
            return None
        parent = parent.model_fields[part].annotation
    parent = _unwrap(parent)
    if not (isinstance(parent, type) and issubclass(parent, BaseModel)):
        return None
    return parent.model_fields.get(loc[-1])


MAX_KEYS_LISTED = 20
"""A section's keys named in a hint up to this many (constraints.owned's 6, training's 17; the model's 37 would
bury the line)."""

SHOWN_INPUT_CHARS = 60
"""Longest rendering of a bad value inside an error line (a 2 MB string stays one readable line)."""


def _shown(value: object) -> str:
    text = repr(value)
    if len(text) <= SHOWN_INPUT_CHARS:
        return text
    return f"{text[:SHOWN_INPUT_CHARS - 5]}…{text[-4:]} ({len(text):,} characters)"


def _user_loc(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """pydantic's error location without the validator tags it inserts; a part that is a key of the document at
    that point is the user's own, even when it looks like a tag (a key named 'int' or 'a[0]')."""
    out = []
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        elif _is_union_tag(part):
            continue
        else:
            data = None
        out.append(part)
    return tuple(out)


def _is_union_tag(part: object) -> bool:
    # pydantic inserts the validator name for Annotated/union members, e.g. 'function-before[...]'
    return isinstance(part, str) and ("[" in part or part in {"float", "int", "str", "bool", "list", "dict"})


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model reached by following `loc` from `model`."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            current = _unwrap(current, list_item=True)
            continue
        current = _unwrap(current)
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return []
        current = current.model_fields[part].annotation
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _has_default(model: type[BaseModel], loc: tuple[Any, ...]) -> bool:
    """Whether the field at `loc` may be left out (it has a default)."""
    field = _field_info(model, loc)
    return field is not None and not field.is_required()


def _unwrap(annotation: Any, list_item: bool = False) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                return _unwrap(arg, list_item)
    if list_item and origin in (list, tuple):
        return _unwrap(typing.get_args(annotation)[0])
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0], list_item)
    return annotation


def load_model_file(path: Path | str, model: type[M], what: str = "file",
                    text: str | None = None) -> tuple[M, YamlDocument]:
    """Load and validate one YAML file; returns the model and the document (for later placed errors). With `text`
    (the file's contents, already read), the parse comes from the content cache (planner/io/yamlcache.py)."""
    if text is None:
        doc = load_yaml(path)
    else:
        doc = parse_yaml_cached(text, str(path))
    return validate_document(doc, model, what), doc
