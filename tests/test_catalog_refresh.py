"""`gpuplan catalog refresh --from skypilot-url`, offline: the download is replaced by the recorded tables of the
bundled snapshot (one changed price), so the diff and the writes are checked without a network."""
import shutil
import urllib.error

import pytest
import yaml
from typer.testing import CliRunner

from planner.catalog import refresh
from planner.catalog.load import BUNDLED_CATALOG
from planner.cli.main import app

runner = CliRunner()
RECORDED = BUNDLED_CATALOG / "snapshots" / "skypilot-2026-11-30" / "v7"


@pytest.fixture
def catalog_dir(tmp_path):
    target = tmp_path / "catalog"
    shutil.copytree(BUNDLED_CATALOG, target, ignore=shutil.ignore_patterns("snapshots"))
    return target


def recorded(url: str) -> bytes:
    cloud = url.rstrip("/").split("/")[-2]
    data = (RECORDED / cloud / "vms.csv").read_bytes()
    if cloud == "lambda":  # today's table: one price moved
        data = data.replace(b"gpu_8x_v100,V100,8.0,92.0,448.0,4.4,", b"gpu_8x_v100,V100,8.0,92.0,448.0,4.8,")
    return data


def test_refresh_writes_the_new_prices_and_prints_the_diff(catalog_dir, monkeypatch):
    monkeypatch.setattr(refresh, "fetch", recorded)
    result = runner.invoke(app, ["catalog", "refresh", "--from", "skypilot-url", "--catalog", str(catalog_dir)])
    assert result.exit_code == 0, result.output
    assert "lambda: 0 new, 0 gone, 1 repriced" in result.stdout
    assert "gpu_8x_v100: $4.4/h → $4.8/h (+9.1%)" in result.stdout
    assert "aws: 0 new, 0 gone, 0 repriced" in result.stdout
    offers = {o["instance"]: o for o in yaml.safe_load((catalog_dir / "offers" / "lambda.yaml").read_text())["offers"]}
    assert offers["gpu_8x_v100"]["usd_per_hour"] == 4.8
    assert "fetched" in yaml.safe_load((catalog_dir / "offers" / "lambda.yaml").read_text())["source"]


def test_dry_run_writes_nothing(catalog_dir, monkeypatch):
    monkeypatch.setattr(refresh, "fetch", recorded)
    before = (catalog_dir / "offers" / "lambda.yaml").read_text()
    result = runner.invoke(app, ["catalog", "refresh", "--from", "skypilot-url", "--dry-run",
                                 "--catalog", str(catalog_dir)])
    assert result.exit_code == 0 and "Would write" in result.stdout
    assert (catalog_dir / "offers" / "lambda.yaml").read_text() == before


def test_without_network_one_line_and_nothing_changes(catalog_dir, monkeypatch):
    def offline(url: str) -> bytes:
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(refresh, "fetch", offline)
    before = {p.name: p.read_text() for p in (catalog_dir / "offers").glob("*.yaml")}
    result = runner.invoke(app, ["catalog", "refresh", "--from", "skypilot-url", "--catalog", str(catalog_dir)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.stderr.startswith("Error: no network: could not fetch")
    assert before == {p.name: p.read_text() for p in (catalog_dir / "offers").glob("*.yaml")}


@pytest.mark.parametrize("url", ["notaurl", "ftp://example.org/catalogs/v7", "https:///catalogs/v7"])
def test_a_url_that_is_not_one_is_bad_input_at_the_option(catalog_dir, url):
    # new-user QA: --url notaurl was an internal error (urllib's ValueError 'unknown url type', exit 70)
    result = runner.invoke(app, ["catalog", "refresh", "--from", "skypilot-url", "--url", url,
                                 "--catalog", str(catalog_dir)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.startswith(f"Error: --url: {url!r} is not an http(s) or file URL of a catalog folder")


def test_a_local_copy_is_read_through_a_file_url_and_dated_as_given(catalog_dir):
    result = runner.invoke(app, ["catalog", "refresh", "--from", "skypilot-url", "--url", RECORDED.as_uri(),
                                 "--as-of", "2026-11-30", "--catalog", str(catalog_dir)])
    assert result.exit_code == 0, result.output
    assert "lambda: 0 new, 0 gone, 0 repriced" in result.stdout
    written = yaml.safe_load((catalog_dir / "offers" / "lambda.yaml").read_text())
    assert str(written["as_of"]) == "2026-11-30" and "prices as of 2026-11-30 (--as-of)" in written["source"]


def test_a_local_copy_without_its_date_is_refused(catalog_dir):
    # new-user QA round 10: the 2026-11-30 snapshot read through file:// on 2026-12-01 dated every provider that day
    # ("fetched"), so a stale mirror looked fresh
    before = (catalog_dir / "offers" / "lambda.yaml").read_text()
    result = runner.invoke(app, ["catalog", "refresh", "--from", "skypilot-url", "--url", RECORDED.as_uri(),
                                 "--catalog", str(catalog_dir)])
    assert result.exit_code == 2 and result.output.startswith(
        "Error: --as-of: a local copy of the catalog carries no date of its own")
    assert (catalog_dir / "offers" / "lambda.yaml").read_text() == before
    for bad, message in (("yesterday", "expected a date such as 2026-11-30"), ("2999-01-01", "after today")):
        result = runner.invoke(app, ["catalog", "refresh", "--from", "skypilot-url", "--url", RECORDED.as_uri(),
                                     "--as-of", bad, "--catalog", str(catalog_dir)])
        assert result.exit_code == 2 and message in result.output, result.output


def test_a_missing_local_folder_or_a_wrong_address_is_not_called_no_network(catalog_dir, tmp_path, monkeypatch):
    # new-user QA: --url file:///nowhere and a 404 both read "no network: could not fetch …"
    result = runner.invoke(app, ["catalog", "refresh", "--from", "skypilot-url", "--url",
                                 (tmp_path / "nowhere").as_uri(), "--as-of", "2026-11-30", "--catalog",
                                 str(catalog_dir)])
    assert result.exit_code == 2 and result.output.startswith("Error: --url: could not read file://")
    assert "no network" not in result.output

    def not_found(url: str) -> bytes:
        raise urllib.error.HTTPError(url, 404, "Not Found", None, None)  # type: ignore[arg-type]

    monkeypatch.setattr(refresh, "fetch", not_found)
    result = runner.invoke(app, ["catalog", "refresh", "--from", "skypilot-url", "--url", "https://example.org/v7",
                                 "--catalog", str(catalog_dir)])
    assert result.exit_code == 2 and "the server answered 404 Not Found" in result.output
    assert "no network" not in result.output
