"""The grouped cross-validation figures in catalog/accuracy.yaml (scripts/build_accuracy.py: `gpuplan validate
--cross-validate source`) may only get better: each is held under the bound committed in tests/accuracy_bounds.yaml,
and a figure that has improved well past its bound fails until the bound is lowered to it (bounds only tighten)."""
from __future__ import annotations

import pytest
import yaml

from .conftest import ROOT

BOUNDS = yaml.safe_load((ROOT / "tests" / "accuracy_bounds.yaml").read_text(encoding="utf-8"))
FIGURES = yaml.safe_load((ROOT / "catalog" / "accuracy.yaml").read_text(encoding="utf-8"))["groups"]
CASES = [(group, field) for group, fields in BOUNDS["groups"].items() for field in fields]


@pytest.mark.parametrize(("group", "field"), CASES, ids=[f"{g}.{f}" for g, f in CASES])
def test_grouped_figure_within_its_bound(group: str, field: str) -> None:
    bound = BOUNDS["groups"][group][field]
    value = FIGURES[group][field]
    assert value <= bound, f"{group} {field} rose to {value:.4f} (bound {bound} in tests/accuracy_bounds.yaml)"
    slack = BOUNDS["tighten_after"]
    assert value > bound - slack, (f"{group} {field} is now {value:.4f}, more than {slack} under its bound {bound}: "
                                   "lower the bound in tests/accuracy_bounds.yaml to tighten the ratchet")


def test_every_bounded_group_is_validated() -> None:
    assert set(BOUNDS["groups"]) <= set(FIGURES)
    assert all(FIGURES[g]["n"] >= 6 for g in BOUNDS["groups"])


README_ROWS = {"all published runs": "overall", "independent check": "independent-check",
               "training runs": "training", "LLM pretraining": "llm-pretraining"}


def test_readme_accuracy_table_is_catalog_accuracy() -> None:
    """The README's front-door accuracy table quotes catalog/accuracy.yaml (rounded to 0.1 %), so it cannot go stale."""
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    seen = set()
    for line in text.splitlines():
        for label, group in README_ROWS.items():
            if line.startswith(f"| {label}"):
                cells = [c.strip() for c in line.strip("|").split("|")]
                n, median, p90, coverage = cells[1:5]
                fig = FIGURES[group]
                assert int(n) == fig["n"], (label, n)
                assert median == f"{fig['median_abs_error'] * 100:.1f} %", (label, median)
                assert p90 == f"{fig['p90_abs_error'] * 100:.1f} %", (label, p90)
                assert coverage == f"{round(fig['coverage_p10_p90'] * 100)} %", (label, coverage)
                seen.add(label)
    assert seen == set(README_ROWS)
    assert re.search(r"## How accurate it is", text)
