"""A plain `gpuplan estimate` runs without Typer (planner/cli/fast.py): every command line it reads, it reads as
Typer does; every other it leaves to Typer; the process prints the same bytes and exits with the same code."""
import os
import random
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import planner.cli.commands as commands
from planner.cli.estimate import EstimateArgs, Format
from planner.cli.fast import parse_estimate
from planner.cli.main import app

from .conftest import ROOT

PROFILE = str(ROOT / "profiles" / "lora-7b-a6000.yaml")


def typer_args(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> EstimateArgs | None:
    """What Typer's parse hands the estimate command (None: Typer refused the command line, or read --help)."""
    seen: list[EstimateArgs] = []

    def record(args: EstimateArgs) -> int:
        seen.append(args)
        return 0

    monkeypatch.setattr(commands, "run_estimate", record)
    result = CliRunner().invoke(app, argv)
    return seen[0] if result.exit_code == 0 and seen else None


PLAIN = [
    ["estimate", PROFILE],
    ["estimate", PROFILE, "--format", "json"],
    ["estimate", "--format", "json", PROFILE],
    ["estimate", PROFILE, "-f", "markdown", "--top", "0", "--confidence", "0.9"],
    ["estimate", PROFILE, "--format=csv", "--top=3", "--confidence=0.75", "--wide"],
    ["estimate", PROFILE, "--set", "training.epochs=3", "--set", "constraints.max_gpus=8", "--simulate"],
    ["estimate", PROFILE, "--set=training.epochs=2", "--emit", "torchrun"],
    ["estimate", PROFILE, "--catalog", str(ROOT / "catalog"), "--calibrations", str(ROOT / "catalog"),
     "--local-usd-per-hour", "1.5", "--plot", "out/p.png", "--html", "r.html", "--measurements", "m.yaml"],
    ["estimate", "no-such-profile.yaml", "--emit", "skypilot", "--top", "12"],
    ["estimate", PROFILE, "--simulate", "--seed", "7"], ["estimate", PROFILE, "--seed=0"],
]
"""Command lines read without Typer."""

LEFT_TO_TYPER = [
    [], ["estimate"], ["--debug", "estimate", PROFILE], ["estimate", PROFILE, "--help"], ["estimate", "--help"],
    ["catalog", "list"], ["estimate", PROFILE, PROFILE], ["estimate", PROFILE, "--"], ["estimate", "--", PROFILE],
    ["estimate", PROFILE, "-fjson"], ["estimate", PROFILE, "--format", "JSON"], ["estimate", PROFILE, "--format="],
    ["estimate", PROFILE, "--top", "-1"], ["estimate", PROFILE, "--top", "007"], ["estimate", PROFILE, "--top", "1.5"],
    ["estimate", PROFILE, "--top", "1", "--top", "2"], ["estimate", PROFILE, "--confidence", "1e-1"],
    ["estimate", PROFILE, "--confidence", ".5"], ["estimate", PROFILE, "--confidence", "nan"],
    # outside [0.5, 1): Typer's path quotes the text in its error (0.4999999999 read '0.5 is outside [0.5, 1)')
    ["estimate", PROFILE, "--confidence", "0.4999999999"], ["estimate", PROFILE, "--confidence=1.0"],
    ["estimate", PROFILE, "--local-usd-per-hour", "-1"], ["estimate", PROFILE, "--set"],
    ["estimate", PROFILE, "--set", "--wide"], ["estimate", PROFILE, "--simulate=1"], ["estimate", PROFILE, "--emit"],
    ["estimate", PROFILE, "--emit", "slurm"], ["estimate", PROFILE, "--unknown"], ["estimate", "-"], ["estimate", ""],
    ["estimate", PROFILE, "--plot", ""], ["estimate", PROFILE, "--wid"], ["estimate", "\udcff.yaml"],
    ["estimate", PROFILE, "--seed", "-1"], ["estimate", PROFILE, "--seed", "1.5"], ["estimate", PROFILE, "--seed"],
]
"""Command lines the fast reader leaves to Typer (help, errors, or forms it does not read)."""


@pytest.mark.parametrize("argv", PLAIN, ids=lambda a: " ".join(a[2:])[:40] or a[1][-20:])
def test_a_plain_estimate_is_read_as_typer_reads_it(argv, monkeypatch):
    fast = parse_estimate(argv)
    assert fast is not None
    assert fast == typer_args(argv, monkeypatch)


@pytest.mark.parametrize("argv", LEFT_TO_TYPER, ids=lambda a: repr(a[1:])[:40])
def test_any_other_command_line_is_left_to_typer(argv):
    assert parse_estimate(argv) is None


def test_defaults_are_typers():
    assert parse_estimate(["estimate", PROFILE]) == EstimateArgs(profile=ROOT / "profiles" / "lora-7b-a6000.yaml",
                                                                  format=Format.table)


def test_random_command_lines_are_read_as_typer_reads_them_or_left_to_it(monkeypatch):
    """Random mixes of options, values (good, bad, odd) and positions: whatever the fast reader reads, Typer reads
    the same; the fast reader reads at least the plain ones."""
    pieces = [["--format", "json"], ["-f", "table"], ["--format", "yaml"], ["--top", "5"], ["--top", "x"],
              ["--confidence", "0.75"], ["--confidence", "2"], ["--set", "a.b=1"], ["--set", "-x"], ["--simulate"],
              ["--wide"], ["--emit", "torchrun"], ["--plot", "a.svg"], ["--catalog", "catalog"], ["-x"],
              ["--local-usd-per-hour", "0"], ["--html", "-"], ["extra"], ["--confidence"]]
    rng = random.Random(12)
    read = 0
    for _ in range(60):
        argv = ["estimate"] + [token for piece in rng.sample(pieces, rng.randint(0, 4)) for token in piece]
        argv.insert(rng.randint(1, len(argv)), PROFILE)
        fast = parse_estimate(argv)
        if fast is not None:
            read += 1
            assert fast == typer_args(argv, monkeypatch), argv
    assert read >= 10


def _process(argv: list[str], through_typer: bool) -> subprocess.CompletedProcess[str]:
    code = (f"import sys; sys.argv = ['gpuplan', *{argv!r}]\n"
            + ("from planner.cli.main import app; app()\n" if through_typer else
               "from planner.cli.main import run\ntry:\n    run()\nfinally:\n    print('typer' in sys.modules, file=sys.stderr)\n"))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYDANTIC_DISABLE_PLUGINS": "__all__"})


@pytest.mark.parametrize("argv", [["estimate", "profiles/lora-7b-a6000.yaml", "--format", "json"],
                                  ["estimate", "profiles/no-such-profile.yaml"]], ids=["plan", "error"])
def test_the_process_prints_and_exits_as_typers(argv):
    fast, typer = _process(argv, through_typer=False), _process(argv, through_typer=True)
    assert fast.returncode == typer.returncode
    assert fast.stdout == typer.stdout
    if fast.returncode == 0:  # no Typer imported
        assert fast.stderr == typer.stderr + "False\n"
    else:  # the error's message is written with Typer's echo (imported for it), as Typer's handler writes it
        assert fast.returncode == 2 and "Error: " in fast.stderr
        assert fast.stderr == typer.stderr + "True\n"
