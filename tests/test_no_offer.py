"""GPUs with no rentable offer (issue 15 item 4): time-only plans marked "no offer" instead of silence."""
import json

from typer.testing import CliRunner

import planner
from planner.cli.main import app
from planner.plans.no_offer import NO_OFFER, machine_shape, unrented_gpus

runner = CliRunner()
CATALOG = planner.load_catalog()
UNRENTED = sorted(set(CATALOG.gpus) - {o.offer.gpu for o in CATALOG.offers(None, None)})

LORA = {"name": "no-offer-lora", "model": {"preset": "llama-2-7b"},
        "training": {"method": "lora", "dataset": {"samples": 10000, "tokens_per_sample": 1024}, "deadline": "48h"},
        "constraints": {"gpus": ["B300", "A100-80GB-SXM"]}}
CHAT = {"name": "no-offer-chat", "model": {"preset": "llama-2-7b"},
        "inference": {"rate": 5, "prompt_tokens": 512, "output_tokens": 256,
                      "slo": {"ttft_p95": "1s", "tpot_p95": "60ms"}},
        "constraints": {"gpus": ["B300", "A100-80GB-SXM"]}}


def _plan(doc: dict) -> dict:
    return planner.plan(planner.load_profile(doc, CATALOG), CATALOG).to_dict()


def test_the_bundled_catalog_has_gpus_without_an_offer():
    assert "B300" in UNRENTED  # the premise of the tests below; pick another GPU if B300 gets an offer
    assert unrented_gpus(["B300", "A100-80GB-SXM"], CATALOG.offers(None, None)) == ["B300"]


def test_a_named_gpu_without_offer_gets_a_time_only_training_plan():
    out = _plan(LORA)
    mine = [p for p in out["training"]["plans"] if p["provider"] == NO_OFFER]
    assert len(mine) == 1
    plan = mine[0]
    assert plan["gpu"] == "B300" and plan["hours"]["p50"] > 0 and plan["gpu_hours"] > 0
    assert all(v is None for v in plan["cost_usd"].values()) and plan["usd_per_hour"] is None
    assert "no_offer" in [v["kind"] for v in plan["verdicts"]]
    # on its datasheet machine (one NVLink domain): whole machines (3 since the independent-check rows left the fits
    # and Blackwell plans at the pooled curve with a lower P50 efficiency)
    per, link = machine_shape(CATALOG.gpus["B300"])
    assert (per, link) == (8, "nvlink") and plan["gpu_count"] % per == 0 and plan["instances"] == plan["gpu_count"] // per
    # never a choice: the recommendation is a rented plan, and the decision names B300 as rejected for want of an offer
    assert out["training"]["plans"][out["training"]["recommended"]]["provider"] != NO_OFFER
    rejected = {r["gpu"]: r for r in out["decisions"]["training"]["rejected"]}
    assert "no offer" in " ".join(rejected["B300"]["reasons"])


def test_a_named_gpu_without_offer_gets_a_time_only_serving_plan():
    out = _plan(CHAT)
    plan = next(p for p in out["inference"]["plans"] if p["provider"] == NO_OFFER)
    assert plan["gpu"] == "B300" and plan["latency_ms"]["ttft_p95"] > 0 and plan["gpu_count"] >= 1
    assert plan["monthly_cost_usd"] is None and plan["meets_slo"] is False
    assert out["inference"]["plans"][out["inference"]["recommended"]]["provider"] != NO_OFFER


def test_the_table_says_no_offer_and_keeps_the_row_past_top(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps(LORA))
    result = runner.invoke(app, ["estimate", str(path), "--top", "1"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if " B300 " in line and "GPU-h" in line)
    assert NO_OFFER in row and "'no offer' rows" in result.stdout


def test_without_named_gpus_the_unrented_types_are_listed_not_dropped_silently():
    doc = {**LORA, "constraints": {}}
    out = _plan(doc)
    assert out["unplanned_gpus"] == UNRENTED
    assert not any(p["provider"] == NO_OFFER for p in out["training"]["plans"])


def test_a_gpu_rented_only_outside_the_named_providers_says_so():
    # new-user QA: H100-SXM with constraints.providers [simplepod] was rejected as "no offer rents this GPU", while
    # a dozen providers rent it: the verdict names the provider filter that left it without one
    assert any(o.offer.gpu == "H100-SXM" for o in CATALOG.offers(None, None))
    assert not any(o.offer.gpu == "H100-SXM" and o.provider == "simplepod" for o in CATALOG.offers(None, None))
    constraints = {"gpus": ["H100-SXM", "RTX-A4000"], "providers": ["simplepod"]}
    for doc, section in ((LORA, "training"), (CHAT, "inference")):
        out = _plan({**doc, "constraints": constraints})
        plan = next(p for p in out[section]["plans"] if p["provider"] == NO_OFFER)
        assert plan["gpu"] == "H100-SXM"
        assert "no offer of simplepod (constraints.providers) rents this GPU: time only, no cost" in plan["reasons"]
    unfiltered = next(p for p in _plan(LORA)["training"]["plans"] if p["provider"] == NO_OFFER)
    assert "no offer rents this GPU: time only, no cost" in unfiltered["reasons"]  # B300: no provider rents it


def test_the_gpus_not_planned_name_the_providers_the_search_kept_to():
    # new-user QA: with constraints.providers [lambda], "Not planned: 51 GPU type(s) with no offer (A10G, A30, …)"
    # although AWS rents the A10G: the line names the providers the search kept to
    from planner.render.report import render_table

    def footer(constraints: dict) -> str:
        profile = planner.load_profile({**LORA, "constraints": constraints}, CATALOG)
        text = " ".join(render_table(planner.plan(profile, CATALOG).estimate).split())  # lines wrap
        return text[text.index("Not planned:"):]

    assert any(o.offer.gpu == "A10G" and o.provider != "lambda" for o in CATALOG.offers(None, None))
    kept = footer({"providers": ["lambda"]})
    assert "that no offer of lambda (constraints.providers) rents" in kept and "with no offer" not in kept
    assert "GPU type(s) with no offer (" in footer({})
