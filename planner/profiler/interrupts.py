"""Ctrl-C and SIGTERM during a measurement: recorded, so an interrupt is never lost or mistaken for a crash.

Python raises KeyboardInterrupt from its SIGINT handler at the next bytecode of the main thread, wherever that is.
Measuring imports modules lazily (torch imports parts of itself on first use), and when the signal lands inside
importlib's module-lock weakref callback (`_get_module_lock.<locals>.cb`) the exception is *unraisable*: Python
prints "Exception ignored in …" and drops it, so the run went on and wrote its record (exit 0); landing in the middle
of an import could instead leave a half-initialised module whose next use raised another exception (exit 70,
"internal error"). Which one depended on where the signal landed, hence a Ctrl-C test that failed once in many runs
under load (found by sending SIGINT at 0–2.5 s steps after torch loaded: at ~1.1 s, "Exception ignored in:
<function _get_module_lock.<locals>.cb>"). The handler installed here records the signal before raising, so
whatever happens to the exception the run knows it was interrupted: `check()` between measurement steps and once more
before the record is written turns it into a KeyboardInterrupt (exit 130, nothing written), and `interrupted()` lets
the CLI report any exception raised after an interrupt as the interrupt it is. The dropped KeyboardInterrupt is not
printed (sys.unraisablehook), since the interrupt is handled."""
from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

_seen: list[int] = []
"""Signals received while a measurement runs (cleared when the next one starts)."""


def _handler(signum: int, frame: FrameType | None) -> None:
    _seen.append(signum)
    raise KeyboardInterrupt


def _quiet_unraisable(previous: Callable[[Any], object]) -> Callable[[Any], object]:
    """An unraisablehook that drops the KeyboardInterrupts this module records and passes anything else on."""
    def hook(unraisable: Any) -> object:
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and _seen:
            return None
        return previous(unraisable)
    return hook


@contextmanager
def watching() -> Iterator[None]:
    """Record SIGINT and SIGTERM (SIGTERM behaves as Ctrl-C) for the duration; the previous handlers come back on
    exit. A SIGINT that the parent shell ignores (a background job) stays ignored."""
    _seen.clear()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    hook = sys.unraisablehook
    signal.signal(signal.SIGTERM, _handler)
    if previous[signal.SIGINT] is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _handler)
    sys.unraisablehook = _quiet_unraisable(hook)
    try:
        yield
    finally:
        sys.unraisablehook = hook
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def interrupted() -> bool:
    """Whether SIGINT or SIGTERM arrived during the current (or last) measurement."""
    return bool(_seen)


def check() -> None:
    """Raise KeyboardInterrupt when an interrupt arrived, even if the code it landed in swallowed it."""
    if _seen:
        raise KeyboardInterrupt
