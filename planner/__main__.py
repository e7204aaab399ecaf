"""`python -m planner` and the `gpuplan` console script (pyproject [project.scripts]): `main`.

The console script imports this module before it calls `main`, and nothing that `main` catches can cover what runs
before: so this module and planner/__init__.py import nothing at load (a Ctrl-C in the ~12 ms of cli/main.py's own
imports, planner.cli, the error handler, printed a traceback: new-user QA round 11), and `main` imports the command
line inside its handler."""
import sys


def main() -> None:
    """The command line (cli/main.py main); a Ctrl-C while that is imported, before its handler is in place, is
    answered as the handler answers one (cli/guard.py: "Interrupted.", exit status 130; a traceback with --debug)."""
    try:
        from planner.cli.main import main as command_line
    except KeyboardInterrupt:
        if "--debug" in sys.argv[1:]:
            raise
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
    command_line()


if __name__ == "__main__":
    main()
