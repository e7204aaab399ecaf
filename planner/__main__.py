"""`python -m planner` and the `gpuplan` console script (pyproject [project.scripts]): `main`.

The console script imports this module before it calls `main`, and nothing that `main` catches can cover what runs
before: so this module and planner/__init__.py import nothing at load (a Ctrl-C in the ~12 ms of cli/main.py's own
imports, planner.cli, the error handler, printed a traceback: new-user QA round 11), and `main` imports the command
line inside its handler. Loading this module answers Ctrl-C (`interrupted`) from then on, until cli/main.py's
handler takes over: the console script's own lines after the import (`sys.argv[0] = re.sub(…)`, the call of `main`)
ran under Python's default handler, whose KeyboardInterrupt no handler caught (a traceback from bin/gpuplan, new-user
QA). What runs before this module is loaded (the interpreter's start-up, the import of the package) is out of its
reach: there no gpuplan code has run yet."""
import os
import sys

# signal's C half, loaded with the interpreter: `signal` itself imports enum, ~1 ms of every start
import _signal  # type: ignore[import-not-found]

INTERRUPTED = 130
"""128 + SIGINT (2): the status a shell reports for a program Ctrl-C ended; cli/guard.py's for a KeyboardInterrupt."""


def interrupted(signum: int, frame: object) -> None:
    """SIGINT outside a command's handler: the handler's answer (cli/guard.py: "Interrupted.", exit status 130) at
    once, with no traceback; with --debug the KeyboardInterrupt (and its traceback) that --debug asks for. It leaves
    by os._exit: the signal can land anywhere, inside an import or the console script's own lines, where an
    exception would meet no handler."""
    if "--debug" in sys.argv[1:]:
        raise KeyboardInterrupt
    try:
        os.write(2, b"Interrupted.\n")
    except OSError:  # stderr closed: the status alone says it
        pass
    os._exit(INTERRUPTED)


# only over Python's own handler: SIGINT ignored (a shell's background job inherits it so, and Python keeps it)
# stays ignored
if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, interrupted)


def main() -> None:
    """The command line (cli/main.py main); a Ctrl-C while that is imported, before its handler is in place, is
    answered as the handler answers one (cli/guard.py: "Interrupted.", exit status 130; a traceback with --debug)."""
    try:
        from planner.cli.main import main as command_line
    except KeyboardInterrupt:
        if "--debug" in sys.argv[1:]:
            raise
        sys.stderr.write("Interrupted.\n")
        sys.exit(INTERRUPTED)
    command_line()


if __name__ == "__main__":
    main()
