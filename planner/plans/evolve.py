"""Copies and instances of the plan dataclasses, built without dataclasses' generated __init__, for the search's hot
loops: a frozen dataclass's __init__ sets each field through object.__setattr__, ~7 µs for a 40-field plan, and a
training search makes one plan per (GPU, instance shape, count) and a copy per offer and pricing, tens of
thousands of them."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

_TEMPLATES: dict[type, tuple[frozenset[str], dict[str, Any], tuple[tuple[str, Any], ...]]] = {}
"""Per dataclass: its field names, the plain defaults and the default factories (read from the class itself, so
never stale)."""


def evolve(obj: T, **changes: object) -> T:
    """dataclasses.replace for the plan dataclasses (frozen, no __post_init__, no slots, no validation): a new
    instance sharing the old one's field values but `changes`. dataclasses.replace reruns __init__ over every field
    (~10 µs for a 40-field plan) and copy.copy goes through __reduce_ex__."""
    return evolve_with(obj, changes)


def evolve_with(obj: T, changes: Mapping[str, object]) -> T:
    """evolve with the changes as a mapping (no keyword packing on the way)."""
    new = object.__new__(type(obj))
    state = new.__dict__
    state.update(obj.__dict__)
    state.update(changes)
    return new


def build(cls: type[T], **values: object) -> T:
    """cls(**values) for the plan dataclasses (frozen, no __post_init__, no slots, no validation, no init=False
    fields), fields not given taking their defaults; like the generated __init__, a missing field without a default
    or an unknown name is a TypeError."""
    spec = _TEMPLATES.get(cls)
    if spec is None:
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        spec = _TEMPLATES[cls] = (
            frozenset(f.name for f in fields),
            {f.name: f.default for f in fields if f.default is not dataclasses.MISSING},
            tuple((f.name, f.default_factory) for f in fields if f.default_factory is not dataclasses.MISSING))
    names, defaults, factories = spec
    new = object.__new__(cls)
    state = new.__dict__
    state.update(defaults)
    for name, factory in factories:
        if name not in values:
            state[name] = factory()
    state.update(values)
    if len(state) != len(names) or not values.keys() <= names:  # a required field missing, or an unknown one
        raise TypeError(f"{cls.__name__}: fields {sorted(names ^ state.keys())} missing or unknown")
    return new
