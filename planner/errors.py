"""The one error family: input problems that name file, line, field and a fix."""
from __future__ import annotations

from collections.abc import Iterable


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
