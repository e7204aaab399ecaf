"""Plans that differ only by instance type are one row (issue 16), and the serving list's order agrees with the
decision's recommendation."""
import json

from typer.testing import CliRunner

import planner
from planner.cli.main import app
from planner.render.merge import key, merged, shape

from .conftest import ROOT, gpuplan

runner = CliRunner()
CATALOG = planner.load_catalog()


def _result(name: str):
    return planner.plan(planner.load_profile(ROOT / "profiles" / name, CATALOG), CATALOG)


def test_near_copies_are_merged_into_the_cheapest_row():
    est = _result("serve-7b-chat.yaml").estimate
    plans = est.inference.plans
    kept, others = merged(plans)
    assert others, "the bundled catalog sells some serving shape under several instance types"
    for (gpu, provider, instance, seen), names in others.items():
        first = next(p for p in kept if key(p) == (gpu, provider, instance, seen))
        for name in names:
            # an offer can list two plans (its cheapest at the targets and its cheapest with headroom): one of them
            # is the copy
            copies = [p for p in plans if (p.gpu, p.provider, p.instance) == (gpu, provider, name)]
            assert any(shape(copy) == shape(first) and copy.monthly_cost_usd >= first.monthly_cost_usd
                       for copy in copies)
    assert len({shape(p) for p in kept}) == len(kept)  # no two rows read the same


def test_json_and_table_say_how_many_instance_types_give_a_row():
    data = _result("serve-7b-chat.yaml").to_dict(top=0)
    rows = data["inference"]["plans"]
    many = [p for p in rows if p["instance_types"] > 1]
    assert many and all(len(p["other_instances"]) == p["instance_types"] - 1 for p in many)
    table = runner.invoke(app, ["estimate", str(ROOT / "profiles" / "serve-7b-chat.yaml"), "--top", "0"],
                          env={"COLUMNS": "120"}).stdout
    assert f"{many[0]['provider']} (×{many[0]['instance_types']})" in table and "(×N) after a provider" in table


def test_serving_list_starts_with_the_recommendation():
    for name in ("serve-7b-chat.yaml", "serve-gpt-oss-120b-chat.yaml", "bert-train-then-serve.yaml"):
        result = gpuplan("estimate", str(ROOT / "profiles" / name), "--format", "json")
        data = json.loads(result.stdout)
        assert data["inference"]["recommended"] == 0, name
        choice = data["decisions"]["inference"]["choices"][0]
        first = data["inference"]["plans"][0]
        assert (first["gpu"], first["provider"]) == (choice["gpu"], choice["provider"]), name


def test_the_lazy_merge_shows_what_merging_every_plan_shows():
    # render/merge.py LazyMerge merges GPU and provider by GPU and provider, making a training option's plan only
    # where a report reads it: the rows, their order and their merged instance types are merged()'s of all plans
    from planner.render.merge import LazyMerge
    from planner.render.report import _always_shown, shown

    for name in ("serve-7b-chat.yaml", "pretrain-1b-72h.yaml", "bert-train-then-serve.yaml"):
        est = _result(name).estimate
        sections = [(est.training.ranked, lambda o: o.plan)] if est.training else []
        sections += [(est.inference.plans, lambda p: p)] if est.inference else []
        for items, plan_of in sections:
            plans = [plan_of(i) for i in items]
            others = merged(plans)[1]
            for top in (1, 3, 10, 0):
                lazy = LazyMerge(items, plan_of)
                rows = lazy.shown(top, _always_shown)
                assert rows == shown(plans, top) and all(r is s for r, s in zip(rows, shown(plans, top)))
                assert [lazy.others(p) for p in rows] == [others.get(key(p), []) for p in rows]
            assert any(others.values())  # some rows merge copies: the comparison means something
