"""Text output that fits the reader's terminal: the console width (COLUMNS, else the terminal, else 80), tables that
drop their least needed columns in a stated order until they fit, else wrap inside their cells between words, and
the one place cell text is made inert."""
from __future__ import annotations

import io
import os
import re
import sys
import unicodedata
from planner.dataclass import dataclass
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from rich import box
    from rich.console import Console, RenderableType
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


def stderr_width() -> int:
    """Columns to wrap a note on stderr to (cli/guard.py note): COLUMNS when set, else the width of the terminal stderr
    is on (stdout may be a pipe: `--format json | jq`), else 80; never below 40; WIDE_WIDTH under --wide."""
    if is_wide():
        return WIDE_WIDTH
    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit() and int(env) > 0:
        return max(40, int(env))
    try:
        size = os.get_terminal_size(sys.__stderr__.fileno())  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return DEFAULT_WIDTH
    return max(40, size.columns or DEFAULT_WIDTH)


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


def make_console(buffer: io.StringIO, width: int | None = None) -> "TextConsole":
    """A plain-text console writing into `buffer` at the terminal width (WIDE_WIDTH under --wide)."""
    if width is None:
        width = WIDE_WIDTH if is_wide() else terminal_width()
    return TextConsole(buffer, width)


def rich_console(buffer: io.StringIO, width: int) -> "Console":
    """The rich console behind TextConsole: plain text (no colour, markup, emoji or highlighting) at `width`."""
    from rich.console import Console

    return Console(file=buffer, width=width, force_terminal=False, color_system=None, highlight=False,
                   soft_wrap=False, emoji=False, markup=False)


class TextConsole:
    """What the text renderers print to: a fitted table rich would print as a plain grid (FittedTable.plain_text)
    and an empty line are written as rich prints them, without importing rich (its import and a table's layout
    were ~240 M of a table estimate's ~2,500 M instructions); anything else goes to the rich console of the same
    buffer and width, made on first use."""

    def __init__(self, file: io.StringIO, width: int) -> None:
        self.file = file
        self.width = width
        self._rich: Console | None = None
        self._scratch = io.StringIO()

    @property
    def rich(self) -> "Console":
        """The rich console, writing into a scratch buffer that print() passes on line by line."""
        if self._rich is None:
            self._rich = rich_console(self._scratch, self.width)
        return self._rich

    def print(self, *objects: object, **options: Any) -> None:
        """rich's Console.print: `objects` on one line (nothing: an empty line), each line written without the
        spaces that pad it to its table's width or its column's (a leftover of earlier new-user QA rounds: a table's
        title and its last column's cells ended in up to ~90 spaces, which a copied table or a CI log keeps)."""
        if not objects and not options:
            self.file.write("\n")
            return
        if len(objects) == 1 and not options and isinstance(objects[0], FittedTable):
            text = objects[0].plain_text(self.width)
            if text is not None:
                self.file.write(_trimmed(text))
                return
        self.rich.print(*objects, **options)
        self.file.write(_trimmed(self._scratch.getvalue()))
        self._scratch.seek(0)
        self._scratch.truncate()


def _trimmed(text: str) -> str:
    """`text` without the spaces at the end of its lines."""
    return re.sub(r"[ \t]+$", "", text, flags=re.MULTILINE) if " \n" in text or text.endswith(" ") else text


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
    identifies: bool = False
    """Part of what a row is (a plan's GPU, provider, count, layout), not a figure of it: such a column is dropped
    after every other when rows would otherwise read alike, and when it is dropped all the same the caption names
    its cell for each row alike in the identifying columns shown (fit_table)."""
    labels: bool = False
    """The row's number ('#'): the caption names a row by it."""


def fit_table(console: TextConsole, columns: Sequence[Column], rows: Sequence[Sequence[object]],
              title: str | None = None, caption: str | None = None) -> "FittedTable":
    """A table with the columns that fit `console.width`: first with every column (a compact border when the full
    border does not fit), then dropping columns by descending `drop` until it fits; what still does not fit wraps
    inside its cells (rich folds to the console width), so no line is ever wider than the console."""
    keep = [i for i, c in enumerate(columns) if is_wide() or not c.wide_only]
    order = sorted((i for i in keep if columns[i].drop > 0), key=lambda i: -columns[i].drop)
    widths = column_widths(columns, rows)
    if is_wide() or natural_width(widths, keep, framed=True) <= console.width:
        return FittedTable(columns, rows, keep, True, widths, title, caption, console.width)

    def dropping(order: list[int]) -> list[int]:
        indices = list(keep)
        for i in order:
            if natural_width(widths, indices, framed=False) <= console.width:
                break
            indices.remove(i)
        return indices

    indices = dropping(order)
    if alike(columns, rows, indices):
        # new-user QA: at 80 columns four '12 RTX-A4000 simplepod' rows read alike, the layout that tells them apart
        # dropped for width: the columns that say what a row is go after every figure, where the table then fits
        kept = dropping(sorted(order, key=lambda i: (columns[i].identifies, -columns[i].drop)))
        if not alike(columns, rows, kept) and natural_width(widths, kept, framed=False) <= console.width:
            indices = kept
    return FittedTable(columns, rows, indices, False, widths, title, caption, console.width)


def alike(columns: Sequence[Column], rows: Sequence[Sequence[object]], indices: list[int]
          ) -> list[tuple[list[int], list[list[int]]]]:
    """Rows that read the same in every identifying column of `indices` while they differ in one left out: each
    (the identifying columns left out they differ in, the groups of rows alike), in the rows' order."""
    shown = [i for i in indices if columns[i].identifies]
    hidden = [i for i, c in enumerate(columns) if c.identifies and i not in indices]
    if not hidden:
        return []
    groups: dict[tuple[str, ...], list[int]] = {}
    for r, row in enumerate(rows):
        groups.setdefault(tuple(clean(row[i]) for i in shown), []).append(r)
    found: dict[tuple[int, ...], list[list[int]]] = {}
    for members in groups.values():
        differ = tuple(i for i in hidden if len({clean(rows[r][i]) for r in members}) > 1)
        if differ:
            found.setdefault(differ, []).append(members)
    return [(list(differ), sets) for differ, sets in found.items()]


class FittedTable:
    """fit_table's answer: the columns `indices` of `columns` over `rows`, framed (rich's box.HEAVY_HEAD, a cell of
    padding each side) or not (box.SIMPLE_HEAD, no edge, no padding). Printed as a plain grid when rich would print
    one (plain_text), else as rich's Table (rich_table; also what rich itself prints for it, `__rich__`)."""

    def __init__(self, columns: Sequence[Column], rows: Sequence[Sequence[object]], indices: list[int], framed: bool,
                 widths: list[int], title: str | None, caption: str | None, width: int) -> None:
        self.all_columns, self.rows, self.indices, self.framed = columns, rows, indices, framed
        self.widths, self.title, self.caption = widths, title, caption
        self.width = width
        """The console's width the table is laid out for."""
        self._laid: dict[int, tuple[list[int], list[list[str]]] | None] = {}
        self.columns = [columns[i] for i in indices]
        """The columns shown, in order."""

    def notes(self) -> str:
        """The caption: the table's own, then the legend of each column shown (a narrow terminal drops some), then
        the columns dropped for the width (left_out), then what tells apart the rows that read alike without the
        identifying columns dropped (told_apart)."""
        legends = "; ".join(part for part in [self.caption or "", *(c.legend for c in self.columns)] if part)
        parts = [p for p in (legends, self.left_out(), self.told_apart()) if p]
        # a part followed by another ends on a full stop
        return " ".join([*(p if p.endswith(".") else p + "." for p in parts[:-1]), *parts[-1:]])

    def left_out(self) -> str:
        """'Left out at this width: billing, storage $/GB-mo (--wide shows every column).' when the terminal's width
        dropped columns (new-user QA round 26: `catalog providers` at 80 columns showed 5 of its 9 columns and said
        nothing); '' when none was (a column only --wide shows is not one)."""
        told = {i for differ, _ in alike(self.all_columns, self.rows, self.indices) for i in differ}  # told_apart's
        dropped = [clean(c.header) for i, c in enumerate(self.all_columns)
                   if i not in self.indices and i not in told and not c.wide_only]
        if not dropped:
            return ""
        return f"Left out at this width: {', '.join(dropped)} (--wide shows every column)."

    def told_apart(self) -> str:
        """For rows alike in every identifying column shown (alike): the dropped identifying cells that tell them
        apart, each row named by its label, each group of alike rows apart by a dash: 'Alike above but for their
        layout (--wide shows every column): #1 zero1, mb 3, 3 inst.; #2 zero1, mb 3, 4 inst. — #5 none, mb 1; …'."""
        label = next((i for i, c in enumerate(self.all_columns) if c.labels), None)

        def name(r: int) -> str:
            if label is None:
                return f"row {r + 1}"
            return f"{clean(self.all_columns[label].header)}{clean(self.rows[r][label])}"

        sentences = []
        for differ, groups in alike(self.all_columns, self.rows, self.indices):
            names = " / ".join(clean(self.all_columns[i].header) for i in differ)
            text = " — ".join("; ".join(f"{name(r)} " + " / ".join(clean(self.rows[r][i]) or "–" for i in differ)
                                        for r in members) for members in groups)
            sentences.append(f"Alike above but for their {names} (--wide shows every column): {text}"
                             + ("" if text.endswith(".") else "."))
        return " ".join(sentences)

    def rich_table(self) -> "RenderableType":
        """The rich table: the full border with a cell's padding, else box.SIMPLE_HEAD without either; narrowed to
        the console's width as plain_text narrows it (layout); its title above it and its caption below as
        plain_text prints them (_annotation_lines) where their text is printable."""
        from rich import box
        from rich.console import Group

        laid = self.layout(self.width)
        title, notes = self.title, self.notes()
        table_width = self._table_width(self.width)
        above: list[str] = []
        below: list[str] = []
        if table_width is not None:  # broken where plain_text breaks them: never before a separator
            if title and clean(title).isprintable():
                above, title = _annotation_lines(clean(title), table_width, self.width), None
            if notes and clean(notes).isprintable():
                below, notes = _annotation_lines(clean(notes), table_width, self.width), ""
        table = _build(self.all_columns, self.rows, self.indices, box.HEAVY_HEAD if self.framed else box.SIMPLE_HEAD,
                       title, notes, *(laid or (None, None)))
        if not above and not below:
            return table
        from rich.text import Text

        # no_wrap: printed as laid out (rich's wrap would drop a trailing space of a line it counts past the width)
        return Group(*(Text(line, no_wrap=True) for line in above), table,
                     *(Text(line, no_wrap=True) for line in below))

    def __rich__(self) -> "RenderableType":
        return self.rich_table()

    def plain_text(self, width: int) -> str | None:
        """The lines rich prints for rich_table() on a plain console `width` cells wide, laid out as rich lays it
        out (rich/table.py): each column at its widest cell, or as `layout` narrows the columns, each cell's lines
        justified in its column. Only for cells of one printable line each (no tab, newline or control code to
        expand, split or show), left-, right- or centre-justified, and not on Windows, where rich may swap the box
        for the legacy console: None otherwise, for rich to print. tests/test_output_fit.py compares both over
        random tables."""
        if sys.platform == "win32" or not self.columns:
            return None
        if any(c.justify not in ("left", "right", "center") for c in self.columns):
            return None
        texts = [[clean(c.header) for c in self.columns],
                 *([clean(row[i]) for i in self.indices] for row in self.rows)]
        if not all(text.isprintable() for line in texts for text in line):
            return None
        title, notes = clean(self.title or ""), clean(self.notes())
        if not (title.isprintable() and notes.isprintable()):
            return None
        pad = 1 if self.framed else 0
        sizes = self._sizes(width)
        table_width = self._table_width(width)
        if sizes is None or table_width is None:
            return None
        lines = _annotation_lines(title, table_width, width) if title else []
        space = " " * pad

        def row(cells: list[list[str]], header: bool) -> list[list[str]]:
            """The row's lines, each a list of its cells: every cell's lines padded, the shorter cells with blank
            lines below (above, in the header: rich aligns a header to the bottom)."""
            wrapped = [[f"{space}{line}{space}" for line in cell] for cell in cells]
            height = max(len(cell) for cell in wrapped)
            for i, cell in enumerate(wrapped):
                blank = [" " * sizes[i]] * (height - len(cell))
                wrapped[i] = blank + cell if header else cell + blank
            return [list(line) for line in zip(*wrapped)]

        cells = self.cell_lines(width)
        if self.framed:
            top, head, rule, body, bottom = HEAVY_HEAD
            lines.append(top[0] + top[2].join(top[1] * size for size in sizes) + top[3])
            lines += [head[0] + head[1].join(line) + head[2] for line in row(cells[0], True)]
            lines.append(rule[0] + rule[2].join(rule[1] * size for size in sizes) + rule[3])
            lines += [body[0] + body[1].join(line) + body[2] for texts in cells[1:] for line in row(texts, False)]
            lines.append(bottom[0] + bottom[2].join(bottom[1] * size for size in sizes) + bottom[3])
        else:  # box.SIMPLE_HEAD without its edge: cells apart by a space, a rule under the header
            lines += [" ".join(line) for line in row(cells[0], True)]
            lines.append("─" * table_width)
            lines += [" ".join(line) for texts in cells[1:] for line in row(texts, False)]
        if notes:
            lines += _annotation_lines(notes, table_width, width)
        return "".join(line + "\n" for line in lines)

    def _sizes(self, width: int) -> list[int] | None:
        """Each column's width in cells, padding included, on a console `width` cells wide: as `layout` narrows the
        columns, else as rich measures them (_column_sizes)."""
        laid = self.layout(width)
        pad = 1 if self.framed else 0
        return self._column_sizes(width) if laid is None else [size + 2 * pad for size in laid[0]]

    def _table_width(self, width: int) -> int | None:
        """The table's width in cells on a console `width` cells wide, what its title and caption wrap to; None
        where rich lays it out otherwise (no column sizes, or wider than the console)."""
        sizes = self._sizes(width) if self.indices else None
        if sizes is None:
            return None
        table_width = sum(sizes) + len(sizes) - 1 + (2 if self.framed else 0)
        return table_width if table_width <= width else None

    def cell_lines(self, width: int) -> list[list[list[str]]]:
        """Each cell's lines as plain_text prints them on a console `width` cells wide (each justified in its
        column, without the padding), the header's first: wrapped at word boundaries, folded only where a word is
        wider than its column. For a table plain_text prints (not None)."""
        from rich.cells import cell_len

        pad = 2 if self.framed else 0
        laid = self.layout(width)
        if laid is not None:
            inner, cells = laid
        else:
            inner = [size - pad for size in self._column_sizes(width) or []]
            cells = [[clean(c.header) for c in self.columns],
                     *([clean(row[i]) for i in self.indices] for row in self.rows)]
        out = []
        for texts in cells:
            line = []
            for text, column, size in zip(texts, self.columns, inner):
                if len(text) <= size and cell_len(text) <= size and "\n" not in text:  # fits: justified as is
                    if column.justify != "left":
                        text = text.rstrip()
                    gap = size - cell_len(text)
                    left = 0 if column.justify == "left" else gap if column.justify == "right" else gap // 2
                    line.append([f"{' ' * left}{text}{' ' * (gap - left)}"])
                else:  # rich wraps each of its lines (Text.wrap)
                    line.append([wrapped for part in text.split("\n") for wrapped in _wrap(part, size, column.justify)])
            out.append(line)
        return out

    def _column_sizes(self, width: int) -> list[int] | None:
        """Each column's width in cells, padding included, on a console `width` cells wide, as rich measures it
        (rich/table.py Table._calculate_column_widths: no expansion, no fixed or minimum widths): its widest cell's,
        and where the table is wider than the console, the widest columns narrowed first (Table._collapse_widths),
        then all evenly. None where a column would get no room for its text (rich then measures and renders
        differently)."""
        from rich._ratio import ratio_reduce

        pad = 2 if self.framed else 0
        room = width - len(self.indices) + 1 - (2 if self.framed else 0)  # the width less the rules and the edges
        if room - pad < 1:
            return None
        sizes = [min(self.widths[i] + pad, room) or 1 for i in self.indices]
        if sum(sizes) > room:
            total, excess = sum(sizes), sum(sizes) - room
            while total and excess > 0:  # Table._collapse_widths: the widest columns narrowed to the next widest
                widest = max(sizes)
                next_widest = max(size if size != widest else 0 for size in sizes)
                if not widest - next_widest:
                    break
                sizes = ratio_reduce(excess, [1 if size == widest else 0 for size in sizes],
                                     [min(excess, widest - next_widest)] * len(sizes), sizes)
                total = sum(sizes)
                excess = total - room
            if total > room:  # the last resort: every column narrowed evenly
                sizes = ratio_reduce(total - room, [1] * len(sizes), sizes, sizes)
        if min(sizes) < pad + 1:
            return None
        return sizes

    def layout(self, width: int) -> tuple[list[int], list[list[str]]] | None:
        """Where the table is wider than a console `width` cells wide and _narrow finds widths (every column at
        least one cell): each column's width (padding excluded) as _narrow sets it, and the cells (the header first)
        with each cell its column wraps broken into lines ('\\n') no wider than they need to be (_broken), so that
        both renderers print the same lines. None otherwise: the table as rich lays it out (_column_sizes)."""
        if width not in self._laid:
            self._laid[width] = self._layout(width)
        return self._laid[width]

    def _layout(self, width: int) -> tuple[list[int], list[list[str]]] | None:
        if not self.indices or self._column_sizes(width) is None:
            return None
        pad = 2 if self.framed else 0
        room = width - len(self.indices) + 1 - (2 if self.framed else 0)  # the width less the rules and the edges
        natural = [min(self.widths[i] + pad, room) or 1 for i in self.indices]  # as _column_sizes measures
        if sum(natural) <= room:
            return None
        cells = [[clean(c.header) for c in self.columns],
                 *([clean(row[i]) for i in self.indices] for row in self.rows)]
        narrowed = _narrow([list(column) for column in zip(*cells)], [size - pad for size in natural],
                           room - pad * len(natural))
        if narrowed is None:
            return None
        widths, hyphens = narrowed
        return widths, [[_broken(*cell) for cell in zip(texts, widths, hyphens)] for texts in cells]


_WORD = r"\s*\S+\s*"
"""A word as rich wraps text (rich/_wrap.py words): its leading whitespace (the line's first word) and trailing
(compiled when a table is narrowed: re's cache)."""
SEPARATORS = ("·", "—", ">")
"""Marks between the items of a cell, a title or a sentence ('1× RTX-3060-TI · simplepod', 'P50 — the P10–P90
interval', 'σ 0.25 > the fitted 0.07'): a line never starts with one, the break goes after it, before the next item
(new-user QA round 8: '1×1 RTX-3060-TI' / '· simplepod' at 60 columns; '— the P10–P90 interval' and '> the fitted
0.07)', read as a quotation, at 80). _words joins each to the word before it; wrap_lines likewise."""
_HYPHEN = r"(?<=[^\s-]-)(?=[^\s-])|(?<=[^\s.]\.)(?=[A-Za-z])"
"""After a hyphen inside a word ('nemo2407-' / 'gpt3-175b'; not a leading minus) or a dot before a letter
('(inference.' / 'precision:'; not '13.5'): where a word too wide for its column breaks (_words with hyphens)."""


def _words(text: str, hyphens: bool = False) -> list[tuple[int, str]]:
    """Each word of one line of `text` as rich wraps it (rich/_wrap.py words), with its offset: a separator
    (SEPARATORS) joined to the word before it, and, with `hyphens`, every word also broken after its inner hyphens."""
    out: list[tuple[int, str]] = []
    for match in re.finditer(_WORD, text):
        start, word = match.start(), match.group()
        if out and word.strip() in SEPARATORS:
            out[-1] = (out[-1][0], out[-1][1] + word)
        elif hyphens and ("-" in word or "." in word):
            for piece in re.split(_HYPHEN, word):
                out.append((start, piece))
                start += len(piece)
        else:
            out.append((start, word))
    return out


def _divide(text: str, width: int, hyphens: bool = False) -> list[int]:
    """The offsets where one line of `text` breaks to fit `width` cells: rich's divide_line (rich/_wrap.py, fold on)
    over _words, so a separator stays with the word before it and, with `hyphens`, a word too wide breaks after a
    hyphen before it is folded."""
    from rich.cells import cell_len, chop_cells

    breaks: list[int] = []
    offset = 0
    for start, word in _words(text, hyphens):
        length = cell_len(word.rstrip())
        if width - offset >= length:
            offset += cell_len(word)
        elif length > width:  # folded across lines
            folded = chop_cells(word, width)
            for n, line in enumerate(folded):
                if start:
                    breaks.append(start)
                if n == len(folded) - 1:
                    offset = cell_len(line)
                else:
                    start += len(line)
        elif offset and start:
            breaks.append(start)
            offset = cell_len(word)
    return breaks


def _longest_word(text: str, hyphens: bool = False) -> int:
    from rich.cells import cell_len

    return max([0, *(cell_len(word.rstrip()) for _, word in _words(text, hyphens))])


def _lines(text: str, width: int, hyphens: bool = False) -> int:
    """The lines `text` (one line) takes wrapped to `width` cells (_divide)."""
    from rich.cells import cell_len

    return 1 if cell_len(text) <= width else len(_divide(text, width, hyphens)) + 1


def _annotation_lines(text: str, table_width: int, width: int) -> list[str]:
    """A table's title or caption as printed lines: broken to the console's `width` (new-user QA: rich breaks them
    at the table's, so a bill's title over a narrow table took two lines on a console with room for one), each
    line padded to the table's width as rich pads the title it prints (a line of one word wider than the console
    folded at it)."""
    from rich.cells import cell_len

    return [padded for line in _text_lines(text, width)
            for padded in _wrap(line, max(table_width, min(cell_len(line), width)), "left")]


def _text_lines(text: str, width: int) -> list[str]:
    """One printable line of a title or caption broken into the lines it takes in `width` cells (_divide: never
    before a separator), each stripped of the whitespace at its break; rich prints each as is."""
    offsets = [0, *_divide(text, width), len(text)]
    return [text[a:b].rstrip() for a, b in zip(offsets, offsets[1:])]


def _narrow(cells: list[list[str]], widths: list[int], room: int) -> tuple[list[int], list[bool]] | None:
    """Widths for the columns of `cells` (each column's header, then its cells) at most `room` cells in all, from
    their natural `widths`, and the columns whose words break inside (_words with hyphens). No word is cut where the
    columns' longest words fit; else the columns with the widest words, widest first, break their words after a
    hyphen or a dot ('nemo2407-gpt3-' / '175b-h100x128-fp8', 'RTX-PRO-6000-' / 'BLACKWELL') until they fit; only
    where even those pieces do not fit are words folded anywhere, in the columns rich's narrowing would fold. Rich
    narrows the widest columns first and folds words there (new-user QA: 'primeintellect' printed as 'primeintelle' /
    'ct' at 80 columns; a `validate` run name as 'nemo2407-gpt3-175b-h100x1' / '28-fp8'). Here the table is scored by
    the cells folded (none but where a piece must be), then the lines it takes, then the columns that wrap more than
    they would at their natural width, then the cells that do (_Layout.score), and the columns are narrowed where
    that costs the least per cell of width gained (_Layout.shrink), what room is left goes back where it saves
    (_Layout.relax), and a column narrowed early is given back its width while another can narrow at less cost
    (_Layout.repair)."""
    floors = [min(w, max(1, *(_longest_word(text) for text in column))) for column, w in zip(cells, widths)]
    hyphens = [False] * len(floors)
    for c in sorted(range(len(floors)), key=lambda c: -floors[c]):  # the widest words broken first
        if sum(floors) <= room:
            break
        pieces = min(floors[c], max(1, *(_longest_word(text, True) for text in cells[c])))
        if pieces < floors[c]:
            floors[c], hyphens[c] = pieces, True
    if sum(floors) > room:
        # some piece must be folded: only in the columns whose widest pieces rich's narrowing (the widest first)
        # would fold anyway, not in the others ('primeintellect')
        from rich._ratio import ratio_reduce

        capped = list(floors)
        while sum(capped) > room:
            widest = max(capped)
            next_widest = max(w if w != widest else 0 for w in capped)
            capped = ratio_reduce(sum(capped) - room, [1 if w == widest else 0 for w in capped],
                                  [min(sum(capped) - room, widest - next_widest)] * len(capped), capped)
        if min(capped) < 1:
            return None
        hyphens = [cut or cap < floor for cut, cap, floor in zip(hyphens, capped, floors)]
        floors = [1 if cap < floor else floor for cap, floor in zip(capped, floors)]
    layout = _Layout(cells, widths, floors, room, hyphens)
    out = list(widths)
    layout.shrink(out, range(len(out)))
    layout.relax(out)
    out = layout.repair(out)
    for c in range(len(out)):  # the room still left to the narrowed columns: the table as wide as the console
        out[c] += min(room - sum(out), widths[c] - out[c])
    return out, hyphens


class _Layout:
    """_narrow's search over the columns' widths."""

    def __init__(self, cells: list[list[str]], widths: list[int], floors: list[int], room: int,
                 hyphens: list[bool]) -> None:
        self.cells, self.widths, self.floors, self.room, self.hyphens = cells, widths, floors, room, hyphens
        self.counted: dict[tuple[int, int], list[int]] = {}
        self.wrapped: dict[tuple[int, int], int] = {}
        self.scored: dict[tuple[int, ...], int] = {}
        self.longest = [[_longest_word(text, cut) for text in column] for column, cut in zip(cells, hyphens)]
        self.cuts: dict[tuple[int, int], int] = {}
        self.levels = [self._levels(c) for c in range(len(cells))]

    def lines(self, c: int, w: int) -> list[int]:
        """The lines of each cell of column c at width w."""
        if (c, w) not in self.counted:
            each: dict[str, int] = {}  # a column repeats its cells ('ok', a provider): each text wrapped once
            cut = self.hyphens[c]
            self.counted[c, w] = [each[text] if text in each else each.setdefault(text, _lines(text, w, cut))
                                  for text in self.cells[c]]
        return self.counted[c, w]

    def _levels(self, c: int) -> list[int]:
        """Column c's widths where its widest cell takes one line more: its least width for cells of at most k
        lines, k = 1, 2, …, down to its longest word, or to what the table lacks (it needs no narrower)."""
        out, k = [self.widths[c]], 1
        lowest = max(self.floors[c], self.widths[c] - (sum(self.widths) - self.room))
        while out[-1] > lowest:
            k = max(k + 1, max(self.lines(c, out[-1])) + 1)
            low, high = self.floors[c], out[-1]
            while low < high:
                mid = (low + high) // 2
                low, high = (low, mid) if max(self.lines(c, mid)) <= k - 1 else (mid + 1, high)
            if high >= out[-1]:  # no fewer lines at any width between
                high = out[-1] - 1
                while high > self.floors[c] and max(self.lines(c, high)) == max(self.lines(c, out[-1])):
                    high -= 1
            out.append(high)
        return out

    def score(self, out: list[int]) -> int:
        """The cells with a word cut (where some must be), then the table's lines, then the columns that wrap more
        than at their natural width, then the cells, as one number (each weighs more than all that follow)."""
        key = tuple(out)
        if key not in self.scored:
            height = sum(map(max, zip(*(self.lines(c, w) for c, w in enumerate(out)))))
            more = [self.more(c, w) for c, w in enumerate(out)]
            cut = sum(self.cut(c, w) for c, w in enumerate(out))
            self.scored[key] = (cut * 10**13 + height * 100_000_000 + sum(m > 0 for m in more) * 10_000
                                + sum(more))
        return self.scored[key]

    def cut(self, c: int, w: int) -> int:
        """The cells of column c with a word wider than w (in a column whose words break after hyphens, a piece)."""
        if (c, w) not in self.cuts:
            self.cuts[c, w] = sum(longest > w for longest in self.longest[c])
        return self.cuts[c, w]

    def more(self, c: int, w: int) -> int:
        """The cells of column c that take more lines at width w than at its natural width."""
        if (c, w) not in self.wrapped:
            self.wrapped[c, w] = sum(map(int.__gt__, self.lines(c, w), self.lines(c, self.widths[c])))
        return self.wrapped[c, w]

    def shrink(self, out: list[int], allowed: "Sequence[int]") -> bool:
        """Narrow the `allowed` columns of `out` until the table fits, each step the column and width (one where
        its cells take a line more, or just what is missing) that cost the least per cell gained, the more room
        gained first among equals. False where they cannot."""
        while sum(out) > self.room:
            excess, now, best = sum(out) - self.room, self.score(out), None
            for c in allowed:
                for w in {*self.levels[c], out[c] - excess}:
                    if self.floors[c] <= w < out[c]:
                        trial = out[:c] + [w] + out[c + 1:]
                        key = ((self.score(trial) - now) / min(out[c] - w, excess), w - out[c], c)
                        if best is None or key < best[0]:
                            best = (key, c, w)
            if best is None:
                return False
            out[best[1]] = best[2]
        return True

    def relax(self, out: list[int]) -> None:
        """Give the room left to the narrowed columns where it saves the most per cell of width."""
        while True:
            spare, now, best = self.room - sum(out), self.score(out), None
            for c in range(len(out)):
                for w in {*self.levels[c], min(self.widths[c], out[c] + spare)}:
                    if out[c] < w <= out[c] + spare:
                        saved = now - self.score(out[:c] + [w] + out[c + 1:])
                        if saved > 0 and (best is None or (-saved / (w - out[c]), c) < best[0]):
                            best = ((-saved / (w - out[c]), c), c, w)
            if best is None:
                return
            out[best[1]] = best[2]

    def repair(self, out: list[int]) -> list[int]:
        """A narrowed column back at its natural width, the others narrowed instead, while that scores better: the
        search is greedy, and a column narrowed first (the provider, for two rows) may wrap for nothing once a later
        one (the latencies) wraps every row."""
        for _ in range(2 * len(out)):
            for c in [c for c in range(len(out)) if out[c] < self.widths[c]]:
                trial = out[:c] + [self.widths[c]] + out[c + 1:]
                if self.shrink(trial, [o for o in range(len(out)) if o != c]):
                    self.relax(trial)
                    if self.score(trial) < self.score(out):
                        out = trial
                        break
            else:
                return out
        return out


def _broken(text: str, width: int, hyphens: bool = False) -> str:
    """One line of cell text as it wraps at `width` cells (_divide, `hyphens` as its column breaks), broken into its
    lines ('\\n') where it wraps: the lines it takes at that width, each no longer than needed ('317 ms' /
    '(sim 314)', not '317 ms (sim' / '314)'); the text itself where it fits or is not one printable line."""
    from rich.cells import cell_len

    if cell_len(text) <= width or not text.isprintable():
        return text
    if hyphens and _longest_word(text) <= width and _lines(text, width) == _lines(text, width, True):
        hyphens = False  # as few lines between words: '2×2' / 'A100-80GB-SXM', not '2×2 A100-' / '80GB-SXM'
    count = _lines(text, width, hyphens)
    low, high = min(_longest_word(text, hyphens), width), width
    while low < high:
        mid = (low + high) // 2
        low, high = (low, mid) if _lines(text, mid, hyphens) <= count else (mid + 1, high)
    offsets = [0, *_divide(text, high, hyphens), len(text)]
    return "\n".join(text[a:b].rstrip() for a, b in zip(offsets, offsets[1:]))


HEAVY_HEAD = ("┏━┳┓", "┃┃┃", "┡━╇┩", "│││", "└─┴┘")
"""rich's box.HEAVY_HEAD as the framed table draws it: top, header row (left, divider, right), the rule under the
header, body rows, bottom (rich/box.py)."""


def _build(columns: Sequence[Column], rows: Sequence[Sequence[object]], indices: list[int], style: box.Box,
           title: str | None = None, notes: str = "", widths: list[int] | None = None,
           cells: list[list[str]] | None = None) -> "Table":
    """The rich table of `columns[indices]`: the full border with a cell's padding, else `style` without either;
    `notes` its caption (FittedTable.notes); `widths` the columns' (FittedTable.layout), `cells` the texts, the
    header first, as it breaks them into lines."""
    from rich import box
    from rich.table import Table

    table = Table(title=plain(title) if title else None, caption=plain(notes) if notes else None,
                  title_justify="left", caption_justify="left", box=style,
                  padding=(0, 1) if style is box.HEAVY_HEAD else 0, show_edge=style is box.HEAVY_HEAD)
    texts: list[list[object]] = [[columns[i].header for i in indices], *([row[i] for i in indices] for row in rows)]
    if cells is not None:
        texts = [list(row) for row in cells]
    for n, i in enumerate(indices):
        table.add_column(plain(texts[0][n]), justify=columns[i].justify, overflow="fold",  # type: ignore
                         width=None if widths is None else widths[n])
    for row in texts[1:]:
        table.add_row(*(plain(text) for text in row))
    return table


def _wrap(text: str, width: int, justify: str) -> list[str]:
    """One printable line of text as rich's Text prints it in `width` cells, justified "left", "right" or "center"
    with overflow "fold" (rich/text.py Text.wrap, rich/containers.py Lines.justify): wrapped at word boundaries
    (rich's divide_line, folding a word wider than a line), whitespace past the width dropped at each break,
    each line cropped to `width` and padded with spaces to it (right and centre: stripped of trailing
    whitespace first)."""
    from rich._wrap import divide_line
    from rich.cells import cell_len, set_cell_size

    offsets = [0, *divide_line(text, width, fold=True), len(text)]
    lines = []
    for start, end in zip(offsets, offsets[1:]):
        line = text[start:end]
        if len(line) > width:  # Text.rstrip_end: trailing whitespace past the width, counted in characters
            trailing = len(line) - len(line.rstrip())
            line = line[:len(line) - min(trailing, len(line) - width)]
        if justify != "left":
            line = line.rstrip()
        if cell_len(line) > width:
            line = set_cell_size(line, width)
        gap = width - cell_len(line)
        left = 0 if justify == "left" else gap if justify == "right" else gap // 2
        lines.append(f"{' ' * left}{line}{' ' * (gap - left)}")
    return lines


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


def wrap_lines(lines: Sequence[str], width: int, prefix: str = "", whole_words: bool = False) -> list[str]:
    """Sentences wrapped at word boundaries to `width` columns, continuation lines indented under the prefix; a word
    wider than a line is broken, or with `whole_words` kept whole on a line of its own (a path to copy). A command in
    backticks that fits a line is one word: it breaks before or after, never inside (new-user QA round 15: the empty
    `gpuplan calibration list` broke `gpuplan calibration add FILE` after `gpuplan at 80 columns)."""
    import textwrap

    out: list[str] = []
    indent = " " * len(prefix)
    glue = "\ue000"  # the space before a separator, as textwrap breaks at none: clean() shows any in the text as \xe000
    for line in lines:
        text = re.sub(rf" (?=(?:{'|'.join(map(re.escape, SEPARATORS))})(?: |$))", glue, clean(line))
        # the command with what it is glued to ('`…`)' and a separator after it) fits a line, else it breaks as words
        text = re.sub(r"\S*`[^`\n]+`\S*", lambda m: m.group().replace(" ", glue)
                      if len(m.group()) <= width - len(indent) else m.group(), text)
        out += [wrapped.replace(glue, " ") for wrapped in textwrap.wrap(
            text, width, initial_indent=prefix, subsequent_indent=indent, break_on_hyphens=False,
            break_long_words=not whole_words)] or [""]
    return out


def print_lines(console: TextConsole, lines: Sequence[str], prefix: str = "") -> None:
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
