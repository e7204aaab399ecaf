"""`gpuplan catalog refresh --from gpuhunt`, offline: gpuhunt's query is replaced by CatalogItem objects built from a
recorded fixture (tests/recorded/gpuhunt-items.json), so the mapping, the diff and the writes are checked without a
network."""
import json
import logging
import shutil

import gpuhunt
import pytest
import yaml
from typer.testing import CliRunner

from planner.catalog import gpuhunt_refresh
from planner.catalog.load import BUNDLED_CATALOG
from planner.cli.main import app

from .conftest import ROOT

runner = CliRunner()
FIXTURE = ROOT / "tests" / "recorded" / "gpuhunt-items.json"


def recorded_items(repriced: dict[str, float] | None = None) -> list[gpuhunt.CatalogItem]:
    """gpuhunt's own offer objects, as `gpuhunt.query` returns them, from the fixture (with today's prices)."""
    items = []
    for fields in json.loads(FIXTURE.read_text())["items"]:
        if repriced and not fields["spot"] and fields["instance_name"] in repriced:
            fields = {**fields, "price": repriced[fields["instance_name"]]}
        items.append(gpuhunt.CatalogItem(**fields))
    return items


@pytest.fixture
def catalog_dir(tmp_path):
    target = tmp_path / "catalog"
    shutil.copytree(BUNDLED_CATALOG, target, ignore=shutil.ignore_patterns("snapshots"))
    return target


def offers_of(catalog_dir, provider):
    document = yaml.safe_load((catalog_dir / "offers" / f"{provider}.yaml").read_text())
    return document, {o["instance"]: o for o in document["offers"]}


def test_refresh_maps_gpuhunt_offers_and_prints_the_diff(catalog_dir, monkeypatch):
    asked = []

    def query(providers):
        asked.append(providers)
        return recorded_items({"gpu_8x_v100": 4.8})

    monkeypatch.setattr(gpuhunt_refresh, "query", query)
    before_lambda = offers_of(catalog_dir, "lambda")[1]
    result = runner.invoke(app, ["catalog", "refresh", "--from", "gpuhunt", "--catalog", str(catalog_dir)])
    assert result.exit_code == 0, result.output
    assert asked == [["aws", "azure", "gcp", "lambdalabs", "nebius", "runpod"]]
    assert "lambda: 0 new, 0 gone, 1 repriced" in result.stdout
    assert "gpu_8x_v100: $4.4/h → $4.8/h (+9.1%)" in result.stdout
    assert "runpod: 0 new, 0 gone, 0 repriced" in result.stdout and "Wrote 2 offers file(s)" in result.stdout
    document, lam = offers_of(catalog_dir, "lambda")
    assert lam["gpu_8x_v100"]["usd_per_hour"] == 4.8 and lam["gpu_8x_v100"]["gpu"] == "V100-16GB-SXM2"
    assert lam["gpu_4x_a6000"]["gpu"] == "RTX-A6000" and lam["gpu_4x_a6000"]["gpus_per_instance"] == 4
    # the file says where today's prices came from; offers gpuhunt did not list are kept with their own source/date
    assert document["source"].startswith("gpuhunt catalog, provider lambdalabs") and "fetched" in document["source"]
    assert set(lam) == set(before_lambda)
    kept = lam["gpu_1x_h100_pcie"] if "gpu_1x_h100_pcie" in lam else next(
        o for i, o in lam.items() if i not in ("gpu_1x_a10", "gpu_4x_a6000", "gpu_8x_v100"))
    assert kept["as_of"] and kept["source"]
    _, run = offers_of(catalog_dir, "runpod")
    assert run["4x_RTXA6000_SECURE"]["spot_usd_per_hour"] == 1.32 and run["4x_RTXA6000_SECURE"]["usd_per_hour"] == 1.96
    # the accelerator with no GPU id is listed as omitted, not imported; the provider we do not list is ignored
    omitted = yaml.safe_load((catalog_dir / "offers" / "runpod.yaml").read_text())["omitted"]
    assert any("MysteryGPU" in o["row"] for o in omitted) and "1x_MYSTERY_SECURE" not in run
    assert not (catalog_dir / "offers" / "oci.yaml").exists()


def test_rows_merge_on_demand_and_spot_items_of_one_instance():
    rows = gpuhunt_refresh.rows_by_provider(recorded_items())
    assert set(rows) == {"lambdalabs", "runpod", "oci"}
    row = next(r for r in rows["runpod"] if r.instance == "1x_RTX4090_SECURE")
    assert (row.price, row.spot, row.count, row.region) == (0.69, 0.34, 1.0, "CA")
    assert all(r.instance != "cpu_4x_general" for r in rows["lambdalabs"])


def test_dry_run_writes_nothing(catalog_dir, monkeypatch):
    monkeypatch.setattr(gpuhunt_refresh, "query", lambda providers: recorded_items({"gpu_1x_a10": 0.8}))
    before = {p.name: p.read_text() for p in (catalog_dir / "offers").glob("*.yaml")}
    result = runner.invoke(app, ["catalog", "refresh", "--from", "gpuhunt", "--dry-run", "--catalog",
                                 str(catalog_dir)])
    assert result.exit_code == 0 and "Would write" in result.stdout and "gpu_1x_a10: $0.75/h → $0.8/h" in result.stdout
    assert {p.name: p.read_text() for p in (catalog_dir / "offers").glob("*.yaml")} == before


def test_without_network_one_line_and_nothing_changes(catalog_dir, monkeypatch, caplog):
    import urllib.error

    def offline(**query):  # what gpuhunt 0.1.34 does offline: log a traceback per provider, then raise
        try:
            raise urllib.error.URLError("[Errno -2] Name or service not known")
        except urllib.error.URLError as exc:
            logging.getLogger("gpuhunt._internal.catalog").exception("Failed to load aws catalog.")
            raise gpuhunt.GPUHuntError("Failed to load catalogs of all providers") from exc

    monkeypatch.setattr(gpuhunt, "query", offline)
    before = {p.name: p.read_text() for p in (catalog_dir / "offers").glob("*.yaml")}
    with caplog.at_level(logging.DEBUG):
        result = runner.invoke(app, ["catalog", "refresh", "--from", "gpuhunt", "--catalog", str(catalog_dir)])
    assert not [r for r in caplog.records if r.name.startswith("gpuhunt")]  # no traceback printed under the line
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: no network: gpuhunt could not fetch") and result.output.count("\n") == 1
    assert "Traceback" not in result.output
    assert {p.name: p.read_text() for p in (catalog_dir / "offers").glob("*.yaml")} == before


def test_no_offers_is_one_error_line(catalog_dir, monkeypatch):
    # new-user QA: the no-network lines lacked the `Error:` prefix every other error has
    monkeypatch.setattr(gpuhunt, "query", lambda **query: [])
    result = runner.invoke(app, ["catalog", "refresh", "--from", "gpuhunt", "--dry-run", "--catalog",
                                 str(catalog_dir)])
    assert result.exit_code == 2
    assert result.stderr == "Error: gpuhunt returned no offers (no network?); the catalog is unchanged\n"
    assert result.stdout == ""


def test_url_is_for_skypilot_only(catalog_dir):
    result = runner.invoke(app, ["catalog", "refresh", "--from", "gpuhunt", "--url", "https://example.invalid",
                                 "--catalog", str(catalog_dir)])
    assert result.exit_code == 2 and "--url" in result.output
