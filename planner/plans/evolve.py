"""Copies and instances of the plan dataclasses, built without dataclasses' generated __init__, for the search's hot
loops: a frozen dataclass's __init__ sets each field through object.__setattr__, ~7 µs for a 40-field plan, and a
training search makes one plan per (GPU, instance shape, count) and a copy per offer and pricing, tens of
thousands of them."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from planner.dataclass import _method_code

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


def maker(cls: type[T]) -> Callable[..., T]:
    """A function making cls(**values) as build does, generated for `cls` the way dataclasses generates __init__:
    the fields are its keyword-only parameters (with the fields' defaults and default factories), so a call packs
    no keyword dict, and Python's own argument binding refuses a missing or unknown field (TypeError) where build
    checks the names itself; the instance's __dict__ is set whole, in the fields' order (object.__setattr__: the
    class is frozen). About 2.5× faster than build: the serving search makes ~5,700 candidates, configurations,
    timings and plans (docs/internals.md 'Performance', the twenty-fourth round)."""
    scope: dict[str, Any] = {"__new": object.__new__, "__set": object.__setattr__, "__cls": cls,
                             "__missing": dataclasses.MISSING}
    params, items = [], []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        value = f.name
        if f.default is not dataclasses.MISSING:
            scope[f"__default_{f.name}"] = f.default
            params.append(f"{f.name}=__default_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            scope[f"__factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=__missing")
            value = f"__factory_{f.name}() if {f.name} is __missing else {f.name}"
        else:
            params.append(f.name)
        items.append(f"{f.name!r}: {value}")
    # compiled once and kept with the dataclasses' generated methods (planner/dataclass.py: ~0.2 ms a start each)
    exec(_method_code(f"def make(*, {', '.join(params)}):\n"
                      f"    new = __new(__cls)\n"
                      f"    __set(new, '__dict__', {{{', '.join(items)}}})\n"
                      f"    return new\n"), scope)
    make: Callable[..., T] = scope["make"]
    make.__qualname__ = make.__name__ = f"make_{cls.__name__}"
    return make
