"""Rank what the search produced: named choices, Pareto frontier, plan diffs."""
