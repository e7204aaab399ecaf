"""What a training search has seen, as far as the decision reads it: whether an option not yet timed could still
be its offer's best, on a Pareto frontier, the fastest within budget or the cheapest within budget, given a floor
under its hours and cost (plans/count_bound.py). An option that can be none of these changes no output
(decide/choices.py, render/report.py) and is timed only when every option is read (TrainingEstimate.options)."""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right

from planner.plans.options import TrainingOption
from planner.plans.verdict import SEVERITY

_MILDEST = min(SEVERITY.values())
"""The least worst-verdict an infeasible option can rank with (options.training_rank's second key)."""


class Staircase:
    """The Pareto points (cost, hours) of the options added, cheapest first (hours strictly falling)."""

    __slots__ = ("costs", "hours")

    def __init__(self) -> None:
        self.costs: list[float] = []
        self.hours: list[float] = []

    def beats(self, cost: float, hours: float) -> bool:
        """Some option added costs less than `cost` and takes at most `hours`: an option costing at least `cost`
        and taking at least `hours` comes after it in the frontier's (cost, hours) order and is no faster, so it
        is not on the frontier (decide/choices.py frontier_of_sorted), and leaving it out changes no other point."""
        i = bisect_left(self.costs, cost) - 1
        return i >= 0 and self.hours[i] <= hours

    def add(self, cost: float, hours: float) -> None:
        """Add a point, dropping those it dominates."""
        costs, times = self.costs, self.hours
        i = bisect_right(costs, cost)
        if i and times[i - 1] <= hours:
            return  # a point costing no more is no slower
        j = k = bisect_left(costs, cost)
        while k < len(costs) and times[k] >= hours:
            k += 1
        costs[j:k] = [cost]
        times[j:k] = [hours]


class Witnesses:
    """The options a search has judged, as the decision reads them: the usable and the feasible frontiers, the
    fastest and the cheapest usable option within budget, and each offer's cheapest feasible cost."""

    __slots__ = ("best", "budget_usd", "cheapest", "deadline_s", "fastest", "feasible", "near", "usable")

    def __init__(self, deadline_s: float | None, budget_usd: float | None) -> None:
        self.usable, self.feasible = Staircase(), Staircase()
        self.fastest = self.cheapest = math.inf
        self.best: dict[int, float] = {}
        self.near: dict[int, tuple[object, ...]] = {}
        """Per offer, the least (worst verdict, not over budget only, rank key) of its usable infeasible options
        (options.training_rank after its `not feasible`): what an option surely late must rank after."""
        self.deadline_s, self.budget_usd = deadline_s, budget_usd

    def add(self, option: TrainingOption, offer: int) -> None:
        """An option in the estimate (of offer number `offer`), as judged: its flags are the ones the decision
        filters by."""
        if not option.usable:
            return
        cost, hours = option.cost_usd, option.hours
        self.usable.add(cost, hours)
        if option.within_budget:
            self.fastest = min(self.fastest, hours)
            self.cheapest = min(self.cheapest, cost)
        if option.feasible:
            self.feasible.add(cost, hours)
            if cost < self.best.get(offer, math.inf):
                self.best[offer] = cost
        else:
            near = option.rank[1:4]
            known = self.near.get(offer)
            if known is None or near < known:
                self.near[offer] = near

    def excludes(self, offer: int, hours: float, cost: float) -> bool:
        """Whether an option of offer `offer` taking at least `hours` and costing at least `cost` can change no
        output: its offer has a feasible option ranked before it (feasible ranks lead with cost: plans/options.py
        training_rank), so it is not the offer's row, the cheapest viable choice, its GPU's best or a reason to
        reject its GPU; and it is on neither frontier, neither the fastest nor the cheapest within budget. Every
        comparison is strict where the decision's order would break a tie by list position. While its offer has no
        feasible option, one surely late (its floor past the deadline) is excluded the same way where an infeasible
        option of its offer ranks before any it could be: it is then not the offer's row or its GPU's closest miss,
        neither on time nor (beaten on the usable frontier) the fastest or the cheapest that runs
        (decide/choices.py _training_impossible)."""
        budget, deadline = self.budget_usd, self.deadline_s
        over_budget = budget is not None and cost > budget
        late = deadline is not None and hours * 3600.0 > deadline
        infeasible = over_budget or late
        best = self.best.get(offer)
        if best is None:
            # no feasible option of its offer yet: one surely late still ranks after an infeasible option of its
            # offer ahead of (1, True, hours), the least its rank can lead with (the mildest verdict, not over budget
            # only, its hours at least the floor's); strict, as a tie would go by GPU count
            near = self.near.get(offer)
            if not late or near is None or not near < (_MILDEST, True, hours):
                return False
        elif not (infeasible or cost > best):
            return False
        if not over_budget and (self.fastest >= hours or self.cheapest >= cost):
            return False
        return self.usable.beats(cost, hours) and (infeasible or self.feasible.beats(cost, hours))

    def apart(self, offer: int) -> None:
        """Offer number `offer`'s own row is made apart from the search (plans/search.py RankedRows), and its GPU
        has a feasible option costing less than any of its options can: excludes() then reads, for its options,
        only whether they are on neither frontier, neither the fastest nor the cheapest within budget (its offer's
        best cost taken as below every cost: none of its options is its offer's row, its GPU's best, the cheapest
        viable choice or a reason to reject its GPU)."""
        self.best[offer] = -math.inf
