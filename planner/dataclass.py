"""`dataclass` as the standard library's, with each generated method compiled when it is first called.

Python 3.11's `dataclasses.dataclass` compiles every method it writes (`__init__`, `__repr__`, `__eq__`, and for a
frozen class `__hash__`, `__setattr__`, `__delattr__`) from source with `exec` while the class is created, ~0.4 ms
a class: ~30 ms of a cold `gpuplan estimate`, which creates ~70 of planner's classes (docs/internals.md 'Start-up:
what every run pays'), though a run calls few of those methods: most records are never printed, compared, hashed or
assigned to, and some are never made. Here the class is made a dataclass with the same fields, defaults,
`__match_args__` and `__dataclass_params__`, and each of those methods starts as a stub: its first call makes the
method with the generator `dataclasses` itself uses, with the same arguments, puts it on the class in the stub's
place and calls it. From then on the class holds the very method `dataclasses` would have made (until then
`inspect.signature` of a stub reads `(*args, **kwargs)`: planner reads no such signature, and every example profile
prints the same bytes with pydantic's classes so made).

Type checkers see `dataclasses.dataclass` itself (the TYPE_CHECKING branch), so typing is the standard library's.
The stubs are used on the interpreter whose `dataclasses` internals this was written against (3.11), with or without
slots (a class with slots is remade by `dataclasses._add_slots` after its stubs are put, and they put the real
method on the remade class), keeping a method the class defines itself and an explicit `__hash__` as `dataclasses`
does; ordering, unsafe_hash, dataclass bases, a missing docstring (dataclasses writes one from `__init__`'s
signature) and every other Python version (3.13 compiles a class's methods in one `exec`) get
`dataclasses.dataclass` unchanged. cli/main.py also has the pydantic modules every command imports make their ~50
dataclasses with it. tests/test_dataclass.py checks both give the same behaviour, and the same generated code for
pydantic's and annotated_types' classes.

`evolve`, `build` and `maker` make copies and instances of the plan dataclasses without the generated `__init__`,
for the search's hot loops.
"""
from __future__ import annotations

import abc
import dataclasses
import os
import sys
from collections.abc import Callable, Mapping
from types import CodeType
from typing import TYPE_CHECKING, Any, TypeVar, cast

_C = TypeVar("_C", bound=type)
_T = TypeVar("_T")

_LAZY = sys.version_info[:2] == (3, 11)
"""The interpreter whose private generators (`_init_fn`, `_repr_fn`, `_cmp_fn`, `_hash_add`,
`_frozen_get_del_attr`) and their arguments this module was written against: Python 3.11's `_process_class`."""

_STANDARD: Any = dataclasses.dataclass
"""The standard library's decorator, as this module found it: what the stubs' classes are processed with, also
while `dataclasses.dataclass` stands for this module's (cli/main.py `_import_with_lazy_dataclasses`)."""


METHOD_CACHE_LIMIT = 4096
"""Method texts the bytecode file keeps: past it, a process keeps only those it used (edits of the code add texts)."""

_codes: dict[str, CodeType] = {}
"""Each generated method's text (the `__create_fn__` that dataclasses' `_create_fn` writes) and its bytecode: those
of earlier runs (read from the bytecode file on first use) and this process's."""
_code_state = {"read": False, "compiled": 0, "writing": False}
"""Whether the bytecode file was read, how many texts this process compiled, whether it writes them at exit."""
_used: set[str] = set()


def _methods_file() -> str | None:
    """Where the generated methods' bytecode is kept: beside this module's own, in its `__pycache__` (or under
    sys.pycache_prefix), named for the interpreter; None when the interpreter caches no bytecode."""
    import importlib.util

    try:
        pyc = importlib.util.cache_from_source(__file__)
    except (NotImplementedError, ValueError):
        return None
    return f"{pyc[:-len('.pyc')]}.methods"


def _read_codes() -> None:
    """The bytecode file's methods into `_codes`: a file another interpreter, or none of this module's, wrote is
    left unread."""
    import importlib.util
    import marshal

    _code_state["read"] = True
    path = _methods_file()
    if path is None:
        return
    try:
        with open(path, "rb") as handle:
            magic, stored = marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        return
    if magic == importlib.util.MAGIC_NUMBER and isinstance(stored, dict):
        _codes.update((text, code) for text, code in stored.items()
                      if isinstance(text, str) and isinstance(code, CodeType))


def _write_codes() -> None:
    """Write the methods' bytecode (at exit, when this process compiled any), atomically; a folder that cannot be
    written costs only the speed-up."""
    import importlib.util
    import marshal

    path = _methods_file()
    if path is None:
        return
    kept = _codes if len(_codes) <= METHOD_CACHE_LIMIT else {text: _codes[text] for text in _used}
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(marshal.dumps((importlib.util.MAGIC_NUMBER, kept)))
        os.replace(temporary, path)
    except (OSError, ValueError):
        try:
            os.unlink(temporary)
        except OSError:
            pass


def _method_code(text: str) -> CodeType:
    """The bytecode of a generated method's text, compiled as `exec(text)` in dataclasses compiles it (no
    __future__ flags): from an earlier run's bytecode file when it holds this text, else compiled now and written
    there at exit (unless sys.dont_write_bytecode, as Python treats its own bytecode)."""
    if not _code_state["read"]:
        _read_codes()
    _used.add(text)
    code = _codes.get(text)
    if code is None:
        code = compile(text, "<string>", "exec", dont_inherit=True)
        _codes[text] = code
        _code_state["compiled"] += 1
        if not _code_state["writing"] and not sys.dont_write_bytecode:
            import atexit

            _code_state["writing"] = True
            atexit.register(_write_codes)
    return code


def _create_fn(name: str, args: list[str], body: list[str], *, globals: dict[str, Any] | None = None,
               locals: dict[str, Any] | None = None, return_type: Any = dataclasses.MISSING) -> Any:
    """Python 3.11's `dataclasses._create_fn`, the same text executed from its bytecode (_method_code) instead of
    compiled again: compiling a generated method from source was ~1 M instructions (a 40-field `__init__` more),
    ~80 of them in a cold `gpuplan estimate`, ~15 ms of its CPU (docs/internals.md 'Start-up: what every run
    pays'), as Python keeps a module's bytecode rather than compiling its source on every start."""
    if locals is None:
        locals = {}
    return_annotation = ""
    if return_type is not dataclasses.MISSING:
        locals["_return_type"] = return_type
        return_annotation = "->_return_type"
    joined = ",".join(args)
    lines = "\n".join(f"  {b}" for b in body)
    txt = f" def {name}({joined}){return_annotation}:\n{lines}"
    local_vars = ", ".join(locals.keys())
    txt = f"def __create_fn__({local_vars}):\n{txt}\n return {name}"
    ns: dict[str, Any] = {}
    exec(_method_code(txt), globals, ns)
    return ns["__create_fn__"](**locals)


def _generated(make: Callable[[], _T]) -> _T:
    """`make()` (dataclasses' generators, or `dataclasses.dataclass` itself) with their methods' text executed from
    its cached bytecode (_create_fn)."""
    dc: Any = dataclasses
    standard = dc._create_fn
    dc._create_fn = _create_fn
    try:
        return make()
    finally:
        dc._create_fn = standard


def _stub(home: list[type], name: str, make: Callable[[], Callable[..., Any]]) -> None:
    """Put on `home[0]` a method `name` that, when first called, makes the real one with `make`, puts it on the
    class `home[0]` is by then (a class with slots is remade after its stubs are put: `_add_slots`) and calls it."""
    cls = home[0]

    def first_call(*args: Any, **kwargs: Any) -> Any:  # no named `self`: a field may be called so
        method = _generated(make)
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"  # as dataclasses' _set_qualname
        setattr(home[0], name, method)
        return method(*args, **kwargs)

    first_call.__name__ = name
    first_call.__qualname__ = f"{cls.__qualname__}.{name}"
    setattr(cls, name, first_call)


def _eager(cls: type, order: bool, unsafe_hash: bool, frozen: bool) -> bool:
    """Whether `cls` gets `dataclasses.dataclass` unchanged: another interpreter or a case the stubs do not copy
    (ordering, an explicit unsafe_hash, a class without a docstring, whose generated one reads `__init__`'s
    signature, dataclass bases, or a frozen class with its own `__setattr__`/`__delattr__`, which dataclasses
    refuses)."""
    return (not _LAZY or order or unsafe_hash or not cls.__doc__
            or any(hasattr(base, "__dataclass_fields__") for base in cls.__mro__[1:])
            or (frozen and ("__setattr__" in cls.__dict__ or "__delattr__" in cls.__dict__)))


def _lazy_dataclass(cls: _C, init: bool, repr: bool, eq: bool, frozen: bool, match_args: bool,
                    kw_only: bool, slots: bool, weakref_slot: bool) -> _C:
    """`cls` as `dataclasses.dataclass(cls, ...)` would make it, its generated methods stubs (module docstring).
    The same steps as 3.11's `dataclasses._process_class` for a class with no dataclass bases: a method the class
    defines itself is kept (`_set_new_attribute`), `__hash__` follows `_hash_action`, and a class with slots is
    remade by `_add_slots` last, its stubs with it."""
    dc: Any = dataclasses
    own = set(cls.__dict__)
    class_hash = cls.__dict__.get("__hash__", dc.MISSING)
    explicit_hash = not (class_hash is dc.MISSING or (class_hash is None and "__eq__" in own))
    # fields, class-level defaults, __match_args__, abstract methods: dataclasses' own processing, none of which
    # compiles anything when every generated method is off
    _STANDARD(cls, init=False, repr=False, eq=False, order=False, unsafe_hash=False, frozen=False,
                          match_args=match_args, kw_only=kw_only)
    setattr(cls, "__dataclass_params__", dc._DataclassParams(init, repr, eq, False, False, frozen))
    fields: dict[str, Any] = getattr(cls, "__dataclass_fields__")
    module = sys.modules.get(cls.__module__)
    module_globals: dict[str, Any] = module.__dict__ if module is not None else {}
    has_post_init = hasattr(cls, "__post_init__")
    home: list[type] = [cls]

    def field_list() -> list[Any]:
        return [f for f in fields.values() if f._field_type is dc._FIELD]

    if init and "__init__" not in own:
        def make_init() -> Callable[..., Any]:
            all_init = [f for f in fields.values() if f._field_type in (dc._FIELD, dc._FIELD_INITVAR)]
            std_init, kw_only_init = dc._fields_in_init_order(all_init)
            self_name = "__dataclass_self__" if "self" in fields else "self"
            method: Callable[..., Any] = dc._init_fn(all_init, std_init, kw_only_init, frozen, has_post_init,
                                                     self_name, module_globals, slots)
            return method

        _stub(home, "__init__", make_init)
    if repr and "__repr__" not in own:
        def make_repr() -> Callable[..., Any]:
            method: Callable[..., Any] = dc._repr_fn([f for f in field_list() if f.repr], module_globals)
            return method

        _stub(home, "__repr__", make_repr)
    if eq and "__eq__" not in own:
        def make_eq() -> Callable[..., Any]:
            compared = [f for f in field_list() if f.compare]
            method: Callable[..., Any] = dc._cmp_fn("__eq__", "==", dc._tuple_str("self", compared),
                                                    dc._tuple_str("other", compared), globals=module_globals)
            return method

        _stub(home, "__eq__", make_eq)
    if frozen:
        def make_frozen(index: int) -> Callable[[], Callable[..., Any]]:
            def make() -> Callable[..., Any]:
                # the class as dataclasses has it here: before _add_slots remakes a class with slots
                method: Callable[..., Any] = dc._frozen_get_del_attr(cls, field_list(), module_globals)[index]
                return method
            return make

        _stub(home, "__setattr__", make_frozen(0))
        _stub(home, "__delattr__", make_frozen(1))
    # dataclasses' _hash_action without unsafe_hash: eq and frozen add a hash of the fields, eq alone makes
    # instances unhashable, an explicit __hash__ or no eq keeps the class's
    if eq and frozen and not explicit_hash:
        def make_hash() -> Callable[..., Any]:
            method: Callable[..., Any] = dc._hash_add(cls, field_list(), module_globals)
            return method

        _stub(home, "__hash__", make_hash)
    elif eq and not explicit_hash:
        setattr(cls, "__hash__", None)
    if weakref_slot and not slots:
        raise TypeError("weakref_slot is True but slots is False")
    if slots:
        home[0] = dc._add_slots(cls, frozen, weakref_slot)
        abc.update_abstractmethods(home[0])
    return cast(_C, home[0])


def _dataclass(cls: _C | None = None, /, *, init: bool = True, repr: bool = True, eq: bool = True,
               order: bool = False, unsafe_hash: bool = False, frozen: bool = False, match_args: bool = True,
               kw_only: bool = False, slots: bool = False, weakref_slot: bool = False) -> Any:
    """`dataclasses.dataclass`, used with or without arguments."""

    def wrap(klass: _C) -> _C:
        if _eager(klass, order, unsafe_hash, frozen):
            def standard() -> type:
                made: type = _STANDARD(klass, init=init, repr=repr, eq=eq, order=order, unsafe_hash=unsafe_hash,
                                       frozen=frozen, match_args=match_args, kw_only=kw_only, slots=slots,
                                       weakref_slot=weakref_slot)
                return made
            return cast(_C, _generated(standard) if _LAZY else standard())
        return _lazy_dataclass(klass, init, repr, eq, frozen, match_args, kw_only, slots, weakref_slot)

    return wrap if cls is None else wrap(cls)


if TYPE_CHECKING:
    from dataclasses import dataclass as dataclass
else:
    dataclass = _dataclass


# Copies and instances of the plan dataclasses, built without the generated __init__, for the search's hot loops: a
# frozen dataclass's __init__ sets each field through object.__setattr__, ~7 µs for a 40-field plan, and a training
# search makes one plan per (GPU, instance shape, count) and a copy per offer and pricing, tens of thousands of them.
_TEMPLATES: dict[type, tuple[frozenset[str], dict[str, Any], tuple[tuple[str, Any], ...]]] = {}
"""Per dataclass: its field names, the plain defaults and the default factories (read from the class itself, so
never stale)."""


def evolve(obj: _T, **changes: object) -> _T:
    """dataclasses.replace for the plan dataclasses (frozen, no __post_init__, no slots, no validation): a new
    instance sharing the old one's field values but `changes`. dataclasses.replace reruns __init__ over every field
    (~10 µs for a 40-field plan) and copy.copy goes through __reduce_ex__."""
    return evolve_with(obj, changes)


def evolve_with(obj: _T, changes: Mapping[str, object]) -> _T:
    """evolve with the changes as a mapping (no keyword packing on the way)."""
    new = object.__new__(type(obj))
    state = new.__dict__
    state.update(obj.__dict__)
    state.update(changes)
    return new


def build(cls: type[_T], **values: object) -> _T:
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


def maker(cls: type[_T]) -> Callable[..., _T]:
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
    make: Callable[..., _T] = scope["make"]
    make.__qualname__ = make.__name__ = f"make_{cls.__name__}"
    return make
