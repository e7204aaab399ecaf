"""Shared pydantic configuration and human-unit field types."""
from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from planner.schema.units import parse_count, parse_rate, parse_seconds, parse_usd


class Strict(BaseModel):
    """Frozen, unknown keys forbidden, descriptions on every field."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


def _human(parser: Callable[[Any], float]) -> Any:
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
