"""Shared pydantic configuration and human-unit field types.

The schema modules that define models (base, catalog, model, priors, profile, providers, record) have no `from
__future__ import annotations`: pydantic reads every field's annotation when a model class is made, and a string one
it turns into a typing.ForwardRef, which compiles the string (~340 of them on each start of `gpuplan estimate`,
~4-8 ms of it, docs/internals.md 'Start-up: what every run pays'). A method's return type naming its own class is
written as a string."""

import inspect
import math
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from planner.schema.units import check_digit_groups, parse_count, parse_rate, parse_seconds, parse_usd


_F = TypeVar("_F", bound=Callable[..., Any])


def _signed(func: _F) -> _F:
    """`func` with its signature stored on it (the `__signature__` that inspect.signature returns first): pydantic
    inspects a validator's signature (whether it takes `info`) at every field it validates, ~190 times when a profile's
    validators are built, each rebuilt from the code object; stored, the same Signature is read back."""
    func.__signature__ = inspect.signature(func)  # type: ignore[attr-defined]
    return func


def empty_list() -> list[Any]:
    """`list` as a field's default factory: pydantic reads a factory's signature when it builds a model's validators,
    and `list`'s comes from its text signature, parsed with the tokenizer, whose regex compile (~1.5 ms) nothing else
    in an estimate needs."""
    return []


class Strict(BaseModel):
    """Frozen, unknown keys forbidden, descriptions on every field; a boolean is never taken for a number."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    @field_validator("*", mode="before")
    @classmethod
    @_signed
    def _no_bool_for_number(cls, value: object, info: ValidationInfo) -> object:
        # pydantic's lax mode reads true as 1 (`gpu_count: true` would count one GPU); YAML 1.1 also reads yes/on
        if isinstance(value, bool) and info.field_name is not None:
            field = cls.model_fields.get(info.field_name)
            if field is not None and _numeric_not_bool(field.annotation):
                raise ValueError(f"expected a number, got {value}")
        if isinstance(value, (str, float)) and info.field_name is not None:
            whole = _WHOLE_FIELDS.get((cls, info.field_name))
            if whole is None:
                field = cls.model_fields.get(info.field_name)
                whole = _WHOLE_FIELDS[cls, info.field_name] = (field is not None
                                                               and _whole_number_field(field.annotation))
            if whole:
                return _whole_count(value)
        if isinstance(value, str) and ("_" in value or "," in value) and info.field_name is not None:
            plain = _PLAIN_NUMBER_FIELDS.get((cls, info.field_name))
            if plain is None:
                field = cls.model_fields.get(info.field_name)
                plain = _PLAIN_NUMBER_FIELDS[cls, info.field_name] = field is not None and _plain_number(field)
            if plain:  # pydantic's lax parsing, as Python's float(), read '0_5' as 5 (new-user QA round 18)
                check_digit_groups(value, "a number")
        return value


_PLAIN_NUMBER_FIELDS: dict[tuple[type, str], bool] = {}
"""Whether a model's field takes plain numbers (_plain_number), worked out once per field, for text grouping digits."""
_WHOLE_FIELDS: dict[tuple[type, str], bool] = {}
"""Whether a model's field takes whole numbers only, worked out once per field (a catalog has thousands of prices)."""


def _whole_count(value: str | float) -> object:
    """A whole-number field's value written as a human count: '1k' → 1000, '2e3' → 2000, '1,024' → 1024, like every
    other number of a profile (docs/profile.md); pydantic's int parsing refused them (new-user QA round 17). Text that
    is no count ('8 GPUs', '-1') goes on to pydantic and its own message; a fraction (1.5, '1.0005k') is refused
    here, in the same words whether written as text or as a YAML number."""
    if isinstance(value, float):
        if math.isfinite(value) and value != int(value):
            raise ValueError(f"expected a whole number, got {value:g}")
        return value
    check_digit_groups(value, "a whole number")
    try:
        count = parse_count(value)
    except ValueError:
        return value
    if count != int(count):
        shown = "" if value.strip() == f"{count:g}" else f" ({count:g})"
        raise ValueError(f"expected a whole number, got {value!r}{shown}")
    return int(count)


def _whole_number_field(annotation: object) -> bool:
    """Whether a field's type is int (or Optional/Annotated int) and takes no text or fraction: no str, float or
    Literal beside it."""
    kinds: set[object] = set()

    def walk(tp: object) -> None:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            walk(typing.get_args(tp)[0])
        elif origin in (typing.Union, types.UnionType):
            for arg in typing.get_args(tp):
                walk(arg)
        elif tp is not type(None):
            kinds.add(tp)
    walk(annotation)
    return kinds == {int}


def _plain_number(field: Any) -> bool:
    """Whether a field takes numbers that pydantic parses from text (_numeric_not_bool), not through a parser of human
    units of its own (a BeforeValidator: a count, an amount, a duration, whose parser checks the digits' groups)."""
    if not _numeric_not_bool(field.annotation):
        return False
    found = list(field.metadata)

    def walk(tp: object) -> None:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            found.extend(tp.__metadata__)  # type: ignore[attr-defined]
            walk(typing.get_args(tp)[0])
        elif origin in (typing.Union, types.UnionType):
            for arg in typing.get_args(tp):
                walk(arg)
    walk(field.annotation)
    return not any(isinstance(meta, BeforeValidator) for meta in found)


def _numeric_not_bool(annotation: object) -> bool:
    """Whether a field's type takes numbers but not booleans (int, float, Optional/Annotated of them, int Literals)."""
    kinds: set[str] = set()

    def walk(tp: object) -> None:
        origin = typing.get_origin(tp)
        if tp is bool:
            kinds.add("bool")
        elif tp in (int, float):
            kinds.add("number")
        elif origin is typing.Literal:
            for arg in typing.get_args(tp):
                kinds.add("bool" if isinstance(arg, bool) else "number" if isinstance(arg, (int, float)) else "other")
        elif origin is typing.Annotated:
            walk(typing.get_args(tp)[0])
        elif origin in (typing.Union, types.UnionType):
            for arg in typing.get_args(tp):
                walk(arg)
    walk(annotation)
    return "number" in kinds and "bool" not in kinds


def _human(parser: Callable[[Any], float]) -> Any:
    @_signed
    def convert(value: object) -> object:
        if value is None:
            return None
        return parser(value)

    # the JSON Schema (gpuplan schema profile) must accept the human spellings editors will see: '7B', '72h'
    return BeforeValidator(convert, json_schema_input_type=Union[float, str])


Count = Annotated[float, _human(parse_count), Field(gt=0, allow_inf_nan=False)]
"""A positive count: '7B', '350M', 2e9."""
Seconds = Annotated[float, _human(parse_seconds), Field(gt=0, allow_inf_nan=False)]
"""A positive duration: '72h', '3d', '500ms' (plain numbers are seconds)."""
Usd = Annotated[float, _human(parse_usd), Field(gt=0, allow_inf_nan=False)]
"""A positive amount of money in USD: '$20k'."""
PerSecond = Annotated[float, _human(parse_rate), Field(gt=0, allow_inf_nan=False)]
"""A positive rate per second: '20/s', '1200/min'."""


_T = TypeVar("_T")


def given(value: _T | None, field: str) -> _T:
    """A field that validation has already required (a typed view for the core); a clear error otherwise."""
    if value is None:
        raise ValueError(f"{field} is not given")
    return value
