"""A parsed YAML document and the limits its parser keeps: the types planner/io/yamlfile.py (reading) and
planner/io/yamlparse.py (parsing, imported only when a text is parsed) share, apart so neither imports the other."""
from __future__ import annotations

from dataclasses import field
from typing import Any

from planner.dataclass import dataclass
from planner.errors import InputError
from planner.io.positions import SourcePositions

MAX_NODES = 200_000
"""Largest number of YAML nodes visited (aliases counted each time), which stops 'billion laughs' documents."""
MAX_DEPTH = 64
"""Deepest nesting accepted; real profiles are four levels deep."""

Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class YamlDocument:
    """A loaded YAML document and the (line, column) of every mapping key and sequence item, by path."""

    data: Any
    file: str
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    overrides: dict[Path_, str] = field(default_factory=dict)
    """Paths set by `--set KEY=VALUE` (what-if), with the option's text: errors there cite the option."""

    @property
    def positions(self) -> SourcePositions:
        """Where each field sits, without the data: what travels beside a validated model."""
        return SourcePositions(self.file, self.marks, self.overrides)

    def where(self, path: Path_) -> tuple[int | None, int | None]:
        """Line and column (1-based) of the deepest known prefix of `path`."""
        return self.positions.where(path)

    def error(self, path: Path_, message: str, hint: str | None = None) -> InputError:
        """An InputError placed at `path` in this file (or at the `--set` that set it)."""
        return self.positions.error(path, message, hint)
