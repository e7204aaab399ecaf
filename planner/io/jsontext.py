"""A JSON syntax error in gpuplan's words: where the document breaks and what was expected there, in place of
Python's json module's ('Expecting value', 'Unterminated string starting at', 'Expecting ',' delimiter'), which
`gpuplan diff` printed as they came (new-user QA leftover: a truncated estimate read 'not JSON: Unterminated string
starting at.'). The position (line, column) is the json module's; a file that ends where the document goes on is
named as cut short, the likeliest cause (a download or a redirect stopped early)."""
from __future__ import annotations

import json
import re

from planner.errors import InputError

CUT_SHORT = "the file ends"
"""How a problem at the end of the text begins: what the reader sees first of a truncated file."""


def _found(doc: str, pos: int) -> str:
    """What stands at `pos`, as the message names it."""
    char = doc[pos]
    if char in "\r\n":
        return "a line break"
    if char == "'":
        return "a single quote (JSON quotes strings with double quotes)"
    if not char.isprintable():
        return f"the character U+{ord(char):04X}"
    word = re.match(r"[\w.+-]{1,20}", doc[pos:])  # a stray word whole ('undefined', 'None', 'NaN'), else the mark
    return f"'{word.group() if word and char.isalnum() else char}'"


def json_problem(exc: json.JSONDecodeError) -> str:
    """What is wrong at the error's position and what was expected there, for `Error: FILE:LINE:COLUMN: not valid
    JSON: …`."""
    doc, pos, msg = exc.doc, exc.pos, exc.msg
    at_end = not doc[pos:].strip()
    if msg.startswith("Unterminated string"):
        # the json module says this only when no closing quote follows: the text ends inside the string
        return f"{CUT_SHORT} inside the string that starts here (cut short?); expected its closing '\"'"
    if msg == "Expecting value":
        if not doc.strip():
            return "the file is empty; expected a JSON document"
        if at_end:
            return f"{CUT_SHORT} where a value was expected (cut short?)"
        return ("expected a value (a string in double quotes, a number, an object, an array, true, false or null), "
                f"found {_found(doc, pos)}")
    if msg == "Expecting property name enclosed in double quotes":
        if at_end:
            return f"{CUT_SHORT} inside an object (cut short?); expected a key in double quotes"
        if doc[pos] == "}" and doc[:pos].rstrip().endswith(","):
            return "expected another key in double quotes after ',', found '}' (JSON has no trailing commas)"
        return f"expected a key in double quotes, found {_found(doc, pos)}"
    if msg == "Expecting ':' delimiter":
        if at_end:
            return f"{CUT_SHORT} after a key (cut short?); expected ':' and its value"
        return f"expected ':' after the key, found {_found(doc, pos)}"
    if msg == "Expecting ',' delimiter":
        if at_end:
            return (f"{CUT_SHORT} inside an object or array (cut short?); expected ',' and the next item, or the "
                    "closing '}' or ']'")
        return f"expected ',' between items, or the closing '}}' or ']', found {_found(doc, pos)}"
    if msg == "Extra data":
        return f"the JSON document is complete before the file ends: found {_found(doc, pos)} after it (one document per file)"
    if msg.startswith("Invalid control character"):
        return (f"{_found(doc, pos)} inside a string; expected it escaped (a line break is written \\n, a tab "
                "\\t)")
    if msg == "Invalid \\escape":
        escaped = doc[pos + 1:pos + 2]
        what = f"'\\{escaped}'" if escaped.isprintable() else f"'\\' before {_found(doc, pos + 1)}"
        return (f"invalid escape {what} in a string; expected one of \\\" \\\\ \\/ \\b \\f \\n \\r "
                "\\t \\uXXXX")
    if msg == "Invalid \\uXXXX escape":
        return "invalid \\u escape in a string; expected \\u and four hexadecimal digits"
    return msg  # a message this module does not know (a later Python's): the json module's own words


def json_error(exc: json.JSONDecodeError, file: str, hint: str | None = None) -> InputError:
    """The InputError for a JSON syntax error in `file`: its line and column, what is wrong and what was expected."""
    problem = json_problem(exc)
    if hint is None and problem.startswith(CUT_SHORT):
        hint = "It looks cut short: copy or write it again."
    return InputError(f"not valid JSON: {problem}", file=file, line=exc.lineno, column=exc.colno, hint=hint)
