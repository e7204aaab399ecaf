"""Plans on the imported market: price trust signals (price_as_of, price_flags, † footnotes, warnings for shown
plans only), multi-node plans over an assumed network the plan names, dominated offers skipped."""
import csv
import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.catalog.dominance import undominated
from planner.catalog.load import PricedOffer
from planner.cli.main import app
from planner.errors import InputError
from planner.schema.catalog import Offer

from .conftest import ROOT, bill_cells

runner = CliRunner()
PRETRAIN = ROOT / "profiles" / "pretrain-1b-72h.yaml"
CHAT = ROOT / "profiles" / "serve-7b-chat.yaml"


def estimate(profile, *sets, fmt="json"):
    args = ["estimate", str(profile), "--format", fmt]
    for s in sets:
        args += ["--set", s]
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout) if fmt == "json" else result.stdout


def test_a_doubtful_price_is_flagged_in_json_and_table():
    sets = ("constraints.providers=[runpod]", "constraints.gpus=[L40S]")
    plan = estimate(CHAT, *sets)["inference"]["plans"][0]
    assert plan["provider"] == "runpod" and any("swapped" in f for f in plan["price_flags"])
    assert dt.date.fromisoformat(plan["price_as_of"])
    table = estimate(CHAT, *sets, fmt="table")
    assert " †" in table and "† serving #1 runpod" in table and "swapped columns" in table
    rows = list(csv.DictReader(io.StringIO(estimate(CHAT, *sets, fmt="csv"))))
    assert rows[0]["price_as_of"] == plan["price_as_of"] and "swapped" in rows[0]["price_flags"]


def test_the_notes_under_the_table_number_its_rows():
    """At --top 0 the plans the decision names are rows among the others: the † footnotes, the assumed-network line
    and the committed prices number the rows as the table does (new-user QA round 20: '† training #5 … (1y
    commitment)' under a table whose row 5 was the 4,096-GPU on-demand plan; the 1y rows were 6 and 7)."""
    # H100: a3-highgpu-1g/2g/4g state no network (the A100 machine types all do since 2026-12-04)
    sets = ("constraints.providers=[gcp]", "constraints.gpus=[A100-40GB-SXM, H100-SXM]", "constraints.commitment=1y")
    args = ["estimate", str(PRETRAIN), "--top", "0"]
    for s in sets:
        args += ["--set", s]
    plans = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)["training"]["plans"]
    table = runner.invoke(app, [*args, "--wide"]).stdout
    notes = re.findall(r"^(?:† training|Committed price, training) #(\d+) gcp (\S+) \(1y commitment\)", table, re.M)
    assert len(notes) >= 4, table
    for number, instance in notes:
        plan = plans[int(number) - 1]
        assert (plan["instance"], (plan["commitment"] or {}).get("term")) == (f"{instance} (1y commitment)", "1y"), \
            (number, instance)
    (line,) = re.findall(r"^Assumed network: training plan\(s\) ([#\d,– ]+) span", table, re.M)
    # runs of numbers joined: '#1–#4, #7' (readable.numbered)
    named = [n for a, b in re.findall(r"#(\d+)(?:–#(\d+))?", line) for n in range(int(a), int(b or a) + 1)]
    assert named == [i + 1 for i, p in enumerate(plans) if p.get("assumed_network_gbps") and p["hours"]["p50"] is not None]


def test_plans_that_cannot_run_are_told_apart_by_their_instances_and_assume_no_network(tmp_path):
    # new-user QA round 24: llama-3.1-70b pinned to data 8 without recomputation fits nowhere; the caption under the
    # plans read 'Alike above but for their layout: #1 –; #2 , 2 inst.; …' and 'Assumed network' named plans that
    # do not run (nothing of theirs is timed over a network)
    profile = tmp_path / "pinned.yaml"
    profile.write_text("name: pinned\nmodel: {preset: llama-3.1-70b}\ntraining: {dataset: {tokens: 1B}, deadline: 3d, "
                       "parallelism: {data: 8, tensor: 1, pipeline: 1, zero: 0, recompute: none}}\n")
    plans = json.loads(runner.invoke(app, ["estimate", str(profile), "--format", "json"]).stdout)["training"]["plans"]
    assert plans and all(p["hours"]["p50"] is None for p in plans)
    # nor does their JSON (new-user QA round 30): no plan of theirs is timed over a network
    assert any(p["instances"] > 1 for p in plans) and not any(p["assumed_network_gbps"] for p in plans)
    table = runner.invoke(app, ["estimate", str(profile)], env={"COLUMNS": "80"}).stdout
    assert "Assumed network" not in table
    flat = " ".join(table.split())  # the caption wraps where it may
    caption = flat.split("Alike above but for their layout")[1].split("How sure")[0]
    told = re.findall(r"#(\d+) ([^;]*)", caption.split(": ", 1)[1])
    assert told and all(re.fullmatch(r"\d+ inst\.", layout.strip(" .")+".") for _, layout in told), caption
    for number, layout in told:
        assert int(layout.split()[0]) == plans[int(number) - 1]["instances"], (number, layout)


@pytest.mark.parametrize("profile, section", [(PRETRAIN, "training"), (CHAT, "inference")])
def test_the_csv_carries_the_whole_bill_and_the_discount_of_the_json(profile, section):
    # new-user QA: the CSV had each plan's compute cost only: no storage, egress, total or discount
    sets = ("constraints.providers=[lambda, vast-ai]", "constraints.discounts={vast-ai: 10%}")
    plans = estimate(profile, *sets)[section]["plans"]
    rows = list(csv.DictReader(io.StringIO(estimate(profile, *sets, fmt="csv"))))
    assert len(rows) == len(plans) and {p["provider"] for p in plans} == {"lambda", "vast-ai"}
    for row, plan in zip(rows, plans):
        for key in ("storage", "egress", "total"):
            value = plan["cost_usd"][key]
            assert row[f"{key}_usd"] == ("" if value is None else str(value))
        assert float(row["discount_percent"]) == plan["discount_percent"]
    assert any(row["storage_usd"] for row in rows) and any(float(row["discount_percent"]) == 10 for row in rows)


def test_the_csv_carries_the_hours_and_cost_the_plans_were_judged_at():
    # new-user QA: with --confidence 0.9 the rows were ranked and judged by their P90 hours and cost (24 RTX-A4000 at
    # 58.2 h P90, $127), yet the CSV had P50 only (37.9 h, $82.08): nothing in it said why that plan was chosen
    args = ["estimate", str(PRETRAIN), "--confidence", "0.9", "--top", "3"]
    plans = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)["training"]["plans"]
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, [*args, "--format", "csv"]).stdout)))
    assert len(rows) == len(plans) == 3
    for row, plan in zip(rows, plans):
        assert float(row["confidence"]) == 0.9
        assert float(row["hours_planned"]) == plan["hours"]["p90"] > float(row["hours_p50"])
        assert float(row["cost_usd_planned"]) == plan["cost_usd"]["p90"]


def test_the_csv_says_which_plans_are_spot():
    # new-user QA: the CSV had no spot column, so a spot plan's row read like an on-demand one
    profile, sets = ROOT / "profiles" / "lora-7b-a6000.yaml", ("constraints.spot=true",)
    plans = estimate(profile, *sets)["training"]["plans"]
    text = estimate(profile, *sets, fmt="csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(plans)
    assert [row["spot"] for row in rows] == ["true" if plan["spot"] else "false" for plan in plans]
    assert {row["spot"] for row in rows} == {"true", "false"}  # the case: spot and on-demand rows alike
    header = text.splitlines()[0].split(",")
    assert header[-1] == "spot" and header[:15][-2:] == ["price_as_of", "price_flags"]  # added last
    serving = [row for row in csv.DictReader(io.StringIO(estimate(CHAT, *sets, fmt="csv")))]
    assert serving and all(row["section"] == "inference" and row["spot"] == "false" for row in serving)


def test_trusted_prices_carry_no_flags():
    plan = estimate(CHAT, "constraints.providers=[lambda]")["inference"]["plans"][0]
    assert plan["price_flags"] == [] and plan["price_as_of"]


def test_stale_price_warnings_name_only_providers_of_shown_plans():
    shown = estimate(PRETRAIN, "constraints.providers=[lambda, massed-compute]", "constraints.gpus=[RTX-A6000]")
    providers = {p["provider"] for p in shown["training"]["plans"]}
    stale = [w for w in shown["warnings"] if w.startswith("prices for")]
    assert all(any(f"prices for {p} " in w for p in providers) for w in stale)
    none_shown = estimate(PRETRAIN, "constraints.providers=[lambda]")
    assert not any("massed-compute" in w for w in none_shown["warnings"])


def test_stale_price_warnings_name_each_offer_shown_with_its_own_age():
    # new-user QA: two massed-compute L40 plans, one priced in 2024 (852 days) and one in 2026 (106 days), were
    # warned about as "prices for massed-compute are 852 days old (2 plans shown)": one offer's age for both, and
    # neither offer named
    data = estimate(PRETRAIN, "constraints.providers=[massed-compute]", "constraints.gpus=[L40]")
    ages = {p["instance"]: p["price_as_of"] for p in data["training"]["plans"]}
    assert len(set(ages.values())) > 1  # the case: offers of one provider priced on different days
    [warning] = [w for w in data["warnings"] if w.startswith("prices for massed-compute")]
    for instance, as_of in ages.items():
        assert f"{instance}, " in warning and f"days old (as of {as_of})" in warning
    # counted over the plans the document lists (the decision's named plans among them)
    assert f"the {len(data['training']['plans'])} plans shown" in warning


def test_offer_without_network_spans_instances_over_a_named_assumption():
    data = estimate(PRETRAIN, "constraints.gpus=[L40S]")
    plan = data["training"]["plans"][0]
    assert plan["reasons"] == [] and plan["gpu_count"] >= 4
    spanning = [p for p in data["training"]["plans"] if p["instances"] > 1]
    assert spanning and all(p["assumed_network_gbps"] == 10.0 or p["assumed_network_gbps"] is None
                            for p in spanning)
    faster = estimate(PRETRAIN, "constraints.gpus=[L40S]", "constraints.assumed_network_gbps=100")
    assumed = {p["assumed_network_gbps"] for p in faster["training"]["plans"] if p["instances"] > 1}
    assert 100.0 in assumed and 10.0 not in assumed
    table = estimate(PRETRAIN, "constraints.gpus=[L40S]", fmt="table")
    assert "Assumed network" in table and "constraints.assumed_network_gbps" in table
    assert "over 10 Gb/s (the catalog's default: AWS p3.8xlarge's, the slowest network a cloud states for a " \
           "multi-GPU instance; change with" in " ".join(table.split())


def test_the_assumed_network_is_the_catalogs_default_not_the_slowest_stated():
    """An offer that states no network is planned over providers.yaml's assumed_network (10 Gb/s, AWS p3.8xlarge's),
    not the slowest any offer states: that is RunPod's 100 Mb/s between pods or a small AWS VM's 2.5 Gb/s baseline,
    which say how those offers connect, not a provider that says nothing (a min over the catalog made every
    unstated offer 0.1 Gb/s once RunPod's network was sourced)."""
    from planner.catalog.load import BUNDLED_CATALOG, load_catalog

    catalog = load_catalog(BUNDLED_CATALOG)
    stated = {o.offer.network_gbps for o in catalog.offers() if o.offer.network_gbps}
    assert min(stated) == 0.1 and 2.5 in stated
    assert catalog.default_network_gbps == 10.0 and "p3.8xlarge" in catalog.assumed_network.basis
    assert any(o.offer.instance == "p3.8xlarge" and o.offer.network_gbps == 10.0 for o in catalog.offers())
    data = estimate(PRETRAIN, "constraints.gpus=[L40S]")
    assert {p["assumed_network_gbps"] for p in data["training"]["plans"] if p["instances"] > 1} - {None} == {10.0}


def test_pods_of_runpod_span_over_its_stated_100_mbps():
    # docs.runpod.io/pods/networking: 'The network operates at 100 Mbps between Pods' (catalog/providers.yaml)
    data = estimate(PRETRAIN, "constraints.providers=[runpod]", "constraints.gpus=[A100-80GB-SXM]")
    plans = data["training"]["plans"]
    spanning = [p for p in plans if p["instances"] > 1 and p["hours"]["p50"] is not None]
    alone = [p for p in plans if p["instances"] == 1 and p["hours"]["p50"] is not None]
    assert spanning and alone and all(p["assumed_network_gbps"] is None for p in spanning)
    # over 0.1 Gb/s no plan of two pods or more is faster than the fastest single 8-GPU pod
    assert min(p["hours"]["p50"] for p in spanning) > min(p["hours"]["p50"] for p in alone)


def test_network_figures_read_alike_in_every_line():
    # new-user QA round 29: the understood line wrote '3,200 Gb/s between instances', the assumed-network note 'over
    # 3200 Gb/s'; RunPod's stated 0.1 Gb/s would have read '0 Gb/s' (',.0f')
    from planner.readable import gbps_text

    assert [gbps_text(v) for v in (3200.0, 400.0, 10.0, 2.5, 0.1)] == ["3,200", "400", "10", "2.5", "0.1"]
    table = " ".join(estimate(PRETRAIN, "constraints.gpus=[L40S]", "constraints.assumed_network_gbps=3200",
                              fmt="table").split())
    assert "over 3,200 Gb/s (as constraints.assumed_network_gbps sets" in table and "3200" not in table


def test_plans_over_a_slow_stated_network_are_named_and_the_choices_carry_their_network():
    # new-user QA round 30: RunPod's multi-pod rows (0.1 Gb/s) took 121 h with nothing saying why; the choices' JSON had
    # no network; a CSV's stderr carried no network note; an HTML note listed 170 plan numbers one by one
    from planner.readable import numbered

    assert numbered([7, 1, 2, 3, 4, 9, 10, 2]) == "#1–#4, #7, #9–#10"
    sets = ("constraints.providers=[runpod]", "constraints.gpus=[A100-80GB-SXM]")
    data = estimate(PRETRAIN, *sets)
    slow = [i + 1 for i, p in enumerate(data["training"]["plans"]) if p["instances"] > 1 and p["hours"]["p50"]]
    assert slow and all(data["training"]["plans"][i - 1]["network"]["inter_node_gbps"] == 0.1 for i in slow)
    table = " ".join(runner.invoke(app, ["estimate", str(PRETRAIN), "--top", "0", "--set", sets[0], "--set", sets[1]]
                                   ).stdout.split())
    assert (f"Slow network: training plan(s) {numbered(slow)} span instances over a stated 0.1 Gb/s (Global "
            "networking") in table and "slower than the 10 Gb/s assumed where an offer states none" in table
    default = estimate(PRETRAIN)
    choices = default["decisions"]["training"]["choices"]
    for choice in choices:
        network = choice["network"]
        if choice["instances"] > 1:
            assert network["inter_node_assumed"] == (choice["assumed_network_gbps"] is not None)
            assert network["inter_node_gbps"] == (choice["assumed_network_gbps"] or network["inter_node_gbps"]) > 0
        else:
            assert choice["assumed_network_gbps"] is None and (network is None or network["inter_node_gbps"] is None)
    assert any(c["assumed_network_gbps"] == 10.0 for c in choices)
    csv_run = runner.invoke(app, ["estimate", str(PRETRAIN), "--format", "csv"])
    assert "Note: Assumed network: training plan(s) #1" in csv_run.stderr


def test_an_amd_gpus_link_is_named_alike_in_the_table_and_the_json():
    # new-user QA round 30: 'Infinity Fabric 448 GB/s' in the table, only intra_node 'nvlink' in the JSON
    plans = estimate(CHAT, "constraints.gpus=[MI300X]")["inference"]["plans"]
    links = [p["network"] for p in plans if p["network"] and p["network"]["intra_node"]]
    assert links and all(n["intra_node_name"] == "Infinity Fabric" for n in links if n["intra_node"] == "nvlink")


def test_an_assumed_network_the_user_set_is_named_as_theirs():
    # new-user QA: --set constraints.assumed_network_gbps=100 printed "over 100 Gb/s (the slowest any catalog offer
    # states …)", which no catalog offer states: the note names the profile's setting instead
    table = " ".join(estimate(PRETRAIN, "constraints.gpus=[L40S]", "constraints.assumed_network_gbps=100",
                              fmt="table").split())
    assert "over 100 Gb/s (as constraints.assumed_network_gbps sets" in table
    assert "the catalog's default" not in table


def _offer(instance, price, spot=None, doubtful=None, network=None):
    return PricedOffer("p", Offer(instance=instance, gpu="L40S", gpus_per_instance=1, usd_per_hour=price,
                                  spot_usd_per_hour=spot, doubtful=doubtful, network_gbps=network),
                       3600.0, dt.date(2026, 11, 30))


def test_a_doubt_and_an_age_read_as_one_sentence():
    # new-user QA: a doubt written as a sentence kept its full stop before the "; " join: "(2026-08-17).; price …"
    from planner.catalog.trust import price_flags

    old = PricedOffer("p", Offer(instance="4x", gpu="L40", gpus_per_instance=4, usd_per_hour=3.96,
                                 doubtful="Stale: from a 2024 write-up."), 60.0, dt.date(2024, 8, 1))
    flags = price_flags(old, dt.date(2026, 12, 1))
    assert flags[0] == "doubtful: Stale: from a 2024 write-up"
    assert ".;" not in "; ".join(flags) and flags[1].startswith("price 852 days old")


def test_dominated_offers_are_skipped_but_not_trusted_ones_for_doubtful_ones():
    cheap, dear = _offer("a", 1.0), _offer("b", 2.0)
    doubtful_cheap = _offer("c", 0.5, doubtful="swapped?")
    spot_only_dear = _offer("d", 3.0, spot=0.2)
    networked_dear = _offer("e", 4.0, network=100.0)
    kept = {o.offer.instance for o in undominated([cheap, dear, doubtful_cheap, spot_only_dear, networked_dear],
                                                  dt.date(2026, 11, 30))}
    # b is dominated by a; a is kept although c is cheaper (c is doubtful); d has a spot price a lacks; e a network
    assert kept == {"a", "c", "d", "e"}
    # compared by the network their plans use: an offer stating 0.1 Gb/s is slower than one stating none, planned
    # over the assumed 10, so the cheaper unstated one dominates it, and a stated slow one never drops it
    slow_dear, slow_cheap = _offer("f", 2.0, network=0.1), _offer("g", 0.9, network=0.1)
    assert {o.offer.instance for o in undominated([cheap, slow_dear], dt.date(2026, 11, 30), 10.0)} == {"a"}
    assert {o.offer.instance for o in undominated([cheap, slow_cheap], dt.date(2026, 11, 30), 10.0)} == {"a", "g"}
    assert {o.offer.instance for o in undominated([cheap, slow_cheap], dt.date(2026, 11, 30))} == {"g"}


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """Write a profile text to a file of this module's folder named by its content: tests that plan the same text
    plan the same file, and so share its estimate (tests/conftest.py keys one by the file's source positions too)."""
    folder = tmp_path_factory.mktemp("shared-profiles")

    def write(text: str) -> Path:
        path = folder / hashlib.sha256(text.encode()).hexdigest()[:16] / "owned.yaml"
        if not path.exists():
            path.parent.mkdir()
            path.write_text(text)
        return path
    return write


OWNED = """name: owned-4090
model: {preset: llama-2-7b}
training:
  dataset: {tokens: 200M}
  method: lora
  deadline: 72h
constraints:
  owned:
    - {gpu: RTX 4090, count: 2, usd_per_hour: 0, interconnect: pcie, purchase_usd: $4k, lifetime_years: 3}
  usd_per_kwh: 0.30
"""


def test_owned_machine_plans_beside_rentals_with_electricity_and_buy_vs_rent(shared):
    profile = shared(OWNED)
    data = estimate(profile, "constraints.pue=1.2")
    owned = [p for p in data["training"]["plans"] if p["provider"] == "owned"]
    assert len(owned) == 1 and owned[0]["gpu"] == "RTX-4090" and owned[0]["gpu_count"] == 2
    # electricity: 2 GPUs x 450 W (gpus.yaml TDP) x PUE 1.2 x 0.30 USD/kWh
    assert owned[0]["usd_per_hour"] == 2 * 0.450 * 1.2 * 0.30
    assert owned[0]["instances"] == 1 and owned[0]["price_flags"] == []
    (line,) = data["training"]["buy_vs_rent"]
    assert line["amortised_usd_per_hour"] == round(4000 / (3 * 8766), 4)
    # against the cheapest rental meeting the targets, which the line names and prices
    rentals = [p for p in data["training"]["plans"] if p["provider"] not in ("owned", "local")]
    assert line["rental_usd"] in [p["cost_usd"]["p50"] for p in rentals]
    # the JSON rounds the rental to cents, which moves a thin margin (rental per owned hour − running cost) a lot:
    # the utilisation must lie between the values at rental ± half a cent
    hours, running = owned[0]["hours"]["p50"], owned[0]["usd_per_hour"]
    low, high = ((line["rental_usd"] + d) / hours - running for d in (-0.005, 0.005))
    if low > 0:
        amortised = line["amortised_usd_per_hour"]
        assert amortised / high * 0.999 <= line["break_even_utilisation"] <= amortised / low * 1.001
    elif high <= 0:
        assert line["break_even_utilisation"] is None
    table = estimate(profile, fmt="table")
    assert "Buy vs rent for training on 2x RTX-4090 (owned):" in table and "(owned))" not in table
    # its bill says what the hour costs (new-user QA round 28: '… for 8.1 h', $4.72, and no word of electricity)
    if data["training"]["plans"][data["training"]["recommended"]]["provider"] == "owned":
        from planner.readable import usd

        assert (f"at {usd(owned[0]['usd_per_hour'])}/h (its usd_per_hour + any electricity, constraints.owned)"
                in estimate(profile, "constraints.pue=1.2", fmt="markdown"))  # unwrapped, as `data`


def test_owned_machines_follow_the_provider_list(shared):
    # new-user QA round 10: `--set constraints.providers=[lambda]` still planned, and recommended, the owned machine,
    # and `diff` of the profile against itself so restricted said nothing changed; constraints.gpus chooses among
    # the rentals (test_an_owned_plan_is_not_called_on_demand: an owned pair beside lora-7b-a6000's list)
    profile = shared(OWNED)

    def owned(*overrides):
        data = estimate(profile, *overrides)
        return [p for p in data["training"]["plans"] if p["provider"] == "owned"], data["training"].get("buy_vs_rent")

    assert len(owned()[0]) == 1 and owned()[1]
    plans, lines = owned("constraints.providers=[lambda]")
    assert plans == [] and not lines
    # and says so, with no electricity warning for a machine it does not plan (new-user QA round 29)
    warnings = estimate(profile, "constraints.providers=[lambda]", "constraints.usd_per_kwh=null")["warnings"]
    assert "2x RTX-4090 (owned) not planned: constraints.providers does not list 'owned'; add it to plan the " \
           "machines you own beside these providers" in warnings
    assert not any("electricity" in w for w in warnings)
    planned = estimate(profile, "constraints.providers=[owned, lambda]", "constraints.usd_per_kwh=null")["warnings"]
    assert not any("not planned" in w for w in planned) and any("electricity not counted" in w for w in planned)
    assert len(owned("constraints.providers=[owned, lambda]")[0]) == 1
    assert len(owned("constraints.gpus=[B200]")[0]) == 1


def test_an_owned_machines_bill_notes_say_it_is_the_users_own(shared, catalog):
    # new-user QA round 26: the owned plan's JSON bill_notes read 'storage price unknown for this provider' and
    # 'dataset size not given' while its table said 'on your own machine: no storage price to bill'
    from planner.model.bill import OWN_MACHINE

    data = estimate(shared(OWNED))
    owned = next(p for p in data["training"]["plans"] if p["provider"] == "owned")
    rented = next(p for p in data["training"]["plans"] if p["provider"] not in ("owned", "local"))
    assert owned["bill_notes"] == [OWN_MACHINE] and OWN_MACHINE not in rented["bill_notes"]
    assert owned["cost_usd"]["storage"] is None and owned["cost_usd"]["total"] == owned["cost_usd"]["compute"]
    import planner

    light = planner.plan(planner.load_profile(CHAT, catalog, overrides=[
        "constraints.owned=[{gpu: RTX-4090, count: 2}]", "inference.rate=0.2/s", "inference.average_rate=0.1/s"]),
        catalog).to_dict(0)
    served = next(p for p in light["inference"]["plans"] if p["provider"] == "owned")
    assert served["bill_notes"] == [OWN_MACHINE]


def test_an_owned_machine_without_a_lifetime_says_what_gives_the_buy_vs_rent_line(shared):
    # new-user QA round 26: without lifetime_years the owned machine got no buy-versus-rent line and no word why
    without = estimate(shared(OWNED.replace(", purchase_usd: $4k, lifetime_years: 3", "")))
    (hint,) = [a for a in without["decisions"]["training"]["assumptions"] if a.startswith("Buy versus rent")]
    assert "2x RTX-4090 (owned) has no lifetime_years" in hint and "buy_vs_rent" not in without["training"]
    given = estimate(shared(OWNED))
    assert given["training"]["buy_vs_rent"] and not any(
        a.startswith("Buy versus rent") for a in given["decisions"]["training"]["assumptions"])


def test_owned_machine_bill_line_has_one_pair_of_parentheses():
    """New-user QA: the owned machine's bill line read '1× 4x MI250X (owned) (4 GPUs)'."""
    report = estimate(PRETRAIN, "constraints.owned=[{gpu: MI250X, count: 4, usd_per_hour: 0}]", fmt="markdown")
    assert "1× 4x MI250X (owned, 4 GPUs) for" in report and "(owned) (" not in report


def test_owned_machine_at_zero_cost_without_electricity_price(shared):
    profile = shared(OWNED.replace("  usd_per_kwh: 0.30\n", ""))
    data = estimate(profile)
    plan = next(p for p in data["training"]["plans"] if p["provider"] == "owned")
    assert plan["usd_per_hour"] == 0 and plan["cost_usd"]["p50"] == 0
    # new-user QA: nothing said the free machine's electricity was left out; it wins every choice at $0
    (warning,) = [w for w in data["warnings"] if "electricity not counted" in w]
    assert warning.startswith("2x RTX-4090 (owned):") and "constraints.usd_per_kwh" in warning and "$0.00/h" in warning
    table = " ".join(estimate(profile, fmt="table").split())
    assert "Warning: 2x RTX-4090 (owned): electricity not counted" in table
    priced = shared(OWNED)
    assert not any("electricity" in w for w in estimate(priced)["warnings"])


def test_an_owned_gpu_without_a_tdp_says_its_electricity_is_not_counted(catalog):
    from planner.plans.owned import electricity_unpriced
    from planner.schema.profile import OwnedMachine

    (gpu,) = [g for g in ("GH200-96GB",) if catalog.gpus[g].tdp_w is None]
    machine = OwnedMachine(gpu=gpu, count=1)
    assert "no TDP for GH200-96GB" in electricity_unpriced(machine, catalog, gpu, 0.30)
    assert electricity_unpriced(OwnedMachine(gpu="RTX-4090"), catalog, "RTX-4090", 0.30) is None


def test_an_owned_machine_that_cannot_run_the_job_gets_no_buy_vs_rent_line(tmp_path):
    # new-user QA: Llama-2-70B fully trained on 2 RTX 4090s (560 GB a GPU) read 'owning pays off above 27%
    # utilisation' over the 182.7 h of a stand-in layout, hours the JSON gives as null
    text = OWNED.replace("preset: llama-2-7b", "preset: llama-2-70b").replace("  method: lora\n", "")
    result = runner.invoke(app, ["estimate", str(_with(tmp_path, text)), "--format", "json", "--top", "0", "--set",
                                 "constraints.gpus=[RTX-4090, H100-SXM]"])
    data = json.loads(result.stdout)
    owned = [p for p in data["training"]["plans"] if p["provider"] == "owned"]
    assert owned and all(p["hours"]["p50"] is None for p in owned)
    assert "does not fit in memory" in owned[0]["reasons"][0]
    assert not data["training"].get("buy_vs_rent")
    (warning,) = [w for w in data["warnings"] if "buy-versus-rent" in w]
    assert warning.startswith("2x RTX-4090 (owned): no buy-versus-rent line for training: the machine cannot run this "
                              "job (does not fit in memory")


def test_buy_vs_rent_without_rentals_searched_says_so(tmp_path):
    # new-user QA: with constraints.providers [owned] the line ended 'no rental plan meets the targets', though no
    # rental was searched; with [owned, lambda] it names lambda
    profile = tmp_path / "owned.yaml"
    profile.write_text(OWNED)
    only = " ".join(estimate(profile, "constraints.providers=[owned]", fmt="table").split())
    assert "no rental searched (constraints.providers keeps to owned)." in only
    assert "no rental plan meets" not in only and "not among your machines" in only
    some = " ".join(estimate(profile, "constraints.providers=[owned, lambda]", "constraints.gpus=[RTX-4090, A10]",
                             "constraints.max_gpus=2", "training.deadline=8h", fmt="table").split())
    assert "no rental plan of lambda (constraints.providers) meets the targets." in some


def test_an_nvlink_the_catalog_has_no_bandwidth_for_is_planned_over_pcie_and_says_so(catalog):
    # new-user QA: 4 RTX 4090s written 'interconnect: nvlink' were planned over PCIe (31.5 GB/s), silently
    import planner

    def loaded(gpu):
        return planner.load_profile(ROOT / "docs" / "examples" / "owned-4090.yaml", catalog, overrides=[
            f"constraints.owned=[{{gpu: {gpu}, count: 4, usd_per_hour: 0, interconnect: nvlink}}]"])

    (note,) = [w for w in loaded("RTX-4090").warnings if "nvlink" in w]
    assert note == ("constraints.owned[0].interconnect nvlink: catalog/gpus.yaml records no NVLink bandwidth for "
                    "RTX-4090, so its GPUs are planned over PCIe")
    assert catalog.gpus["A100-80GB-SXM"].interconnect.nvlink_gbs
    assert not [w for w in loaded("A100-80GB-SXM").warnings if "nvlink" in w]


def test_purchase_price_needs_a_lifetime(tmp_path):
    profile = tmp_path / "owned.yaml"
    profile.write_text(OWNED.replace(", lifetime_years: 3", ""))
    result = runner.invoke(app, ["estimate", str(profile)])
    assert result.exit_code == 2 and "purchase_usd needs lifetime_years" in result.output


def test_a_lifetime_alone_buys_at_the_catalogs_sourced_card_price_named_on_the_plan(catalog, shared):
    profile = shared(OWNED.replace(", purchase_usd: $4k", ""))
    data = estimate(profile)
    (line,) = data["training"]["buy_vs_rent"]
    card = catalog.purchase_prices["RTX-4090"]
    purchase = line["purchase"]
    assert purchase["origin"] == "catalog" and purchase["usd"] == 2 * card.usd and purchase["per_gpu_usd"] == card.usd
    assert purchase["url"] == card.url and purchase["as_of"] == card.as_of.isoformat() and purchase["kind"]
    assert line["amortised_usd_per_hour"] == round(2 * card.usd / (3 * 8766), 4)
    assert purchase["stale"] == (purchase["age_days"] > 548)
    table = estimate(profile, fmt="table")
    assert f"= 2 × ${card.usd:,.0f}" in " ".join(table.split()) and card.source in table
    given = estimate(shared(OWNED))["training"]["buy_vs_rent"][0]
    assert given["purchase"]["origin"] == "constraints.owned" and given["purchase"]["usd"] == 4000


def test_an_owned_sxm_server_buys_at_its_share_of_the_servers_price(tmp_path, catalog):
    # SXM modules are sold eight to a board in a server: the A100 40GB SXM's sourced price is the DGX A100's
    # $200,000 launch price / 8 (catalog/purchase_prices.yaml kind system-share), and the line says the host is in it
    card = catalog.purchase_prices["A100-40GB-SXM"]
    assert card.kind == "system-share" and card.usd * 8 == 200_000
    owned = OWNED.replace("{gpu: RTX 4090, count: 2, usd_per_hour: 0, interconnect: pcie, purchase_usd: $4k",
                          "{gpu: A100-40GB-SXM, count: 8, usd_per_hour: 0, interconnect: nvlink")
    path = _with(tmp_path, owned)
    (line,) = estimate(path)["training"]["buy_vs_rent"]
    assert line["purchase"]["usd"] == 200_000 and line["purchase"]["kind"] == "system-share"
    table = " ".join(estimate(path, fmt="table").split())
    assert "= 8 × $25,000 (share of a server's launch price as of 2020-05-14" in table
    assert "host included" in table and "possibly stale" in table


def _with(tmp_path, text, name="given.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_card_with_no_sourced_price_gets_no_line_and_a_warning(tmp_path, catalog):
    # no dated USD price found for the A100 80GB PCIe (catalog/purchase_prices.yaml; the RTX A6000 used here before
    # has one since 2026-11-30)
    assert "A100-80GB-PCIE" not in catalog.purchase_prices
    data = estimate(_with(tmp_path, OWNED.replace("RTX 4090", "A100-80GB-PCIE").replace(", purchase_usd: $4k", "")))
    assert "buy_vs_rent" not in data["training"]
    assert any("no sourced price for A100-80GB-PCIE" in w and "purchase_usd" in w for w in data["warnings"])


def test_a_catalog_purchase_price_is_stale_after_18_months(catalog):
    from planner.plans.owned import purchase_basis
    from planner.schema.profile import OwnedMachine

    machine = OwnedMachine(gpu="RTX-4090", count=3, lifetime_years=4)
    as_of = catalog.purchase_prices["RTX-4090"].as_of
    fresh = purchase_basis(machine, "RTX-4090", catalog, as_of + dt.timedelta(days=548))
    old = purchase_basis(machine, "RTX-4090", catalog, as_of + dt.timedelta(days=549))
    assert fresh is not None and old is not None and not fresh.stale and old.stale
    assert fresh.usd == 3 * catalog.purchase_prices["RTX-4090"].usd
    assert purchase_basis(OwnedMachine(gpu="RTX-4090", purchase_usd=1000, lifetime_years=2), "RTX-4090", catalog,
                          as_of).usd == 1000


def test_purchase_prices_file_errors_name_file_line_and_field(tmp_path):
    import shutil

    from .conftest import ROOT as root

    (tmp_path / "offers").mkdir()
    shutil.copy(root / "catalog" / "gpus.yaml", tmp_path / "gpus.yaml")
    shutil.copy(root / "catalog" / "offers" / "lambda.yaml", tmp_path / "offers" / "lambda.yaml")
    entry = ("schema_version: 1\nas_of: 2026-11-30\nprices:\n- gpu: {gpu}\n  usd: 100\n  kind: street\n"
             "  as_of: 2026-01-01\n  source: A site\n  title: A page\n  url: https://example.org/p\n"
             "  quote: $100 each\n")
    (tmp_path / "purchase_prices.yaml").write_text(entry.format(gpu="RTX-9999"))
    result = runner.invoke(app, ["estimate", str(CHAT), "--catalog", str(tmp_path)])
    assert result.exit_code == 2 and "purchase_prices.yaml:4:" in result.output and "prices.0.gpu" in result.output
    assert "unknown GPU id 'RTX-9999'" in result.output


def test_unknown_owned_gpu_is_placed(tmp_path):
    profile = tmp_path / "owned.yaml"
    profile.write_text(OWNED.replace("gpu: RTX 4090", "gpu: RTX 9090"))
    result = runner.invoke(app, ["estimate", str(profile)])
    assert result.exit_code == 2 and "constraints.owned[0].gpu" in result.output.replace(".0.", "[0].")


def test_a_discount_lowers_the_price_and_is_shown():
    base = estimate(PRETRAIN, "constraints.providers=[lambda]")["training"]["plans"][0]
    cut = estimate(PRETRAIN, "constraints.providers=[lambda]", "constraints.discounts={lambda: 15%}")
    plan = next(p for p in cut["training"]["plans"] if p["instance"] == base["instance"])
    assert plan["discount_percent"] == 15 and plan["usd_per_hour"] == pytest.approx(
        base["usd_per_hour"] * 0.85)
    table = estimate(PRETRAIN, "constraints.providers=[lambda]", "constraints.discounts={lambda: 15%}", fmt="table")
    assert "Discounts in the prices (constraints.discounts): lambda 15%." in table


def test_a_discount_with_no_plan_shown_is_still_named():
    """New-user QA: a discount with a provider none of whose plans was shown left no trace in the output."""
    table = " ".join(estimate(PRETRAIN, "constraints.discounts={runpod: 15%}", fmt="table").split())
    assert "Discounts in the prices" not in table  # no runpod plan among pretrain-1b-72h's shown ones
    assert "Discounts read (constraints.discounts), in no plan shown: runpod 15%" in table
    both = " ".join(estimate(PRETRAIN, "constraints.providers=[lambda]",
                             "constraints.discounts={lambda: 15%, runpod: 10%}", fmt="table").split())
    assert "Discounts in the prices (constraints.discounts): lambda 15%." in both
    assert "Also read (constraints.discounts), in no plan shown: runpod 10%" in both


def test_a_flow_mapping_without_a_space_says_how_yaml_read_it():
    """New-user QA: `{mithril:50%}` is one YAML key 'mithril:50%' with no value; it read 'valid number (got None)'."""
    result = runner.invoke(app, ["estimate", str(PRETRAIN), "--set", "constraints.discounts={mithril:50%}"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "'mithril:50%' was read as one provider name with no discount" in result.stderr
    assert "write {mithril: 50%}" in result.stderr and "got None" not in result.stderr


def test_a_plan_rejected_before_it_was_placed_does_not_claim_it_fits():
    """New-user QA: a T4 serving plan rejected for "no bf16" read `fits: true` with `replicas: 0`."""
    plans = estimate(CHAT, "constraints.gpus=[T4]")["inference"]["plans"]
    rejected = [p for p in plans if p["replicas"] == 0]
    assert rejected and any(v["kind"] == "no_precision" for p in rejected for v in p["verdicts"])
    assert not any(p["fits"] for p in rejected)


def test_the_bill_adds_storage_and_egress_where_prices_are_known():
    data = estimate(PRETRAIN, "constraints.providers=[runpod]", "training.dataset_gb=80",
                    "training.retention_days=30", "training.checkpoints_kept=2")
    plan = data["training"]["plans"][0]
    cost = plan["cost_usd"]
    # 1.012B params x 14 B (bf16 weights 2, fp32 master 4, AdamW moments 8) per checkpoint, 2 kept, + 80 GB of data,
    # at 0.07 USD/GB-month (RunPod network volume) for the run's P50 hours plus 30 days; egress free at RunPod
    stored = 80 + 2 * 1.012e9 * 14 / 1e9
    months = plan["hours"]["p50"] / 730 + 30 / 30.44
    assert cost["storage"] == pytest.approx(stored * 0.07 * months, rel=0.01)
    assert cost["egress"] == 0 and cost["compute"] == cost["p50"]
    assert cost["total"] == pytest.approx(cost["compute"] + cost["storage"], rel=0.001)
    assert plan["bill_notes"] == []


def test_unknown_storage_prices_are_off_the_total_and_said_so():
    plan = estimate(PRETRAIN, "constraints.providers=[vast-ai]")["training"]["plans"][0]
    assert plan["cost_usd"]["storage"] is None and plan["cost_usd"]["total"] == plan["cost_usd"]["p50"]
    assert any("storage price unknown" in n for n in plan["bill_notes"])


@pytest.fixture(scope="module")
def billed(catalog):
    """The library's plan of pretrain-1b on RunPod (storage and egress priced) with a dataset and retention, once."""
    from planner.api import load_profile, plan

    profile = load_profile(PRETRAIN, catalog, ["constraints.providers=[runpod]", "training.dataset_gb=80",
                                               "training.retention_days=30"])
    return plan(profile, catalog)


def test_the_table_and_markdown_show_the_whole_bill_of_the_json(billed, monkeypatch):
    # issue 15 item 6: the bill's lines as separate rows in the human outputs, the amounts those of the JSON
    monkeypatch.setenv("COLUMNS", "160")  # rows unwrapped, whatever the terminal running the tests
    from planner.readable import usd
    from planner.render.report import render_markdown, render_table

    from planner.render.jsonnum import exact_numbers
    from planner.render.report import _cost_dict

    data = billed.to_dict()
    shown = data["training"]["plans"][data["training"]["recommended"]]
    cost = shown["cost_usd"]
    assert cost["storage"] and cost["egress"] == 0.0
    # the JSON writes dollars to the cent; the bill prints the dollars of the same amounts before that rounding, as
    # the plans table does, so each cell is usd() of the unrounded amount, and the JSON's is that amount's cents
    plan = next(p for p in billed.estimate.training.plans
                if (p.gpu, p.provider, p.gpu_count) == (shown["gpu"], shown["provider"], shown["gpu_count"]))
    with exact_numbers():
        exact = _cost_dict(plan)
    for line in ("compute", "storage", "egress", "total"):
        assert exact[line] == pytest.approx(cost[line], abs=0.005), line
    for text in (render_table(billed.estimate, 10, billed.decision),
                 render_markdown(billed.estimate, 10, billed.decision)):
        assert "Whole bill of the recommended training plan (#1: " in text
        for line in ("compute", "storage", "egress", "total"):
            assert bill_cells(text, line)[1] == usd(exact[line]), line
        assert "compute P50" in text and "cost P50" not in text  # the columns say they are compute only
        assert "dataset 80.0 GB + 1 checkpoint" in text and "30.0 days kept after" in text


def test_the_bill_prints_the_dollars_the_plans_table_prints(catalog, monkeypatch):
    # the bill read the JSON's 4-significant-figure amounts: a 4,096-GPU plan was $22,528 in the plans table and the
    # choices, $22,530 in its bill
    monkeypatch.setenv("COLUMNS", "160")
    from planner.api import load_profile, plan
    from planner.readable import usd
    from planner.render.report import render_table

    result = plan(load_profile(PRETRAIN, catalog, ["training.deadline=30s", "constraints.gpus=[B200]",
                                                   "constraints.providers=[nebius]"]), catalog)
    first = result.estimate.training.plans[0]
    assert first.cost_usd_p50 >= 10_000 and first.cost_usd_p50 != float(f"{first.cost_usd_p50:.4g}")
    text = render_table(result.estimate, 10, result.decision)
    assert bill_cells(text, "compute")[1] == bill_cells(text, "total")[1] == usd(first.cost_usd_p50)
    # and the JSON writes the same dollars, to the cent (new-user QA round 27: 2.253e+04 there)
    assert result.to_dict()["training"]["plans"][0]["cost_usd"]["compute"] == round(first.cost_usd_p50, 2)


def test_unknown_bill_lines_are_said_in_the_table(catalog, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    from planner.api import load_profile, plan
    from planner.readable import usd
    from planner.render.report import render_table

    result = plan(load_profile(PRETRAIN, catalog, ["constraints.providers=[vast-ai]"]), catalog)
    data = result.to_dict()
    cost = data["training"]["plans"][data["training"]["recommended"]]["cost_usd"]
    text = render_table(result.estimate, 10, result.decision)
    assert bill_cells(text, "storage")[1:] == ["not counted", "no storage price for vast-ai in the catalog"]
    assert bill_cells(text, "egress")[1] == "not counted"
    assert bill_cells(text, "total")[1] == usd(cost["total"]) == usd(cost["compute"])
    assert "compute (storage and egress unknown for vast-ai)" in text
    assert "dataset size not given" not in text  # moot without a storage price


def test_a_spot_plan_stores_its_data_over_its_longer_hours(billed):
    # interruptions lengthen a spot run (spot_adjusted), and the data and checkpoints stay stored meanwhile
    from planner.dataclass import evolve
    from planner.plans.options import spot_adjusted

    plan = billed.estimate.training.plans[0]
    rates = plan.bill_rates
    spot = spot_adjusted(billed.estimate.training.job, evolve(plan, spot=True))
    assert spot.hours_p50 > plan.hours_p50 and rates is not None
    assert spot.storage_usd == pytest.approx(rates.storage_usd(spot.hours_p50)) and spot.storage_usd > plan.storage_usd


def test_a_break_even_past_full_time_use_says_owning_never_pays_off_not_a_utilisation_over_100_percent(shared):
    # $4k of RTX 4090s over 3 years against a 200M-token LoRA a rental finishes for about its running cost: the
    # break-even share of the lifetime is above 1, which no machine can be busy; the line says so in hourly figures
    path = shared(OWNED)
    (line,) = estimate(path)["training"]["buy_vs_rent"]
    assert line["break_even_utilisation"] > 1
    table = " ".join(estimate(path, fmt="table").split())
    assert "owning never pays off at these prices" in table
    # the text rounds the exact figure to one decimal, the JSON to two: 2.65 in the JSON may read 2.7 in the text
    shown = re.search(r"breaking even would take ([0-9.]+)× full-time use", table)
    assert shown and abs(float(shown.group(1)) - line["break_even_utilisation"]) <= 0.05 + 0.005
    assert not re.search(r"\d ?% utilisation", table) and "break-even" not in table


def test_an_owned_machine_serves_only_on_the_gpus_it_has(catalog):
    # serve-7b-chat at 20 req/s needs more than one 2-GPU machine: the owned plan said "4×2 RTX-4090 · owned" (four
    # machines), was named "cheapest at the targets" and carried the buy-vs-rent line; a machine the user owns
    # exists once, as the measured machine's row already held
    import planner

    owned_sets = ["constraints.owned=[{gpu: RTX-4090, count: 2, lifetime_years: 3}]", "constraints.usd_per_kwh=0.2"]
    result = planner.plan(planner.load_profile(CHAT, catalog, overrides=owned_sets), catalog)
    owned = next(p for p in result.estimate.inference.plans if p.provider == "owned")
    assert owned.gpu_count > 2 and not owned.meets_slo
    assert [(v.kind.value, v.limit) for v in owned.verdicts][-1] == ("too_many_devices", 2.0)
    data = result.to_dict()
    assert all(c["provider"] != "owned" for c in data["decisions"]["inference"]["choices"])
    assert "buy_vs_rent" not in data["inference"]
    # a load one machine holds is planned on it
    light = planner.plan(planner.load_profile(CHAT, catalog, overrides=[*owned_sets, "inference.rate=0.2/s",
                                                           "inference.average_rate=0.1/s"]), catalog)
    owned = next(p for p in light.estimate.inference.plans if p.provider == "owned")
    assert owned.gpu_count <= 2 and owned.meets_slo


def test_an_owned_machine_is_shown_wherever_it_ranks_with_why_it_cannot_serve(catalog):
    # new-user QA: two owned RTX 4090s that could not hold 20 req/s ranked far below the top 10 and appeared nowhere
    # (no row, no reason, no word about the buy-vs-rent line), although owned machines plan "side by side" with rentals
    import planner

    owned_sets = ["constraints.owned=[{gpu: RTX-4090, count: 2, lifetime_years: 3}]", "constraints.usd_per_kwh=0.2"]
    result = planner.plan(planner.load_profile(CHAT, catalog, overrides=owned_sets), catalog)
    ranked = [p.provider for p in result.estimate.inference.plans]
    assert "owned" not in ranked[:3]  # the case: the machine ranks below the rows shown
    data = result.to_dict(top=3)
    mine = [p for p in data["inference"]["plans"] if p["provider"] == "owned"]
    assert mine and all(p["reasons"] and not p["meets_slo"] for p in mine)
    owned = mine[0]
    (warning,) = [w for w in data["warnings"] if "buy-versus-rent" in w]
    assert warning.startswith("2x RTX-4090 (owned): no buy-versus-rent line for serving: the machine cannot hold the "
                              "targets (")
    args = ["estimate", str(CHAT), "--top", "3"] + [a for s in owned_sets for a in ("--set", s)]
    table = runner.invoke(app, args, env={"COLUMNS": "150"}).stdout
    row = next(line for line in table.splitlines() if " owned " in line)
    assert owned["reasons"][0][:40] in row


def test_tensor_parallel_groups_stay_inside_one_instance(catalog):
    # 2-way tensor parallelism on 3-GPU machines put every other group across two of them (its all-reduces on the
    # network); a 4-GPU serving replica on 6-GPU machines likewise
    from planner.api import load_profile
    from planner.model.workload import workload_for
    from planner.plans.serving import _fill_instances
    from planner.plans.training import _tensor_degrees, training_job

    assert _fill_instances(3, 4, 6) == (3, 3) and _fill_instances(3, 2, 6) == (3, 1)
    assert _fill_instances(5, 1, 8) == (8, 1)
    three = PricedOffer("p", Offer(instance="3x", gpu="RTX-4090", gpus_per_instance=3, usd_per_hour=1.0,
                                   network_gbps=100.0), 1.0, dt.date(2026, 11, 30))
    eight = PricedOffer("p", Offer(instance="8x", gpu="RTX-4090", gpus_per_instance=8, usd_per_hour=1.0,
                                   network_gbps=100.0), 1.0, dt.date(2026, 11, 30))
    loaded = load_profile(ROOT / "profiles" / "lora-7b-a6000.yaml", catalog)
    job = training_job(workload_for(loaded.arch), loaded.profile.training)
    assert _tensor_degrees(job, three, 2) == [2]  # inside one machine
    assert _tensor_degrees(job, three, 6) == []  # 2 + 1 | 1 + 2: straddles
    assert _tensor_degrees(job, eight, 16) == [2, 4, 8]


def test_tensor_parallel_degrees_divide_the_attention_heads(catalog):
    # new-user QA: BERT-base (12 heads, hidden 768) was planned at tensor 8, and tensor 16 pinned on Pythia-1B's 8
    # heads was recommended: each rank must compute whole heads (Megatron-LM and vLLM refuse other degrees)
    import planner
    from planner.model.workload import workload_for
    from planner.plans.training import _tensor_degrees, training_job

    eight = PricedOffer("p", Offer(instance="8x", gpu="H100-SXM", gpus_per_instance=8, usd_per_hour=1.0,
                                   network_gbps=100.0), 1.0, dt.date(2026, 11, 30))
    bert = planner.load_profile(ROOT / "profiles" / "bert-train-then-serve.yaml", catalog)
    assert bert.arch.n_heads == 12
    assert _tensor_degrees(training_job(workload_for(bert.arch), bert.profile.training), eight, 8) == [2, 4]
    # a pin no GPU can run for the model's sake is bad input at the pin (new-user QA: tensor 3 on Pythia-1B listed
    # every GPU as missing the deadline at 85.0 h), not a table of unworkable plans
    with pytest.raises(InputError) as raised:
        planner.plan(planner.load_profile(PRETRAIN, catalog, overrides=["training.parallelism.tensor=16"]), catalog)
    assert raised.value.message == "tensor 16 does not divide the 8 attention heads"
    assert raised.value.field == "training.parallelism.tensor"


def test_multi_gpu_plans_state_the_links_they_run_on(catalog):
    # issue 15: a new user sees multi-GPU plans "with their network": the link inside an instance (NVLink where the
    # offer has it, else PCIe) and, across instances, the network with its source or the assumption made
    import planner

    def plans(*sets):
        return planner.plan(planner.load_profile(PRETRAIN, catalog, overrides=list(sets)), catalog)

    shown = plans("constraints.gpus=[H100-SXM]", "constraints.max_gpus=8").to_dict()["training"]["plans"]
    nvlink = next(p for p in shown if p["gpu_count"] == 8 and p["instances"] == 1)
    assert nvlink["network"] == {"intra_node": "nvlink", "intra_node_name": "NVLink", "intra_node_gbs": 450.0,
                                 "inter_node_gbps": None,
                                 "inter_node_source": None, "inter_node_assumed": False}
    every = plans("constraints.gpus=[L40S, RTX-A6000, RTX-A5000]").estimate.training.plans
    spanning = set()
    for p in every:
        if p.gpu_count == 1 or p.price_as_of is None:
            assert p.links is None, p
            continue
        assert (p.links.inter_node_gbps is not None) == (p.instances > 1), p
        assert (p.links.intra_node is None) == (p.gpu_count == p.instances), p  # one GPU per instance: no link inside
        if p.instances > 1:
            assert p.links.inter_node_assumed or p.links.inter_node_source, p
            if p.gpu_count >= 4 and p.links.intra_node is not None:
                spanning.add(p.gpu)
    assert spanning == {"L40S", "RTX-A6000", "RTX-A5000"}
    table = estimate(PRETRAIN, "constraints.gpus=[L40S]", fmt="table")
    assert "Gb/s between instances (assumed: the offer states none)" in " ".join(table.split())


def test_an_owned_plan_is_not_called_on_demand(catalog):
    # new-user QA: the decision's text named an owned plan "2× RTX-4090 on owned (on-demand)"
    import planner

    loaded = planner.load_profile(ROOT / "profiles" / "lora-7b-a6000.yaml", catalog, overrides=[
        "constraints.owned=[{gpu: RTX-4090, count: 2, usd_per_hour: 0, interconnect: pcie}]"])
    options = planner.plan(loaded, catalog).estimate.training.options
    owned = {o.label for o in options if o.plan.provider == "owned"}
    assert owned and all(label.endswith("× RTX-4090 (owned)") for label in owned)
    assert any(o.label.endswith("(on-demand)") for o in options if o.plan.provider != "owned" and not o.spot)


UNWORKABLE_PIN = ["estimate", str(PRETRAIN), "--set", "training.parallelism.tensor=8", "--set",
                  "constraints.gpus=[RTX-3060]", "--top", "0"]
"""pretrain-1b-72h with tensor 8 pinned on RTX 3060s, whose one-GPU instances cannot hold 8 tensor ranks."""


def _unworkable_plans() -> list[dict]:
    data = json.loads(CliRunner().invoke(app, [*UNWORKABLE_PIN, "--format", "json"]).stdout)
    unworkable = [p for p in data["training"]["plans"] if any(v["kind"] == "pin_unworkable" for v in p["verdicts"])]
    assert unworkable
    return unworkable


def test_a_plan_whose_pin_cannot_run_is_not_judged_on_stand_in_hours():
    # new-user QA: plans whose pinned tensor degree cannot run on the offer read "misses the deadline (85.0 h at P50
    # > 72.0 h)" with hours 85.0 (85.0–85.0): a stand-in layout's figures, not a prediction
    for plan in _unworkable_plans():
        assert {v["kind"] for v in plan["verdicts"]} == {"pin_unworkable"}, plan["verdicts"]
        assert not any("deadline" in r or "budget" in r for r in plan["reasons"])
    text = CliRunner().invoke(app, [*UNWORKABLE_PIN, "--format", "markdown"]).stdout
    rows = [line for line in text.split("\n## Training\n", 1)[1].splitlines()
            if line.startswith("| ") and "pinned parallelism" in line]
    assert rows and all(" – | – |" in row for row in rows), rows[:2]


def test_a_plan_whose_pin_cannot_run_has_no_figures_in_the_json_or_csv():
    # new-user QA: the JSON (and the CSV made from it) gave such a plan hours 5.9 h, a cost, an MFU and a ZeRO-3,
    # full-recompute, micro-batch-1 layout: _unfitted's stand-in, which the table already prints as '–'
    for plan in _unworkable_plans():
        assert set(plan["hours"].values()) == {None} and set(plan["cost_usd"].values()) == {None}
        assert plan["gpu_hours"] is None and plan["mfu"] is None and plan["step_time_s"] is None
        assert plan["micro_batch"] is None and plan["memory_per_gpu_gb"] is None
        assert plan["parallelism"]["tensor"] == 8 and plan["parallelism"]["sharding"] is None
        assert plan["meets_deadline"] is None and plan["within_budget"] is None
    rows = [r for r in csv.DictReader(io.StringIO(CliRunner().invoke(app, [*UNWORKABLE_PIN, "--format", "csv"]).stdout))
            if "pinned parallelism" in r["reasons"]]
    assert rows and all(r["hours_p50"] == "" and r["cost_usd_p50"] == "" for r in rows)


def test_a_plan_that_does_not_fit_has_no_figures_no_deadline_verdict_and_no_bill():
    # new-user QA: Llama-2-70B fully trained on 12 GB RTX 3060s listed '1,281.3 (941.6–2,095.0) h, $89.74, 55 % MFU,
    # does not fit in memory' and a whole bill of $89.74 for it: _unfitted's stand-in layout, not a prediction
    args = ["estimate", str(ROOT / "profiles" / "lora-7b-a6000.yaml"), "--set", "model.preset=llama-2-70b",
            "--set", "training.method=full", "--set", "training.lora_rank=null", "--set", "constraints.gpus=[RTX-3060]",
            "--set", "constraints.max_gpus=8", "--set", "training.deadline=200h", "--top", "3"]
    data = json.loads(CliRunner().invoke(app, [*args, "--format", "json"]).stdout)
    plans = data["training"]["plans"]
    assert plans and all(p["reasons"] and p["reasons"][0].startswith("does not fit in memory") for p in plans)
    for plan in plans:
        assert {v["kind"] for v in plan["verdicts"]} == {"does_not_fit_memory"}, plan["verdicts"]
        assert set(plan["hours"].values()) == {None} and set(plan["cost_usd"].values()) == {None}
        assert plan["mfu"] is None and plan["memory_per_gpu_gb"] > 12  # what it would need is kept
    text = CliRunner().invoke(app, [*args, "--format", "markdown"]).stdout
    rows = [line for line in text.split("\n## Training\n", 1)[1].splitlines() if "does not fit in memory" in line]
    assert rows and all(" – | – | – |" in row for row in rows), rows[:2]
    assert "Whole bill" not in text


def test_a_gpu_without_the_precision_is_not_judged_on_its_fp32_stand_in():
    # new-user QA: pretrain-1b-72h (bf16) rejected the V100 as 'no bf16 on this GPU; over budget ($31,547 at P50 >
    # $20,000)': a cost at its fp32 peak, while the same run in fp16 costs a fraction of it
    args = ["estimate", str(PRETRAIN), "--set", "constraints.gpus=[V100-16GB-SXM2]", "--top", "2"]
    data = json.loads(CliRunner().invoke(app, [*args, "--format", "json"]).stdout)
    plans = data["training"]["plans"]
    assert plans and all({v["kind"] for v in p["verdicts"]} == {"no_precision"} for p in plans), \
        [p["reasons"] for p in plans]
    assert all(set(p["hours"].values()) == {None} for p in plans)
    fp16 = json.loads(CliRunner().invoke(app, [*args, "--set", "training.precision=fp16", "--format",
                                               "json"]).stdout)["training"]["plans"]
    assert fp16 and fp16[0]["hours"]["p50"] is not None


def test_an_owned_machines_bill_says_its_storage_is_on_the_machine(catalog, monkeypatch):
    # new-user QA: the bill of an owned plan read "no storage price for owned in the catalog" and "storage and egress
    # unknown for owned", as if "owned" were a provider the catalog lacked
    monkeypatch.setenv("COLUMNS", "160")
    from planner.api import load_profile, plan
    from planner.render.report import render_table

    pins = ["constraints.owned=[{gpu: RTX-4090, count: 2, usd_per_hour: 0.5}]", "constraints.gpus=[RTX-4090]",
            "constraints.providers=[owned]", "training.deadline=2000h"]
    result = plan(load_profile(PRETRAIN, catalog, pins), catalog)
    text = render_table(result.estimate, 10, result.decision)
    assert "Whole bill of the recommended training plan" in text and "· owned)" in text
    assert bill_cells(text, "storage")[1:] == ["not counted", "on your own machine: no storage price to bill"]
    assert "compute (storage and egress on your own machine)" in text and "for owned in the catalog" not in text


def test_providers_may_name_the_owned_machines(catalog):
    # new-user QA: 'constraints.providers: [owned]', to plan on one's own GPUs only, was "unknown provider 'owned'"
    from planner.api import load_profile, plan
    from planner.errors import InputError

    machine = "constraints.owned=[{gpu: RTX-4090, count: 2, usd_per_hour: 0.5}]"
    result = plan(load_profile(PRETRAIN, catalog, [machine, "constraints.providers=[owned]",
                                                   "training.deadline=2000h"]), catalog)
    assert {p.provider for p in result.estimate.training.plans} == {"owned"}
    with pytest.raises(InputError, match="names the machines of constraints.owned, which lists none"):
        load_profile(PRETRAIN, catalog, ["constraints.providers=[owned]"])


def test_a_choice_over_an_assumed_network_says_so():
    # new-user QA: lora-7b-a6000's balanced choice, 32 single-GPU vast-ai instances over an assumed 10 Gb/s network,
    # read like any other choice; the footer's 'Assumed network' line names rows of the plans table only
    doc = estimate(ROOT / "profiles" / "lora-7b-a6000.yaml")
    plans = {(p["gpu"], p["provider"], p["instance"], p["gpu_count"]): p for p in doc["training"]["plans"]}
    choices = doc["decisions"]["training"]["choices"]
    spanning = [c for c in choices if c["instances"] > 1 and "assumed" in c["tradeoff"]]
    assert spanning, [c["tradeoff"] for c in choices]
    for c in choices:
        caveat = f"caveat: {c['instances']} instances over an assumed 10 Gb/s network (the offer states none)"
        plan = plans.get((c["gpu"], c["provider"], c["instance"], c["gpu_count"]))
        if plan is not None:
            assert (caveat in c["tradeoff"]) == bool(plan["network"] and plan["network"].get("inter_node_assumed"))
    assert not any("assumed" in c["tradeoff"] for c in choices if c["instances"] == 1)


def test_ages_of_a_thousand_days_and_more_read_with_a_separator(catalog):
    # new-user QA: '1532 days old' where every other count reads '1,532'; the stale-price warning still groups the
    # offers by their age (report._OLD reads the flag back)
    import planner
    from planner.render.report import price_warnings

    loaded = planner.load_profile(PRETRAIN, catalog, ["constraints.providers=[massed-compute]",
                                                       "constraints.gpus=[L40]"])
    est = planner.plan(loaded, catalog, today=dt.date(2029, 6, 1)).estimate
    flags = [f for p in est.training.ranked for f in p.plan.price_flags if "days old" in f]
    assert flags and all(re.match(r"price \d{1,3}(,\d{3})+ days old \(as of ", f) for f in flags)
    [warning] = [w for w in price_warnings(est, None) if w.startswith("prices for massed-compute")]
    assert re.search(r"\d,\d{3} days old", warning) and not re.search(r"\d{4} days old", warning)
    ages = {p.plan.price_as_of for p in est.training.ranked}
    assert all(f"(as of {as_of.isoformat()})" in warning for as_of in ages)


def test_percentages_read_without_a_space():
    # the output writes a percentage as f"{share:.0%}" does ('25%'); readable.percent wrote '15 %' beside it
    from planner.readable import percent

    assert [percent(s) for s in (0.153, 0.003, 12.5)] == ["15%", "0.3%", "1,250%"]


def test_the_training_buy_vs_rent_line_quotes_the_planning_confidences_figures_and_names_it(shared):
    # new-user QA: at --confidence 0.9 the tables priced compute at P90 ($5.69 for 1x RTX-6000-ADA at vast-ai) while
    # the line said that rental 'costs $3.13 for the job (11.4 h on the owned machine)', P50 figures, unlabelled
    profile = shared(OWNED)
    result = runner.invoke(app, ["estimate", str(profile), "--format", "json", "--confidence", "0.9"])
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    (line,) = data["training"]["buy_vs_rent"]
    plans = data["training"]["plans"]
    owned = next(p for p in plans if p["provider"] == "owned")
    rental = next(p for p in plans if p["provider"] not in ("owned", "local") and line["rental"].startswith(
        f"{p['gpu_count']}x {p['gpu']} at {p['provider']} ({p['instance']})"))
    assert line["confidence"] == 0.9 and line["owned_hours"] == owned["hours"]["p90"] != owned["hours"]["p50"]
    assert line["rental_usd"] == pytest.approx(rental["cost_usd"]["p90"], abs=0.001)
    table = " ".join(runner.invoke(app, ["estimate", str(profile), "--confidence", "0.9"]).stdout.split())
    shown = re.search(r"costs \$([0-9.,]+) for the job at P90 \(([0-9.]+) h at P90 on the owned machine\)", table)
    assert shown and float(shown.group(1)) == round(line["rental_usd"], 2)
    assert float(shown.group(2)) == pytest.approx(owned["hours"]["p90"], rel=0.01)
    # at the default confidence the figures are the P50 ones, and say so
    (median,) = estimate(profile)["training"]["buy_vs_rent"]
    assert median["confidence"] == 0.5 and median["owned_hours"] == owned["hours"]["p50"]


def test_both_buy_vs_rent_lines_quote_the_same_running_cost_for_one_machine(tmp_path):
    # new-user QA: one owned GH200 at $0.5/h + 0.9 kW × PUE 1.5 × $0.30/kWh = $0.905/h read 'running $0.91/h' on the
    # training line and 'running $0.90/h' on the serving one (its month's cost ÷ its hours, 0.90499…)
    path = _with(tmp_path, """name: owned-mixed
model: {preset: llama-2-7b}
training: {dataset: {tokens: 200M}, method: lora, deadline: 72h}
inference: {rate: 5/s, prompt_tokens: 512, output_tokens: 128, slo: {ttft_p95: 500ms, tpot_p95: 50ms}}
constraints:
  owned: [{gpu: GH200-141GB, count: 1, usd_per_hour: 0.5, purchase_usd: $40k, lifetime_years: 4}]
  usd_per_kwh: 0.30
  pue: 1.5
""")
    data = estimate(path)
    (trains,), (serves,) = data["training"]["buy_vs_rent"], data["inference"]["buy_vs_rent"]
    assert trains["running_usd_per_hour"] == serves["running_usd_per_hour"] == pytest.approx(0.5 + 0.9 * 1.5 * 0.30)
    table = " ".join(estimate(path, fmt="table").split())
    assert table.count("running $0.91/h") == 2 and "running $0.90/h" not in table


def test_an_amd_gpus_link_is_named_infinity_fabric(catalog):
    # new-user QA round 24: DeepSeek-V3 served on 8 MI300X read 'NVLink 448 GB/s between GPUs of an instance'; AMD's
    # GPU-to-GPU link is Infinity Fabric (catalog/gpus.yaml's nvlink_gbs holds its figure); NVIDIA's stays NVLink
    import planner
    from planner.decide.understood import _links_text
    from planner.model.interconnect import plan_links

    for gpu, name in (("MI300X", "Infinity Fabric"), ("H100-SXM", "NVLink")):
        offer = next(o for o in catalog.offers({gpu}) if o.offer.gpus_per_instance == 8 and o.offer.intra_node == "nvlink")
        links = plan_links(catalog.gpus[gpu], offer, False)
        assert links.intra_node == "nvlink" and links.intra_node_name == name
        assert _links_text(links) == f"; {name} {catalog.gpus[gpu].interconnect.nvlink_gbs:,.0f} GB/s between GPUs " \
                                     "of an instance"
    loaded = planner.load_profile({"name": "ds", "model": {"preset": "deepseek-v3"},
                                   "inference": {"rate": "1/s", "prompt_tokens": 1000, "output_tokens": 300,
                                                 "precision": "bf16"},
                                   "constraints": {"gpus": ["MI300X"]}}, catalog)
    chosen = dict(planner.plan(loaded, catalog).decision.understood.lines)["chosen"]
    assert "Infinity Fabric 448 GB/s between GPUs of an instance" in chosen and "NVLink" not in chosen, chosen


def test_a_discount_beside_committed_rows_says_it_is_not_in_them(catalog, monkeypatch):
    # new-user QA round 28: 'Discounts in the prices (constraints.discounts): aws 10%' beside an aws 1y row at the
    # undiscounted published $1.17/h, nothing saying the discount was not in it
    monkeypatch.setenv("COLUMNS", "160")
    import planner
    from planner.render.report import render_table

    profile = {"name": "disc", "model": {"preset": "llama-3.1-8b"},
               "inference": {"rate": "8/s", "average_rate": "3/s", "prompt_tokens": 512, "output_tokens": 128,
                             "slo": {"ttft_p95": "1s", "tpot_p95": "80ms"}},
               "constraints": {"providers": ["aws", "gcp", "lambda"], "discounts": {"lambda": "20%", "aws": "10%"},
                               "commitment": "1y"}}
    result = planner.plan(planner.load_profile(profile, catalog), catalog)
    plans = result.to_dict()["inference"]["plans"]
    committed_aws = [p for p in plans if p["provider"] == "aws" and p.get("commitment")]
    assert committed_aws and all(p["discount_percent"] == 0.0 for p in committed_aws)
    text = " ".join(render_table(result.estimate, 10, result.decision).split())
    assert ("A discount is not taken off a committed-term price: aws's committed rows are at the published "
            "committed price.") in text
    plain = dict(profile, constraints={k: v for k, v in profile["constraints"].items() if k != "commitment"})
    again = planner.plan(planner.load_profile(plain, catalog), catalog)
    assert "A discount is not taken off" not in render_table(again.estimate, 10, again.decision)


def test_a_committed_choice_says_when_on_demand_autoscaled_costs_less():
    # new-user QA round 29: serve-7b-chat on aws L40S with a 1-year commitment recommended 8×1 L40S at $6,833/month
    # committed; on demand the same plan autoscaled to the profile's average rate costs $5,434/month, and nothing said
    # so (the ranking reads the peak bill, which a commitment pays every hour)
    data = estimate(CHAT, "constraints.gpus=[L40S]", "constraints.providers=[aws]", "constraints.commitment=1y")
    plans = data["inference"]["plans"]
    first = data["decisions"]["inference"]["choices"][0]
    assert first["instance"].endswith("(1y commitment)")
    # among the plans of the recommendation's standing: those holding every target with headroom
    cheaper = [p for p in plans if p.get("commitment") is None and p["holds_with_headroom"]
               and p["monthly_cost_autoscaled_usd"] is not None
               and p["monthly_cost_autoscaled_usd"] < first["monthly_cost_usd"]]
    assert cheaper
    best = min(cheaper, key=lambda p: p["monthly_cost_autoscaled_usd"])
    assert (f"caveat: on demand and autoscaled to the average rate, {best['replicas']}×{best['gpus_per_replica']} "
            f"L40S on aws costs ${best['monthly_cost_autoscaled_usd']:,.0f}/month, less than this commitment's "
            f"${first['monthly_cost_usd']:,.0f}, which bills every hour of the term") in first["tradeoff"]
    # on demand alone, no choice carries it
    plain = estimate(CHAT, "constraints.gpus=[L40S]", "constraints.providers=[aws]")
    assert not any("this commitment" in c["tradeoff"] for c in plain["decisions"]["inference"]["choices"])


def test_a_count_that_waits_on_the_network_is_not_told_more_gpus():
    # new-user QA round 30: 16 H100 pinned on RunPod (8 to a pod) span two pods at 0.1 Gb/s: 434 h against 11 h for 8
    # in one pod, and the advice read 'more GPUs could be faster'
    sets = ("constraints.providers=[runpod]", "constraints.gpus=[H100-SXM]", "constraints.gpu_count=16")
    data = estimate(PRETRAIN, *sets)
    (count,) = [c for c in data["decisions"]["training"]["changes_needed"] if c.startswith("count:")]
    assert "on 2 instances" in count and "of its step waits on the network between them (a stated 0.1 Gb/s)" in count
    assert count.endswith("more GPUs would not.") and "more GPUs could be faster" not in count


def test_committed_prices_left_out_of_the_rows_are_said():
    # new-user QA round 30: serve-7b-chat with a 1-year commitment printed what it printed without one: the six
    # committed plans all ranked below the rows shown
    plain = runner.invoke(app, ["estimate", str(CHAT), "--top", "5"]).stdout
    committed = " ".join(runner.invoke(app, ["estimate", str(CHAT), "--top", "5", "--set",
                                              "constraints.commitment=1y"]).stdout.split())
    plans = json.loads(runner.invoke(app, ["estimate", str(CHAT), "--top", "0", "--format", "json", "--set",
                                           "constraints.commitment=1y"]).stdout)["inference"]["plans"]
    terms = [p for p in plans if p.get("commitment") and p["fits"]]
    assert terms and "Committed prices" not in plain
    best = terms[0]
    assert (f"Committed prices (1 year, constraints.commitment): {len(terms)} serving plan(s) priced at them, none "
            f"among the rows shown; the best of them is {best['provider']} {best['instance']} at "
            f"${best['monthly_cost_usd']:,.0f}/month") in committed


def test_a_plan_that_runs_nowhere_states_no_network_between_instances():
    # new-user QA round 30: lambda's V100 and Quadro RTX 6000 plans, rejected for the job's precision and never
    # timed, carried network.inter_node_gbps 10 (assumed) for their 4,096-GPU stand-in layout
    plans = json.loads(runner.invoke(app, ["estimate", str(PRETRAIN), "--top", "0", "--format", "json", "--set",
                                           "constraints.providers=[lambda]"]).stdout)["training"]["plans"]
    untimed = [p for p in plans if p["hours"]["p50"] is None]
    assert untimed and all(p["assumed_network_gbps"] is None for p in untimed)
    assert all(p["network"] is None or (p["network"]["inter_node_gbps"], p["network"]["inter_node_assumed"])
               == (None, False) for p in untimed)
    assert any(p["network"] and p["network"]["intra_node"] == "nvlink" for p in untimed)  # the offer's link stays
