"""The bad-input corpus (tests/bad_inputs/): every broken profile, catalog and record gives its exact message."""
from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from planner.cli.main import app
from planner.errors import InputError
from planner.io.yamlfile import MAX_FILE_BYTES, MAX_NODES, load_yaml

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))["cases"]
KINDS = ("profiles", "catalogs", "records")


def _on_disk() -> set[str]:
    return {f"{kind}/{entry.name}" for kind in KINDS for entry in (CORPUS / kind).iterdir()}


def test_corpus_is_complete_and_large():
    listed = [case["file"] for case in EXPECTED]
    assert len(listed) == len(set(listed))
    assert set(listed) == _on_disk()  # no file without its expected message, no message without its file
    assert len(listed) >= 40
    assert all(sum(f.startswith(f"{kind}/") for f in listed) >= 10 for kind in KINDS)


def _run(kind: str, path: Path, store: Path) -> tuple[int, str, str]:
    """(exit code, stderr, stdout) of the corpus file as a user would meet it."""
    args = {"profiles": ["estimate", str(path), "--format", "json"],
            "catalogs": ["catalog", "list", "--catalog", str(path)],
            "records": ["calibration", "add", str(path), "--calibrations", str(store)]}[kind]
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stderr.rstrip("\n"), result.stdout


@pytest.mark.parametrize("case", EXPECTED, ids=[case["file"] for case in EXPECTED])
def test_bad_input_gives_its_message(case, tmp_path):
    kind = case["file"].split("/")[0]
    path = CORPUS / case["file"]
    store = tmp_path / "calibrations"
    code, stderr, stdout = _run(kind, path, store)
    assert (code, stderr) == (case["exit"], case["message"].replace("{path}", str(path)))
    assert stdout == ""
    # one error line; further problems of the same file (up to 20 in all) as placed lines indented under it
    lines = stderr.splitlines()
    assert "Traceback" not in stderr and lines[0].startswith("Error: ") and len(lines) <= 20
    assert all(line.startswith(f"  {path}") for line in lines[1:])
    assert not store.exists() or not any(store.iterdir())  # a rejected record is never stored


# ------------------------------------------------------------------ generated hostile files (too big to keep)

def test_wide_document_is_refused_before_its_nodes_are_built(tmp_path):
    # 2 MB of one-character list items: a million nodes. Composing them first would take ~400 MB; the streaming
    # count refuses the file while holding next to nothing.
    path = tmp_path / "wide.yaml"
    path.write_text("name: [" + ",".join(["1"] * (MAX_FILE_BYTES // 2 - 8)) + "]\n", encoding="utf-8")
    assert path.stat().st_size <= MAX_FILE_BYTES
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as info:
            load_yaml(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(info.value) == f"{path}:1: document has more than {MAX_NODES:,} nodes; refusing to read it"
    assert peak < 10 * MAX_FILE_BYTES  # the text itself (str + bytes) and the parser's buffers, no node graph


def test_a_huge_bad_value_is_shown_shortened(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text("name: " + "x" * 1_000_000 + "\nmodel: {preset: gpt2-124m}\ninference: {rate: 1/s}\n",
                    encoding="utf-8")
    result = CliRunner().invoke(app, ["estimate", str(path)])
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {path}:1:1: name: expected at most 200 characters, got "
                             f"'{'x' * 54}…xxx' (1,000,002 characters)\n")
