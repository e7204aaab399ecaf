"""A copy of a plan dataclass with some fields changed, for the search's hot loops."""
from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def evolve(obj: T, **changes: object) -> T:
    """dataclasses.replace for the plan dataclasses (frozen, no __post_init__, no slots, no validation): a new
    instance sharing the old one's field values but `changes`. dataclasses.replace reruns __init__ over every field
    (~10 µs for a 40-field plan) and copy.copy goes through __reduce_ex__; an estimate copies plans tens of
    thousands of times (one per offer, GPU count and pricing)."""
    new = object.__new__(type(obj))
    state = new.__dict__
    state.update(obj.__dict__)
    state.update(changes)
    return new
