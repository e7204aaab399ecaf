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
"""
from __future__ import annotations

import abc
import dataclasses
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

_C = TypeVar("_C", bound=type)

_LAZY = sys.version_info[:2] == (3, 11)
"""The interpreter whose private generators (`_init_fn`, `_repr_fn`, `_cmp_fn`, `_hash_add`,
`_frozen_get_del_attr`) and their arguments this module was written against: Python 3.11's `_process_class`."""

_STANDARD: Any = dataclasses.dataclass
"""The standard library's decorator, as this module found it: what the stubs' classes are processed with, also
while `dataclasses.dataclass` stands for this module's (cli/main.py `_import_with_lazy_dataclasses`)."""


def _stub(home: list[type], name: str, make: Callable[[], Callable[..., Any]]) -> None:
    """Put on `home[0]` a method `name` that, when first called, makes the real one with `make`, puts it on the
    class `home[0]` is by then (a class with slots is remade after its stubs are put: `_add_slots`) and calls it."""
    cls = home[0]

    def first_call(*args: Any, **kwargs: Any) -> Any:  # no named `self`: a field may be called so
        method = make()
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
            made: type = _STANDARD(klass, init=init, repr=repr, eq=eq, order=order,
                                               unsafe_hash=unsafe_hash, frozen=frozen, match_args=match_args,
                                               kw_only=kw_only, slots=slots, weakref_slot=weakref_slot)
            return cast(_C, made)
        return _lazy_dataclass(klass, init, repr, eq, frozen, match_args, kw_only, slots, weakref_slot)

    return wrap if cls is None else wrap(cls)


if TYPE_CHECKING:
    from dataclasses import dataclass as dataclass
else:
    dataclass = _dataclass
