"""`--html FILE` and `--format markdown`: reports a person can share. The page is opened in headless Chromium."""
import importlib.util
import json
import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from planner.cli.main import app

from .conftest import ROOT

runner = CliRunner()
PRETRAIN = ROOT / "profiles" / "pretrain-1b-72h.yaml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HIGHLIGHT = (0xFF, 0xE6, 0x80)
"""Background of the recommended-plan box (html_report.STYLE: #ffe680)."""


def write_report(tmp_path, profile=PRETRAIN):
    page = tmp_path / "report.html"
    result = runner.invoke(app, ["estimate", str(profile), "--html", str(page), "--format", "json"])
    assert result.exit_code == 0, result.output
    return page


def test_html_is_self_contained_and_names_the_recommended_plan(tmp_path):
    page = write_report(tmp_path).read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "external resource"
    assert not re.search(r"@import|url\(\s*['\"]?https?:", page)
    assert "Recommended training plan:" in page and "cheapest viable" in page
    assert "P10–P90" in page and "Efficiency origin" in page
    # the whole bill (issue 15 item 6): one row per line; no storage or egress price for the recommended provider
    assert "Whole bill of the recommended training plan" in page and "<td>storage</td><td>not counted</td>" in page
    if importlib.util.find_spec("matplotlib"):
        assert "<svg" in page  # the Pareto plot, inline


def test_html_headline_prices_in_the_tables_format_cents_below_100_dollars(tmp_path):
    # a LoRA run costs a few dollars: whole dollars ("$3") would hide the cents the tables show ($2.66)
    from planner.readable import usd

    lora = ROOT / "profiles" / "lora-7b-a6000.yaml"
    page = tmp_path / "report.html"
    result = runner.invoke(app, ["estimate", str(lora), "--html", str(page), "--format", "json"])
    assert result.exit_code == 0, result.output
    choice = json.loads(result.stdout)["decisions"]["training"]["choices"][0]
    assert choice["cost_usd"] < 100
    headline = re.search(r"Recommended training plan: [^<]*", page.read_text()).group(0)
    assert re.search(r", \$\d+\.\d\d \(P50\)$", headline), headline
    assert f", {usd(choice['cost_usd'])} (P50)" in headline


def test_markdown_report_leads_with_the_decision():
    result = runner.invoke(app, ["estimate", str(PRETRAIN), "--format", "markdown"])
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("# GPU plan: pretrain-1b-72h")
    assert out.index("### Choices") < out.index("## Training\n")
    assert re.search(r"^\| cheapest viable(, [a-z ]+)? \| .* \|$", out, re.M)  # one row per plan, all its names


def run_chromium(tmp_path, url, *extra):
    """Headless Chromium on `url` with a fresh profile and no network services; returns (stdout, stderr)."""
    profile = tmp_path / "chromium-profile"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *extra, url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return done.stdout, done.stderr


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it)")
def test_console_error_detection_works(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html><body><script>notDefined();</script></body></html>")
    _, stderr = run_chromium(tmp_path, broken.as_uri(), "--dump-dom")
    assert any("notDefined" in line for line in console_errors(stderr))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it)")
def test_page_loads_without_console_errors_and_shows_the_recommended_plan(tmp_path):
    mpimg = pytest.importorskip("matplotlib.image")
    page = write_report(tmp_path)
    dom, stderr = run_chromium(tmp_path, page.as_uri(), "--dump-dom")
    assert not console_errors(stderr), console_errors(stderr)
    assert "Recommended training plan: " in dom
    shot = tmp_path / "shot.png"
    run_chromium(tmp_path, page.as_uri(), f"--screenshot={shot}", "--window-size=1200,900",
                 "--hide-scrollbars")
    pixels = mpimg.imread(str(shot))  # (H, W, 3 or 4) floats in [0, 1]
    assert pixels.shape[:2] == (900, 1200)
    top = (pixels[:300, :, :3] * 255).round()
    highlight = ((abs(top[..., 0] - HIGHLIGHT[0]) <= 2) & (abs(top[..., 1] - HIGHLIGHT[1]) <= 2)
                 & (abs(top[..., 2] - HIGHLIGHT[2]) <= 2)).sum()
    # the recommended-plan box is painted in the first screenful: at least a 1000×20 px band of its colour
    assert highlight > 20_000, highlight


@pytest.mark.parametrize("name", ["report.txt", "report", "plot.png"])
def test_html_needs_an_html_name(name, tmp_path):
    """New-user QA: `--html report.txt` (or report.png, meant for --plot) wrote an HTML page under that name."""
    target = tmp_path / name
    result = runner.invoke(app, ["estimate", str(ROOT / "profiles" / "pretrain-1b-72h.yaml"), "--html", str(target)])
    assert result.exit_code == 2 and result.stdout == "" and not target.exists()
    assert result.stderr.startswith(f"Error: --html {target}: expected a .html (or .htm) file name")
    assert f"--html {target.with_suffix('.html')}" in result.stderr and "Traceback" not in result.output
