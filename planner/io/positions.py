"""Source positions beside a validated model: field path → (line, column) in the file it came from, so the core
can place an error at the field it names without holding the raw YAML document."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from planner.dataclass import dataclass
from typing import Any

from planner.errors import InputError, override

FieldPath = tuple[Any, ...]


@dataclass(frozen=True)
class SourcePositions:
    """Where each field sits: `file` and a map from field path to (line, column), 1-based. A profile built from a
    dict has no lines: its errors name the field only."""

    file: str
    marks: Mapping[FieldPath, tuple[int, int]] = field(default_factory=dict)
    overrides: Mapping[FieldPath, str] = field(default_factory=dict)
    """Paths set by `--set KEY=VALUE` (what-if), with the option's text: an error there cites the option, not the
    file's line that the option replaced."""

    def where(self, path: FieldPath) -> tuple[int | None, int | None]:
        """Line and column of the deepest known prefix of `path` (None, None when unknown)."""
        for cut in range(len(path), -1, -1):
            mark = self.marks.get(tuple(path[:cut]))
            if mark is not None:
                return mark
        return None, None

    def error(self, path: FieldPath, message: str, hint: str | None = None) -> InputError:
        """An InputError placed at `path`: at the `--set` that set it or a mapping above it, else in the file."""
        dotted = ".".join(str(p) for p in path) or None
        for cut in range(len(path), 0, -1):
            option = self.overrides.get(tuple(path[:cut]))
            if option is not None:
                return InputError(message, file=override(option), field=dotted, hint=hint)
        line, column = self.where(path)
        made = self._made_by_options(path)
        if made:  # the mapping holding `path` is not in the file: the options that wrote it made it
            others = f" The section comes from {', '.join(made)}." if len(made) > 1 else ""
            return InputError(message, file=made[0], field=dotted, hint=" ".join(filter(None, (others[1:], hint))))
        below = [override(option) for key, option in self.overrides.items()
                 if len(key) > len(path) and tuple(key[:len(path)]) == tuple(path)]
        if below:  # a mapping's own check (two fields that disagree) may read values the options set, not the file
            hint = " ".join(filter(None, (f"Values under it come from {', '.join(below)}.", hint)))
        return InputError(message, file=self.file, line=line, column=column, field=dotted, hint=hint)

    def _made_by_options(self, path: FieldPath) -> list[str]:
        """The options under the shallowest mapping at or above `path` that the file lacks (the options made it: a
        required field missing there is theirs, not the file's), or [] where the file holds every mapping above."""
        if not self.marks:  # a profile built from a dict: no lines to tell a file's mapping from an option's
            return []
        for cut in range(1, len(path) + 1):
            section = tuple(path[:cut])
            if section not in self.marks:
                return [override(option) for key, option in self.overrides.items()
                        if tuple(key[:cut]) == section]
        return []
