"""The search's shortcuts change no answer: plans built through the shared layout memo (one per search) equal plans
built alone, the fast constructors equal the dataclasses' own, and the collector's threshold comes back."""
from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import random

import pytest

import planner
from planner.dataclass import build, evolve_with, maker
from planner.efficiency.origin import prior_efficiency
from planner.model.workload import TrainingMemory
from planner.plans import training
from planner.plans.collector import fewer_collections
from planner.plans.search import candidate_counts, searched_offers
from planner.plans.training import Layout, LayoutMemo, TrainingPlan, plan_training

from .conftest import ROOT

DAY = dt.date(2026, 11, 30)


@pytest.mark.parametrize("name, pins", [("pretrain-1b-72h", []), ("lora-mixtral-8x7b", []),
                                        ("long-context-llama-8b", []),
                                        ("pretrain-1b-72h", ["training.parallelism.tensor=2"])])
def test_plans_through_the_shared_memo_equal_plans_built_alone(catalog, name, pins):
    """One memo across many offers and counts (as search_training shares it) against no memo at all, on a dense
    model, a mixture of experts (expert layouts), a long context (context-parallel layouts) and a pinned degree."""
    # counts past the largest published run (catalog/priors.yaml) widen the efficiency by their number
    loaded = planner.load_profile(ROOT / "profiles" / f"{name}.yaml", catalog, ["constraints.max_gpus=16384", *pins])
    job = planner.plan(loaded, catalog, today=DAY).estimate.training.job
    offers = searched_offers(loaded, catalog, DAY)
    # every count of a few offers, smallest first as the search goes: a memo key that left out something a plan
    # reads would hand a later count what an earlier one found
    picked = random.Random(name).sample(offers, min(6, len(offers)))
    pairs = [(o, c) for o in picked for c in candidate_counts(o, loaded.profile.constraints.max_gpus, None)]
    memo = LayoutMemo()
    for offer, count in pairs:
        gpu = catalog.gpus[offer.offer.gpu]
        efficiency = prior_efficiency(catalog, gpu, "train", job.work.family)
        shared = plan_training(job, gpu, offer, count, efficiency, memo=memo)
        alone = plan_training(job, gpu, offer, count, prior_efficiency(catalog, gpu, "train", job.work.family))
        assert shared == alone, (offer.provider, offer.offer.instance, count)


def test_build_is_the_generated_init(catalog):
    plan = planner.plan(planner.load_profile(ROOT / "profiles" / "pretrain-1b-72h.yaml", catalog), catalog,
                        today=DAY).estimate.training.plans[0]
    values = {f.name: getattr(plan, f.name) for f in dataclasses.fields(plan) if f.name not in ("price_flags", "pinned")}
    built = build(TrainingPlan, **values)
    assert built == TrainingPlan(**values) and repr(built) == repr(TrainingPlan(**values))
    assert evolve_with(built, {"gpu_count": 3}) == dataclasses.replace(built, gpu_count=3)
    with pytest.raises(TypeError):
        build(TrainingPlan, **values, colour="red")
    with pytest.raises(TypeError):
        build(TrainingPlan, **{k: v for k, v in values.items() if k != "gpu"})


def test_maker_is_the_generated_init(catalog):
    """evolve.maker's function makes what the dataclass's generated __init__ makes: every field given, the defaults
    and a fresh value from each default factory for those not given; a missing or unknown field is a TypeError."""
    from planner.plans.serving import _Candidate, _make_candidate

    plan = planner.plan(planner.load_profile(ROOT / "profiles" / "pretrain-1b-72h.yaml", catalog), catalog,
                        today=DAY).estimate.training.plans[0]
    values = {f.name: getattr(plan, f.name) for f in dataclasses.fields(plan) if f.name not in ("price_flags", "pinned")}
    make = maker(TrainingPlan)
    made = make(**values)
    assert vars(made) == vars(TrainingPlan(**values)) and repr(made) == repr(TrainingPlan(**values))
    assert list(vars(made)) == [f.name for f in dataclasses.fields(TrainingPlan)]
    with pytest.raises(TypeError):
        make(**values, colour="red")
    with pytest.raises(TypeError):
        make(**{k: v for k, v in values.items() if k != "gpu"})
    given = dict(timing=0.5, batch=4, tp=2, replicas=3, instances=2, judged=None, meets=True, capacity_rps=8.0,
                 latency_at=None, gpus_per_instance=4, rate=1.5)
    first, second = _make_candidate(**given), _make_candidate(**given)
    assert vars(first) == vars(_Candidate(**given))  # meets_at, percentiles and judged_at their defaults
    assert first.autoscaled == [] and first.autoscaled is not second.autoscaled  # the factory's, one per candidate



def test_fast_layout_and_named_tuples_equal_their_classes(catalog):
    """training._layout sets every field of Layout, as its __init__ does; the efficiency copies (evolve) equal
    dataclasses.replace."""
    plan = planner.plan(planner.load_profile(ROOT / "profiles" / "pretrain-1b-72h.yaml", catalog), catalog,
                        today=DAY).estimate.training.plans[0]
    memory = TrainingMemory(1.0, 2.0, 3.0, 4.0)
    args = (4, 2, 1, "zero1", "selective", 3, memory, 1, 1, 1)
    fast = training._layout(*args)
    assert fast == Layout(*args) and repr(fast) == repr(Layout(*args))
    assert set(vars(fast)) == {f.name for f in dataclasses.fields(Layout)}
    efficiency = plan.efficiency
    assert evolve_with(efficiency, {"value": 0.5}) == dataclasses.replace(efficiency, value=0.5)


def test_fewer_collections_restores_the_callers_threshold():
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, *before[1:])
        with fewer_collections(50_000):
            assert gc.get_threshold()[0] == 50_000
        assert gc.get_threshold()[0] == 700
        gc.set_threshold(100_000, *before[1:])
        with fewer_collections(50_000):  # a caller already collecting more rarely is left alone
            assert gc.get_threshold()[0] == 100_000
    finally:
        gc.set_threshold(*before)


def test_an_options_remembered_rank_is_its_rank_and_a_changed_option_is_ranked_afresh(catalog):
    """TrainingOption.rank keeps training_rank's key beside the fields: the search's best per offer and the
    decision read it; dataclasses.replace makes a new option, which must not inherit the old key."""
    from planner.plans.options import training_rank
    from planner.plans.verdict import Kind, Verdict

    options = planner.plan(planner.load_profile(ROOT / "profiles" / "lora-7b-a6000.yaml", catalog), catalog,
                           today=DAY).estimate.training.options
    assert all(o.rank == training_rank(o) for o in options)
    feasible = next(o for o in options if o.feasible)
    broken = dataclasses.replace(feasible, plan=dataclasses.replace(
        feasible.plan, verdicts=(Verdict(Kind.DOES_NOT_FIT, 2.0, 1.0),)))
    assert broken.rank == training_rank(broken) != feasible.rank and broken.rank[0] is True


@pytest.mark.parametrize("confidence", [0.5, 0.9])
def test_judged_options_equal_the_dataclass_and_the_reference_hours(catalog, confidence):
    """The search's options (options.Judge: hours written out, the option made without its __init__, its rank
    remembered) equal the option the dataclass makes, at hours_at_confidence, ranked by training_rank afresh."""
    from planner.plans.options import TrainingOption, hours_at_confidence, training_rank

    loaded = planner.load_profile(ROOT / "profiles" / "lora-7b-a6000.yaml", catalog, ["constraints.spot=true"])
    options = planner.plan(loaded, catalog, confidence=confidence, today=DAY).estimate.training.options
    assert any(o.spot for o in options) and any(not o.feasible for o in options)
    for o in options:
        made = TrainingOption(o.plan, o.hours, o.cost_usd, o.spot, o.confidence)
        assert vars(o) == {**vars(made), "rank": o.rank}  # every field, the flags __post_init__ sets included
        assert o.rank == training_rank(dataclasses.replace(o))
        if o.spot is None:
            assert o.hours == hours_at_confidence(o.plan, confidence)


@pytest.mark.fresh_estimates  # it reads what the search left unmade
@pytest.mark.parametrize("name", ["lora-7b-a6000", "pretrain-1b-72h"])
def test_spot_is_read_without_making_the_plan(catalog, name):
    """options.plan_is_spot (the table's spot column and note, made without the plans it does not print) says what
    the option's plan says, read before the plan is made."""
    from planner.plans.options import plan_is_spot

    loaded = planner.load_profile(ROOT / "profiles" / f"{name}.yaml", catalog, ["constraints.spot=true"])
    options = planner.plan(loaded, catalog, today=DAY).estimate.training.options
    lazy = [o for o in options if "_lazy" in vars(o)]
    said = [plan_is_spot(o) for o in options]
    assert lazy and all("_lazy" in vars(o) for o in lazy)  # reading it made no plan
    assert said == [o.plan.spot for o in options] and any(said) and not all(said)


def test_layout_memo_is_freed_without_the_collector(catalog):
    """A search's LayoutMemo holds thousands of layouts and fits: it must not sit in a reference cycle (e.g. a bound
    method of its own held inside it), or each search leaves it for the cyclic collector to find and scan."""
    import weakref

    loaded = planner.load_profile(ROOT / "profiles" / "pretrain-1b-72h.yaml", catalog)
    job = planner.plan(loaded, catalog, today=DAY).estimate.training.job
    offer = searched_offers(loaded, catalog, DAY)[0]
    gpu = catalog.gpus[offer.offer.gpu]
    gc.disable()
    try:
        memo = LayoutMemo()
        for count in candidate_counts(offer, 64, None):
            plan_training(job, gpu, offer, count, prior_efficiency(catalog, gpu, "train", job.work.family), memo=memo)
        assert memo.trials and memo.fits
        held = weakref.ref(memo)
        del memo
        assert held() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("name", ["pretrain-1b-72h", "lora-mixtral-8x7b", "long-context-llama-8b"])
def test_plans_on_step_comm_another_gpu_made_equal_plans_built_alone(catalog, name):
    """A memo keeps each candidate layout's communication (StepComm) per (layouts key, intra-node link, network) and
    every GPU meeting that key divides it by its own peak: plans of a GPU that reused rows another GPU made equal
    the plans built alone (step_terms in one piece), on a dense model, a mixture of experts and a long context."""
    from planner.plans.training import timed_plans

    job = planner.plan(planner.load_profile(ROOT / "profiles" / f"{name}.yaml", catalog), catalog,
                       today=DAY).estimate.training.job
    # on every GPU's offers (the examples name two or three GPUs of different memory sizes: no layouts key shared)
    loaded = planner.load_profile(ROOT / "profiles" / f"{name}.yaml", catalog,
                                  ["constraints.gpus=null", "constraints.max_gpus=64"])
    memo = LayoutMemo()
    made_by: dict[tuple[int, int], str] = {}
    reused = []
    for offer in searched_offers(loaded, catalog, DAY):
        gpu = catalog.gpus[offer.offer.gpu]
        counts = candidate_counts(offer, loaded.profile.constraints.max_gpus, None)
        efficiency = prior_efficiency(catalog, gpu, "train", job.work.family)
        comm = memo.view(job, gpu, offer, efficiency).comm
        reused += [(offer, c) for c in counts if made_by.get((comm, c), gpu.id) != gpu.id]
        timed_plans(job, gpu, offer, counts, efficiency, memo=memo)
        for c in counts:
            made_by.setdefault((comm, c), gpu.id)
    assert len(reused) > 20
    for offer, count in random.Random(name).sample(reused, 12):
        gpu = catalog.gpus[offer.offer.gpu]
        efficiency = prior_efficiency(catalog, gpu, "train", job.work.family)
        shared = plan_training(job, gpu, offer, count, efficiency, memo=memo)
        alone = plan_training(job, gpu, offer, count, prior_efficiency(catalog, gpu, "train", job.work.family))
        assert shared == alone, (offer.provider, offer.offer.instance, count)


@pytest.mark.parametrize("name", ["serve-gpt-oss-120b-chat", "bert-train-then-serve"])
def test_serving_plans_built_without_init_equal_the_dataclass(catalog, name):
    """plans/serving.py builds its candidates and plans with evolve.build (no per-field setattr): every serving plan
    of an estimate (continuous batching, dynamic batching) equals, field for field, the plan the dataclass makes."""
    from planner.plans.serving import ServingPlan

    plans = planner.plan(planner.load_profile(ROOT / "profiles" / f"{name}.yaml", catalog), catalog,
                         today=DAY).estimate.inference.plans
    assert plans
    for p in plans:
        made = ServingPlan(**{f.name: getattr(p, f.name) for f in dataclasses.fields(ServingPlan)})
        assert vars(p) == vars(made) and repr(p) == repr(made)


def _deciding(result):  # type: ignore[no-untyped-def]
    """What the training decision reads and says, by rank (the options' ranks name their offer and count)."""
    decision = result.decision.training
    return ([o.rank for o in decision.frontier], [(c.name, c.option.rank, c.tradeoff) for c in decision.choices
                                                 + decision.alternatives],
            [o.rank for o in decision.best_per_gpu], decision.rejected, decision.assumptions)


@pytest.mark.parametrize("name, sets, kept", [("pretrain-1b-72h", [], True), ("resnet50-imagenet", [], True),
                                              # few plans within $80: the 10th row is over budget, and a deferred
                                              # offer's row could rank before it
                                              ("pretrain-1b-72h", ["training.budget=80"], False),
                                              ("resnet50-imagenet", ["training.deadline=1h"], True)])
def test_deferred_rows_are_the_rows_of_the_search_without_deferral(catalog, monkeypatch, name, sets, kept):
    """Offers whose rows no decision reads are timed only when their row is read (search.RankedRows): the rows, in
    order, the decision and the document with 10 rows or all are those of the search that times every offer's
    cheapest count; with 10 rows read many deferred offers stay untimed (`kept`: over a third), and reading every row makes them
    all. The offers of GPUs without the job's precision (pretrain-1b-72h's T4, V100 and Quadro RTX 6000) are
    searched per GPU, their rows made when read too (_Search.unusable_by_gpu): the decision's rejections the same."""
    import json

    from planner.plans import search

    loaded = planner.load_profile(ROOT / "profiles" / f"{name}.yaml", catalog, sets)
    lazy = planner.plan(loaded, catalog, today=DAY)
    rest = lazy.estimate.training.rest
    assert isinstance(lazy.estimate.training.ranked, search.RankedRows) and rest is not None
    deferred = len(rest.deferred)
    top = json.dumps(lazy.to_dict(10))
    # (resnet50-imagenet within 1 h: 24 of 51 stay since spot prices no longer keep offers from being dominated when
    # none is planned, 42 of 68 before: the same rows timed, of fewer deferred)
    assert deferred > 0 and (len(rest.deferred) > deferred / 3) == kept
    plain = search._Search.first_counts
    monkeypatch.setattr(search._Search, "first_counts", lambda self, defer: plain(self, False))
    eager = planner.plan(loaded, catalog, today=DAY)
    assert isinstance(eager.estimate.training.ranked, list)
    assert top == json.dumps(eager.to_dict(10))
    assert _deciding(lazy) == _deciding(eager)
    rows = [(o.rank, o.hours, o.cost_usd) for o in lazy.estimate.training.ranked]
    assert not rest.deferred and not rest.deferred_unusable
    assert rows == [(o.rank, o.hours, o.cost_usd) for o in eager.estimate.training.ranked]
    assert json.dumps(lazy.to_dict(0)) == json.dumps(eager.to_dict(0))


@pytest.mark.fresh_estimates  # it reads what the search left unmade
def test_an_estimate_with_deferred_rows_is_freed_without_the_collector(catalog):
    """The search a RankedRows holds keeps its floors for the rows it has yet to make, but not in a reference cycle
    (the layout memo held the floors' bound methods: search.unlink_floors)."""
    import weakref

    loaded = planner.load_profile(ROOT / "profiles" / "pretrain-1b-72h.yaml", catalog)
    gc.disable()
    try:
        result = planner.plan(loaded, catalog, today=DAY)
        rest = result.estimate.training.rest
        assert rest is not None and rest.deferred
        held = weakref.ref(rest), weakref.ref(next(iter(rest.memos.values())))
        del result, rest
        assert held[0]() is None and held[1]() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("name, sets", [("pretrain-1b-72h", []), ("lora-mixtral-8x7b", []),
                                        ("pretrain-1b-72h", ["training.framework=megatron"]),
                                        ("resnet50-imagenet", ["training.framework=eager"])])
def test_the_memos_layout_efficiencies_equal_the_direct_ones(catalog, name, sets):
    """LayoutMemo.layout_efficiency makes each efficiency in one copy from the curve's value and what the stack note
    and the widening change (widened_changes, per (GPU and efficiency, widening)), and shares the curve's value with
    lazy_value: every one equals layout_efficiency's at_curve_value then TrainCurve.widened, on a dense model, a
    mixture of experts (expert degrees), a stack with a factor of its own (nothing widened below the largest published
    run) and a CNN, at counts within and past that run (widened by their number), in the memo's order and again."""
    loaded = planner.load_profile(ROOT / "profiles" / f"{name}.yaml", catalog, ["constraints.max_gpus=16384", *sets])
    job = planner.plan(loaded, catalog, today=DAY).estimate.training.job
    offers = random.Random(name).sample(searched_offers(loaded, catalog, DAY), 8)
    memo = LayoutMemo()
    checked, widened, whole = 0, 0, 0
    for offer in offers:
        gpu = catalog.gpus[offer.offer.gpu]
        efficiency = prior_efficiency(catalog, gpu, "train", job.work.family)
        token = memo.efficiency_token(gpu, efficiency)
        for count in candidate_counts(offer, loaded.profile.constraints.max_gpus, None):
            for layout in training.candidate_layouts(job, gpu, offer, count):
                if layout.expert == 1 and random.Random(count).random() < 0.5:  # a LazyPipe's value first
                    memo.lazy_value(job, gpu, efficiency, token, layout.tensor, layout.micro_batch)
                for _ in range(2):
                    shared = memo.layout_efficiency(efficiency, job, gpu, layout, token)
                    alone = training.layout_efficiency(efficiency, job, gpu, layout)
                    assert shared == alone, (offer.offer.instance, count, layout)
                checked += 1
                widened += shared.log_sigma != efficiency.log_sigma
                whole += shared.extrapolations == efficiency.extrapolations
    assert checked > 100 and widened > 0
    if sets:  # a stack with a factor of its own: nothing widened below the largest published run
        assert whole > 0


def _memory_both_parts(job, micro, recompute, sharding, dp, tp, pp, ep, cp):  # type: ignore[no-untyped-def]
    """training_memory as it read before it left out a part with nothing in it: both parts summed, always."""
    value_bytes, routed, trainable_params, frozen_bytes, state_bytes, per_samples, _ = training.memory_terms(job)
    split = tp * pp
    trainable = (trainable_params * (1.0 - routed) / split, trainable_params * routed / (split * ep))
    frozen = training.frozen_base(job, split, ep)
    groups = (dp * cp, max(1, dp // ep) * cp)
    state = grads = weights = 0.0
    for part, still, n in zip(trainable, frozen, groups):
        part_state, part_grads = part * state_bytes, part * value_bytes
        part_weights = part * value_bytes + still * frozen_bytes
        if sharding in ("zero1", "zero2", "zero3"):
            part_state /= n
        if sharding in ("zero2", "zero3"):
            part_grads /= n
        if sharding == "zero3":
            part_weights /= n
        state, grads, weights = state + part_state, grads + part_grads, weights + part_weights
    activations = per_samples[recompute] * micro * (value_bytes / 2.0) / (tp * cp)
    return TrainingMemory(weights, grads, state, activations)


@pytest.mark.parametrize("name, sets", [("pretrain-1b-72h", []), ("lora-mixtral-8x7b", []),
                                        ("lora-mixtral-8x7b", ["training.method=full", "training.lora_rank=null"]), ("lora-7b-a6000", []),
                                        ("lora-7b-a6000", ["training.method=qlora"])])
def test_training_memory_and_layout_work_equal_their_reference_sums(catalog, name, sets):
    """training_memory sums only the part (dense, routed experts) that holds something when the other holds nothing
    (x + 0.0 is x), and layout_work reads the job's own numbers from work_constants (LayoutMemo keeps them): both equal
    the sums over both parts and the work worked out afresh, bit for bit, on a dense model, a mixture of experts with
    adapters (a frozen routed base, nothing routed trainable) and fully trained, LoRA and QLoRA, every ZeRO stage and
    recomputation, over data, tensor, pipeline, expert and context degrees."""
    loaded = planner.load_profile(ROOT / "profiles" / f"{name}.yaml", catalog, sets)
    job = planner.plan(loaded, catalog, today=DAY).estimate.training.job
    memo = LayoutMemo()
    checked = 0
    for sharding in training.ZERO_SHARDING:
        for recompute in ("none", "selective", "full"):
            for dp, tp, pp, ep, cp in ((1, 1, 1, 1, 1), (8, 1, 1, 1, 1), (4, 2, 1, 1, 1), (2, 2, 2, 1, 1),
                                       (8, 1, 1, 8, 1), (16, 2, 2, 4, 1), (4, 1, 1, 1, 2), (8, 1, 4, 2, 2)):
                if ep > 1 and not job.work.is_moe:
                    continue
                for micro in (1, 3):
                    memory = training.training_memory(job, micro, recompute, sharding, dp, tp, pp, ep, cp)
                    assert memory == _memory_both_parts(job, micro, recompute, sharding, dp, tp, pp, ep, cp)
                    layout = Layout(dp, tp, pp, sharding, recompute, micro, memory, ep, 2 if pp > 1 else 1, cp)
                    assert memo.layout_work(job, layout) == training.layout_work(job, layout)
                    assert training.layout_work(job, layout).optimizer_bytes == \
                        training.optimizer_step_bytes(job, layout)
                    checked += 1
    assert checked > 100
