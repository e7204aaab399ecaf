"""Published committed-term prices (catalog/commitments.yaml, constraints.commitment): planned beside the on-demand
offers only when asked, named with their term, never merged into or replacing on-demand results."""
import json
import shutil

import pytest
from typer.testing import CliRunner

from planner.cli.main import app
from planner.model.costing import billed_hours

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
    hours = {"1y": 8760.0, "3y": 3 * 8760.0}[term]  # 365-day years (schema COMMIT_TERM_HOURS)
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


# --- what a committed plan costs: the term it binds to, not the hours the job uses ---------------------------------

def _planned(catalog, tokens, *sets):
    """pretrain-1b-72h on one AWS g6e.xlarge (1× L40S) with a 1y commitment asked, through the library API."""
    from planner.api import load_profile, plan

    loaded = load_profile(PRETRAIN, catalog, [f"training.dataset.tokens={tokens}", *AWS_L40S,
                                              "constraints.max_gpus=1", "constraints.commitment=1y", *sets])
    return plan(loaded, catalog)


def test_term_hours_are_calendar_facts():
    from planner.schema.catalog import COMMIT_TERM_HOURS

    # 365 × 24 h (AWS's reservation duration: 31,536,000 s a year), its twelfth, quarter and half, and three years
    assert COMMIT_TERM_HOURS == {"1m": 730.0, "3m": 2190.0, "6m": 4380.0, "1y": 8760.0, "3y": 26280.0}


def test_a_committed_cost_is_the_whole_term_however_short_the_use():
    from planner.model.costing import run_cost_usd

    assert run_cost_usd(2, 1.5, 3.0, 3600.0, 8760.0) == 2 * 1.5 * 8760.0
    assert run_cost_usd(2, 1.5, 9000.0, 3600.0, 8760.0) == 2 * 1.5 * 9000.0  # past the term: every hour
    assert run_cost_usd(2, 1.5, 3.0, 3600.0) == 2 * 1.5 * 3.0  # no commitment: the hours used


def test_a_short_job_is_not_made_cheap_by_a_one_year_term(catalog):
    c = _published(catalog, "1y")
    result = _planned(catalog, "240M", "training.budget=null")
    plans = result.estimate.training.plans
    committed = next(p for p in plans if p.commitment is not None)
    on_demand = next(p for p in plans if p.commitment is None)
    assert 1.0 < committed.hours_p50 < 10.0  # a few hours' job
    term = c.usd_per_hour * committed.instances * 8760.0
    assert committed.cost_usd_p10 == committed.cost_usd_p50 == committed.cost_usd_p90 == pytest.approx(term)
    assert committed.cost_usd_p50 > 100 * on_demand.cost_usd_p50
    first = result.decision.training.choices[0].option
    assert first.plan.commitment is None and first.plan.instance == "g6e.xlarge"  # on demand recommended
    assert plans[0] is not committed
    option = next(o for o in result.estimate.training.options if o.plan.commitment is not None)
    assert option.cost_usd == pytest.approx(term)  # what the decision ranks


def test_a_term_that_busts_the_budget_is_over_budget(catalog):
    result = _planned(catalog, "240M", "training.budget=$5k")
    committed = next(o for o in result.estimate.training.ranked if o.plan.commitment is not None)
    assert [v.kind.value for v in committed.verdicts] == ["over_budget"]
    assert committed.verdicts[0].value == pytest.approx(_published(catalog, "1y").usd_per_hour * 8760.0)
    assert result.estimate.training.ranked[0].feasible and result.estimate.training.ranked[0].plan.commitment is None


def test_a_job_that_fills_the_term_can_take_the_commitment(catalog):
    c = _published(catalog, "1y")
    result = _planned(catalog, "800B", "training.deadline=null", "training.budget=null")
    first = result.decision.training.choices[0].option.plan
    assert first.commitment is not None and first.instance == "g6e.xlarge (1y commitment)"
    assert first.hours_p50 > 8760.0 and first.term_used > 1.0  # ~9,700 GPU-hours on one instance
    assert first.cost_usd_p50 == pytest.approx(  # past the term: every hour used, at the committed rate
        c.usd_per_hour * first.instances * billed_hours(first.hours_p50, first.billing_seconds), rel=1e-9)
    on_demand = next(p for p in result.estimate.training.plans if p.commitment is None)
    assert on_demand.cost_usd_p50 > first.cost_usd_p50


def test_the_json_and_the_line_say_the_term_total_and_the_share_used(catalog):
    c = _published(catalog, "1y")
    result = _planned(catalog, "240M", "training.budget=null")
    data = result.to_dict(0)
    p = next(p for p in data["training"]["plans"] if p["commitment"] is not None)
    term = c.usd_per_hour * p["instances"] * 8760.0
    assert p["commitment"]["term_hours"] == 8760.0
    assert p["commitment"]["obligation_usd"] == pytest.approx(term, rel=5e-4)
    assert p["commitment"]["job_hours_p50"] == p["hours"]["p50"]
    assert p["commitment"]["term_used_percent"] == pytest.approx(100 * p["hours"]["p50"] / 8760.0, rel=2e-3)
    assert p["commitment"]["term_used_percent"] < 0.1
    cost = p["cost_usd"]
    assert cost["p10"] == cost["p50"] == cost["p90"] == cost["compute"] == pytest.approx(term, rel=5e-4)
    assert cost["total"] == pytest.approx(cost["compute"] + (cost["storage"] or 0) + (cost["egress"] or 0), rel=1e-3)
    table = " ".join(estimate(PRETRAIN, *AWS_L40S, "training.dataset.tokens=240M", "training.budget=null",
                              "constraints.max_gpus=1", "constraints.commitment=1y", fmt="table").split())
    assert "Committed price, training" in table and "of the 8,760 h term: its cost is the whole term" in table
    assert "a committed plan costs the whole term, 8,760 h per instance" in table


def test_a_committed_service_owes_the_whole_month(catalog):
    c = _published(catalog, "1y")
    data = estimate(CHAT, *AWS_L40S, "constraints.commitment=1y", "inference.hours_per_month=360")
    plans = data["inference"]["plans"]
    committed = next(p for p in plans if p["commitment"] is not None)
    on_demand = next(p for p in plans if p["commitment"] is None and p["instance"] == "g6e.xlarge")
    listed = next(o.usd_per_hour for o in catalog.provider("aws").offers if o.instance == "g6e.xlarge")
    assert committed["monthly_cost_usd"] == pytest.approx(c.usd_per_hour * committed["instances"] * 730.0, rel=1e-3)
    assert on_demand["monthly_cost_usd"] == pytest.approx(listed * on_demand["instances"] * 360.0, rel=1e-3)
    assert committed["commitment"]["term_used_percent"] is None  # a service runs the whole term
    assert plans[0]["commitment"] is None  # half a month up: on demand is cheaper


def test_discounts_held_stay_prices_of_the_hours_used(catalog):
    result = _planned(catalog, "240M", "training.budget=null", "constraints.discounts={aws: 10%}")
    plans = result.estimate.training.plans
    on_demand = next(p for p in plans if p.commitment is None)
    committed = next(p for p in plans if p.commitment is not None)
    listed = next(o.usd_per_hour for o in catalog.provider("aws").offers if o.instance == "g6e.xlarge")
    assert on_demand.discount_percent == 10.0 and on_demand.usd_per_hour == pytest.approx(listed * 0.9)
    assert on_demand.cost_usd_p50 == pytest.approx(
        listed * 0.9 * on_demand.instances * billed_hours(on_demand.hours_p50, on_demand.billing_seconds), rel=1e-9)
    assert committed.cost_usd_p50 == pytest.approx(_published(catalog, "1y").usd_per_hour * 8760.0)


def test_an_offer_whose_plans_are_only_over_budget_shows_its_cheapest(catalog):
    from planner.api import load_profile, plan

    # every 1y GCP A100 plan busts the $20k budget: the row per offer is the nearest miss, the cheapest (one
    # instance), not the fastest (hundreds of instances bound for a year)
    loaded = load_profile(PRETRAIN, catalog, ["constraints.providers=[gcp]", "constraints.gpus=[A100-40GB-SXM]",
                                              "constraints.commitment=1y"])
    training = plan(loaded, catalog).estimate.training
    ranked = training.ranked
    committed = [o for o in ranked if o.plan.commitment is not None]
    assert committed and all([v.kind.value for v in o.verdicts] == ["over_budget"] for o in committed)
    for o in committed:
        same = [x for x in training.options
                if x.plan.instance == o.plan.instance and [v.kind.value for v in x.verdicts] == ["over_budget"]]
        assert o.cost_usd == min(x.cost_usd for x in same)
    assert ranked[0].feasible and ranked[0].plan.commitment is None


@pytest.mark.parametrize("tokens", ["430B", "450B"])
def test_the_commitment_wins_exactly_when_on_demand_would_cost_more_than_the_term(catalog, tokens):
    # the break-even is 8,760 h × $1.17 / $1.861 ≈ 5,507 h on one g6e.xlarge: 430B tokens run just under it, 450B over
    c = _published(catalog, "1y")
    listed = next(o.usd_per_hour for o in catalog.provider("aws").offers if o.instance == "g6e.xlarge")
    result = _planned(catalog, tokens, "training.deadline=null", "training.budget=null")
    first = result.decision.training.choices[0].option.plan
    hours = first.hours_p50
    assert 5000 < hours < 6000
    assert (first.commitment is not None) == (hours > 8760.0 * c.usd_per_hour / listed)


@pytest.mark.parametrize("profile, sets, section", [
    # gpt-oss-120b's 62 GB of weights on one 48 GB L40S: the 1-GPU g6e.xlarge serving plan has 0 instances
    ("serve-gpt-oss-120b-chat.yaml", ("constraints.gpus=[L40S]",), "inference"),
    # Mixtral's LoRA on one L40S: the training plan does not fit, though it counts 1 instance (a deadline one L40S
    # could meet at its peak, 33 h: max_gpus 1 now searches only one-GPU instances)
    ("lora-mixtral-8x7b.yaml", ("constraints.gpus=[L40S]", "constraints.max_gpus=1", "training.deadline=48h"),
     "training"),
])
def test_a_plan_that_cannot_run_owes_nothing(catalog, profile, sets, section):
    from planner.api import load_profile, plan
    from planner.render.report import Merges, _shown_plans, commitment_lines

    result = plan(load_profile(ROOT / "profiles" / profile, catalog, [*sets, "constraints.commitment=1y"]), catalog)
    part = result.estimate.training if section == "training" else result.estimate.inference
    assert part is not None
    unfit = [p for p in part.plans if p.commitment is not None and not p.fits]
    assert unfit  # the case: a committed plan that does not fit in memory
    # numbered as the tables list the plans (all of them: --top 0)
    shown = _shown_plans(result.estimate, None, result.decision, Merges(result.estimate))
    lines = commitment_lines(shown)
    listed = shown[0] if section == "training" else shown[1]
    assert any(p.commitment is not None and not p.fits for p in listed)  # the case is listed
    for i, p in enumerate(listed):
        said = any(f" #{i + 1} {p.provider} {p.instance}:" in line for line in lines)
        assert said == (p.commitment is not None and p.fits), (i, p.instance, p.fits)
    assert not any(" for 0 instance(s)" in line for line in lines)
    data = result.to_dict(0)[section]["plans"]
    assert any(d["commitment"] is not None and d["commitment"]["obligation_usd"] is None for d in data)
    assert all(d["commitment"]["obligation_usd"] > 0 for d in data
               if d["commitment"] is not None and d["commitment"]["obligation_usd"] is not None)
