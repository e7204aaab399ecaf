"""Text output that fits the reader's terminal: the console width (COLUMNS, else the terminal, else 80), tables that
drop their least needed columns in a stated order until they fit, and the one place cell text is made inert."""
from __future__ import annotations

import io
import os
import unicodedata
from planner.dataclass import dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

DEFAULT_WIDTH = 80
"""Width when neither COLUMNS nor a terminal says: the classic terminal width, the width the docs are checked at."""
WIDE_WIDTH = 240
"""`--wide`: every column and every detail, for a wide window or a file; lines may exceed the terminal."""

_wide = {"on": False}


def set_wide(on: bool) -> None:
    """Switch the process to the wide view (`--wide`): every column, no folding to the terminal width."""
    _wide["on"] = on


def is_wide() -> bool:
    """Whether `--wide` is on."""
    return _wide["on"]


def terminal_width() -> int:
    """Columns to fit: COLUMNS when set (the POSIX convention, also what tests and docs use), else the terminal's
    width, else 80. Never below 40: nothing useful fits in less."""
    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit() and int(env) > 0:
        return max(40, int(env))
    import shutil  # here: only a table asks, and shutil imports bz2 and lzma (~1 ms of every start)

    return max(40, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


def make_console(buffer: io.StringIO, width: int | None = None) -> "Console":
    """A plain-text rich console writing into `buffer` at the terminal width (WIDE_WIDTH under --wide)."""
    from rich.console import Console

    if width is None:
        width = WIDE_WIDTH if is_wide() else terminal_width()
    return Console(file=buffer, width=width, force_terminal=False, color_system=None, highlight=False,
                   soft_wrap=False, emoji=False, markup=False)


def clean(text: object) -> str:
    """Text safe to print: control characters (ANSI escapes, carriage returns, bells) become visible \\xNN, so a
    name in a profile or a catalog cannot move the cursor or rewrite earlier lines; newlines and tabs stay."""
    value = str(text)
    if value.isprintable():
        return value
    return "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else f"\\x{ord(ch):02x}"
                   for ch in value)


def plain(text: object) -> "Text":
    """A rich Text that renders `text` literally: no markup ([bold] stays as typed), control characters shown."""
    from rich.text import Text

    return Text(clean(text))


@dataclass(frozen=True)
class Column:
    """A table column: its header, how it aligns, and when it is dropped on a narrow terminal."""

    header: str
    justify: str = "left"
    drop: int = 0
    """0: always shown. Higher numbers are dropped first when the table does not fit (1 last); --wide shows all."""
    wide_only: bool = False
    """Shown only under --wide (details the compact view leaves out)."""
    legend: str = ""
    """What the column means, added to the table's caption only when the column is shown."""


def fit_table(console: "Console", columns: Sequence[Column], rows: Sequence[Sequence[object]],
              title: str | None = None, caption: str | None = None) -> "Table":
    """A table with the columns that fit `console.width`: first with every column (a compact border when the full
    border does not fit), then dropping columns by descending `drop` until it fits; what still does not fit wraps
    inside its cells (rich folds to the console width), so no line is ever wider than the console."""
    from rich import box

    keep = [i for i, c in enumerate(columns) if is_wide() or not c.wide_only]
    order = sorted((i for i in keep if columns[i].drop > 0), key=lambda i: -columns[i].drop)

    def build(indices: list[int], style: box.Box, body: Sequence[Sequence[object]] = rows) -> "Table":
        from rich.table import Table

        # a legend explains a column only where the column is printed (a narrow terminal drops some)
        notes = "; ".join(part for part in [caption or "", *(columns[i].legend for i in indices)] if part)
        table = Table(title=plain(title) if title else None, caption=plain(notes) if notes else None,
                      title_justify="left", caption_justify="left", box=style,
                      padding=(0, 1) if style is box.HEAVY_HEAD else 0, show_edge=style is box.HEAVY_HEAD)
        for i in indices:
            table.add_column(plain(columns[i].header), justify=columns[i].justify, overflow="fold")  # type: ignore
        for row in body:
            table.add_row(*(plain(row[i]) for i in indices))
        return table

    # A table's natural width is the sum of its columns' widest cells (a plain Text measures its longest line, and
    # a column's padding is the same on every row) plus the borders, so a table of the header and one row holding
    # each column's widest cell measures the same as the whole table, at the cost of two rows instead of hundreds.
    widest = [max((row[i] for row in rows), key=_text_width) if rows else "" for i in range(len(columns))]

    def natural_width(indices: list[int], style: box.Box) -> int:
        # measured without the console's limit (rich clamps a measurement to the width it is given)
        from rich.measure import Measurement

        probe = build(indices, style, [widest] if rows else [])
        return Measurement.get(console, console.options.update(width=10_000, max_width=10_000), probe).maximum

    if is_wide() or natural_width(keep, box.HEAVY_HEAD) <= console.width:
        return build(keep, box.HEAVY_HEAD)
    indices = list(keep)
    for i in order:
        if natural_width(indices, box.SIMPLE_HEAD) <= console.width:
            break
        indices.remove(i)
    return build(indices, box.SIMPLE_HEAD)


def _text_width(value: object) -> int:
    """Cells of the longest line of `value` as plain() prints it: what rich measures a Text's natural width by."""
    from rich.cells import cell_len

    return max((cell_len(line) for line in clean(value).splitlines()), default=0)


def wrap_lines(lines: Sequence[str], width: int, prefix: str = "") -> list[str]:
    """Sentences wrapped at word boundaries to `width` columns, continuation lines indented under the prefix."""
    import textwrap

    out: list[str] = []
    indent = " " * len(prefix)
    for line in lines:
        out += textwrap.wrap(clean(line), width, initial_indent=prefix, subsequent_indent=indent,
                             break_on_hyphens=False) or [""]
    return out


def print_lines(console: "Console", lines: Sequence[str], prefix: str = "") -> None:
    """Print sentences wrapped at word boundaries to the console width (continuation lines indented)."""
    for line in wrap_lines(lines, console.width, prefix):
        console.print(line, crop=False, overflow="ignore")
