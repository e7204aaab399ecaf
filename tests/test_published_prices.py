"""The sourced price facts in catalog/: card purchase prices (catalog/purchase_prices.yaml) and committed-term prices
(catalog/commitments.yaml). Each entry carries its source, date and a quote that shows its figure; a committed price
published as a percentage off on demand (GCP) is recomputed from the list prices it quotes and priced against the
catalog offer it names; plans on owned cards and at committed terms use them."""
import json
import re
import shutil

import pytest
from typer.testing import CliRunner

from planner.catalog.commitments import committed_offers
from planner.cli.main import app

from .conftest import ROOT

runner = CliRunner()
PRETRAIN = ROOT / "profiles" / "pretrain-1b-72h.yaml"
CHAT = ROOT / "profiles" / "serve-7b-chat.yaml"


def _estimate(profile, *sets):
    args = ["estimate", str(profile), "--format", "json", "--top", "0"]
    for s in sets:
        args += ["--set", s]
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def _digits(text: str) -> str:
    """The text with thousands separators (',', '.', ' ') between digits removed: '$1,199' and '6.999' read 1199
    and 6999."""
    return re.sub(r"(?<=\d)[,. ](?=\d{3}\b)", "", text)


def _sourced(entry) -> None:
    assert entry.source and entry.title and entry.url.startswith("https://") and entry.quote and entry.as_of


def test_every_purchase_price_is_sourced_and_its_quote_shows_the_figure(catalog):
    assert len(catalog.purchase_prices) >= 14
    for gpu, price in catalog.purchase_prices.items():
        _sourced(price)
        assert str(round(price.usd)) in _digits(price.quote), (gpu, price.quote)


@pytest.mark.parametrize("gpu,usd,source", [
    ("RTX-4080", 1199, "Wccftech"), ("RTX-3080", 699, "HotHardware"), ("RTX-5080", 999, "BigGo News"),
    ("H100-PCIE", 30000, "CityLife Cape Town"), ("QUADRO-RTX-6000", 6300, "CHIP (chip.pl)"),
    ("RTX-6000-ADA", 7378, "Tom's Hardware France")])
def test_cards_found_since_the_first_list_have_their_price(catalog, gpu, usd, source):
    price = catalog.purchase_prices[gpu]
    assert (price.usd, price.source) == (usd, source)


def test_a_street_price_is_marked_as_one(catalog):
    assert catalog.purchase_prices["H100-PCIE"].kind == "street"
    assert catalog.purchase_prices["RTX-6000-ADA"].kind == "list"  # a retailer's listing, not NVIDIA's MSRP


def test_an_owned_rtx_6000_ada_buys_at_its_listed_price_flagged_stale(tmp_path, catalog):
    """The RTX 6000 Ada's only dated price is a November 2022 listing: the line uses it, names the source and says it
    is older than 18 months."""
    profile = tmp_path / "owned-6000-ada.yaml"
    profile.write_text("name: owned-6000-ada\nmodel: {preset: llama-2-7b}\ntraining:\n  dataset: {tokens: 200M}\n"
                       "  method: lora\n  deadline: 72h\nconstraints:\n  owned:\n"
                       "    - {gpu: RTX-6000-ADA, count: 4, usd_per_hour: 0, interconnect: pcie, lifetime_years: 4}\n")
    (line,) = _estimate(profile, "constraints.gpus=[RTX-6000-ADA]")["training"]["buy_vs_rent"]
    assert line["rental"] and "RTX-6000-ADA" in line["rental"]
    p = line["purchase"]
    assert (p["origin"], p["per_gpu_usd"], p["kind"]) == ("catalog", 7378, "list")
    assert p["usd"] == pytest.approx(4 * 7378, rel=1e-3)  # the JSON rounds to 4 significant figures
    assert p["source"] == "Tom's Hardware France" and p["as_of"] == "2022-11-01" and p["stale"] is True
    assert line["amortised_usd_per_hour"] == pytest.approx(4 * 7378 / (4 * 8766), rel=1e-3)


def test_an_owned_card_buys_at_its_new_sourced_price(tmp_path, catalog):
    profile = tmp_path / "owned-4080.yaml"
    profile.write_text("name: owned-4080\nmodel: {preset: llama-2-7b}\ntraining:\n  dataset: {tokens: 200M}\n"
                       "  method: lora\n  deadline: 72h\nconstraints:\n  owned:\n"
                       "    - {gpu: RTX-4080, count: 2, usd_per_hour: 0, interconnect: pcie, lifetime_years: 3}\n")
    (line,) = _estimate(profile, "constraints.gpus=[RTX-4080]")["training"]["buy_vs_rent"]  # 4080 rentals only: fast
    assert line["rental"] and "RTX-4080" in line["rental"] and line["break_even_utilisation"] is not None
    card = catalog.purchase_prices["RTX-4080"]
    assert line["purchase"]["per_gpu_usd"] == 1199 and line["purchase"]["usd"] == 2 * 1199
    assert line["purchase"]["source"] == card.source and line["purchase"]["url"] == card.url
    assert line["amortised_usd_per_hour"] == pytest.approx(2 * 1199 / (3 * 8766), rel=1e-3)


def test_every_commitment_is_sourced_and_its_quote_shows_the_figure(catalog):
    for c in catalog.commitments:
        _sourced(c)
        if c.usd_per_hour is not None:
            assert f"{c.usd_per_hour:.2f}" in c.quote, (c.instance, c.quote)
            continue
        # a percentage: 1 − committed / on-demand, from the monthly list prices the quote shows
        month = float(re.search(r"\bmonth: ([\d.]+)", c.quote).group(1))
        committed = float(re.search(rf"\bmonth_{c.term}: ([\d.]+)", c.quote).group(1))
        assert c.discount_percent == pytest.approx(100 * (1 - committed / month), abs=0.01), (c.instance, c.term)


def test_gcp_publishes_one_and_three_year_terms(catalog):
    gcp = {(c.instance, c.term) for c in catalog.commitments if c.provider == "gcp"}
    assert {("a2-highgpu-1g", "1y"), ("a2-highgpu-1g", "3y"), ("a2-highgpu-8g", "1y"), ("a3-highgpu-1g", "3y")} <= gcp
    assert all(c.discount_percent is not None and c.payment == "no-upfront"
               for c in catalog.commitments if c.provider == "gcp")


def test_a_percentage_commitment_is_priced_off_its_offers_on_demand_price(catalog):
    offers = catalog.offers(None, {"gcp"})
    committed = committed_offers(offers, catalog, "3y", "no-upfront")
    listed = {o.offer.instance: o for o in offers}
    assert {o.offer.instance for o in committed} >= {"a2-highgpu-1g (3y commitment)", "a3-highgpu-1g (3y commitment)"}
    for o in committed:
        base = listed[o.offer.instance.removesuffix(" (3y commitment)")]
        c = o.commitment
        assert o.offer.usd_per_hour == pytest.approx(base.offer.usd_per_hour * (1 - c.discount_percent / 100))
        assert c.hourly == o.offer.usd_per_hour  # resolved: the plan's commitment carries its hourly price
        assert o.as_of == min(base.as_of, c.as_of)  # only as recent as the older of the two figures
        assert o.offer.doubtful == base.offer.doubtful


def test_gcp_committed_plans_sit_beside_on_demand_with_the_percentage_named(catalog):
    data = _estimate(PRETRAIN, "constraints.providers=[gcp]", "constraints.gpus=[A100-40GB-SXM]",
                     "constraints.commitment=1y")
    plans = data["training"]["plans"]
    committed = [p for p in plans if p["commitment"] is not None]
    assert committed and any(p["commitment"] is None for p in plans)
    for p in committed:
        base = p["instance"].removesuffix(" (1y commitment)")
        listed = next(o.usd_per_hour for o in catalog.provider("gcp").offers if o.instance == base)
        assert p["commitment"]["discount_percent"] == 37.0
        assert p["commitment"]["usd_per_hour"] == pytest.approx(listed * 0.63)
        assert p["commitment"]["obligation_usd"] == pytest.approx(listed * 0.63 * 8760 * p["instances"], rel=1e-3)


def _catalog_with(tmp_path, price_lines):
    (tmp_path / "offers").mkdir()
    for name in ("gpus.yaml", "models.yaml", "priors.yaml", "providers.yaml", "offers/gcp.yaml"):
        shutil.copy(ROOT / "catalog" / name, tmp_path / name)
    (tmp_path / "commitments.yaml").write_text(
        "schema_version: 1\nas_of: 2026-11-30\ncommitments:\n- provider: gcp\n  instance: a2-highgpu-1g\n  term: 1y\n"
        "  payment: no-upfront\n" + price_lines + "  as_of: 2025-01-01\n  source: A site\n  title: A page\n"
        "  url: https://example.org/p\n  quote: 37 % off\n")
    return tmp_path


@pytest.mark.parametrize("price_lines", ["  usd_per_hour: 1.0\n  discount_percent: 37\n", "",
                                         "  discount_percent: 100\n"])
def test_a_commitment_needs_exactly_one_valid_price(tmp_path, price_lines):
    cat = _catalog_with(tmp_path, price_lines)
    result = runner.invoke(app, ["estimate", str(CHAT), "--catalog", str(cat)])
    assert result.exit_code == 2 and "commitments.yaml:" in result.output and "commitments.0" in result.output
    assert "Traceback" not in result.output
