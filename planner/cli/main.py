"""Where the `gpuplan` process starts (the console script and `python -m planner`): a plain estimate runs without
Typer (cli/fast.py reads its arguments), every other command line through the Typer app (cli/commands.py). Both
run the same command (cli/estimate.py run_estimate) under the same error handler (cli/guard.py)."""
from __future__ import annotations

import gc
import sys
import types

# signal's C half, loaded with the interpreter (`signal` imports enum: ~1 ms of a plain estimate)
import _signal  # type: ignore[import-not-found]
from typing import Any

from planner.cli.guard import (EXIT_INTERRUPTED, error_line, exit_code_for, flush_output,
                                quiet_dropped_interrupt, record_interrupt, state, wide)
from planner.errors import command_line
from planner.plans.collector import GC_THRESHOLD

PYDANTIC_PLUGINS_ENV = "PYDANTIC_DISABLE_PLUGINS"
"""pydantic's switch for its plugin discovery ('__all__': none; read by pydantic/plugin/_loader.py get_plugins)."""
PYDANTIC_PLUGIN_LOADER = "pydantic.plugin._loader"
"""The module pydantic imports the first time it builds a validator, to ask for plugins (get_plugins)."""


def __getattr__(name: str) -> Any:
    """`app`, the Typer application (cli/commands.py), for the programs and tests that run it (CliRunner): imported
    when asked for, so that a plain estimate does not import Typer."""
    if name == "app":
        from planner.cli.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _no_plugins() -> tuple[()]:
    return ()


def _no_plugin_loader() -> None:
    """With every plugin off (PYDANTIC_DISABLE_PLUGINS=__all__), pydantic's plugin loader answers "no plugins" without
    reading any metadata, but importing it imports importlib.metadata first (its entry-point scanner, email, zipfile,
    csv: ~16 ms CPU, 8 % of the import floor of benchmarks/bench_estimate.py, spent while the profile's validators
    are built). Under that setting only, a stand-in loader that gives the same answer takes its place; with any
    other setting, or once the real loader is imported, pydantic's own is used (tests/test_cli.py)."""
    import os
    import types

    if os.environ.get(PYDANTIC_PLUGINS_ENV) != "__all__" or PYDANTIC_PLUGIN_LOADER in sys.modules:
        return
    loader = types.ModuleType(PYDANTIC_PLUGIN_LOADER, "Plugins off: planner/cli/main.py _no_plugin_loader.")
    loader.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules[PYDANTIC_PLUGIN_LOADER] = loader


LAZY_DATACLASS_MODULES = ("pydantic.main", "pydantic.fields", "pydantic.functional_validators")
"""The third-party modules every command imports whose dataclasses are made with planner/dataclass.py's stubs: by
them, annotated_types, pydantic.types, pydantic.json_schema, pydantic.aliases and pydantic/_internal make ~50
dataclasses, whose ~250 generated methods Python 3.11 compiles as each class is made (~15 ms of every start,
docs/internals.md 'Start-up: what every run pays'), though a run calls few of them."""


_FORWARD_REF_SLOTS = ("__forward_arg__", "__forward_code__", "__forward_evaluated__", "__forward_value__",
                      "__forward_is_argument__", "__forward_is_class__", "__forward_module__")
"""`typing.ForwardRef`'s slots on Python 3.10-3.13, whose `__init__` `_uncompiled_forward_ref` stands for."""


def _uncompiled_forward_ref(self: Any, arg: str, is_argument: bool = True, module: Any = None, *,
                            is_class: bool = False) -> None:
    """`typing.ForwardRef.__init__` that keeps the text to evaluate rather than compiling it: `ForwardRef._evaluate`
    (and typing_extensions') runs `eval(ref.__forward_code__, ...)`, which takes a string as it takes the code
    compiled from it. pydantic_core's ~90 TypedDicts (core_schema.py, whose annotations are strings), pydantic's
    ConfigDict and its fields make ~730 forward references while pydantic is imported, each compiled (~34 M
    instructions, ~1.6 % of a cold estimate), of which an estimate evaluates none. A text that is not an expression
    would raise SyntaxError when evaluated instead of when made: pydantic's own annotations all are expressions."""
    if not isinstance(arg, str):
        raise TypeError(f"Forward reference must be a string -- got {arg!r}")
    self.__forward_arg__ = arg
    # as typing does for `def f(*args: *Ts)`: '*Ts' alone is not an expression
    self.__forward_code__ = f"({arg},)[0]" if arg[:1] == "*" else arg
    self.__forward_evaluated__ = False
    self.__forward_value__ = None
    self.__forward_is_argument__ = is_argument
    self.__forward_is_class__ = is_class
    self.__forward_module__ = module


DEFERRED_MODULES = ("secrets",)
"""Standard-library modules that pydantic's modules every command imports import whole and use only inside functions
(pydantic/types.py: `secrets.compare_digest` when a Secret is compared): `secrets` imports `hmac`, whose `_hashlib`
loads OpenSSL's libcrypto, and `random` (~19 M instructions, ~300 page faults and ~5-10 ms of CPU on the loaded
2-core machine, docs/internals.md 'Start-up: what every run pays'), which no estimate uses."""


class _Deferred(types.ModuleType):
    """A module imported when one of its attributes is first read (DEFERRED_MODULES): until then it has its name and
    spec, and a dunder it lacks (`__file__`, `__path__`, ...) reads as missing, so that what scans sys.modules for
    those does not import it; then the module is imported in its own right (sys.modules holds the real one from then
    on) and its attributes are copied here, for the modules that bound this one by `import secrets`."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        import importlib

        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        self.__dict__.update({k: v for k, v in vars(real).items() if k not in ("__name__", "__spec__", "__loader__")})
        return getattr(real, name)


def _defer_modules() -> None:
    """DEFERRED_MODULES, each put in sys.modules as a _Deferred; one imported before (by a program that embeds the CLI),
    or one the import system cannot find, is left as it is."""
    import importlib.util

    for name in DEFERRED_MODULES:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        stand_in = _Deferred(name, "Imported when first used: planner/cli/main.py _Deferred.")
        stand_in.__spec__ = spec
        stand_in.__loader__ = spec.loader
        sys.modules[name] = stand_in


def _import_with_lazy_dataclasses() -> None:
    """Import LAZY_DATACLASS_MODULES with `dataclasses.dataclass` standing for planner's (the same classes, each
    generated method compiled on its first call) and forward references left uncompiled (_uncompiled_forward_ref,
    where typing's ForwardRef has the slots it was written against); the standard library's are back as soon as they
    are imported, and a module imported before (by a program that embeds the CLI) is left as it was.
    tests/test_dataclass.py checks that the classes so made behave as the standard library makes them,
    tests/test_cli.py that the references evaluate as typing's own."""
    import dataclasses
    import importlib
    import typing

    from planner.dataclass import _dataclass

    if any(name in sys.modules for name in LAZY_DATACLASS_MODULES):
        return
    standard = dataclasses.dataclass
    forward_ref = typing.ForwardRef
    compiled_init = forward_ref.__init__
    dataclasses.dataclass = _dataclass
    if forward_ref.__slots__ == _FORWARD_REF_SLOTS:
        forward_ref.__init__ = _uncompiled_forward_ref  # type: ignore[method-assign]
    try:
        for name in LAZY_DATACLASS_MODULES:
            importlib.import_module(name)
    finally:
        dataclasses.dataclass = standard
        forward_ref.__init__ = compiled_init  # type: ignore[method-assign]


def _plain_estimate() -> int | None:
    """A plain `gpuplan estimate` (cli/fast.py) run as Typer would run it: its exit status; None: not a plain
    estimate, for Typer. What Typer does around the command is done here too: the group's callback (no --debug, the
    narrow view), the handler's flush of stdout and its exit codes."""
    from planner.cli.fast import parse_estimate

    args = parse_estimate(sys.argv[1:])
    if args is None:
        return None
    from planner.cli.estimate import run_estimate

    state["debug"] = False
    wide(False)
    try:
        try:
            with command_line():  # errors name the options (planner/errors.py option)
                return run_estimate(args)
        finally:
            flush_output()  # a closed pipe or a full disk shows here, inside the handler, not at interpreter exit
    except (KeyboardInterrupt, Exception) as exc:  # the last resort: never a bare traceback
        code = exit_code_for(exc)
        if code is None:
            raise
        return code


def run() -> None:
    """The command line in sys.argv, run; leaves by SystemExit (Typer's way), which a program that runs the CLI
    in its own process may catch (main: the console script)."""
    import os

    # pydantic looks for plugins in every installed distribution's entry points (importlib.metadata) before it
    # validates the first model: ~15 ms of a cold start, for plugins gpuplan neither needs nor wants observing its
    # validation. A user who sets the variable (to anything, even empty) keeps their choice.
    os.environ.setdefault(PYDANTIC_PLUGINS_ENV, "__all__")
    # pydantic_core's Rust half imports datetime through the C API as it loads: a Ctrl-C landing in that import made
    # it panic (pyo3's PanicException, "failed to import `datetime` C API", Rust's panic message on stderr) instead of
    # raising KeyboardInterrupt (new-user QA round 17); imported here, a Ctrl-C in it is a plain KeyboardInterrupt
    import datetime  # noqa: F401

    _no_plugin_loader()
    _defer_modules()
    _import_with_lazy_dataclasses()

    # the whole command, rendering included, makes plan objects that live to the end (plans/collector.py)
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    # what the imports made so far (modules, classes, functions, pydantic's validators) lives to the exit: frozen, it
    # is left out of every later collection, and the count toward the next one starts from zero (the first pass over
    # the youngest generation, 50,000 objects mostly made by imports, fell in every estimate, ~8-17 ms; a
    # lora-7b-a6000 estimate now runs with no pass at all)
    gc.freeze()
    state["whole_process"] = True
    try:
        code = _plain_estimate()
        if code is None:
            from planner.cli.commands import app

            app()
        else:
            sys.exit(code)
    finally:
        # the process ends here and its objects with it: CPython's finalization would first run the cyclic
        # collector over every object the command made (~20 ms of a cold estimate) to find what exit frees anyway;
        # frozen objects are left to the exit (gc.freeze)
        gc.freeze()


def main() -> None:
    """The console script and `python -m planner`: `run`, after which the process leaves at once when nothing is
    left for the interpreter's exit to do (_nothing_at_exit): CPython's finalization tears down every module and
    object the command made (~17 M instructions and ~10 ms of CPU for bert-train-then-serve, ~3 % of a cold
    estimate, docs/internals.md 'Start-up: what every run pays') before the process ends, which frees them anyway."""
    outside: Any = None
    unraisable = sys.unraisablehook
    try:
        try:
            # the command answers Ctrl-C by its handler (a KeyboardInterrupt, so that what it writes is cleaned up),
            # recorded (guard.record_interrupt); before and after, the console script's (planner/__main__.py
            # interrupted) answers at once
            sys.unraisablehook = quiet_dropped_interrupt(unraisable)
            outside = _answer_interrupts(record_interrupt)
            run()
        except SystemExit as exc:
            if state["interrupted"] and exc.code != EXIT_INTERRUPTED and not state["debug"]:
                # the interrupt was dropped where it landed (guard.record_interrupt) and the command went on
                error_line("Interrupted.")
                sys.exit(EXIT_INTERRUPTED)
            raise
        except BaseException as exc:
            # Ctrl-C in the imports before a command's handler is in place (run's first ~0.1 s of a cold start):
            # new-user QA found a traceback and a death by SIGINT there; the handler's answer, "Interrupted.", 130
            status = exit_code_for(exc)
            if status is None:  # --debug: the traceback asked for; or not an interrupt, a bug
                raise
            sys.exit(status)
        finally:
            _answer_interrupts(outside)
            sys.unraisablehook = unraisable
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code
        if isinstance(code, int) and not isinstance(code, bool) and 0 <= code <= 255 and _nothing_at_exit():
            import os

            os._exit(code)
        raise


def _answer_interrupts(handler: Any) -> Any:
    """Let `handler` answer SIGINT; the handler it replaces. Only one Python handler replaces another: SIGINT ignored
    (a shell's background job inherits it so, and Python keeps it) stays ignored, and outside the main thread, where
    no handler can be set, nothing changes."""
    previous = _signal.getsignal(_signal.SIGINT)
    if callable(previous) and callable(handler):
        try:
            _signal.signal(_signal.SIGINT, handler)
        except ValueError:  # not the main thread
            pass
    return previous


def _nothing_at_exit() -> bool:
    """Whether leaving now (os._exit) skips nothing the interpreter's exit would do that anyone sees: stdout and
    stderr flushed here without error, no atexit handler (coverage, logging, planner/dataclass.py writing the
    generated methods' bytecode, ... register one), no thread but this one, no profiler or tracer (cProfile, a
    debugger, which report after the program), and an interpreter that says how many handlers it holds."""
    import atexit

    count = getattr(atexit, "_ncallbacks", None)
    if count is None or count() or sys.getprofile() is not None or sys.gettrace() is not None:
        return False
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() != 1:
        return False
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return False  # a closed pipe or stream: the interpreter's exit reports it as before
    return bool(count() == 0)
