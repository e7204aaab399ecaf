"""JSON Schema of the file formats, for editors: `# yaml-language-server: $schema=…` gives completion and checks."""
from __future__ import annotations

import json
import typing
from typing import Any

from pydantic import BaseModel

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""pydantic 2 emits JSON Schema draft 2020-12."""


def json_schema(name: str) -> str:
    """The JSON Schema of `profile` (project profiles) or `offers` (catalog/offers/*.yaml), as pretty JSON."""
    from planner.schema.catalog import ProviderOffers
    from planner.schema.profile import Profile

    model: type[Profile] | type[ProviderOffers]
    if name == "profile":
        model = Profile
    elif name == "offers":
        model = ProviderOffers
    else:
        raise ValueError(f"unknown schema {name!r}")
    document = {"$schema": SCHEMA_DIALECT, **model.model_json_schema()}
    _whole_counts_as_text(document, model)
    _bounds_on_numbers(document)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


_BOUNDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}
"""pydantic's bounds on a value that is a number or a quantity as text ('20B', '$20k'): it writes them as they are
named in Python, keywords no JSON Schema has, which editors and validators ignore (new-user QA round 31: `tokens: -5`
passed the schema, exit 2 from the planner)."""


def _bounds_on_numbers(node: Any) -> None:
    """Each such bound moved onto the node's number alternative under its JSON Schema name; the text alternative is
    the planner's to read (its bounds hold on the number it reads)."""
    if isinstance(node, list):
        for item in node:
            _bounds_on_numbers(item)
        return
    if not isinstance(node, dict):
        return
    bounds = {key: node.pop(key) for key in _BOUNDS if key in node}
    if bounds:
        numbers = [m for m in node.get("anyOf", []) if m.get("type") in ("number", "integer")] \
            or ([node] if node.get("type") in ("number", "integer") else [])
        for member in numbers:
            member.update({_BOUNDS[key]: value for key, value in bounds.items()})
    for value in node.values():
        _bounds_on_numbers(value)


WHOLE_COUNT_PATTERN = r"^\s*[0-9][0-9_,]*(\.[0-9]+)?([eE][+-]?[0-9]+)?\s*[kKMBGTPmbgtp]?\s*$"
"""A whole-number field's count as text ('1k', '2e3', '1,024', '1.5K'): schema/base.py _whole_count reads it, so an
editor must not flag it (new-user QA round 17); whether it is whole the planner says."""
_INTEGER_KEYS = ("type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def _whole_counts_as_text(document: dict[str, Any], model: type[BaseModel]) -> None:
    """Each whole-number field of `model` and the models it holds takes an integer or a count as text, as the
    planner reads it (schema/base.py Strict): pydantic writes `integer` alone."""
    from planner.schema.base import _whole_number_field

    definitions = document.get("$defs", {})
    for cls in _models_within(model):
        target = document if cls is model else definitions.get(cls.__name__)
        if target is None or target.get("title") != cls.__name__ and cls is not model:
            continue
        for name, field in cls.model_fields.items():
            spec = target.get("properties", {}).get(field.alias or name)
            if spec is None or not _whole_number_field(field.annotation):
                continue
            text = {"type": "string", "pattern": WHOLE_COUNT_PATTERN}
            if spec.get("type") == "integer":
                integer = {key: spec.pop(key) for key in _INTEGER_KEYS if key in spec}
                spec["anyOf"] = [integer, text]
            elif any(member.get("type") == "integer" for member in spec.get("anyOf", [])):
                spec["anyOf"].insert(1, text)


def _models_within(model: type[BaseModel]) -> list[type[BaseModel]]:
    """`model` and every model class its fields' types name, each once."""
    found: list[type[BaseModel]] = []

    def walk(tp: object) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp not in found:
                found.append(tp)
                for field in tp.model_fields.values():
                    walk(field.annotation)
            return
        for arg in typing.get_args(tp):
            walk(arg)
    walk(model)
    return found
