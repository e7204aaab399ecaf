"""The one error handler of every command, and the command's output.

Exit codes (exit_code_for): 0 ok; 1 nothing meets the constraints; 2 bad input or an unusable path (one `Error: …`
line); 70 an unexpected internal error (one line; the traceback only with --debug); 130 Ctrl-C; 141 the reader
closed the output early (`gpuplan … | head`), quietly. Typer's commands (cli/app.py `Guarded`) and the plain
estimate that runs without Typer (cli/main.py `run`) both go through it, so both answer alike.

No Typer here: a plain `gpuplan estimate` imports none (cli/fast.py); the messages on stderr are written with
Typer's own `echo` (the same bytes on either path), imported only when one is written."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from planner.errors import PlannerError

if TYPE_CHECKING:
    from collections.abc import Callable

EXIT_INTERNAL = 70
"""EX_SOFTWARE (sysexits.h): an internal software error, distinct from 1 (no plan fits) and 2 (bad input)."""
EXIT_INTERRUPTED = 130
"""128 + SIGINT (2): what a shell reports for a program Ctrl-C ended."""
EXIT_CLOSED_PIPE = 141
"""128 + SIGPIPE (13): what a shell reports for a program the closed pipe ended, as `git log | head` does. Python
ignores SIGPIPE and raises BrokenPipeError instead; the handler turns it into this status, without a message."""

EXIT_BAD_INPUT = 2
"""Bad input or an unusable path, an output that cannot be written among them."""
OUTPUT_MARK = "gpuplan_output"
"""The attribute write_all and flush_output set on an OSError that writing the command's output raised."""


def _output_failures() -> dict[int, str]:
    """The errors of a write to stdout that are the environment's (a full disk, a quota, a failing device), not a
    bug of gpuplan's, in words: exit_code_for answers them as bad input, one line, exit 2."""
    import errno

    words = {"ENOSPC": "no space left on device", "EDQUOT": "disk quota exceeded", "EIO": "input/output error"}
    return {getattr(errno, name): text for name, text in words.items() if hasattr(errno, name)}


state = {"debug": False, "whole_process": False, "interrupted": False}
"""debug: --debug given; whole_process: the command runs as its own process (main.run, the console script), not
inside another program (a test's CliRunner), so what it makes may be frozen for the exit (gc.freeze); interrupted:
SIGINT arrived while the command ran (record_interrupt)."""


def record_interrupt(signum: int, frame: object) -> None:
    """SIGINT while the console script runs a command (cli/main.py main): recorded, then Python's KeyboardInterrupt.
    Where the exception lands decides what becomes of it: inside an import a library may turn it into another
    exception (pydantic_core, Rust, panics into pyo3's PanicException, a BaseException: a traceback and exit 1 for
    SIGINT ~0.1 s after launch, new-user QA round 17), inside importlib's module-lock weakref callback Python drops it
    ("Exception ignored in …") and the command goes on. Recorded, any of them is answered as the interrupt it is."""
    state["interrupted"] = True
    raise KeyboardInterrupt


def quiet_dropped_interrupt(previous: Callable[[Any], object]) -> Callable[[Any], object]:
    """An unraisablehook that drops a KeyboardInterrupt record_interrupt raised (the command then ends as
    interrupted, cli/main.py main) and passes anything else on."""
    def hook(unraisable: Any) -> object:
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and state["interrupted"]:
            return None
        return previous(unraisable)
    return hook


def exit_code_for(exc: BaseException) -> int | None:
    """The exit status for an exception a command raised, its one line written to stderr; None: not handled here
    (with --debug, or an exit already decided), the caller re-raises it."""
    if isinstance(exc, BrokenPipeError):
        # the reader stopped reading (`| head`): not an error of gpuplan's, so no message (stderr may be the same
        # closed pipe); stdout goes to /dev/null so the flush at interpreter exit cannot raise again (the recipe of
        # the Python docs, "Note on SIGPIPE" in the signal module)
        silence_stdout()
        return EXIT_CLOSED_PIPE
    if state["debug"]:
        return None
    if isinstance(exc, KeyboardInterrupt) or (state["interrupted"] and not isinstance(exc, SystemExit)):
        error_line("Interrupted.")
        return EXIT_INTERRUPTED
    if isinstance(exc, PlannerError):
        error_line(f"Error: {exc}")
        return exc.exit_code
    if isinstance(exc, OSError) and getattr(exc, OUTPUT_MARK, False) and exc.errno in _output_failures():
        # `gpuplan … > /dev/full`: "internal error: OSError: [Errno 28] No space left on device" and exit 70 before
        # (new-user QA); stdout to /dev/null, so the flush at interpreter exit does not fail again
        silence_stdout()
        error_line(f"Error: cannot write the output: {_output_failures()[exc.errno]}. Free space where it goes, "
                   "or send it elsewhere.")
        return EXIT_BAD_INPUT
    if not isinstance(exc, Exception):
        return None
    if _interrupted(exc):  # Ctrl-C that landed inside a library which re-raised it as another exception
        # any command's, an estimate's too ("no record written" is profile's and calibrate's word, cli/commands.py)
        error_line("Interrupted.")
        return EXIT_INTERRUPTED
    what = str(exc).splitlines()[0][:300] if str(exc) else ""
    error_line(f"internal error: {type(exc).__name__}{': ' + what if what else ''}; rerun with --debug and report it")
    return EXIT_INTERNAL


def usage_error(exc: Exception) -> int:
    """A mistake in the command line itself that Typer's parser found (click's UsageError: an unknown option or
    command, a missing argument, an option's value of the wrong type or out of range), as one `Error:` line like
    any other bad input; its exit status (2). Typer printed the usage line, a help hint and the message in a box,
    its validator's wording kept ("Value error, 'xml' is not one of …", new-user QA round 12). The message names
    the option and the value typed, when the parser kept it (its pydantic error's input)."""
    from typer._click.exceptions import BadParameter, MissingParameter

    param = getattr(exc, "param", None)
    if isinstance(exc, BadParameter) and not isinstance(exc, MissingParameter) and param is not None:
        message = exc.message.removeprefix("Value error, ")
        opts = getattr(param, "opts", None) or [""]
        named = opts[0] if getattr(param, "param_type_name", "") == "option" else \
            getattr(param, "metavar", None) or str(getattr(param, "name", "") or "").upper()
        errors = getattr(exc.__cause__, "errors", None)
        typed = errors()[0].get("input") if callable(errors) and errors() else None
        if isinstance(typed, str) and repr(typed) not in message:
            message = f"{message.rstrip('.')} (got {typed!r})"
        ctx = getattr(exc, "ctx", None)
        if isinstance(typed, str) and ctx is not None:
            hint = _option_named(ctx.command, typed)
            message = f"{message.rstrip('.')}{hint}" if hint else message
        text = f"{named}: {message}" if named else message
    else:
        format_message = getattr(exc, "format_message", None)
        # one line: click lists choices on lines of their own ("Missing option '--from'. Choose from:\n\tskypilot,")
        text = " ".join((format_message() if callable(format_message) else str(exc)).split())
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and ctx.command.get_help_option(ctx) is not None:
        text += ("" if text.endswith((".", "?", "!")) else ".") + f" Try '{ctx.command_path} --help'."
    error_line(f"Error: {text}")
    code = getattr(exc, "exit_code", 2)
    return code if isinstance(code, int) else 2


def _option_named(command: object, typed: str) -> str:
    """'; use --html FILE instead' where the value typed is the name of another option of the command, the one that
    does what was asked (new-user QA round 14: `estimate --format html` was refused without naming --html)."""
    wanted = f"--{typed.strip().lower()}"
    for param in getattr(command, "params", ()):
        if wanted in (getattr(param, "opts", None) or ()):
            metavar = (getattr(param, "metavar", None) or "").strip("<>").upper()
            return f"; use {wanted}{' ' + metavar if metavar else ''} instead"
    return ""


def silence_stdout() -> None:
    """Point the process's stdout at /dev/null (when it is a real file descriptor)."""
    _silence(sys.stdout)


def silence_stderr() -> None:
    """Point the process's stderr at /dev/null, so what its buffer still holds flushes at exit without failing."""
    _silence(sys.stderr)


def _silence(stream: Any) -> None:
    import os

    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stream (tests) has no descriptor: nothing to flush
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _interrupted(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is in the exception's cause or context chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def echo_err(text: str) -> None:
    """One message line on stderr, as Typer's `echo` writes it (Typer imported here: ~30 ms that a plain estimate,
    which writes nothing on stderr, does not pay). A stderr that takes nothing (`2>/dev/full`, a closed pipe) drops
    the message: it is the last channel, and failing there changed the exit status that still says what happened
    (new-user QA round 21: bad input exited 1, not 2; a CSV whose warnings go to stderr exited 1, not 0)."""
    from typer import echo

    try:
        echo(text, err=True)
        sys.stderr.flush()
    except OSError:
        silence_stderr()


def note(text: str) -> None:
    """A note on stderr ('Note: …': an option that does nothing here, the confidence a side was planned at; a CSV's
    'Warning: …'), wrapped
    at word boundaries to the terminal it is read on (console.stderr_width), its continuation lines indented under
    its text, a path kept whole (new-user QA round 8: notes of 200-250 characters were one line, which a terminal
    folds mid-word); control characters shown, as in the output (console.clean)."""
    from planner.render.console import stderr_width, wrap_lines

    prefix = next((p for p in ("Note: ", "Warning: ") if text.startswith(p)), "")
    echo_err("\n".join(wrap_lines([text[len(prefix):]], stderr_width(), prefix, whole_words=True)))


def error_line(text: str) -> None:
    from planner.render.escape import terminal_block

    echo_err(terminal_block(text))  # line feeds kept (a message may list further problems below)


def out(text: str) -> None:
    """Write command output, control characters (ESC sequences, carriage returns) removed for the terminal; all of
    it, or BrokenPipeError (write_all)."""
    from planner.render.escape import terminal_block

    write_all(terminal_block(text))


def write_all(text: str) -> None:
    """Write `text` to stdout whole, or raise the error that stopped it. CPython's buffered stdout reports a write
    that the system cut short (the reader closed the pipe while a write larger than the pipe waited: `gpuplan
    validate --format json | head -c 100`) as a byte count, which the text layer drops: the rest was lost without
    an error and the command exited 0 (new-user QA; an estimate exited 141 only because its JSON's final line feed
    was a second write). Here the bytes go to the binary buffer until all are taken, so the next write meets the
    closed pipe (BrokenPipeError: exit_code_for's 141) or the full disk (OSError: exit_code_for's 'cannot write
    the output')."""
    import os

    stream = sys.stdout
    binary = getattr(stream, "buffer", None)
    try:
        if binary is None or not isinstance(getattr(stream, "encoding", None), str):
            stream.write(text)  # a stream with no binary layer (a program's own): its write is all there is
            return
        stream.flush()  # what was written as text first goes first
        if os.linesep != "\n":  # as the text layer translates line feeds
            text = text.replace("\n", os.linesep)
        view = memoryview(text.encode(stream.encoding, getattr(stream, "errors", None) or "strict"))
        while view:
            taken = binary.write(view)
            if not taken:  # None: a non-blocking stdout that would block (0: took nothing); never a silent loss
                import errno

                raise BlockingIOError(errno.EAGAIN, "standard output took none of the output")
            view = view[taken:]
    except OSError as exc:
        setattr(exc, OUTPUT_MARK, True)
        raise


def flush_output() -> None:
    """Flush stdout, as every command's handler does at its end (a closed pipe or a full disk shows there, inside
    the handler, not at interpreter exit); an error marked as the output's, as write_all's."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        setattr(exc, OUTPUT_MARK, True)
        raise


def wide(on: bool) -> None:
    from planner.render.console import set_wide

    set_wide(on)
