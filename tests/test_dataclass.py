"""planner.dataclass: the same classes as `dataclasses.dataclass`, their generated methods made on first call."""
from __future__ import annotations

import dataclasses
import inspect
import sys
import json
import subprocess
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


def _every_method(classes: dict[str, type], instances: tuple[Any, ...]) -> list[Any]:
    """What calling every generated method once shows (setting, deleting and hashing each instance: the stubs are
    replaced on first call), and each class's methods' signatures and names."""
    seen: list[Any] = []
    for instance in instances:
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
    return seen + _every_method(classes, (f, m, Empty(), k, i))


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
    """Bases, ordering and missing docstrings take dataclasses' own path (no stubs)."""

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


def _slotted_shapes(decorate: Any) -> dict[str, type]:
    """Class bodies as pydantic and annotated_types write them: slots, own methods kept, an explicit hash."""

    @decorate(frozen=True, slots=True)
    class Bound:
        """A frozen record with slots and a default."""
        gt: float
        strict: bool = True

    @decorate(slots=True)
    class Path:
        """Slots and its own __init__ (kept)."""
        path: list[str]

        def __init__(self, first: str, *rest: str) -> None:
            self.path = [first, *rest]

    @decorate(frozen=True, slots=True)
    class Hashed:
        """Its own __hash__ and __repr__ (kept)."""
        value: int

        def __hash__(self) -> int:
            return hash(type(self))

        def __repr__(self) -> str:
            return "Hashed!"

    @decorate(slots=True, kw_only=True)
    class Mutable:
        """Mutable, keyword-only, slots: unhashable."""
        a: int = 1
        b: int = 2

    @decorate(frozen=True, slots=True, weakref_slot=True)
    class Weak:
        """A weak-reference slot."""
        x: int

    return {"Bound": Bound, "Path": Path, "Hashed": Hashed, "Mutable": Mutable, "Weak": Weak}


def _slotted_behaviour(classes: dict[str, type]) -> list[Any]:
    import copy
    import weakref

    seen: list[Any] = []
    for cls in classes.values():
        seen.append((cls.__name__, cls.__doc__, cls.__slots__, getattr(cls, "__match_args__", None),
                     repr(getattr(cls, "__dataclass_params__")), [f.name for f in dataclasses.fields(cls)],
                     cls.__hash__ is None, sorted(cls.__dict__)))
    Bound, Path, Hashed, Mutable, Weak = classes.values()
    b = Bound(1.5)
    seen += [repr(b), b == Bound(1.5), b == Bound(1.5, False), hash(b) == hash(Bound(1.5)), b.strict,
             hasattr(b, "__dict__"), repr(copy.deepcopy(b)), repr(dataclasses.replace(b, gt=2.0))]
    for attempt in (lambda: setattr(b, "gt", 3), lambda: setattr(b, "other", 3), lambda: delattr(b, "gt")):
        try:
            attempt()
        except (dataclasses.FrozenInstanceError, TypeError, AttributeError) as error:
            seen.append(f"{type(error).__name__}: {error}")
    p = Path("a", "b")
    seen += [repr(p), p == Path("a", "b"), p.path]
    h = Hashed(3)
    seen += [repr(h), hash(h) == hash(Hashed(4)), h == Hashed(3), h == Hashed(4)]
    m = Mutable(b=5)
    m.a = 7
    seen += [repr(m), m == Mutable(a=7, b=5), Mutable.__hash__ is None]
    with pytest.raises(TypeError):
        Mutable(1)  # type: ignore[misc]
    w = Weak(1)
    seen += [repr(w), weakref.ref(w)() is w, w == Weak(1), hash(w) == hash(Weak(1))]
    seen.append(b.__getstate__())
    return seen + _every_method(classes, (b, p, h, m, w))


def test_slots_and_own_methods_as_dataclasses() -> None:
    """Classes with slots (remade after their stubs are put), their own methods and an explicit hash."""
    assert _slotted_behaviour(_slotted_shapes(lazy._dataclass)) == \
        _slotted_behaviour(_slotted_shapes(dataclasses.dataclass))


_SUMMARY = """
import dataclasses, inspect, json, re, sys
sys.argv = ["gpuplan"]
if USE_STUBS:
    from planner.cli.main import _import_with_lazy_dataclasses
    _import_with_lazy_dataclasses()
    assert dataclasses.dataclass.__module__ == "dataclasses"  # the standard one back
import planner.cli.main
import planner.dataclass
for name in planner.cli.main.LAZY_DATACLASS_MODULES:
    __import__(name)
names = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")
def code(cls, method):
    if not inspect.isfunction(method):
        return repr(method)
    if method.__code__.co_name == "first_call":  # a stub: the method its first call makes
        method = planner.dataclass._generated(inspect.getclosurevars(method).nonlocals["make"])
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"  # as the stub names it
    method = inspect.unwrap(method)
    c = method.__code__
    cells = [repr(cell.cell_contents) for cell in method.__closure__ or ()]
    return [c.co_code.hex(), repr(c.co_consts), c.co_names, c.co_varnames, cells, repr(method.__defaults__),
            method.__qualname__, c.co_flags, repr(method.__annotations__)]
seen = {}
for module in list(sys.modules.values()):
    for cls in list(vars(module).values()) if module is not None else ():
        if isinstance(cls, type) and cls.__module__ == module.__name__ and "__dataclass_fields__" in cls.__dict__:
            seen[f"{cls.__module__}.{cls.__qualname__}"] = {
                "dict": sorted(cls.__dict__), "slots": repr(cls.__dict__.get("__slots__")), "doc": cls.__doc__,
                "params": repr(cls.__dataclass_params__), "match": repr(getattr(cls, "__match_args__", None)),
                "fields": [repr(f) for f in dataclasses.fields(cls)],
                "methods": {n: code(cls, cls.__dict__.get(n)) for n in names}}
print(re.sub(" at 0x[0-9a-f]+", " at 0x?", json.dumps(seen, sort_keys=True)))  # addresses differ by process
"""


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the stubs are used on Python 3.11 only")
def test_third_party_dataclasses_as_the_standard_library_makes_them() -> None:
    """pydantic's and annotated_types' dataclasses imported by cli/main.py with the stubs: the same classes (names
    in their dicts, slots, fields, parameters) and, for every generated method, the same code, constants,
    closure and defaults as the standard library makes; `dataclasses.dataclass` is the standard one after."""

    def summary(lazy_import: bool) -> dict[str, Any]:
        result = subprocess.run([sys.executable, "-c", _SUMMARY.replace("USE_STUBS", str(lazy_import))],
                                capture_output=True, text=True, check=True)
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    with_stubs, standard = summary(True), summary(False)
    assert with_stubs == standard
    assert {"annotated_types.Gt", "pydantic.types.StringConstraints", "pydantic.aliases.AliasPath",
            "pydantic._internal._decorators.Decorator"} <= set(standard)


_ROUND_TRIP = """
import dataclasses, json, sys
from planner.dataclass import _code_state, dataclass

@dataclass(frozen=True)
class Job:
    \"\"\"A record whose methods are generated.\"\"\"
    name: str
    count: int = 2

job = Job("a")
made = [job == Job("a", 2), hash(job) == hash(Job("a")), repr(job), Job.__init__.__annotations__ == {
    "name": str, "count": int, "return": None}, Job.__init__.__code__.co_flags]
print(json.dumps({"made": made, "compiled": _code_state["compiled"]}))
"""


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the stubs are used on Python 3.11 only")
def test_generated_methods_bytecode_is_kept_and_read_back(tmp_path) -> None:
    """A generated method's text is compiled once, as dataclasses compiles it (no __future__ flag of
    planner/dataclass.py: annotations stay objects), written at exit beside the module's bytecode (here under
    PYTHONPYCACHEPREFIX) and read back by the next process, which compiles nothing and makes the same methods; with
    bytecode writing off nothing is written."""
    import os

    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    def run(**extra: str) -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-c", _ROUND_TRIP], capture_output=True, text=True, check=True,
                              env={**env, **extra})
        return dict(json.loads(done.stdout))

    off = run(PYTHONDONTWRITEBYTECODE="1")
    assert off["compiled"] and not list(tmp_path.rglob("*.methods"))
    first, second = run(), run()
    assert first["compiled"] and not second["compiled"]
    assert first["made"] == second["made"] == off["made"]
    assert first["made"][:4] == [True, True, "Job(name='a', count=2)", True]
    assert len(list(tmp_path.rglob("dataclass.*.methods"))) == 1
