"""The sourced price facts in catalog/: card purchase prices (catalog/purchase_prices.yaml) and committed-term prices
(catalog/commitments.yaml). Each entry carries its source, date and a quote that shows its figure; a committed price
published as a percentage off on demand (GCP) is recomputed from the list prices it quotes and priced against the
catalog offer it names; plans on owned cards and at committed terms use them."""
import dataclasses
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
    and 6999; a number of thousands written in words ('15 tisíc USD', Czech) reads 15000."""
    return re.sub(r"(?<=\d)[,. ](?=\d{3}\b)", "", re.sub(r"\b(\d+) tisíc\b", r"\g<1>000", text))


def _sourced(entry) -> None:
    assert entry.source and entry.title and entry.url.startswith("https://") and entry.quote and entry.as_of


def test_every_purchase_price_is_sourced_and_its_quote_shows_the_figure(catalog):
    assert len(catalog.purchase_prices) >= 19
    for gpu, price in catalog.purchase_prices.items():
        _sourced(price)
        # the figure as the source writes it: whole dollars ("$1,199") or with cents ("5189.96"); a system share's
        # source gives the whole server's price ("200 000 dólares" for 8 × $25,000)
        figure = f"{price.usd * (price.server_gpus or 1):.2f}".removesuffix(".00")
        assert figure in _digits(price.quote), (gpu, figure, price.quote)


TRACKER = "United-Compute gpu-price-tracker (Amazon.com Buy Box via Keepa)"


@pytest.mark.parametrize("gpu,usd,source", [
    ("RTX-4080", 1199, "Wccftech"), ("RTX-3080", 699, "HotHardware"), ("RTX-5080", 999, "BigGo News"),
    ("H100-PCIE", 30000, "CityLife Cape Town"), ("QUADRO-RTX-6000", 6300, "CHIP (chip.pl)"),
    ("RTX-A6000", 5189.96, TRACKER), ("RTX-A5000", 1815.99, TRACKER), ("RTX-6000-ADA", 6886.96, TRACKER),
    ("L40S", 9749.95, TRACKER), ("A100-40GB-PCIE", 6639, TRACKER),
    # added 2026-11-30 from the same tracker's history (each card's last non-empty file)
    ("L4", 2500, TRACKER), ("A40", 5509, TRACKER), ("L40", 6999, TRACKER), ("RTX-A4000", 839, TRACKER),
    ("RTX-A4500", 1539.99, TRACKER), ("RTX-4000-ADA", 1595, TRACKER), ("RTX-2000-ADA", 686.99, TRACKER),
    ("T4", 878, TRACKER), ("H100-NVL", 29999, TRACKER), ("V100-16GB-SXM2", 18625, "Leiphone (雷锋网)"),
    # added 2026-12-01: Citigroup's estimate for buyers other than Microsoft (AMD publishes no price)
    ("MI300X", 15000, "Svět hardware (svethardware.cz)")])
def test_cards_found_since_the_first_list_have_their_price(catalog, gpu, usd, source):
    price = catalog.purchase_prices[gpu]
    assert (price.usd, price.source) == (usd, source)


def test_a_system_share_needs_its_server_size_and_only_it_has_one(catalog):
    from pydantic import ValidationError

    from planner.schema.catalog import PurchasePrice

    shares = {g: p.server_gpus for g, p in catalog.purchase_prices.items() if p.kind == "system-share"}
    # the DGX A100 (2020) and the DGX-1 with V100 (2017, added 2026-11-30): eight SXM modules each
    assert shares == {"A100-40GB-SXM": 8, "V100-16GB-SXM2": 8}
    entry = catalog.purchase_prices["A100-40GB-SXM"].model_dump()
    with pytest.raises(ValidationError, match="server_gpus goes with kind system-share"):
        PurchasePrice(**{**entry, "server_gpus": None})
    with pytest.raises(ValidationError, match="server_gpus goes with kind system-share"):
        PurchasePrice(**{**entry, "kind": "list"})


def test_a_street_price_is_marked_as_one(catalog):
    assert catalog.purchase_prices["H100-PCIE"].kind == "street"
    # Amazon.com Buy Box prices are what a seller asked, not NVIDIA's price
    assert {catalog.purchase_prices[g].kind for g in ("RTX-A6000", "RTX-A5000", "L40S", "A100-40GB-PCIE")} == {"street"}


def test_a_tracker_price_names_the_file_at_the_commit_read_and_the_product(catalog):
    tracked = [g for g, p in catalog.purchase_prices.items() if p.source == TRACKER]
    assert len(tracked) >= 14
    for gpu in tracked:
        price = catalog.purchase_prices[gpu]
        assert re.fullmatch(r"https://github\.com/United-Compute/gpu-price-tracker/blob/[0-9a-f]{40}/data/\S+\.json",
                            price.url), price.url
        assert price.as_of.isoformat() in price.quote and "ASIN" in (price.notes or "")


def test_an_owned_rtx_a6000_buys_at_its_sourced_street_price(tmp_path, catalog):
    """The buy-versus-rent line of owned RTX A6000s takes the card's Amazon.com price (2025-08-22), names its source
    and says whether it is older than 18 months."""
    profile = tmp_path / "owned-a6000.yaml"
    profile.write_text("name: owned-a6000\nmodel: {preset: llama-2-7b}\ntraining:\n  dataset: {tokens: 200M}\n"
                       "  method: lora\n  deadline: 72h\nconstraints:\n  owned:\n"
                       "    - {gpu: RTX-A6000, count: 4, usd_per_hour: 0, interconnect: pcie, lifetime_years: 4}\n")
    (line,) = _estimate(profile, "constraints.gpus=[RTX-A6000]")["training"]["buy_vs_rent"]
    assert line["rental"] and "RTX-A6000" in line["rental"] and line["break_even_utilisation"] is not None
    p = line["purchase"]
    assert (p["origin"], p["kind"]) == ("catalog", "street")
    # the JSON rounds to 4 significant figures; the quote keeps the cents
    assert p["per_gpu_usd"] == pytest.approx(5189.96, rel=1e-3) and p["usd"] == pytest.approx(4 * 5189.96, rel=1e-3)
    assert "5189.96" in p["quote"]
    assert p["source"] == TRACKER and p["as_of"] == "2025-08-22" and p["stale"] == (p["age_days"] > 548)
    assert line["amortised_usd_per_hour"] == pytest.approx(4 * 5189.96 / (4 * 8766), rel=1e-3)


def test_an_l40s_price_older_than_18_months_is_marked_stale(catalog):
    import datetime as dt

    from planner.plans.owned import purchase_basis
    from planner.schema.profile import OwnedMachine
    basis = purchase_basis(OwnedMachine(gpu="L40S", count=8, lifetime_years=5), "L40S", catalog, dt.date(2026, 11, 30))
    assert basis is not None and basis.usd == pytest.approx(8 * 9749.95) and basis.stale and basis.kind == "street"


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
        if c.on_demand_usd_per_hour is not None:  # the region's on-demand price, as the quote gives it
            assert f"hour: {c.on_demand_usd_per_hour!r}" in c.quote, (c.instance, c.quote)


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
        assert (o.offer.doubtful or "").startswith(base.offer.doubtful or "")


def test_a_percentage_off_a_price_its_source_does_not_list_is_flagged(catalog):
    """The snapshot's europe-west4 a2-highgpu-8g is $19.42/h; the discount's source lists $29.98/h there, so 37 % off
    the catalog's price ($12.24/h) is not the source's committed price ($18.89/h): the committed offer says so."""
    offers = catalog.offers(None, {"gcp"})
    committed = {o.offer.instance: o for o in committed_offers(offers, catalog, "1y", "no-upfront")}
    a2 = committed["a2-highgpu-8g (1y commitment)"]
    assert a2.commitment.on_demand_usd_per_hour == 29.983776
    assert a2.offer.usd_per_hour == pytest.approx(19.4217 * 0.63)
    assert "35% under the $29.98/h the percentage's source lists" in a2.offer.doubtful
    # the same entry against a catalog price within 10 % of the source's is not flagged
    close = [o for o in offers if o.offer.instance == "a2-highgpu-8g"]
    close = [dataclasses.replace(close[0], offer=close[0].offer.model_copy(update={"usd_per_hour": 28.0}))]
    assert committed_offers(close, catalog, "1y", "no-upfront")[0].offer.doubtful is None


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
