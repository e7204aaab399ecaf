"""`--plot FILE.png|.svg`: the Pareto plot is written, in the asked format, and only when asked."""
import pytest
from typer.testing import CliRunner

from planner.cli.main import app

from .conftest import ROOT

pytest.importorskip("matplotlib")
runner = CliRunner()


@pytest.mark.parametrize("profile", ["pretrain-1b-72h", "serve-7b-chat", "bert-train-then-serve"])
def test_svg_plot_has_frontier_choices_and_limits(tmp_path, profile):
    out = tmp_path / "pareto.svg"
    result = runner.invoke(app, ["estimate", str(ROOT / "profiles" / f"{profile}.yaml"), "--plot", str(out)])
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for label in ("Pareto frontier", "cheapest viable", "fastest"):
        assert label in svg, label
    if profile == "pretrain-1b-72h":
        assert "deadline 72 h" in svg and "budget $20,000" in svg
    if profile == "serve-7b-chat":
        assert "target 500 ms" in svg


def test_png_plot_is_a_png(tmp_path):
    out = tmp_path / "pareto.png"
    result = runner.invoke(app, ["estimate", str(ROOT / "profiles" / "pretrain-1b-72h.yaml"), "--plot", str(out),
                                 "--format", "json"])
    assert result.exit_code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_plot_format_exit_2(tmp_path):
    result = runner.invoke(app, ["estimate", str(ROOT / "profiles" / "pretrain-1b-72h.yaml"), "--plot",
                                 str(tmp_path / "p.jpg")])
    assert result.exit_code == 2 and "expected a .png or .svg" in result.output
    assert not (tmp_path / "p.jpg").exists()
