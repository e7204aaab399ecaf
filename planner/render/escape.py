"""Escaping of untrusted text (profile names, catalog and record strings) for each medium it reaches. One module,
so every renderer calls the same rule: shell scripts, YAML comments, one-line terminal text, HTML, Markdown,
matplotlib.
(Rich tables: planner/render/console.py renders with markup and emoji codes off and shows control characters.)

The text is the user's (or an imported price table's): it may hold newlines, ESC sequences, `$(…)`, backticks,
quotes, Rich markup (`[/]`, `[link=…]`), matplotlib math text (`$\\foo$`) or a spreadsheet formula (`=HYPERLINK(…)`)."""
from __future__ import annotations

import re

# The patterns are compiled on first use (re's own cache), not at import: a character class reaching past U+00FF is
# compiled through a 64K-entry map (~2 ms each, of every start), and the JSON output uses none of them.
_CONTROL = r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
"""C0 and C1 control characters (ESC starts terminal sequences, CR and BS overwrite what was shown, NEL/LS/PS break
lines) and the bidirectional overrides that reorder what a reader sees (CVE-2021-42574, 'Trojan Source')."""
_CONTROL_KEEP_NEWLINES = r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"


def terminal(text: object) -> str:
    """One line of text safe for a terminal: control characters and line breaks become a space."""
    return re.sub(_CONTROL, " ", str(text))


def terminal_block(text: str) -> str:
    """Many lines (a rendered table) safe for a terminal: line feeds kept, other control characters removed."""
    return re.sub(_CONTROL_KEEP_NEWLINES, " ", text)


def rich(text: object) -> str:
    """For a Rich table cell or console line: one terminal line with markup (`[b]`, `[/]`, `[link=…]`) escaped."""
    from rich.markup import escape

    return escape(terminal(text))


def html_text(text: object) -> str:
    """For HTML element text or a quoted attribute value."""
    import html  # here, as shlex below: the JSON and the tables need neither (~1.3 ms of every start)

    return html.escape(terminal(text), quote=True)


_MARKDOWN = r"([\\`*_\[\]<>&|~])"
"""What Markdown would read as markup in running text: emphasis, code, links, raw HTML (`<script>`, which MkDocs and
other renderers pass through), entities, table cells and GFM's strikethrough; each is a backslash escape (CommonMark
§2.4: any ASCII punctuation)."""


def markdown(text: object) -> str:
    """For Markdown text (a heading, a list item): one line, every markup character backslash-escaped."""
    return re.sub(_MARKDOWN, r"\\\1", terminal(text))


_MARKDOWN_CELL = r"[\\`*\[\]<>&|~]|(?<!\w)_|_(?!\w)"
"""What Markdown would read as markup in a table cell: as _MARKDOWN, but an underscore between two word characters
stays as written (`runpod__6xA5000_24GB__48__174`), since CommonMark never opens or closes emphasis there (§6.2: a
`_` run both left- and right-flanking needs punctuation beside it)."""


def markdown_cell(text: object) -> str:
    """For a Markdown table cell: one line (a line break would end the table), every markup character
    backslash-escaped, `|` too, so an imported instance name such as `<script>…` or `a|b` stays text in its cell."""
    return re.sub(_MARKDOWN_CELL, lambda m: "\\" + m.group(0), terminal(text))


_MARKDOWN_LINE = r"[\\<]|\](?=[(\[])"
"""In a report's sentences, which carry code spans of their own (`--set …`): raw HTML and autolinks (`<`), a backslash
that would escape what follows, and the `](` / `][` that makes a bracketed text a link."""


def markdown_line(text: object) -> str:
    """For one Markdown list item the planner wrote, which may quote a name from a profile or an imported price table:
    one line, no raw HTML and no link made from the name (its own code spans and emphasis stay)."""
    return re.sub(_MARKDOWN_LINE, lambda m: "\\" + m.group(0), terminal(text))


def mathtext(text: object) -> str:
    """For matplotlib text: every `$` escaped as `\\$`, so no math mode starts and `$\\foo$` is shown as written
    (outside math mode matplotlib unescapes `\\$` and leaves other backslashes alone; Text._preprocess_math)."""
    return terminal(text).replace("$", r"\$")


def comment(text: object) -> str:
    """For a `# …` comment line of a shell script or YAML file: one line, so nothing after it becomes code."""
    return terminal(text)


def shell_word(text: object) -> str:
    """One shell word (POSIX sh), quoted so it is never expanded or split."""
    import shlex

    return shlex.quote(str(text))


_FORMULA_START = ("=", "+", "-", "@")
"""What a spreadsheet opening a CSV reads as the start of a formula (OWASP, "CSV Injection"; the tab and carriage
return it also lists are spaces after `terminal`)."""


def spreadsheet_cell(value: object) -> object:
    """For a CSV cell: text that a spreadsheet would run as a formula gets a leading apostrophe (OWASP's advice: shown
    as written, not evaluated); numbers and booleans pass unchanged, so the columns stay numeric."""
    if not isinstance(value, str):
        return value
    text = terminal(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
