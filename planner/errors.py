"""The one error family: input problems that name file, line, field and a fix."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_COMMAND_LINE: ContextVar[bool] = ContextVar("planner_command_line", default=False)
"""True while a `gpuplan` command runs (cli/guard.py command_line): its errors name options, a library call's the
keywords of planner.load_catalog, load_profile and plan."""

LIBRARY_NAMES = {"--set": "overrides", "--confidence": "confidence", "--calibrations": "calibrations",
                 "--measurements": "measurements", "--catalog": "load_catalog's path",
                 "--local-usd-per-hour": "local_usd_per_hour"}
"""Each command-line option an error may name, as a Python caller of planner/api.py passes the same input."""


@contextmanager
def command_line() -> Iterator[None]:
    """Within it, errors name the command-line options (the CLI's commands run in it); outside, the library's."""
    token = _COMMAND_LINE.set(True)
    try:
        yield
    finally:
        _COMMAND_LINE.reset(token)


def option(flag: str) -> str:
    """An input as the caller names it: the option ('--confidence') on the command line, else the keyword
    ('confidence'). The one place an error's wording depends on the caller (new-user QA: errors raised in a
    notebook told the user to use --set)."""
    return flag if _COMMAND_LINE.get() else LIBRARY_NAMES[flag]


def override(text: str) -> str:
    """A what-if override as the caller wrote it, the place its errors name: `--set training.epochs=3` on the
    command line, `overrides 'training.epochs=3'` in Python."""
    return f"--set {text}" if _COMMAND_LINE.get() else f"overrides {text!r}"


def override_example(*texts: str) -> str:
    """How to write the overrides `texts`: '--set a=1 or --set b=2', or "overrides=['a=1', 'b=2']"."""
    if _COMMAND_LINE.get():
        return " or ".join(f"--set {t}" for t in texts)
    return f"overrides={list(texts)!r}"


class PlannerError(Exception):
    """Bad input or usage; the CLI prints it as one `Error: …` line and exits 2."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
        hint: str | None = None,
        also: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.hint = hint
        self.also = also
        """Further problems of the same file, each a placed line printed under this one."""

    def __str__(self) -> str:
        place = ""
        if self.file:
            place = self.file
            if self.line is not None:
                place += f":{self.line}"
                if self.column is not None:
                    place += f":{self.column}"
            place += ": "
        field = f"{self.field}: " if self.field else ""
        text = f"{place}{field}{self.message}"
        if self.hint:
            text += ("" if text.endswith((".", "?", "!", ":")) else ".") + f" {self.hint}"
        return text + "".join(f"\n  {line}" for line in self.also)


class InputError(PlannerError):
    """A profile, catalog or record that cannot be used as written."""


class CatalogLookupError(PlannerError):
    """A GPU, provider or preset name that the catalog does not know."""


class MissingPriorError(CatalogLookupError, LookupError):
    """The catalog has no efficiency prior or curve for a case (priors.yaml missing or incomplete). A LookupError
    too, so callers that fall back to another source when a prior is missing keep doing so."""


def did_you_mean(word: str, choices: Iterable[str], n: int = 3) -> str:
    """'Did you mean …?' for the closest choices, or '' when nothing is close."""
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered:  # only the case differs
        return f"Did you mean {lowered[word.lower()]!r}?"
    import difflib  # here: only a message needs it (~1 ms of every start otherwise, docs/internals.md 'Start-up')

    close = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)
    if not close:
        return ""
    names = [lowered[c] for c in close]
    if len(names) == 1:
        return f"Did you mean {names[0]!r}?"
    return "Did you mean " + ", ".join(repr(x) for x in names[:-1]) + f" or {names[-1]!r}?"
