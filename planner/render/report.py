"""Render an Estimate: JSON (the stable interface; tests/test_cli.py pins its fields), table, markdown, csv.
Only this rounds."""
from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from planner.decide.choices import collapse_choices
from planner.model.workload import Workload
from planner.plans.no_offer import NO_OFFER, is_no_offer
from planner.plans.options import (
    TrainingOption,
    judge_training,
    level_name,
    plan_is_spot,
    spot_adjusted,
    training_rank,
)
from planner.plans.owned import OWNED, BuyVersusRent
from planner.plans.search import Estimate
from planner.plans.serving import ServingPlan
from planner.plans.spot import spot_overhead
from planner.plans.training import TrainingJob, TrainingPlan, training_memory, virtual_stages
from planner.plans.verdict import Kind
from planner.readable import (RECOMPUTE_COMPACT, SHARDING_COMPACT, count_text, fixed, gbps_text, gpu_hours, hours, ms,
                              numbered, percent, usd, usd_apart)
from planner.render.bill import bill_section as bill_of, BillSection
from planner.render.console import Column, clean, fit_table, make_console, print_lines
from planner.render.escape import markdown, markdown_line, spreadsheet_cell, terminal
from planner.render.jsonnum import exact_numbers, links_dict, money, preemption, rounded
from planner.render.merge import LazyMerge, merged

if TYPE_CHECKING:  # annotations only: the decision is made before rendering
    from planner.decide.choices import Decision, ServingDecision, TrainingDecision

SCHEMA_VERSION = 1
_OLD = r"price ([\d,]+) days old \(as of ([0-9-]+)\)"
"""A price warning's age, '1,532' past a thousand (compiled when a warning is read: re's cache)."""


def shown(plans: list[Any], top: int | None) -> list[Any]:
    """The first `top` plans (all when top is None or 0), plus the measured device's row, the rows of machines the
    user owns (constraints.owned) and the time-only rows of GPUs named with no offer (planner/plans/no_offer.py)
    wherever they rank; plans that differ only by instance type once (planner/render/merge.py)."""
    plans = merged(plans)[0]
    if not top:
        return plans
    return plans[:top] + [p for p in plans[top:] if _always_shown(p)]


def _always_shown(item: Any) -> bool:
    """A row shown wherever it ranks: the measured device's, an owned machine's (new-user QA: two owned RTX 4090s
    that could not hold a serving rate ranked #322 and appeared nowhere, not even with their reason), or a GPU's with
    no offer (a plan or a training option: both name their provider)."""
    return bool(item.provider in ("local", OWNED, NO_OFFER))


class Merges:
    """Each section's plans merged by instance type (merge.LazyMerge), made once for one rendering: the training
    section's options make their plans only where the rendering reads them (the shown rows and their groups)."""

    def __init__(self, est: Estimate) -> None:
        self.est = est
        self._training: LazyMerge[TrainingOption, TrainingPlan] | None = None
        self._serving: LazyMerge[ServingPlan, ServingPlan] | None = None

    def training(self) -> LazyMerge[TrainingOption, TrainingPlan]:
        assert self.est.training is not None
        if self._training is None:
            self._training = LazyMerge(self.est.training.ranked, _plan_of)
        return self._training

    def serving(self) -> LazyMerge[ServingPlan, ServingPlan]:
        assert self.est.inference is not None
        if self._serving is None:
            self._serving = LazyMerge(self.est.inference.plans, _itself)
        return self._serving

    def shown(self, section: str, top: int | None) -> list[Any]:
        """shown(plans of `section`, top)."""
        lazy: LazyMerge[Any, Any] = self.training() if section == "training" else self.serving()
        return lazy.shown(top, _always_shown)


def _rows_made(est: Estimate) -> Sequence[TrainingOption]:
    """The training rows that can be spot, local, owned or time-only: every row, but of rows made when read
    (plans/search.py RankedRows) those made so far, which hold every such row."""
    if est.training is None:
        return []
    ranked = est.training.ranked
    settled: Sequence[TrainingOption] | None = getattr(ranked, "settled", None)
    return ranked if settled is None else settled


def _plan_of(option: TrainingOption) -> TrainingPlan:
    return option.plan


def _itself(plan: ServingPlan) -> ServingPlan:
    return plan


def _provider_cell(plan: Any, others: Callable[[Any], list[str]]) -> str:
    """The provider, with '(×N)' when N instance types give this plan (the cheapest is priced); `others`:
    LazyMerge.others of the plan's section."""
    more = others(plan)
    term = f" {plan.commitment.term}" if getattr(plan, "commitment", None) is not None else ""
    return (f"{plan.provider} (×{len(more) + 1})" if more else plan.provider) + term


_r = rounded


def _training_shown(est: Estimate, top: int | None, section: Any = None,
                    merges: Merges | None = None, adjusted: bool = True) -> list[TrainingPlan]:
    """The shown training plans (with the decision's first choice when --top cut it; with every plan the decision
    names at --top 0), spot plans with their expected interruption overhead (as the decision has them)."""
    assert est.training is not None
    merges = merges or Merges(est)
    named = _named_unranked(est.training.ranked, section) if section is not None else []
    if not top and section is not None:  # all plans: with every plan the decision names, in rank order
        plans = shown([o.plan for o in sorted([*est.training.ranked, *named], key=training_rank)], None)
    elif named and top:  # the first `top` of those (new-user QA round 20: --top 1000 lost the fastest choice's row)
        plans = _with_first_choice(_shown_with(est.training.ranked, named, top), section)
    else:
        plans = _with_first_choice(merges.shown("training", top), section) if section is not None else \
            merges.shown("training", top)
    # adjusted=False: as judged (_training_rows prices them at the confidence, spot overhead included, from these)
    return [spot_adjusted(est.training.job, p) for p in plans] if adjusted else plans


def _named_unranked(ranked: Sequence[TrainingOption], section: TrainingDecision) -> list[TrainingOption]:
    """The options the decision names (choices, then alternatives) that are no ranked row, each once: the fastest
    choice, say, at a count its offer's row (its cheapest) is not. The plans listed (--top 0, and the first `top`
    of those with --top) rank them among the rows. Only the rows of their GPU and provider are read (of rows made
    when read, RankedRows.group makes those alone)."""
    group_of: Callable[[str, str], list[TrainingOption]] | None = getattr(ranked, "group", None)
    named: list[TrainingOption] = []
    for choice in section.choices + section.alternatives:
        option = choice.option
        rows = group_of(option.gpu, option.provider) if group_of is not None else \
            [r for r in ranked if r.gpu == option.gpu and r.provider == option.provider]
        if not any(option is r or _same_plan(option.plan, r.plan) for r in [*rows, *named]):
            named.append(option)
    return named


def _shown_with(ranked: Sequence[TrainingOption], named: list[TrainingOption], top: int) -> list[TrainingPlan]:
    """shown(the plans of sorted([*ranked, *named], key=training_rank), top), the list --top 0 gives cut as --top
    cuts: so the first `top` plans of --top N are those of --top 0 (new-user QA round 20: at --top 1000 the fastest
    choice, 4096 H200s at aws, which --top 0 lists among the rows, was missing). Made as far as read: the first m
    rows, m grown until merging near-copies (merged) leaves `top` plans, and of the rest only those always shown."""
    m = top
    while True:
        head = list(ranked[:m])
        more = m < len(ranked)
        cut = training_rank(ranked[m]) if more else None
        # the sorted list's first items up to ranked[m]: the rows before it and the named options ranking under it
        # (a named option ranking as a row goes after it, as sorted() leaves an item appended after the rows)
        before = [o for o in named if cut is None or training_rank(o) < cut]
        kept = merged([o.plan for o in sorted([*head, *before], key=training_rank)])[0]
        if len(kept) >= top or not more:
            break
        m += top - len(kept)
    # past them, the rows shown wherever they rank (local, owned, time-only) that merging keeps among the plans of
    # their GPU and provider (of rows made when read, the rows made: the others are none of those)
    tail = [p for p in kept[top:] if _always_shown(p)]
    settled: Sequence[TrainingOption] = getattr(ranked, "settled", ranked)
    past = [o for o in named if all(o is not b for b in before)]
    after = sorted([*[o for o in settled[m:] if _always_shown(o)], *[o for o in past if _always_shown(o)]],
                   key=training_rank)
    for option in after:
        group = sorted([*[r for r in settled if r.gpu == option.gpu and r.provider == option.provider],
                        *[o for o in named if o.gpu == option.gpu and o.provider == option.provider]],
                       key=training_rank)
        if any(p is option.plan for p in merged([o.plan for o in group])[0]):
            tail.append(option.plan)
    return kept[:top] + tail


def _price_fields(plan: TrainingPlan | ServingPlan) -> dict[str, Any]:
    """`price_as_of` and `price_flags` (docs/catalog.md), and the user's discount in the price."""
    c = plan.commitment
    # a training job uses a share of the term (its cost is the whole term at least); a service runs it all
    used = plan.term_used if isinstance(plan, TrainingPlan) else None
    commitment = None if c is None else {
        "term": c.term, "payment": c.payment, "usd_per_hour": c.hourly, "discount_percent": c.discount_percent,
        "term_hours": _r(c.term_hours),
        # a plan that cannot run (does not fit in memory) is never bought: no obligation, as the table prints none
        "obligation_usd": money(c.hourly * c.term_hours * plan.instances) if plan.fits and plan.instances else None,
        "job_hours_p50": _r(plan.hours_p50) if isinstance(plan, TrainingPlan) else None,
        "term_used_percent": _r(used * 100.0, 3) if used is not None else None,
        "source": c.source,
        "title": c.title, "url": c.url, "quote": c.quote, "as_of": c.as_of.isoformat()}
    return {"price_as_of": plan.price_as_of.isoformat() if plan.price_as_of else None,
            "price_flags": list(plan.price_flags), "discount_percent": plan.discount_percent,
            "commitment": commitment}


def network_notes(est: Estimate, top: int | None, decision: Decision | None = None) -> list[str]:
    """The assumed- and slow-network lines under the shown training plans (_network_note), for a CSV's stderr
    (new-user QA round 30: the table and Markdown named the plans resting on an assumed 10 Gb/s, a CSV nothing)."""
    training, _ = _shown_plans(est, top, decision, Merges(est))
    return _network_note(training, est.network_set, est.network_basis, est.assumed_network_gbps)


def price_warnings(est: Estimate, top: int | None, merges: Merges | None = None,
                   decision: Decision | None = None) -> list[str]:
    """Old prices among the plans shown (not the whole catalog; the tables' rows, _shown_plans): one line per provider
    naming the offers shown with each age (new-user QA: "prices for massed-compute are 852 days old (2 plans shown)"
    gave one 2024 offer's age to both plans, one of them priced 106 days ago, and named neither)."""
    ages: dict[str, dict[tuple[int, str], list[str]]] = {}
    plans: dict[str, int] = {}
    training, serving = _shown_plans(est, top, decision, merges or Merges(est))
    listed: list[TrainingPlan | ServingPlan] = [*training, *serving]
    for plan in listed:
        for flag in plan.price_flags:
            match = re.match(_OLD, flag)
            if match:
                plans[plan.provider] = plans.get(plan.provider, 0) + 1
                age = int(match.group(1).replace(",", ""))
                offers = ages.setdefault(plan.provider, {}).setdefault((age, match.group(2)), [])
                if plan.instance not in offers:
                    offers.append(plan.instance)
    lines = []
    for provider, groups in sorted(ages.items()):
        shown = "the plan shown" if plans[provider] == 1 else f"the {plans[provider]} plans shown"
        # every age is written "N days old" (N with a thousands separator: "1,532"), the form scripts/docs_outputs.py
        # masks (it changes with the date)
        parts = [(f"{_names(offers)}, {days:,} days old (as of {as_of})")
                 for (days, as_of), offers in sorted(groups.items(), reverse=True)]
        if len(parts) == 1:
            (days, as_of), offers = next(iter(groups.items()))
            lines.append(f"prices for {provider} are {days:,} days old (as of {as_of}) in {shown}: {_names(offers)}")
        else:
            lines.append(f"prices for {provider} are old in {shown}: {'; '.join(parts)}")
    return lines


def _names(offers: list[str], most: int = 3) -> str:
    """Instance names, the first `most` of them and how many more."""
    more = f" and {len(offers) - most} more" if len(offers) > most else ""
    return ", ".join(offers[:most]) + more


def _buy_dict(line: BuyVersusRent) -> dict[str, Any]:
    p = line.purchase
    purchase = {"usd": money(p.usd), "origin": "catalog" if p.from_catalog else "constraints.owned",
                "per_gpu_usd": money(p.per_gpu_usd), "kind": p.kind, "source": p.source, "title": p.title,
                "url": p.url, "quote": p.quote,
                "as_of": p.as_of.isoformat() if p.as_of else None, "age_days": p.age_days, "stale": p.stale}
    return {"instance": line.instance, "purchase": purchase,
            "amortised_usd_per_hour": money(line.amortised_usd_per_hour),
            "running_usd_per_hour": money(line.running_usd_per_hour), "owned_hours": _r(line.owned_hours),
            "rental": line.rental, "rental_usd": money(line.rental_usd),
            "break_even_utilisation": _r(line.break_even_utilisation, 3), "confidence": line.confidence}


_PURCHASE_KIND = {"launch-msrp": "launch MSRP", "list": "list price", "street": "street price",
                  "analyst-estimate": "analyst estimate", "system-share": "share of a server's launch price"}


def purchase_words(line: BuyVersusRent) -> str:
    """Where the purchase price comes from, in words: the user's figure, or the catalog's card price with its kind,
    source and date (and a stale mark past 18 months)."""
    p = line.purchase
    if not p.from_catalog or p.per_gpu_usd is None or p.as_of is None or p.kind is None:
        return f"purchase {usd(p.usd)} (constraints.owned)"
    count = round(p.usd / p.per_gpu_usd)
    words = (f"purchase {usd(p.usd)} = {count} × {usd(p.per_gpu_usd)} ({_PURCHASE_KIND[p.kind]} as of "
             f"{p.as_of.isoformat()}, {p.source}; "
             + ("a whole server's price per GPU, host included)" if p.kind == "system-share" else "GPUs only, no host)"))
    if p.stale:
        words += (f" — {p.age_days:,} days old, possibly stale: set constraints.owned[].purchase_usd to what the "
                  "machine costs today")
    return words


def _buy_lines(est: Estimate) -> list[str]:
    """Buy versus rent, in words, per owned machine with a purchase price."""
    lines = []
    for section, b in est.buy_vs_rent:
        # training's figures are at the planning confidence, as the tables' (new-user QA: at --confidence 0.9 the
        # line quoted P50 figures, unlabelled, beside tables at P90); serving's are a month's
        at = "" if b.confidence is None else f" at {level_name(b.confidence)}"
        what = f"the job{at}" if section == "training" else "a month"
        # 'for training on 2x RTX-4090 (owned)': the owned machine's name holds its own parenthesis, which
        # '(training, 2x RTX-4090 (owned))' nested (new-user QA)
        head = (f"Buy vs rent for {section} on {b.instance}: {purchase_words(b)}; amortised "
                f"{usd(b.amortised_usd_per_hour)}/h + running {usd(b.running_usd_per_hour)}/h; ")
        if b.rental is None:
            rented = [p for p in est.providers if p != OWNED]
            # new-user QA: with constraints.providers [owned] no rental was searched, yet the line said none met
            # the targets
            lines.append(head + ("no rental searched (constraints.providers keeps to owned)." if est.providers
                                 and not rented else "no rental plan" + (f" of {', '.join(rented)} (constraints."
                                                                         "providers)" if rented else "")
                                 + " meets the targets."))
        elif b.break_even_utilisation is None:
            lines.append(head + f"renting ({b.rental}, {usd(b.rental_usd or 0.0)} for {what}) costs less than "
                         "running it: owning never pays off.")
        else:
            verdict = (f"owning pays off above {b.break_even_utilisation:.0%} utilisation over its lifetime"
                       if b.break_even_utilisation <= 1.0 else _never_pays_off(b))
            lines.append(head + f"the cheapest rental meeting the targets, {b.rental}, costs "
                         f"{usd(b.rental_usd or 0.0)} for {what} ({fixed(b.owned_hours)} h{at} on the owned machine): "
                         f"{verdict}.")
    return lines


def _never_pays_off(b: BuyVersusRent) -> str:
    """The verdict when even full-time use cannot amortise the purchase: a utilisation above 100 % is not possible,
    so the line compares the hourly figures and says how many lifetimes of full-time use would break even."""
    rental_per_hour = (b.rental_usd or 0.0) / b.owned_hours
    owning_per_hour = b.amortised_usd_per_hour + b.running_usd_per_hour
    renting, owning = usd_apart(rental_per_hour, owning_per_hour)
    # the multiple is the amortised cost over what renting costs above running the machine, a margin that can be a
    # fraction of a cent: said, so the figure can be checked (new-user QA round 29: $0.28 and $0.27 printed, 21.2×)
    margin = rental_per_hour - b.running_usd_per_hour
    over = (f" (renting's ${margin:.3g}/h above running it, against ${b.amortised_usd_per_hour:.3g}/h amortised)"
            if margin > 0 else "")
    return (f"owning never pays off at these prices: renting costs {renting} per hour of the owned "
            f"machine's work, less than owning's {owning}/h at full-time use (amortised + running); "
            f"breaking even would take {fixed(b.break_even_utilisation or 0.0)}× full-time use over its lifetime"
            + over)


_TERM_WORDS = {"1m": "1 month", "3m": "3 months", "6m": "6 months", "1y": "1 year", "3y": "3 years"}


def commitment_lines(shown: tuple[list[Any], list[Any]]) -> list[str]:
    """The committed-term plans shown (constraints.commitment): term, payment, price and what it binds to, numbered
    as the tables number them (`shown`: _shown_plans)."""
    lines = []
    for name, plans in zip(("training", "serving"), shown):
        for i, p in enumerate(plans):
            c = p.commitment
            if c is None or not p.fits or p.instances == 0:
                continue  # a plan that cannot run (does not fit in memory) is never bought: it owes nothing
            off = "" if c.discount_percent is None else f" ({c.discount_percent:g}% off on demand)"
            lines.append(f"Committed price, {name} #{i + 1} {p.provider} {p.instance}: {usd(c.hourly)}/h{off} per "
                         f"instance for {_TERM_WORDS[c.term]} ({c.payment}), owed whether used or not: "
                         f"{usd(c.hourly * c.term_hours * p.instances)} for {p.instances} instance(s)"
                         + (_term_use(p) if isinstance(p, TrainingPlan) else
                            "; a service runs the whole term, so its monthly cost is every hour of the month at this "
                            "price")
                         + f" ({c.source}, {c.as_of.isoformat()}).")
    return lines


def _unshown_commitments(est: Estimate, shown: tuple[list[Any], list[Any]]) -> list[str]:
    """Per section, when constraints.commitment priced plans and none is among the rows shown: how many, and where
    the best of them ranks (new-user QA round 30: with commitment 1y the output was the same as without it, the six
    committed serving plans all below the top rows)."""
    lines = []
    sections: tuple[tuple[str, Sequence[Any]], ...] = (
        ("training", est.training.plans if est.training else []),
        ("serving", est.inference.plans if est.inference else []))
    for (name, plans), rows in zip(sections, shown):
        if any(p.commitment is not None for p in rows):
            continue
        committed = [p for p in plans if p.commitment is not None and p.fits]
        if not committed:
            continue
        best = committed[0]  # the plans are in rank order
        term = _TERM_WORDS[committed[0].commitment.term] if committed[0].commitment else ""
        cost = (f"{usd(best.monthly_cost_usd)}/month" if isinstance(best, ServingPlan)
                else f"{usd(best.cost_usd_p50)} at P50")
        lines.append(f"Committed prices ({term}, constraints.commitment): {len(committed)} {name} plan(s) priced at "
                     f"them, none among the rows shown; the best of them is {best.provider} {best.instance} at {cost} "
                     "(--top 0 lists every plan).")
    return lines


def _term_use(plan: TrainingPlan) -> str:
    """How much of its committed term a training job uses, and what its cost therefore is, in words."""
    used = plan.term_used or 0.0
    hours_p50 = f"{hours(plan.hours_p50)} h (P50)"
    term = f"{fixed(plan.term_hours, 0)} h term"
    if used > 1.0:
        return (f"; the job's {hours_p50} run past the {term} ({percent(used)}): its cost is every hour at the "
                "committed rate")
    return f"; the job's {hours_p50} use {percent(used)} of the {term}: its cost is the whole term"



def _discount_lines(est: Estimate, shown: tuple[list[Any], list[Any]]) -> list[str]:
    """The discounts (constraints.discounts) in the shown plans' prices, and those read that no shown plan uses: a
    user whose discounted provider is not among the plans shown could not tell the discount was read (new-user QA)."""
    held: dict[str, float] = {}
    for plans in shown:
        for p in plans:
            if p.discount_percent:
                held[p.provider] = p.discount_percent
    unused = sorted((provider, pct) for provider, pct in est.discounts if pct and provider not in held)
    # a committed-term price is the provider's published one: a discount is not taken off it (search.py
    # with_discounts), which the line says where such a plan of a discounted provider is shown (new-user QA round 28:
    # 'aws 10%' beside an aws 1y row at the undiscounted $1.17/h)
    committed = sorted({p.provider for plans in shown for p in plans
                        if getattr(p, "commitment", None) is not None and p.provider in dict(est.discounts)})
    lines = []
    if held:
        lines.append("Discounts in the prices (constraints.discounts): "
                     + ", ".join(f"{provider} {pct:g}%" for provider, pct in sorted(held.items())) + ".")
    if unused:
        lines.append(("Also read" if held else "Discounts read") + " (constraints.discounts), in no plan shown: "
                     + ", ".join(f"{provider} {pct:g}%" for provider, pct in unused)
                     + " (taken off those providers' prices wherever they are planned).")
    if committed:
        lines.append("A discount is not taken off a committed-term price: "
                     + ", ".join(committed) + "'s committed rows are at the published committed price.")
    return lines


def _network_note(plans: list[Any], network_set: bool = False, basis: str = "",
                  default_gbps: float | None = None) -> list[str]:
    """One line naming the shown training plans that span instances over an assumed network, and whose assumption
    it is: the catalog's default (catalog/providers.yaml assumed_network, `basis` saying why), or the profile's
    constraints.assumed_network_gbps (new-user QA: a value the user set was called "the slowest any catalog offer
    states")."""
    # a plan that does not run times nothing over the network (new-user QA round 24: plans that do not fit in memory
    # were named)
    lines = _slow_network_note(plans, default_gbps)
    assumed = [(i + 1, p.assumed_network_gbps) for i, p in enumerate(plans) if p.assumed_network_gbps and p.predicted]
    if not assumed:
        return lines
    gbps = sorted({g for _, g in assumed})
    origin = ("as constraints.assumed_network_gbps sets; change it with --set constraints.assumed_network_gbps=N"
              if network_set else f"the catalog's default{': ' + basis if basis else ''}; change with --set "
              "constraints.assumed_network_gbps=N")
    return [(f"Assumed network: training plan(s) {numbered([i for i, _ in assumed])} span instances whose "
             f"offer states no network, over {' / '.join(gbps_text(g) for g in gbps)} Gb/s ({origin}).")] + lines


def _resized_note(plans: list[ServingPlan]) -> list[str]:
    """The shown serving plans the simulation sized up (--simulate): the analytic model's replicas missed a target
    in it, and the fewest it accepts are shown (new-user QA round 30: a 9-replica plan gave way to 10, and the
    choice named another plan, with no word why)."""
    resized = [(i + 1, p) for i, p in enumerate(plans) if p.analytic_replicas is not None]
    return [f"Sized by the simulation: serving plan #{i} has {p.replicas} replicas, not the analytic model's "
            f"{p.analytic_replicas}, which the simulation refuted ({'; '.join(p.analytic_misses)})."
            for i, p in resized]


def _slow_network_note(plans: list[TrainingPlan], default_gbps: float | None) -> list[str]:
    """One line per stated network slower than the one assumed for offers that state none, naming the shown
    training plans that span instances over it and where the figure comes from: their hours are mostly the network's
    (new-user QA round 30: RunPod's 4,096-pod rows at 121 h, 0.1 Gb/s, and nothing said why)."""
    slow: dict[tuple[float, str], list[int]] = {}
    for i, p in enumerate(plans):
        links = p.links
        if (p.predicted and p.instances > 1 and links is not None and not links.inter_node_assumed
                and links.inter_node_gbps and default_gbps and links.inter_node_gbps < default_gbps):
            slow.setdefault((links.inter_node_gbps, links.inter_node_source or ""), []).append(i + 1)
    return [f"Slow network: training plan(s) {numbered(rows)} span instances over a stated {gbps_text(gbps)} Gb/s "
            f"({source}), slower than the {gbps_text(default_gbps or 0.0)} Gb/s assumed where an offer states none: "
            "their steps wait on it." for (gbps, source), rows in sorted(slow.items())]


def _flag_notes(plans: list[Any], title: str) -> list[str]:
    """Footnotes for the table's † marks: each flagged plan shown, with its flags."""
    return [f"† {title} #{i + 1} {p.provider} {p.instance}: {'; '.join(p.price_flags)}"
            for i, p in enumerate(plans) if p.price_flags]


def training_plan_dict(plan: TrainingPlan, job: TrainingJob) -> dict[str, Any]:
    """One training plan of the JSON document (the fields tests/test_cli.py requires, and more). A plan whose pinned
    degrees cannot run (TrainingPlan.predicted false) has null for what only a running layout has: its stand-in
    layout's memory, step, throughput, MFU, hours and cost are no prediction (the table prints '–')."""
    if not plan.predicted:
        # a plan that does not fit keeps its memory per GPU: what it would need, the figure its verdict states
        return _unpredicted(_plan_dict(plan, job), keep_memory=not any(v.kind is Kind.PIN_UNWORKABLE
                                                                       for v in plan.verdicts))
    return _plan_dict(plan, job)


def _preemption_dict(job: TrainingJob, raw: TrainingPlan) -> dict[str, Any]:
    """A spot plan's `preemption` (the expected interruption overhead on its P50 hours, as the plan's hours have it:
    plans/options.py spot_adjusted), as a decision's spot choice carries it (new-user QA round 28: docs/commands.md
    promised it in the plan's JSON, and only the choices had it); nothing for an on-demand plan."""
    if not raw.spot or not raw.predicted:
        return {}
    return {"preemption": preemption(spot_overhead(job, raw, raw.hours_p50 - raw.startup_s / 3600.0))}


def _at_confidence(doc: dict[str, Any], job: Any, raw: TrainingPlan, confidence: float) -> dict[str, Any]:
    """A training plan's JSON with its hours and cost at the planning confidence beside P10/P50/P90 when it is none of
    them (`hours.p75`, `cost_usd.p75` at --confidence 0.75): what the table's cost column, the ranking and the deadline
    and budget verdicts read (new-user QA: at 0.75 the table's 'compute P75' was in no JSON field)."""
    key = level_name(confidence).lower()
    if key in doc["hours"]:
        return doc
    judged = judge_training(job, raw, confidence, None, None)
    doc["hours"][key] = None if doc["hours"]["p50"] is None else _r(judged.hours)
    doc["cost_usd"][key] = None if doc["cost_usd"]["p50"] is None else money(judged.cost_usd)
    return doc


def _unpredicted(doc: dict[str, Any], keep_memory: bool = False) -> dict[str, Any]:
    """training_plan_dict of a plan that cannot run: the stand-in layout's figures nulled."""
    pinned = set(doc["parallelism"]["pinned"])
    for key in ("sharding", "zero", "recompute"):
        if key not in pinned and not (key == "sharding" and "zero" in pinned):
            doc["parallelism"][key] = None
    for key in ("recompute", "micro_batch", "grad_accumulation", "memory_per_gpu_gb", "step_time_s", "host_time_s",
                "dequant_time_s", "optimizer_time_s", "mfu", "gpu_hours", "meets_deadline", "within_budget"):
        if key != "memory_per_gpu_gb" or not keep_memory:
            doc[key] = None
    doc["throughput"] = dict.fromkeys(doc["throughput"])
    doc["hours"] = dict.fromkeys(doc["hours"])
    doc["cost_usd"] = dict.fromkeys(doc["cost_usd"])
    if doc["commitment"] is not None:
        doc["commitment"]["job_hours_p50"] = doc["commitment"]["term_used_percent"] = None
    # nothing is timed over a network between instances (new-user QA round 30: a plan rejected for its GPU's
    # precision carried an assumed 10 Gb/s): the offer's link inside an instance stays, the stand-in's spanning goes
    doc["assumed_network_gbps"] = None
    if doc["network"] is not None:
        doc["network"].update(inter_node_gbps=None, inter_node_source=None, inter_node_assumed=False)
    return doc


def _plan_dict(plan: TrainingPlan, job: TrainingJob) -> dict[str, Any]:
    """training_plan_dict's fields as the plan holds them; `virtual`: the pipeline's interleaving as planned
    (plans/training.py virtual_stages: the pinned degree where it divides a stage's layers, else 1), which the JSON
    did not show (a leftover of new-user QA round 12)."""
    return {
        "gpu": plan.gpu, "provider": plan.provider, "instance": plan.instance, "gpu_count": plan.gpu_count,
        "instances": plan.instances,
        "parallelism": {"data": plan.data, "tensor": plan.tensor, "pipeline": plan.pipeline,
                        "virtual": virtual_stages(job, plan.pipeline), "expert": plan.expert,
                        "context": plan.context, "sharding": plan.sharding, "zero": plan.zero,
                        "recompute": plan.recompute_mode, "pinned": list(plan.pinned)},
        "recompute": plan.recompute, "micro_batch": plan.micro_batch,
        "grad_accumulation": plan.grad_accumulation,
        "memory_per_gpu_gb": _r(plan.memory_per_gpu_bytes / 1e9), "fits": plan.fits,
        "step_time_s": _r(plan.step_time_s),
        # the host's launches of a step's forward operators: no step is shorter (step_time_s equals it where the
        # host, not the GPUs, sets the pace)
        "host_time_s": _r(plan.host_time_s),
        # QLoRA's NF4 dequantizations of a step at the GPU's copy bandwidth (0 for LoRA and full training): part of
        # step_time_s, neither compute nor communication
        "dequant_time_s": _r(plan.dequant_time_s),
        # the optimizer's update of a step (gradients, master weights and state read and written) at the GPU's copy
        # bandwidth: part of step_time_s, neither compute nor communication
        "optimizer_time_s": _r(plan.optimizer_time_s),
        "throughput": {"tokens_per_s": _r(plan.tokens_per_s), "samples_per_s": _r(plan.samples_per_s)},
        "mfu": _r(plan.mfu, 3), "efficiency_source": plan.efficiency.source,
        "efficiency": {"value": plan.efficiency.value, "log_sigma": plan.efficiency.log_sigma,
                       "detail": plan.efficiency.detail},
        "hours": {"p10": _r(plan.hours_p10), "p50": _r(plan.hours_p50), "p90": _r(plan.hours_p90)},
        # the run's start-up before its first step (model/startup.py): part of every one of the hours
        "startup_s": _r(plan.startup_s),
        "gpu_hours": _r(plan.gpu_hours),
        "usd_per_hour": None if is_no_offer(plan) else plan.usd_per_hour, "spot": plan.spot,
        "cost_usd": _cost_dict(plan),
        "bill_notes": list(plan.bill_notes),
        "meets_deadline": plan.meets_deadline, "within_budget": plan.within_budget,
        "reasons": list(plan.reasons), "verdicts": [v.as_dict() for v in plan.verdicts],
        **_price_fields(plan),
        "assumed_network_gbps": plan.assumed_network_gbps,
        "network": links_dict(plan.links),
    }


def _cost_dict(plan: TrainingPlan) -> dict[str, float | None]:
    """cost_usd of a training plan, in dollars as the JSON writes them (money): all null for a time-only plan (no offer: its
    price is unknown)."""
    if is_no_offer(plan):
        return dict.fromkeys(("p10", "p50", "p90", "compute", "storage", "egress", "total"))
    return {"p10": money(plan.cost_usd_p10), "p50": money(plan.cost_usd_p50),
            "p90": money(plan.cost_usd_p90), "compute": money(plan.cost_usd_p50),
            "storage": money(plan.storage_usd), "egress": money(plan.egress_usd),
            "total": money(plan.cost_usd_p50 + (plan.storage_usd or 0.0) + (plan.egress_usd or 0.0))}


def serving_plan_dict(plan: ServingPlan, headroom: bool | None = None, pinned: tuple[str, ...] = ()) -> dict[str, Any]:
    """One serving plan of the JSON document (the fields tests/test_cli.py requires, and more); `headroom`: whether it
    holds the targets at the P10 efficiency (ServingEstimate.headroom), which ranks it before those that do not;
    `pinned`: what the profile pins (ServingEstimate.pinned)."""
    latency = {}
    for key, seconds in plan.latency_s.items():
        latency[key.replace("latency_", "")] = _r(seconds * 1e3)
    return {
        "gpu": plan.gpu, "provider": plan.provider, "instance": plan.instance, "replicas": plan.replicas,
        "gpus_per_replica": plan.gpus_per_replica, "gpu_count": plan.gpu_count, "instances": plan.instances,
        "parallelism": {"tensor": plan.gpus_per_replica, "expert": plan.expert, "batch": plan.batch_size,
                        "pinned": list(pinned)},
        "batch_size": plan.batch_size, "capacity_rps_per_replica": _r(plan.capacity_rps_per_replica),
        "utilization": _r(plan.utilization, 3), "latency_ms": latency,
        "throughput_tokens_per_s": _r(plan.throughput_tokens_per_s),
        **_serving_costs(plan),
        "cost_usd": _serving_cost_dict(plan),
        "bill_notes": list(plan.bill.notes) if plan.bill is not None else [],
        "meets_slo": plan.meets_slo, "holds_with_headroom": headroom, "fits": plan.fits,
        "efficiency_source": plan.efficiency.compute.source,
        "efficiency": {"compute": plan.efficiency.compute.value, "bandwidth": plan.efficiency.bandwidth.value,
                       "detail": f"{plan.efficiency.compute.detail}; {plan.efficiency.bandwidth.detail}"},
        "reasons": list(plan.reasons), "verdicts": [v.as_dict() for v in plan.verdicts],
        **_price_fields(plan),
        "network": links_dict(plan.links),
        "autoscaled_replicas": plan.autoscaled_replicas,
        **({"simulated_latency_ms": {k.replace("latency_", ""): _r(v * 1e3)
                                     for k, v in plan.simulated_latency_s.items()}}
           if plan.simulated_latency_s is not None else {}),
        **({"analytic_replicas": plan.analytic_replicas, "analytic_misses": list(plan.analytic_misses)}
           if plan.analytic_replicas is not None else {}),
    }


def _unsized(plan: TrainingPlan | ServingPlan) -> bool:
    """A serving plan the sizing gave no replica (its offer cannot serve the profile: a pinned batch the KV cache
    cannot hold, weights that do not fit): it has no bill, whatever its storage rate would give."""
    return isinstance(plan, ServingPlan) and plan.replicas == 0


def _serving_cost_dict(plan: ServingPlan) -> dict[str, float | None]:
    """cost_usd of a serving plan, a month of it: the instances (monthly_cost_usd), storage and egress
    (planner/model/bill.py ServingBill) and their total; all null for a time-only plan (no offer) and for a plan
    with no replica (it cannot serve: nothing to bill)."""
    if is_no_offer(plan) or _unsized(plan):
        return dict.fromkeys(("compute", "storage", "egress", "total"))
    storage = plan.bill.storage_usd if plan.bill is not None else None
    egress = plan.bill.egress_usd if plan.bill is not None else None
    return {"compute": money(plan.monthly_cost_usd), "storage": money(storage),
            "egress": money(egress), "total": money(plan.monthly_cost_usd + (storage or 0.0) + (egress or 0.0))}


def _serving_costs(plan: ServingPlan) -> dict[str, float | None]:
    """The serving plan's cost fields: all null for a time-only plan (no offer: its price is unknown) and for a plan
    with no replica (it cannot serve)."""
    costs = {"monthly_cost_usd": plan.monthly_cost_usd,
             "monthly_cost_autoscaled_usd": plan.monthly_cost_autoscaled_usd,
             "usd_per_million_output_tokens": plan.usd_per_million_output_tokens,
             "usd_per_thousand_requests": plan.usd_per_thousand_requests}
    return {k: None if is_no_offer(plan) or _unsized(plan) else money(v) for k, v in costs.items()}


def _model_dict(work: Workload) -> dict[str, Any]:
    """What the model is: total and active parameters, experts, attention, how the shape came."""
    out: dict[str, Any] = {"params": _r(work.params), "active_params": _r(work.active_params)}
    if work.is_moe:
        out["experts"] = {"routed": work.experts, "per_token": work.experts_per_token, "moe_layers": work.moe_layers}
    if work.attention_kind:
        out["attention"] = work.attention_kind
    out["shape"] = "derived" if work.shape_note else "given"
    return out


def estimate_dict(est: Estimate, top: int | None = None, decision: Decision | None = None) -> dict[str, Any]:
    """The whole estimate as the `gpuplan estimate --format json` document (plus `decisions` when a Decision is
    given)."""
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "profile": est.profile,
                           "catalog_as_of": est.catalog_as_of.isoformat()}
    train_acc = decision.training_accuracy.to_dict() if decision is not None and decision.training_accuracy else None
    serve_acc = decision.inference_accuracy.to_dict() if decision is not None and decision.inference_accuracy \
        else None
    merges = Merges(est)
    if est.training is not None:
        job = est.training.job
        raw = _training_shown(est, top, decision.training if decision else None, merges, adjusted=False)
        plans = [spot_adjusted(job, p) for p in raw]
        training = merges.training()
        out["training"] = {
            "workload": {**_model_dict(job.work), "trainable_params": _r(job.trainable_params),
                         "tokens": _r(job.tokens), "samples": _r(job.samples), "flops_total": _r(job.model_flops),
                         "memory_min_gb": _r(training_memory(job, 0, False, "none", 1).total / 1e9)},
            "plans": [_at_confidence({**training_plan_dict(p, job), **_types_dict(training.others(p)),
                                      **_preemption_dict(job, r),
                                      **({"accuracy": train_acc} if train_acc else {})}, job, r,
                                     est.training.confidence) for p, r in zip(plans, raw)],
            "recommended": _recommended_index(plans, decision.training if decision is not None else None,
                                              lambda p: p.feasible),
        }
    if est.inference is not None:
        serving = _serving_shown(est, top, decision.inference if decision else None, merges)
        merged_serving = merges.serving()
        work = est.inference.work
        out["inference"] = {"workload": {**_model_dict(work), "weights_gb_bf16": _r(work.params * 2.0 / 1e9),
                                         "kv_bytes_per_token_bf16": _r(work.kv_bytes_per_token_16bit)},
                            "plans": [{**serving_plan_dict(p, est.inference.headroom(p), est.inference.pinned),
                                       **_types_dict(merged_serving.others(p)),
                                       **({"accuracy": serve_acc} if serve_acc else {})} for p in serving],
                            "recommended": _recommended_index(serving, decision.inference if decision is not None
                                                              else None, lambda p: p.meets_slo)}
    if decision is not None:
        from planner.render.decision import decision_dict

        out["decisions"] = decision_dict(decision)
    for section, line in est.buy_vs_rent:
        out.setdefault(section, {}).setdefault("buy_vs_rent", []).append(_buy_dict(line))
    out["unplanned_gpus"] = list(est.unplanned_gpus)
    out["warnings"] = list(est.warnings) + price_warnings(est, top, merges, decision)
    return out


def _types_dict(others: list[str]) -> dict[str, Any]:
    """`instance_types`: how many instance types of the provider give this plan (1: this one); `other_instances`
    names the dearer ones merged into it (`others`: LazyMerge.others, merge.merged(all plans)[1] of the plan)."""
    return {"instance_types": 1 + len(others), **({"other_instances": others} if others else {})}


def _with_first_choice(plans: list[Any], section: TrainingDecision | ServingDecision | None,
                       every: bool = False) -> list[Any]:
    """The shown plans, with the decision's first choice appended when --top cut it (so `recommended` points at
    it: a serving plan holding its targets with headroom may cost more than every cheaper plan shown); `every`
    (--top 0, all plans): each plan a choice or alternative names, so every plan the decision names has its row."""
    if section is None or not section.choices:
        return plans
    named = section.choices + section.alternatives if every else section.choices[:1]
    out = list(plans)
    for choice in named:
        plan = getattr(choice.option, "plan", choice.option)
        if not any(p is plan or _same_plan(p, plan) for p in out):
            out.append(plan)
    return out


def _recommended_index(plans: list[Any], section: TrainingDecision | ServingDecision | None,
                       good: Callable[[Any], bool]) -> int | None:
    """The index of the decision's first choice among the shown plans (the same plan: offer, count, and for
    serving replicas and batch); without a decision, or when it is not shown, the first plan if it is good."""
    if section is not None:
        if not section.choices:
            return None
        first = section.choices[0].option
        first = getattr(first, "plan", first)
        for i, p in enumerate(plans):
            if p is first or _same_plan(p, first):
                return i
    return 0 if plans and good(plans[0]) else None


def _same_plan(a: object, b: object) -> bool:
    keys = ("gpu", "provider", "instance", "gpu_count", "spot", "replicas", "gpus_per_replica", "batch_size")
    return all(getattr(a, k, None) == getattr(b, k, None) for k in keys)


def render_json(est: Estimate, top: int | None = None, decision: Decision | None = None) -> str:
    """Pretty JSON."""
    return json.dumps(estimate_dict(est, top, decision), indent=2)


_usd = usd


def _serving_shown(est: Estimate, top: int | None, section: ServingDecision | None = None,
                   merges: Merges | None = None) -> list[ServingPlan]:
    """The shown serving plans, with the plans the decision names (_with_first_choice)."""
    assert est.inference is not None
    return _with_first_choice((merges or Merges(est)).shown("inference", top), section, not top)


def _training_rows(est: Estimate, top: int | None, section: TrainingDecision | None = None,
                   merges: Merges | None = None) -> tuple[list[Column], list[list[str]]]:
    assert est.training is not None
    job, confidence = est.training.job, est.training.confidence
    merges = merges or Merges(est)
    raw = _training_shown(est, top, section, merges, adjusted=False)
    plans = [spot_adjusted(job, p) for p in raw]
    # the plans are ranked by their cost at the planning confidence (training_rank): the cost column shows that cost,
    # not the P50 one, lest a cheaper-looking row sit below a dearer one (new-user QA: lora-7b-a6000 at 0.9 listed
    # $2.93 first and $2.63 third, ranked by their P90 costs $4.88 and $4.97)
    at_median = confidence == 0.5
    costs = [p.cost_usd_p50 for p in plans] if at_median else \
        [judge_training(job, p, confidence, None, None).cost_usd for p in raw]
    spot = any(plan_is_spot(o) for o in _rows_made(est))
    # the columns that say which plan a row is (identifies): at 80 columns the layout is dropped, and rows alike
    # without it are told apart in the caption (planner/render/console.py fit_table)
    head = [Column("#", "right", labels=True), Column("GPU", identifies=True), Column("provider", identifies=True),
            Column("GPUs", "right", identifies=True), Column("spot", drop=1, wide_only=not spot, identifies=True),
            Column("layout", drop=3, identifies=True),
            Column("hours P50 (P10–P90)", "right"), Column(f"compute {level_name(confidence)}", "right"),
            Column("MFU", "right", drop=2),
            Column("efficiency", drop=4), Column("status")]
    rows = []
    others = merges.training().others
    for i, p in enumerate(plans):
        # a plan whose pinned degrees cannot run has no hours, cost, MFU, ZeRO stage or micro-batch: its figures are a
        # stand-in layout's (plans/training.py _unfitted), and the status says why (new-user QA: they read like a
        # slow plan's)
        runs = p.predicted
        degrees = (f"tp{p.tensor}×pp{p.pipeline} " if p.tensor * p.pipeline > 1 else "") \
            + (f"ep{p.expert} " if p.expert > 1 else "") + (f"cp{p.context} " if p.context > 1 else "")
        # a plan that cannot run shows its degrees and instances only ('tp2×pp1, 2 inst.'; '1 inst.' beside the
        # others: new-user QA round 24 read '#1 –; #2 , 2 inst.' where only the instance count told them apart)
        parts = [degrees + SHARDING_COMPACT[p.sharding] + (" " + RECOMPUTE_COMPACT[p.recompute_mode]
                                                           if p.recompute else ""), f"mb {p.micro_batch}"] \
            if runs else [degrees.rstrip()]
        if p.instances > 1 or not runs:
            parts.append(f"{p.instances} inst.")
        layout = ", ".join(part for part in parts if part)
        rows.append([str(i + 1), p.gpu, _provider_cell(p, others), str(p.gpu_count), "yes" if p.spot else "no",
                     layout,
                     f"{hours(p.hours_p50)} ({hours(p.hours_p10)}–{hours(p.hours_p90)})" if runs else "–",
                     f"{gpu_hours(p.gpu_hours)} GPU-h" if is_no_offer(p) else _cost_cell(p, costs[i]) if runs else "–",
                     percent(p.mfu) if runs else "–", p.efficiency.source,
                     "ok" if p.feasible else "; ".join(p.reasons)])
    return head, rows


def bill_section(est: Estimate, top: int | None, decision: Decision | None, key: str,
                 merges: Merges | None = None) -> BillSection | None:
    """The whole bill (planner/render/bill.py) of the `key` ("training" or "inference") plan the JSON recommends,
    else of the first plan shown; None without a priced plan. Its amounts are the JSON's cost_usd of that plan."""
    plans: list[Any]
    if key == "training":
        if est.training is None:
            return None
        section: TrainingDecision | ServingDecision | None = decision.training if decision is not None else None
        plans = list(_training_shown(est, top, section, merges))
        index = _recommended_index(plans, section, lambda p: p.feasible)
    else:
        if est.inference is None:
            return None
        section = decision.inference if decision is not None else None
        plans = list(_serving_shown(est, top, section, merges))
        index = _recommended_index(plans, section, lambda p: p.meets_slo)
    at = index if index is not None else 0
    plan = plans[at] if plans else None
    if plan is None or is_no_offer(plan) or _unsized(plan):
        return None
    if isinstance(plan, TrainingPlan) and not plan.predicted:  # it cannot run: no bill (its figures are a stand-in's)
        return None
    number = at + 1  # its row in the plans table, which lists the plans the decision names
    # the JSON's cost_usd before its rounding: the bill prints dollars as the plans table does (usd() rounds both)
    with exact_numbers():
        cost = _cost_dict(plan) if isinstance(plan, TrainingPlan) else _serving_cost_dict(plan)
    at_confidence = None
    if isinstance(plan, TrainingPlan) and est.training is not None and est.training.confidence != 0.5:
        # the plans table's cost at the confidence (_training_rows): judged from the plan before its spot adjustment
        raw = _training_shown(est, top, section, merges, adjusted=False)[at]
        confidence = est.training.confidence
        at_confidence = (level_name(confidence),
                         judge_training(est.training.job, raw, confidence, None, None).cost_usd)
    return bill_of(plan, cost, number, index is not None, at_confidence)


def _cost_cell(plan: TrainingPlan | ServingPlan, usd_value: float) -> str:
    """A cost cell: the amount with † when the price is doubted; "no offer" for a time-only plan."""
    if is_no_offer(plan):
        return "no offer"
    return _usd(usd_value) + (" †" if plan.price_flags else "")


SERVING_LEGENDS = {
    "$/month": "$/month: the instances the peak rate needs, all month (what the ranking and the choices read)",
    "$/mo avg": "$/mo avg: autoscaled, the whole instances that hold the targets at inference.average_rate (as "
                "$/month where fewer replicas still fill every instance; – without an average_rate)",
    "util.": "util.: the replicas' load at the peak rate",
}
"""What the serving plans table's money and load columns are, under the table where they are shown."""

SIMULATED_LEGEND = ("Latencies in ms: the analytic model's, then the seeded simulation's as 'sim N' (--simulate); a "
                    "plan either refutes is not ok")


def _serving_rows(est: Estimate, top: int | None, section: ServingDecision | None = None,
                  merges: Merges | None = None) -> tuple[list[Column], list[list[str]]]:
    assert est.inference is not None
    generative = est.inference.work.is_generative
    keys: tuple[str, ...] = ("ttft_p95", "tpot_p95") if generative else ("latency_p50", "latency_p95")
    if section is not None and section.latency_key not in keys:  # the percentile the profile targets (latency_p99)
        keys += (section.latency_key,)
    head = [Column("#", "right", labels=True), Column("GPU", identifies=True), Column("provider", identifies=True),
            Column("repl×GPU", "right", identifies=True), Column("batch", "right", drop=3, identifies=True)]
    merges = merges or Merges(est)
    shown = _serving_shown(est, top, section, merges)
    # new-user QA round 26: '99 ms (sim 99)' was explained nowhere
    simulated = SIMULATED_LEGEND if any(p.simulated_latency_s for p in shown) else ""
    head += [Column(k.replace("_", " ").replace("ttft", "TTFT").replace("tpot", "TPOT"), "right",
                    legend=simulated if i == 0 else "") for i, k in enumerate(keys)]
    # new-user QA round 28: '$/mo avg' equal to '$/month' on some rows and not others, and 'util.', with no word
    head += [Column("$/month", "right", legend=SERVING_LEGENDS["$/month"]),
             Column("$/mo avg", "right", drop=2, legend=SERVING_LEGENDS["$/mo avg"]),
             Column("util.", "right", drop=4, legend=SERVING_LEGENDS["util."]), Column("status")]
    rows = []
    others = merges.serving().others
    for i, p in enumerate(shown):
        lat = [ms(p.latency_s[k]) if k in p.latency_s else "–" for k in keys]
        if p.simulated_latency_s:  # --simulate: the simulated percentile beside the analytic one
            lat = [f"{cell} (sim {fixed(p.simulated_latency_s[k] * 1e3, 0)})" if k in p.simulated_latency_s else cell
                   for cell, k in zip(lat, keys)]
        avg = _usd(p.monthly_cost_autoscaled_usd) if p.monthly_cost_autoscaled_usd is not None else "–"
        if _unsized(p):  # no replica: nothing runs, so no fleet, cost or load to show
            rows.append([str(i + 1), p.gpu, _provider_cell(p, others), "–", str(p.batch_size),
                         *lat, "–", "–", "–", "; ".join(p.reasons)])
            continue
        rows.append([str(i + 1), p.gpu, _provider_cell(p, others), f"{p.replicas}×{p.gpus_per_replica}",
                     str(p.batch_size), *lat,
                     _cost_cell(p, p.monthly_cost_usd), "–" if is_no_offer(p) else avg, f"{p.utilization:.0%}",
                     _serving_status(p, est.inference.headroom(p))])
    return head, rows


def _serving_status(plan: ServingPlan, headroom: bool | None) -> str:
    """ok, ok without headroom (new-user QA: a cheaper "ok" plan ranked below dearer ones with no visible reason:
    it meets the targets at the median efficiency only, and plans with headroom rank first), or the reasons."""
    if not plan.meets_slo:
        return "; ".join(plan.reasons)
    return "ok" if headroom is not False else "ok, no headroom"


def _shown_plans(est: Estimate, top: int | None, decision: Decision | None, merges: Merges
                 ) -> tuple[list[TrainingPlan], list[ServingPlan]]:
    """The training and serving plans the tables list, in their order: what the notes under them number (new-user
    QA round 20: at --top 0 the decision's named plans are rows among the others, and '† training #5' named another
    row's flag)."""
    training = _training_shown(est, top, decision.training if decision else None, merges) \
        if est.training is not None else []
    serving = _serving_shown(est, top, decision.inference if decision else None, merges) \
        if est.inference is not None else []
    return training, serving


def _footer(est: Estimate, decision: Decision | None = None, top: int | None = None,
            merges: Merges | None = None) -> list[str]:
    """Price flags (†), assumed networks, buy-versus-rent and discounts of the shown plans, warnings, and the
    efficiency origins when no decision lists them (the decision's notes do)."""
    lines = []
    merges = merges or Merges(est)
    shown = _shown_plans(est, top, decision, merges)
    training, serving = shown
    lines += _flag_notes(training, "training")
    lines += _network_note(training, est.network_set, est.network_basis, est.assumed_network_gbps)
    lines += _flag_notes(serving, "serving")
    lines += _resized_note(serving)
    footnoted = {(p.provider, p.instance) for p in training if p.price_flags} \
        | {(p.provider, p.instance) for p in serving if p.price_flags}
    if decision is not None:
        from planner.render.decision import decision_flag_notes

        lines += decision_flag_notes(decision, top, footnoted)
    lines += _buy_lines(est)
    lines += _discount_lines(est, shown)
    lines += commitment_lines(shown)
    lines += _unshown_commitments(est, shown)
    lines += _no_offer_lines(est)
    if any(row[2].endswith(")") and " (×" in row[2] for _, _, _, rows in _sections(est, top, merges=merges)
           for row in rows):
        lines.append("(×N) after a provider: N of its instance types give the same plan; the cheapest is priced "
                     "(JSON: instance_types, other_instances).")
    work = est.training.job.work if est.training is not None else est.inference.work if est.inference else None
    if work is not None and work.is_moe:
        # counts as the header writes them (a 10M-parameter test model read '0.01B parameters … 1 of 1 layers')
        lines.append(f"Model {work.name}: {count_text(work.params)} parameters (memory, checkpoint, optimizer state), "
                     f"{count_text(work.active_params)} active per token (FLOP): {work.experts} experts, top-"
                     f"{work.experts_per_token}, in {work.moe_layers} of {work.layers} layer"
                     f"{'' if work.layers == 1 else 's'}; attention {work.attention_kind}.")
    if decision is None:
        details: list[str] = sorted({o.plan.efficiency.detail for o in est.training.ranked[:3]}
                                    if est.training and est.training.ranked else set())
        if est.inference and est.inference.plans:
            p = est.inference.plans[0]
            details += [p.efficiency.compute.detail, p.efficiency.bandwidth.detail]
        if details:
            lines.append("Efficiency origins: " + "; ".join(dict.fromkeys(details)) + ".")
    # the options name their GPU and provider without their plans (made only for the rows shown)
    locals_ = [p for s in (_rows_made(est), est.inference.plans if est.inference else [])
               for p in s if p.provider == "local"]
    if locals_:
        lines.append(f"The 'local' row is this machine as measured ({locals_[0].gpu}), for comparison: its hours say "
                     "what the profile would take here, not on a rented GPU. To plan a GPU you mean to rent with "
                     "measured figures, run `gpuplan calibrate --print-script` and run that script on one.")
    if est.training is not None and any(plan_is_spot(o) for o in _rows_made(est)):
        lines.append("Spot rows include the expected interruption overhead in hours and cost (as the decision "
                     "does): checkpoints, restarts and lost work.")
    lines += [f"Warning: {w}" for w in est.warnings + price_warnings(est, top, merges, decision)]
    return lines


def _no_offer_lines(est: Estimate) -> list[str]:
    """What the time-only rows are, and which catalog GPUs were not planned at all for want of an offer."""
    lines = []
    if any(p.provider == NO_OFFER for s in (_rows_made(est),
                                            est.inference.plans if est.inference else []) for p in s):
        lines.append("'no offer' rows: no offer in the catalog rents that GPU, so the plan gives time (and GPU-hours) "
                     "only, on the machine its datasheet describes (its NVLink domain, else one card per machine); "
                     "it is never a choice.")
    if est.unplanned_gpus:
        names = ", ".join(est.unplanned_gpus[:6]) + (", …" if len(est.unplanned_gpus) > 6 else "")
        # new-user QA: with constraints.providers [lambda] the line named A10G and A30 'with no offer', which other
        # providers rent: it names the providers the search kept to, as the no-offer verdict does
        rented = [p for p in est.providers if p != OWNED]
        kept = (" with no offer" if not est.providers else f" that no offer of {', '.join(rented)} (constraints."
                "providers) rents" if rented else " not among your machines (constraints.providers keeps to owned)")
        lines.append(f"Not planned: {len(est.unplanned_gpus)} GPU type(s){kept} ({names}); name one in "
                     "constraints.gpus for a time-only plan.")
    return lines


def unlisted_choices_lines(est: Estimate, top: int | None, decision: Decision | None, key: str,
                           merges: Merges | None = None) -> list[str]:
    """Under a plans table cut by --top: the choices whose plan is no row of it, by name (new-user QA round 27:
    serve-gpt-oss-120b-chat's 'cheapest at the targets', $1,763, was cheaper than every row listed, and only --top 0
    showed it, as plan #68); none at --top 0, which lists every plan the decision names."""
    section = getattr(decision, key, None) if decision is not None else None
    if section is None or not section.choices or not top:
        return []
    merges = merges or Merges(est)
    shown = _training_shown(est, top, section, merges, adjusted=False) if key == "training" else \
        _serving_shown(est, top, section, merges)
    missing = [" / ".join(names) for names, option, _ in collapse_choices(section.choices + section.alternatives)
               if not any(p is (plan := getattr(option, "plan", option)) or _same_plan(p, plan) for p in shown)]
    if not missing:
        return []
    return [f"Choice{'s' if len(missing) > 1 else ''} not among these {len(shown)} rows: {'; '.join(missing)} "
            f"(--top 0 lists every plan, {'these' if len(missing) > 1 else 'it'} among them)."]


def accuracy_lines(decision: Decision | None, section: str) -> list[str]:
    """Under a plans table: the recommended row's mark, and 'How sure' (the nearest validation group's note)."""
    lines = ["← the recommended plan (the decision's first choice)."] if decision is not None and getattr(
        getattr(decision, section, None), "choices", None) else []
    acc = getattr(decision, f"{section}_accuracy", None) if decision is not None else None
    if acc is None:
        return lines
    return lines + [f"How sure: {acc.note}."]


def _collapse_identical(rows: list[list[str]]) -> list[list[str]]:
    """Consecutive rows that read the same in every cell but '#' (offers of one provider that differ only in
    instance name) as one row numbered '5–10'."""
    out: list[list[str]] = []
    for row in rows:
        if out and out[-1][1:] == row[1:]:
            out[-1][0] = f"{out[-1][0].split('–')[0]}–{row[0]}"
        else:
            out.append(list(row))
    return out


def _sections(est: Estimate, top: int | None, decision: Decision | None = None, merges: Merges | None = None
              ) -> Iterator[tuple[str, str, list[Column], list[list[str]]]]:
    """(title, key, columns, rows) of each plans table; the decision's recommended plan says so in its status."""
    merges = merges or Merges(est)
    for title, rows_of, section, key in (("Training", _training_rows, est.training, "training"),
                                         ("Serving", _serving_rows, est.inference, "inference")):
        if section is not None:
            chosen = getattr(decision, key, None) if decision is not None else None
            head, rows = rows_of(est, top, chosen, merges)
            if chosen is not None and chosen.choices:
                first = chosen.choices[0].option
                first = getattr(first, "plan", first)
                plans = _training_shown(est, top, chosen, merges) if key == "training" else \
                    _serving_shown(est, top, chosen, merges)
                for row, plan in zip(rows, plans):
                    if (plan is first or _same_plan(plan, first)) and row[-1] == "ok":
                        row[-1] = "ok ←"
                        break
            yield title, key, head, _collapse_identical(rows)


def render_table(est: Estimate, top: int | None = 10, decision: Decision | None = None) -> str:
    """Tables for people (rich), fitted to the terminal width (planner/render/console.py)."""
    merges = Merges(est)  # one merge of each section for the whole rendering: it makes only the plans it reads
    buffer = io.StringIO()
    console = make_console(buffer)
    print_lines(console, [f"GPU plan for {terminal(est.profile)} (catalog as of {est.catalog_as_of.isoformat()})"])
    if decision is not None and decision.understood is not None and decision.understood.lines:
        print_lines(console, ["What I understood:"])
        for label, text in decision.understood.lines:
            print_lines(console, [text], f"  {label:<9} ")
    if decision is not None:
        from planner.render.decision import render_decision_table

        render_decision_table(decision, terminal(est.profile), top, console)
    for title, key, head, rows in _sections(est, top, decision, merges):
        console.print(fit_table(console, head, rows, title=f"{title} plans for {terminal(est.profile)} (best first)"))
        print_lines(console, unlisted_choices_lines(est, top, decision, key, merges) + accuracy_lines(decision, key))
        bill = bill_section(est, top, decision, key, merges)
        if bill is not None:
            console.print(fit_table(console, bill.columns, bill.rows, title=bill.title))
            print_lines(console, bill.notes)
    print_lines(console, _footer(est, decision, top, merges))
    return buffer.getvalue()


def render_markdown(est: Estimate, top: int | None = 10, decision: Decision | None = None) -> str:
    """Markdown tables, for pull requests and design docs."""
    from planner.render.decision import markdown_table

    name = markdown(est.profile)  # the user's words: `<script>`, `*`, `[…](…)` stay text
    out = [f"# GPU plan: {name}", "", f"Catalog as of {est.catalog_as_of.isoformat()}.", ""]
    if decision is not None and decision.understood is not None and decision.understood.lines:
        # the model line names the profile's model (its name when it is no preset), the chosen line its instance
        out += ["What I understood:", ""] + [f"- **{k}**: {markdown_line(v)}"
                                             for k, v in decision.understood.lines] + [""]
    if decision is not None:
        from planner.render.decision import render_decision_markdown

        out += render_decision_markdown(decision, name, top)
    merges = Merges(est)
    for title, key, head, rows in _sections(est, top, decision, merges):
        out += [f"## {title}", "", *markdown_table(head, rows), ""]
        out += [f"- {markdown_line(line)}" for line in unlisted_choices_lines(est, top, decision, key, merges)
                + accuracy_lines(decision, key)] + [""]
        bill = bill_section(est, top, decision, key, merges)
        if bill is not None:
            out += [f"### {clean(bill.title)}", "", *markdown_table(bill.columns, bill.rows), ""]
            out += [f"- {markdown_line(line)}" for line in bill.notes] + [""]
    out += [f"- {markdown_line(line)}" for line in _footer(est, decision, top, merges)]
    return "\n".join(out) + "\n"


def render_csv(est: Estimate, top: int | None = None, decision: Decision | None = None) -> str:
    """One row per plan: section, gpu, provider, gpus, hours or latency, cost, ok, reasons, the price's date and
    doubts (the table's † marks), more latency percentiles, the whole bill with the discount in the price, and a
    training plan's hours and compute cost at the planning confidence, then whether the plan is priced at spot."""
    import csv  # here: only --format csv writes it

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def write(row: list[Any]) -> None:
        # provider, instance and GPU names come from catalogs a user imports: never a formula in a spreadsheet
        writer.writerow([spreadsheet_cell(cell) for cell in row])

    write(["section", "gpu", "provider", "instance", "gpu_count", "hours_p50", "cost_usd_p50",
           "ttft_p95_ms", "tpot_p95_ms", "latency_p95_ms", "monthly_cost_usd", "ok", "reasons",
           "price_as_of", "price_flags",
           # every other percentile a serving target may name, after the columns readers already index
           # (new-user QA: a model served at latency_p99 had no p99 in its CSV, only the p95)
           *(f"{key}_ms" for key in CSV_MORE_LATENCIES),
           # the whole bill (new-user QA: the CSV had the compute cost only, and no discount), as the JSON's
           # cost_usd: a training run at P50, a serving month; empty where the provider's price is unknown
           "storage_usd", "egress_usd", "total_usd", "discount_percent",
           # new-user QA: at --confidence 0.9 the rows were ranked and judged by their P90 hours and cost, yet the
           # CSV had P50 only: the hours and compute cost at the planning confidence (the JSON's hours.p90 …)
           "confidence", "hours_planned", "cost_usd_planned",
           # new-user QA: a spot plan's row read like an on-demand one; true/false as the JSON's spot (serving plans
           # are priced on demand: constraints.spot is for training, and their JSON has no spot)
           "spot"])
    data = estimate_dict(est, top, decision)  # the JSON's plans, the decision's named ones among them
    level = est.training.confidence if est.training is not None else None
    key = level_name(level).lower() if level is not None else ""

    def trust(p: dict[str, Any]) -> list[Any]:
        return [p.get("price_as_of") or "", "; ".join(p.get("price_flags") or [])]

    def bill(p: dict[str, Any]) -> list[Any]:
        cost = p.get("cost_usd") or {}
        return [*("" if cost.get(k) is None else cost[k] for k in ("storage", "egress", "total")),
                p.get("discount_percent", "")]

    for p in data.get("training", {}).get("plans", []):
        write(["training", p["gpu"], p["provider"], p["instance"], p["gpu_count"], p["hours"]["p50"],
               p["cost_usd"]["p50"], "", "", "", "", not p["reasons"], "; ".join(p["reasons"]), *trust(p),
               *("" for _ in CSV_MORE_LATENCIES), *bill(p), level, p["hours"].get(key), p["cost_usd"].get(key),
               _csv_bool(p["spot"])])
    for p in data.get("inference", {}).get("plans", []):
        lat = p["latency_ms"]
        write(["inference", p["gpu"], p["provider"], p["instance"], p["gpu_count"], "", "",
               lat.get("ttft_p95", ""), lat.get("tpot_p95", ""), lat.get("p95", ""),
               p["monthly_cost_usd"], p["meets_slo"], "; ".join(p["reasons"]), *trust(p),
               *(lat.get(CSV_MORE_LATENCIES[name], "") for name in CSV_MORE_LATENCIES), *bill(p), "", "", "",
               _csv_bool(p.get("spot", False))])
    return buffer.getvalue()


def _csv_bool(value: Any) -> str:
    """A JSON boolean as the JSON writes it: true / false."""
    return "true" if value else "false"


CSV_MORE_LATENCIES = {"ttft_p50": "ttft_p50", "tpot_p50": "tpot_p50", "latency_p50": "p50", "latency_p99": "p99"}
"""CSV column (without _ms) → the plan's latency_ms key, for the percentiles the first columns (p95) leave out."""
