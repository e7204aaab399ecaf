"""The monthly bill of a serving plan (issue 15 item 6): cost_usd.compute/storage/egress/total in the JSON, storage of
the served weights at the provider's $/GB-month, egress of inference.egress_gb_per_month at its $/GB, lines whose
price or volume is unknown off the total and said so, and the same bill in the table, markdown and HTML reports."""
import pytest

from planner.model.bill import (
    EGRESS_UNKNOWN,
    EGRESS_VOLUME_NOT_GIVEN,
    STORAGE_UNKNOWN,
    serving_bill,
)
from planner.model.workload import weight_bytes
from planner.readable import usd

from .conftest import ROOT, bill_cells

CHAT = ROOT / "profiles" / "serve-7b-chat.yaml"


def _plan(catalog, *sets):
    from planner.api import load_profile, plan

    return plan(load_profile(CHAT, catalog, list(sets)), catalog)


@pytest.fixture(scope="module")
def aws(catalog):
    """serve-7b-chat on AWS (S3 storage $0.023/GB-month, egress $0.09/GB) with 500 GB sent out a month, once."""
    return _plan(catalog, "constraints.providers=[aws]", "inference.egress_gb_per_month=500")


def _recommended(result):
    data = result.to_dict()
    return data["inference"]["plans"][data["inference"]["recommended"]]


def test_a_serving_plan_pays_for_its_weights_storage_and_its_egress(aws):
    plan = _recommended(aws)
    cost = plan["cost_usd"]
    # Llama-2-7B-class weights at bf16 (serve-7b-chat) in one copy for the month, and 500 GB × $0.09
    weights_gb = weight_bytes(aws.estimate.inference.work, "bf16") / 1e9
    assert cost["compute"] == plan["monthly_cost_usd"]
    assert cost["storage"] == pytest.approx(weights_gb * 0.023, rel=0.001)
    assert cost["egress"] == pytest.approx(500 * 0.09)
    assert cost["total"] == pytest.approx(cost["compute"] + cost["storage"] + cost["egress"], rel=0.001)
    assert plan["bill_notes"] == []


def test_a_priced_egress_without_a_volume_stays_off_the_total_and_says_so(catalog):
    plan = _recommended(_plan(catalog, "constraints.providers=[aws]"))
    assert plan["cost_usd"]["egress"] is None and plan["cost_usd"]["storage"] > 0
    assert plan["cost_usd"]["total"] == pytest.approx(plan["cost_usd"]["compute"] + plan["cost_usd"]["storage"],
                                                      rel=0.001)
    assert plan["bill_notes"] == [EGRESS_VOLUME_NOT_GIVEN]


def test_free_egress_is_zero_whatever_the_volume_and_unknown_prices_are_off():
    import datetime as dt

    from planner.schema.providers import PriceFact, ProviderInfo

    day = dt.date(2026, 11, 30)
    free = ProviderInfo(id="x", name="X", storage_usd_per_gb_month=PriceFact(usd=0.07, source="a page", as_of=day),
                        egress_usd_per_gb=PriceFact(usd=0.0, source="a page", as_of=day))
    bill = serving_bill(free, 16.0, None)
    assert bill.egress_usd == 0.0 and bill.storage_usd == pytest.approx(16 * 0.07) and bill.notes == ()
    unknown = serving_bill(ProviderInfo(id="y", name="Y"), 16.0, 500.0)
    assert unknown.storage_usd is None and unknown.egress_usd is None
    assert unknown.notes == (STORAGE_UNKNOWN, EGRESS_UNKNOWN)
    assert serving_bill(None, 16.0, 500.0).notes == (STORAGE_UNKNOWN, EGRESS_UNKNOWN)


def test_a_provider_without_prices_bills_compute_only_and_says_so(catalog, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    from planner.render.report import render_table

    result = _plan(catalog, "constraints.providers=[vast-ai]")
    cost = _recommended(result)["cost_usd"]
    assert cost["storage"] is None and cost["egress"] is None and cost["total"] == cost["compute"]
    text = render_table(result.estimate, 10, result.decision)
    assert "no storage price for vast-ai in the catalog" in text
    assert "compute (storage and egress unknown for vast-ai)" in text


def test_every_report_shows_the_monthly_bill_of_the_json(aws, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    from planner.render.html import render_html
    from planner.render.report import render_markdown, render_table

    cost = _recommended(aws)["cost_usd"]
    for text in (render_table(aws.estimate, 10, aws.decision), render_markdown(aws.estimate, 10, aws.decision),
                 render_html(aws.estimate, aws.decision, 10)):
        assert "Whole monthly bill of the recommended serving plan (#1: " in text
        start = text.index("Whole monthly bill")
        for line in ("compute", "storage", "egress", "total"):
            # the reports print the unrounded amount in whole dollars from $1,000 (planner/readable.py usd), the
            # JSON to the cent (planner/render/jsonnum.py money): $23,924 in the text is 23,923.9 in the JSON
            cell = bill_cells(text[start:], line)[1]
            assert cell == usd(cost[line]), line
        assert "500.0 GB sent out a month × $0.09/GB" in text


def test_a_speculative_draft_is_stored_beside_the_served_model(catalog):
    llama3 = ("constraints.providers=[runpod]", "model.preset=llama-3.1-8b")
    plain = _recommended(_plan(catalog, *llama3))
    drafted = _plan(catalog, *llama3, "inference.speculative.draft=llama-3.2-1b",
                    "inference.speculative.tokens=4", "inference.speculative.acceptance=0.7")
    work = drafted.estimate.inference.work
    assert work.draft is not None
    extra_gb = weight_bytes(work.draft, "bf16") / 1e9
    assert _recommended(drafted)["cost_usd"]["storage"] == pytest.approx(plain["cost_usd"]["storage"]
                                                                         + extra_gb * 0.07, rel=0.002)


def test_a_plan_with_no_replica_has_no_bill(catalog, monkeypatch):
    # a pinned batch no KV cache holds: every plan gets 0 replicas. The report billed the first one ("0× gpu_1x_a10
    # (0 GPUs) for 0.0 h a month", compute $0.00, total = the weights' storage) and its row read "0×1 … $0.00"
    monkeypatch.setenv("COLUMNS", "160")
    from planner.plans import bounds
    from planner.render.report import render_markdown, render_table

    # such a batch is bad input before the search (bounds._check_batch_pin); its plans, as a caller that skips that
    # check meets them, are what this test renders
    monkeypatch.setattr(bounds, "_check_batch_pin", lambda *args: None)
    result = _plan(catalog, "constraints.providers=[lambda]", "inference.batch=4096")
    data = result.to_dict()
    assert data["inference"]["recommended"] is None
    plans = data["inference"]["plans"]
    assert plans and all(p["replicas"] == 0 for p in plans)
    for p in plans:
        assert set(p["cost_usd"].values()) == {None} and p["monthly_cost_usd"] is None
    for text in (render_table(result.estimate, 10, result.decision),
                 render_markdown(result.estimate, 10, result.decision)):
        assert "Whole monthly bill" not in text and "$0.00" not in text and "0×1" not in text


def test_the_price_trust_and_the_bill_in_one_copy_are_the_two_copies(catalog):
    """The estimate gives each serving plan its offer's price trust and its provider's bill in one copy
    (plans/search.py _with_trust_and_bill, price_flags kept per offer): the same plan, field for field and in the
    same order, as _with_price_trust then the bill, for every offer of serve-7b-chat on two GPUs — 1- and 8-GPU
    instances, plans at the targets and with headroom — and for a plan of an offer not priced."""
    import dataclasses
    import datetime as dt

    from planner.api import load_profile
    from planner.dataclass import evolve
    from planner.model.workload import workload_for
    from planner.plans import search
    from planner.plans.serving import serving_plans

    loaded = load_profile(CHAT, catalog, ["constraints.gpus=[H100-SXM, L4]", "inference.egress_gb_per_month=500"])
    inf, day = loaded.profile.inference, dt.date(2026, 12, 2)
    work = workload_for(loaded.arch)
    offers = search.searched_offers(loaded, catalog, day)
    priced = {(o.provider, o.offer.instance): o for o in offers}
    memo: dict = {}
    plans = [p for o in offers for p in serving_plans(work, inf, catalog, o, memo=memo)]
    plans.append(dataclasses.replace(plans[0], provider="nobody"))
    assert len({p.instance for p in plans}) > 2 and any(p.gpus_per_replica > 1 for p in plans)
    bills, flags = search._ServingBills(catalog, work, inf), {}
    weights_gb = weight_bytes(work, inf.precision) / 1e9
    for plan in plans + plans:  # twice: the second time the flags are the kept ones
        one = search._with_trust_and_bill(plan, priced, day, catalog, bills, flags)
        two = evolve(search._with_price_trust(plan, priced, day, catalog),
                     bill=serving_bill(catalog.facts.get(plan.provider), weights_gb, inf.egress_gb_per_month))
        assert list(vars(one).items()) == list(vars(two).items())
