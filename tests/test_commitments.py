"""Published committed-term prices (catalog/commitments.yaml, constraints.commitment): planned beside the on-demand
offers only when asked, named with their term, never merged into or replacing on-demand results."""
import json
import shutil

import pytest
from typer.testing import CliRunner

from planner.cli.main import app

from .conftest import ROOT

runner = CliRunner()
CHAT = ROOT / "profiles" / "serve-7b-chat.yaml"
PRETRAIN = ROOT / "profiles" / "pretrain-1b-72h.yaml"
AWS_L40S = ("constraints.providers=[aws]", "constraints.gpus=[L40S]")


def estimate(profile, *sets, fmt="json"):
    args = ["estimate", str(profile), "--format", fmt, "--top", "0"]
    for s in sets:
        args += ["--set", s]
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout) if fmt == "json" else result.stdout


def _published(catalog, term, payment="no-upfront"):
    return next(c for c in catalog.commitments if c.provider == "aws" and c.instance == "g6e.xlarge"
                and c.term == term and c.payment == payment)


def test_committed_prices_stay_out_of_plans_unless_asked():
    plans = estimate(CHAT, *AWS_L40S)["inference"]["plans"]
    assert plans and all(p["commitment"] is None and "commitment" not in p["instance"] for p in plans)


@pytest.mark.parametrize("term,payment", [("1y", "no-upfront"), ("3y", "all-upfront")])
def test_a_commitment_adds_plans_at_the_published_price_beside_on_demand(catalog, term, payment):
    c = _published(catalog, term, payment)
    data = estimate(CHAT, *AWS_L40S, f"constraints.commitment={term}", f"constraints.commitment_payment={payment}")
    plans = data["inference"]["plans"]
    committed = [p for p in plans if p["commitment"] is not None]
    on_demand = [p for p in plans if p["commitment"] is None and p["instance"] == "g6e.xlarge"]
    assert committed and on_demand  # beside, not instead
    p = committed[0]
    assert p["instance"] == f"g6e.xlarge ({term} commitment)" and p["commitment"]["usd_per_hour"] == c.usd_per_hour
    assert p["commitment"]["term"] == term and p["commitment"]["payment"] == payment
    assert p["commitment"]["url"] == c.url and p["price_as_of"] == c.as_of.isoformat()
    hours = {"1y": 8766.0, "3y": 3 * 8766.0}[term]
    assert p["commitment"]["obligation_usd"] == pytest.approx(c.usd_per_hour * hours * p["instances"], rel=1e-3)
    same = next(q for q in on_demand if (q["replicas"], q["gpus_per_replica"], q["batch_size"])
                == (p["replicas"], p["gpus_per_replica"], p["batch_size"]))
    listed = next(o.usd_per_hour for o in catalog.provider("aws").offers if o.instance == "g6e.xlarge")
    assert p["monthly_cost_usd"] == pytest.approx(same["monthly_cost_usd"] * c.usd_per_hour / listed, rel=1e-3)
    assert p["monthly_cost_autoscaled_usd"] in (None, p["monthly_cost_usd"])  # a commitment is owed all month


def test_the_table_names_the_term_and_what_it_binds_to(catalog):
    c = _published(catalog, "1y")
    table = " ".join(estimate(CHAT, *AWS_L40S, "constraints.commitment=1y", fmt="table").split())
    assert "aws 1y" in table and "· 1y" in table
    assert "Committed price, serving" in table and f"${c.usd_per_hour:.2f}/h per instance for 1 year" in table
    assert "owed whether used or not" in table and c.source in table


def test_training_plans_take_committed_prices_too(catalog):
    c = _published(catalog, "1y")
    plans = estimate(PRETRAIN, *AWS_L40S, "constraints.commitment=1y")["training"]["plans"]
    committed = [p for p in plans if p["commitment"] is not None]
    assert committed and all(p["usd_per_hour"] in (c.usd_per_hour, c.usd_per_hour * p["instances"])
                             and p["commitment"]["term"] == "1y" for p in committed)
    assert any(p["commitment"] is None and p["instance"] == "g6e.xlarge" for p in plans)


def test_a_term_with_no_published_price_is_said_and_changes_nothing():
    asked = estimate(CHAT, *AWS_L40S, "constraints.commitment=1m")
    plain = estimate(CHAT, *AWS_L40S)
    assert any("constraints.commitment 1m" in w and "on-demand prices only" in w for w in asked["warnings"])
    assert [p["monthly_cost_usd"] for p in asked["inference"]["plans"]] == \
        [p["monthly_cost_usd"] for p in plain["inference"]["plans"]]


def test_every_published_commitment_names_a_catalog_offer(catalog):
    assert catalog.commitments
    for c in catalog.commitments:
        assert any(o.instance == c.instance for o in catalog.provider(c.provider).offers), (c.provider, c.instance)


def _catalog_with(tmp_path, entry):
    (tmp_path / "offers").mkdir()
    for name in ("gpus.yaml", "models.yaml", "priors.yaml", "providers.yaml", "offers/aws.yaml"):
        shutil.copy(ROOT / "catalog" / name, tmp_path / name)
    (tmp_path / "commitments.yaml").write_text(
        "schema_version: 1\nas_of: 2026-11-30\ncommitments:\n- provider: aws\n" + entry +
        "  payment: no-upfront\n  usd_per_hour: 1.0\n  as_of: 2025-01-01\n  source: A site\n  title: A page\n"
        "  url: https://example.org/p\n  quote: $1.00/hr\n")
    return tmp_path


def test_bad_commitment_entries_exit_2_with_file_line_and_field(tmp_path):
    cat = _catalog_with(tmp_path, "  instance: g6e.xlarge\n  term: 2y\n")
    result = runner.invoke(app, ["estimate", str(CHAT), "--catalog", str(cat)])
    assert result.exit_code == 2 and "commitments.yaml:6:" in result.output and "commitments.0.term" in result.output


def test_a_commitment_whose_offer_an_import_dropped_prices_nothing(tmp_path):
    cat = _catalog_with(tmp_path, "  instance: g9.gone\n  term: 1y\n")
    result = runner.invoke(app, ["estimate", str(CHAT), "--catalog", str(cat), "--format", "json", "--set",
                                 "constraints.commitment=1y"])
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    assert all(p["commitment"] is None for p in data["inference"]["plans"])
    assert any("constraints.commitment 1y" in w for w in data["warnings"])
