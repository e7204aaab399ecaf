"""planner.dataclass: the same classes as `dataclasses.dataclass`, their generated methods made on first call."""
from __future__ import annotations

import dataclasses
import inspect
import sys
from typing import Any, ClassVar

import pytest

from planner import dataclass as lazy


def _shapes(decorate: Any) -> dict[str, type]:
    """The same class bodies, made by `decorate` (the standard library's or planner's)."""

    @decorate(frozen=True)
    class Frozen:
        """A frozen record with defaults, a factory, a field left out of repr and one left out of comparisons."""
        name: str
        count: int = 3
        tags: list[str] = dataclasses.field(default_factory=list)
        secret: str = dataclasses.field(default="s", repr=False)
        note: str = dataclasses.field(default="", compare=False)
        LIMIT: ClassVar[int] = 7

    @decorate
    class Mutable:
        """A mutable record with a post-init."""
        a: float
        b: float = 0.0
        scale: dataclasses.InitVar[float] = 1.0

        def __post_init__(self, scale: float) -> None:
            self.b = self.a * scale

    @decorate(frozen=True)
    class Empty:
        """No fields."""

    @decorate(frozen=True, kw_only=True)
    class KeywordOnly:
        """Keyword-only fields and one named self."""
        self: int
        other: int = 2

    @decorate(frozen=True, eq=False)
    class Identity:
        """Compared by identity."""
        x: int

    return {"Frozen": Frozen, "Mutable": Mutable, "Empty": Empty, "KeywordOnly": KeywordOnly, "Identity": Identity}


def _behaviour(classes: dict[str, type]) -> list[Any]:
    """Everything a caller can see of the classes' generated methods, in a comparable form."""
    seen: list[Any] = []
    Frozen, Mutable, Empty = classes["Frozen"], classes["Mutable"], classes["Empty"]
    KeywordOnly, Identity = classes["KeywordOnly"], classes["Identity"]
    for cls in classes.values():
        seen.append((cls.__name__, cls.__doc__, getattr(cls, "__match_args__", None),
                     repr(getattr(cls, "__dataclass_params__")), [f.name for f in dataclasses.fields(cls)],
                     cls.__hash__ is None))
    f = Frozen("a", 2, ["x"], note="n")
    g = Frozen("a", 2, ["x"], note="other")
    seen += [repr(f), f == g, f != Frozen("b"), f == "a", hash(Frozen("a", 2, ("x",))) == hash(Frozen("a", 2, ("x",))),  # type: ignore[arg-type]
             Frozen.LIMIT, dataclasses.asdict(f), repr(dataclasses.replace(f, count=9)), Frozen("z").tags]
    for attempt in (lambda: setattr(f, "name", "b"), lambda: setattr(f, "new", 1), lambda: delattr(f, "count")):
        with pytest.raises(dataclasses.FrozenInstanceError) as raised:
            attempt()
        seen.append(str(raised.value))
    with pytest.raises(TypeError) as missing:
        Frozen()
    seen.append(str(missing.value))
    m = Mutable(2.0, scale=3.0)
    m.a = 5.0
    seen += [repr(m), m.b, m == Mutable(5.0, 6.0), Empty() == Empty(), repr(Empty()), hash(Empty()) == hash(Empty())]
    with pytest.raises(TypeError):
        hash(m)
    k = KeywordOnly(self=1)
    seen += [repr(k), k == KeywordOnly(self=1, other=2)]
    with pytest.raises(TypeError):
        KeywordOnly(1)  # type: ignore[misc]
    i = Identity(1)
    seen += [repr(i), i == Identity(1), i == i]
    for instance in (f, m, Empty(), k, i):  # every generated method called once: stubs replaced
        for call in (lambda: setattr(instance, "zz", 1), lambda: delattr(instance, "zz"), lambda: hash(instance)):
            try:
                call()
            except (TypeError, AttributeError, dataclasses.FrozenInstanceError) as error:
                seen.append(f"{type(error).__name__}: {error}")
    for cls in classes.values():
        seen.append({name: (str(inspect.signature(method)), method.__qualname__.split(".", 1)[-1])
                     for name in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")
                     if callable(method := cls.__dict__.get(name))})
    return seen


def test_same_behaviour_as_dataclasses() -> None:
    assert _behaviour(_shapes(lazy._dataclass)) == _behaviour(_shapes(dataclasses.dataclass))


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the stubs are used on Python 3.11 only")
def test_methods_made_on_first_call() -> None:
    """Before a method's first call the class holds a stub; after it, the method dataclasses makes."""
    Frozen = _shapes(lazy._dataclass)["Frozen"]
    assert Frozen.__dict__["__repr__"].__code__.co_name == "first_call"
    text = repr(Frozen("a"))
    assert Frozen.__dict__["__repr__"].__wrapped__.__code__.co_name == "__repr__"
    assert text.endswith(".Frozen(name='a', count=3, tags=[], note='')")


def test_cases_left_to_dataclasses() -> None:
    """Bases, ordering, own methods and missing docstrings take dataclasses' own path (no stubs)."""

    @lazy._dataclass(order=True)
    class Ordered:
        """Ordered."""
        x: int

    @lazy._dataclass
    class Undocumented:
        x: int

    assert Ordered(1) < Ordered(2)
    assert Undocumented.__doc__ == "Undocumented(x: 'int')"
    for cls in (Ordered, Undocumented):
        assert cls.__dict__["__init__"].__code__.co_name == "__init__"
