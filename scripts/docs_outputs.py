"""Regenerate (or check) the command outputs shown in README.md and docs/*.md.

A block is regenerated when a marker line precedes it:

    <!-- output: COLUMNS=100 -->
    ```console
    $ gpuplan estimate profiles/lora-7b-a6000.yaml --top 3
    …the output, replaced by this script…
    ```

The command runs in-process (typer's CliRunner) from the repository root at that terminal width (default 100).

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
`--check` writes nothing and exits 1 listing the stale blocks; tests/test_docs.py runs the same check. Ages of
prices ("851 days old") depend on today's date, so the check compares them as "N days old".

Run: .venv/bin/python scripts/docs_outputs.py [--check]"""
from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MARKER = re.compile(r"^<!-- output(?::\s*(?:COLUMNS=(\d+))?\s*(?:record=(\S+))?\s*(?:host=(\S+))?)?\s*-->$")
DEFAULT_COLUMNS = 100
AGE = re.compile(r"\b\d[\d,]* days old")


@dataclass(frozen=True)
class Block:
    """One checked block: the file, the line range of its output, the command and the width."""

    path: Path
    start: int
    """Index of the first output line (the line after `$ gpuplan …`)."""
    end: int
    """Index of the closing fence."""
    command: str
    columns: int
    record: str | None = None
    """The stored record a measuring command's output is rendered from (None: the command runs)."""
    host: str | None = None
    """A stored record whose host the command runs as (None: this machine): a calibration store finds the record
    of the machine it runs on, so the output of commands reading a store would depend on where the check runs."""


def doc_files() -> list[Path]:
    """README.md and every page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


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
        end = next(j for j in range(i + 3, len(lines)) if lines[j].startswith("```"))
        command = lines[i + 2][2:].strip()
        found.append(Block(path, i + 3, end, command, int(match.group(1) or DEFAULT_COLUMNS), match.group(2),
                           match.group(3)))
    return found


def run(command: str, columns: int, host: str | None = None) -> str:
    """The command's output (stdout and stderr, as a terminal shows them) at `columns` columns; with `host` (a record
    path), run as the machine that record was measured on."""
    from unittest import mock

    from typer.testing import CliRunner

    from planner.cli.main import app
    from planner.io import records

    args = shlex.split(command)
    if args[0].endswith("gpuplan"):
        args = args[1:]
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(columns)
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        if host is None:
            result = CliRunner().invoke(app, args)
        else:
            fingerprint = records.load_record(ROOT / host).device.host
            with mock.patch.object(records, "host_fingerprint", return_value=fingerprint):
                result = CliRunner().invoke(app, args)
    finally:
        os.chdir(cwd)
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return result.output.rstrip("\n")


def measured(command: str, record: str, columns: int) -> str:
    """What a measuring command printed, rendered from the record it wrote (at `columns` columns)."""
    from pathlib import Path as _Path

    from planner.catalog.load import BUNDLED_CATALOG, load_catalog
    from planner.cli.measure import calibrate_summary, profile_summary
    from planner.io.records import load_record

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
    return "\n".join(AGE.sub("N days old", line.rstrip()) for line in text.splitlines())


def stale_blocks() -> list[tuple[Block, str]]:
    """Every block whose shown output differs from what its command prints now, with the new output."""
    out = []
    for path in doc_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        for block in blocks(path):
            now = measured(block.command, block.record, block.columns) if block.record else \
                run(block.command, block.columns, block.host)
            if normalised("\n".join(lines[block.start:block.end])) != normalised(now):
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
            lines[block.start:block.end] = [line.rstrip() for line in now.splitlines()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"Regenerated {len(items)} block(s) in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
