"""Regenerate (or check) the command outputs shown in README.md and docs/*.md.

A block is regenerated when a marker line precedes it:

    <!-- output: COLUMNS=100 -->
    ```console
    $ gpuplan estimate profiles/lora-7b-a6000.yaml --top 3
    …the output, replaced by this script…
    ```

The command runs in-process (typer's CliRunner) at that terminal width (default 100), from a scratch folder that
mirrors the repository root (its entries linked), so repository paths work and nothing is written into it.

A measuring command (`gpuplan profile …`, `gpuplan calibrate …`) times this machine, so its output cannot be
rerun and compared. Its block names the record that run wrote, kept in the repository:

    <!-- output: record=docs/records/bert-train-then-serve.yaml -->
    ```console
    $ gpuplan profile profiles/bert-train-then-serve.yaml --quick --out docs/records/bert-train-then-serve.yaml
    ```

and shows what the command prints for that record (planner/cli/measure.py profile_summary / calibrate_summary),
so the block goes stale when the summary's rendering changes, like any other.

A command that reads a calibration store (`--calibrations DIR`) finds there the record of the machine it runs on,
so its block names the record whose machine it runs as, and the store is a committed fixture
(docs/records/calibrations/):

    <!-- output: host=docs/records/cpu-calibration.yaml -->
    ```console
    $ gpuplan estimate profiles/resnet50-imagenet.yaml --calibrations docs/records/calibrations --top 2
    ```

A block may hold a short session: several `$ ` commands, each followed by its output, a long command continued
over lines ending in a backslash, a trailing `# comment`, `> FILE` after a gpuplan command (its standard output goes to FILE
in a scratch folder that later commands of the block read), `cat FILE` (a repository file, or one written above) and
`echo $?` (the exit status of the command before):

    <!-- output: COLUMNS=80 -->
    ```console
    $ gpuplan estimate profiles/pretrain-1b-72h.yaml -f json > old.json
    $ gpuplan diff old.json new.json --fail-above 15%
    $ echo $?
    ```

A long output can be shown in part, the rest marked `…`; the marker names the part, for every gpuplan output of the
block: `from="TEXT"` starts at the first line beginning with TEXT, `to="TEXT"` ends at the next line beginning with
TEXT (included); with `--format json`, `json=PATH` shows the value at PATH (keys and list indices, dotted:
`training.plans.0`) and `keys=a,b,c` only those keys of it, in that order:

    <!-- output: COLUMNS=80 from="Buy vs rent" to="Discounts" -->
    <!-- output: json=training.plans.0 keys=gpu,provider,cost_usd -->

`--check` writes nothing and exits 1 listing the stale blocks; tests/test_docs.py runs the same check. Ages of
prices ("851 days old") depend on today's date, so the check compares them as "N days old".

Run: .venv/bin/python scripts/docs_outputs.py [--check]"""
from __future__ import annotations

import json
import os
import re
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MARKER = re.compile(r"^<!-- output(?::\s*(.*?))?\s*-->$")
OPTIONS = ("COLUMNS", "record", "host", "from", "to", "json", "keys")
DEFAULT_COLUMNS = 100
AGE = re.compile(r"\b\d[\d,]* days(?=\s+old\b)")
"""A price's age, also where the line breaks between 'days' and 'old' (catalog.md's commitment footnotes: the
check failed the day the dates rolled over)."""
ELIDED = "…"
"""The line that stands for output lines an excerpt leaves out."""


@dataclass(frozen=True)
class Block:
    """One checked block: the file, the line range of its output, the command and the width."""

    path: Path
    start: int
    """Index of the first output line (the line after the first command)."""
    end: int
    """Index of the closing fence."""
    command: str
    """The block's commands, joined by '; ' (one command: itself)."""
    columns: int
    record: str | None = None
    """The stored record a measuring command's output is rendered from (None: the command runs)."""
    host: str | None = None
    """A stored record whose host the command runs as (None: this machine): a calibration store finds the record
    of the machine it runs on, so the output of commands reading a store would depend on where the check runs."""
    first: int = 0
    """Index of the first `$ ` line: the block's body, commands and outputs, runs from here to `end`."""
    commands: tuple[tuple[str, ...], ...] = ()
    """Each command as its lines appear in the file (continued lines ending in a backslash)."""
    options: dict[str, str] = field(default_factory=dict)
    """The excerpt options of the marker (from, to, json, keys)."""


def doc_files() -> list[Path]:
    """README.md and every page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _options(path: Path, number: int, text: str | None) -> dict[str, str]:
    """The marker's key=value options (values may be quoted)."""
    found: dict[str, str] = {}
    for word in shlex.split(text or ""):
        key, sep, value = word.partition("=")
        if not sep or key not in OPTIONS:
            raise SystemExit(f"{path}:{number}: unknown marker option {word!r} (known: {', '.join(OPTIONS)})")
        found[key] = value
    return found


def blocks(path: Path) -> list[Block]:
    """The checked blocks of one file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for i, line in enumerate(lines):
        match = MARKER.match(line.strip())
        if not match:
            continue
        if i + 2 >= len(lines) or not lines[i + 1].startswith("```") or not lines[i + 2].startswith("$ "):
            raise SystemExit(f"{path}:{i + 1}: a marker must precede ```console and a `$ gpuplan …` line")
        options = _options(path, i + 1, match.group(1))
        end = next(j for j in range(i + 3, len(lines)) if lines[j].startswith("```"))
        commands: list[tuple[str, ...]] = []
        start = None
        j = i + 2
        while j < end:
            if lines[j].startswith("$ "):
                k = j
                while lines[k].endswith("\\") and k + 1 < end:
                    k += 1
                commands.append(tuple(lines[j:k + 1]))
                start = k + 1 if start is None else start
                j = k + 1
            else:
                j += 1
        found.append(Block(path, start or i + 3, end, "; ".join(_joined(c) for c in commands),
                           int(options.pop("COLUMNS", DEFAULT_COLUMNS)), options.pop("record", None),
                           options.pop("host", None), i + 2, tuple(commands), options))
    return found


def _joined(command: tuple[str, ...]) -> str:
    """A command's lines as one line, without the prompt or the continuation backslashes."""
    return " ".join(line.removesuffix("\\").strip() for line in command).removeprefix("$ ").strip()


def run(command: str, columns: int, host: str | None = None) -> str:
    """The command's output (stdout and stderr, as a terminal shows them) at `columns` columns; with `host` (a record
    path), run as the machine that record was measured on."""
    return _invoke(shlex.split(command, comments=True), columns, host, ROOT)[0]


def _invoke(args: list[str], columns: int, host: str | None, cwd: Path,
            stdout_only: bool = False) -> tuple[str, str, int]:
    """(output as a terminal shows it, or stdout alone with stdout_only; stderr then; exit status) of a gpuplan
    command run in-process from `cwd`."""
    from unittest import mock

    from typer.testing import CliRunner

    from planner.cli.main import app
    from planner.efficiency import records

    if args[0].endswith("gpuplan"):
        args = args[1:]
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(columns)
    here = os.getcwd()
    runner = CliRunner()
    try:
        os.chdir(cwd)
        if host is None:
            result = runner.invoke(app, args)
        else:
            fingerprint = records.load_record(ROOT / host).device.host
            with mock.patch.object(records, "host_fingerprint", return_value=fingerprint):
                result = runner.invoke(app, args)
    finally:
        os.chdir(here)
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    if stdout_only:
        return result.stdout, result.stderr.rstrip("\n"), result.exit_code
    return result.output.rstrip("\n"), "", result.exit_code


def excerpt(text: str, options: dict[str, str]) -> str:
    """The part of a command's output the marker's options name (all of it without options)."""
    if "json" in options or "keys" in options:
        value: Any = json.loads(text)
        for part in filter(None, options.get("json", "").split(".")):
            value = value[int(part)] if isinstance(value, list) else value[part]
        if "keys" in options:
            value = {key: value[key] for key in options["keys"].split(",")}
        return json.dumps(value, indent=2, ensure_ascii=False)
    lines = text.splitlines()
    if "from" not in options and "to" not in options:
        return text
    first = next((i for i, line in enumerate(lines) if line.startswith(options["from"])), None) \
        if "from" in options else 0
    if first is None:
        raise ValueError(f"no output line begins with {options['from']!r}")
    last = next((i for i in range(first, len(lines)) if lines[i].startswith(options["to"])), None) \
        if "to" in options else len(lines) - 1
    if last is None:
        raise ValueError(f"no output line after {options.get('from', 'the first')!r} begins with {options['to']!r}")
    return "\n".join(([ELIDED] if first > 0 else []) + lines[first:last + 1]
                     + ([ELIDED] if last < len(lines) - 1 else []))


def session(block: Block) -> str:
    """The block's body as the commands print it now: each command's lines, then its output."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        # the commands run in a scratch folder that mirrors the repository, so `> FILE` writes nothing into it
        for entry in ROOT.iterdir():
            if entry.name not in (".git", ".venv"):
                (folder / entry.name).symlink_to(entry)
        out: list[str] = []
        status = 0
        for lines in block.commands:
            out += list(lines)
            text = _joined(lines)
            if text == "echo $?":
                out.append(str(status))
                continue
            args = shlex.split(text, comments=True)
            if args[0] == "cat" and len(args) == 2:
                out += (folder / args[1]).read_text(encoding="utf-8").rstrip("\n").splitlines()
                status = 0
                continue
            if not args[0].endswith("gpuplan"):
                raise SystemExit(f"{block.path}:{block.first + 1}: only gpuplan, cat FILE and echo $? run here")
            if ">" in args:
                target = args[args.index(">") + 1]
                stdout, stderr, status = _invoke(args[:args.index(">")], block.columns, block.host, folder, True)
                (folder / target).write_text(stdout, encoding="utf-8")
                shown = stderr
            else:
                shown, _, status = _invoke(args, block.columns, block.host, folder)
                shown = excerpt(shown, block.options) if block.options else shown
            out += shown.splitlines()
        return "\n".join(out)


def measured(command: str, record: str, columns: int) -> str:
    """What a measuring command printed, rendered from the record it wrote (at `columns` columns)."""
    from pathlib import Path as _Path

    from planner.catalog.load import BUNDLED_CATALOG, load_catalog
    from planner.cli.measure import calibrate_summary, profile_summary
    from planner.efficiency.records import load_record

    args = shlex.split(command)
    out = _Path(args[args.index("--out") + 1]) if "--out" in args else _Path(record)
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(columns)
    try:
        loaded = load_record(ROOT / record)
        summary = calibrate_summary if "calibrate" in args else profile_summary
        return summary(loaded, load_catalog(BUNDLED_CATALOG), out).rstrip("\n")
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def normalised(text: str) -> str:
    """Text with date-dependent figures masked and trailing spaces dropped."""
    return "\n".join(line.rstrip() for line in AGE.sub("N days", text).splitlines())


def stale_blocks() -> list[tuple[Block, str]]:
    """Every block whose shown body differs from what its commands print now, with the new body (commands and
    outputs)."""
    out = []
    for path in doc_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        for block in blocks(path):
            if block.record:
                now = "\n".join([*block.commands[0], measured(block.command, block.record, block.columns)])
            else:
                now = session(block)
            if normalised("\n".join(lines[block.first:block.end])) != normalised(now):
                out.append((block, now))
    return out


def main() -> None:
    stale = stale_blocks()
    if "--check" in sys.argv[1:]:
        for block, _ in stale:
            print(f"{block.path.relative_to(ROOT)}:{block.start}: `{block.command}` output is stale")
        raise SystemExit(1 if stale else 0)
    by_file: dict[Path, list[tuple[Block, str]]] = {}
    for block, now in stale:
        by_file.setdefault(block.path, []).append((block, now))
    for path, items in by_file.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for block, now in sorted(items, key=lambda item: -item[0].start):  # bottom first: indices stay valid
            lines[block.first:block.end] = [line.rstrip() for line in now.splitlines()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"Regenerated {len(items)} block(s) in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
