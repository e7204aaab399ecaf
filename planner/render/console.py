"""Text output that fits the reader's terminal: the console width (COLUMNS, else the terminal, else 80), tables that
drop their least needed columns in a stated order until they fit, and the one place cell text is made inert."""
from __future__ import annotations

import io
import os
import sys
import unicodedata
from planner.dataclass import dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from rich import box
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
    return max(40, _terminal_columns())


def _terminal_columns() -> int:
    """shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns, as it reads them (tests/test_output_fit.py), without
    importing shutil, which imports zlib, bz2 and lzma (~2 ms of a table's start): COLUMNS when int() reads a positive
    number there, else the width of the terminal on stdout, else DEFAULT_WIDTH."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return DEFAULT_WIDTH
    return size.columns or DEFAULT_WIDTH


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
    widths = column_widths(columns, rows)
    if is_wide() or natural_width(widths, keep, framed=True) <= console.width:
        return _build(columns, rows, keep, box.HEAVY_HEAD, title, caption)
    indices = list(keep)
    for i in order:
        if natural_width(widths, indices, framed=False) <= console.width:
            break
        indices.remove(i)
    return _build(columns, rows, indices, box.SIMPLE_HEAD, title, caption)


def _build(columns: Sequence[Column], rows: Sequence[Sequence[object]], indices: list[int], style: box.Box,
           title: str | None = None, caption: str | None = None) -> "Table":
    """The rich table of `columns[indices]`: the full border with a cell's padding, else `style` without either."""
    from rich import box
    from rich.table import Table

    # a legend explains a column only where the column is printed (a narrow terminal drops some)
    notes = "; ".join(part for part in [caption or "", *(columns[i].legend for i in indices)] if part)
    table = Table(title=plain(title) if title else None, caption=plain(notes) if notes else None,
                  title_justify="left", caption_justify="left", box=style,
                  padding=(0, 1) if style is box.HEAVY_HEAD else 0, show_edge=style is box.HEAVY_HEAD)
    for i in indices:
        table.add_column(plain(columns[i].header), justify=columns[i].justify, overflow="fold")  # type: ignore
    for row in rows:
        table.add_row(*(plain(row[i]) for i in indices))
    return table


def column_widths(columns: Sequence[Column], rows: Sequence[Sequence[object]]) -> list[int]:
    """Each column's natural width in cells: its header's or widest cell's longest line, as plain() prints it."""
    return [max([_text_width(column.header), *(_text_width(row[i]) for row in rows)])
            for i, column in enumerate(columns)]


def natural_width(widths: Sequence[int], indices: list[int], framed: bool) -> int:
    """The width rich measures for the _build() table of `indices` (framed: box.HEAVY_HEAD, else box.SIMPLE_HEAD)
    when nothing limits it, its Measurement's maximum (tests/test_output_fit.py): each column's natural width
    (column_widths) and its cells' padding (one cell each side when framed), a rule between columns and, when
    framed, the two edges. Worked out, not measured: rich measures every cell of a table it is given, and a
    run tries ~20 tables."""
    pad = 2 if framed else 0
    return sum(widths[i] + pad for i in indices) + pad + len(indices) - 1


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
        if prints_as_is(line):
            # rich would print the line itself (tests/test_output_fit.py), after making, wrapping and rendering a
            # Text of it: a run prints ~100 such lines
            console.file.write(line + "\n")
        else:
            console.print(line, crop=False, overflow="ignore")


def prints_as_is(line: str) -> bool:
    """Whether rich prints `line` unchanged (print_lines' console.print): under overflow "ignore" it neither wraps
    nor crops a line, but expands tabs and drops control codes, which a printable line has none of."""
    return line.isprintable()
