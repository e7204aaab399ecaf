"""The Pareto plot: cost against time (training) or p95 latency (serving) for every usable option, one colour per GPU
type, the frontier, the choices numbered with a key (coinciding choices share a number, so labels never print over
each other), the deadline, budget or latency target drawn; log axes ticked with plain numbers and units.
matplotlib (Agg) is imported only here."""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Callable

from planner.decide.choices import (
    Decision,
    ServingDecision,
    TrainingDecision,
    collapse_choices,
    hours_text,
    latency_name,
)
from planner.errors import InputError
from planner.io.atomic import write_bytes_atomic
from planner.plans.serving import ServingPlan
from planner.readable import LARGEST_GROUPED, ms, usd
from planner.render.escape import mathtext

FORMATS = {".png": "png", ".svg": "svg"}
MAX_COLOURED_GPUS = 10
"""GPU types given their own colour (tab10 has ten distinguishable colours); the rest are grey 'other GPUs'."""
LABEL_OFFSETS = ((9, 9), (9, -15), (-18, 9), (-18, -15))
"""Offsets (points) of the choice numbers, taken in turn so numbers of nearby choices do not print over each other."""


def plain_number(value: float, _pos: object = None) -> str:
    """A tick label without exponents: 0.01, 0.5, 3, 20, 1,000, 20,000; from 1e12 three significant figures, as the
    tables print such numbers (planner/readable.py), not 1,000,000,000,000,000."""
    if value <= 0:
        return ""
    if value >= LARGEST_GROUPED:
        return f"{value:.3g}"
    if value >= 1:
        return f"{value:,.0f}"
    return f"{value:.3g}"


MAX_DECADES_WITH_2_AND_5 = 3.0
"""A horizontal log axis spanning more decades than this labels only the powers of ten: at 1, 2 and 5 per decade
the labels of a wide span ran into each other ("5001,0002,000" on the 5-decade time axis of pretrain-1b-72h,
tests/test_plot.py measures the labels' boxes)."""
MAX_LABELLED_DECADES = 8
"""Past this many decades a horizontal axis labels every second (third, …) power of ten."""


def _shown(value: float, decades: float) -> bool:
    """Whether a horizontal log axis spanning `decades` labels the tick at `value` (1, 2 or 5 × 10^n)."""
    exponent = math.floor(math.log10(value) + 1e-9)
    if decades > MAX_DECADES_WITH_2_AND_5 and round(value / 10.0 ** exponent) != 1:
        return False
    return exponent % max(1, math.ceil(decades / MAX_LABELLED_DECADES)) == 0


def _plain_log_axis(axis: Any, prefix: str = "", horizontal: bool = False) -> None:
    """Log ticks written as plain numbers (with a prefix such as $), minor ticks unlabelled; on a horizontal axis
    only as many as its span leaves room for (the formatter runs at draw time, when the limits are final)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    def label(value: float, _pos: object) -> str:
        text = plain_number(value)
        if not text:
            return ""
        if horizontal:
            low, high = sorted(axis.get_view_interval())
            if low > 0 and not _shown(value, math.log10(high / low)):
                return ""
        return prefix + text

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(label))
    axis.set_minor_formatter(NullFormatter())


def _colours(gpus_in_order: list[str]) -> dict[str, Any]:
    import matplotlib

    palette = matplotlib.colormaps["tab10"]
    return {gpu: palette(i % 10) for i, gpu in enumerate(gpus_in_order[:MAX_COLOURED_GPUS])}


MISSES_LABEL = "hollow: misses a constraint"
"""The legend entry of the hollow markers: plans that run but miss the deadline, the budget or a latency target."""


def _scatter_by_gpu(ax: Any, points: list[Any], gpu_of: Callable[[Any], str], x: Callable[[Any], float],
                    y: Callable[[Any], float], preferred: list[str], good: Callable[[Any], bool]) -> None:
    """One scatter per GPU type (its colour and legend entry); GPU types past MAX_COLOURED_GPUS in grey; a plan that
    misses a constraint (`good` false) hollow in its colour, so a cloud past the budget or the latency target does not
    read as viable (new-user QA round 28). Rasterized: in an SVG (and the HTML report's inline plot) the cloud is an
    image at the figure's dpi instead of a marker element per plan — pretrain-1b-72h's ~8,300 plans were 1.25 MB of
    SVG, 0.36 MB so; the axes, frontier, choices and text stay vector, and a PNG is the same."""
    order = list(dict.fromkeys(preferred + sorted({gpu_of(p) for p in points})))
    present = [g for g in order if any(gpu_of(p) == g for p in points)]
    colours = _colours(present)

    def draw(mine: list[Any], colour: Any, size: int, alpha: float, label: str, zorder: int) -> None:
        kept = [p for p in mine if good(p)]
        missed = [p for p in mine if not good(p)]
        if kept:
            ax.scatter([x(p) for p in kept], [y(p) for p in kept], s=size, color=colour, alpha=alpha, label=label,
                       zorder=zorder, rasterized=True)
        if missed:
            ax.scatter([x(p) for p in missed], [y(p) for p in missed], s=size, facecolors="none", edgecolors=colour,
                       alpha=alpha * 0.8, linewidths=0.8, label=None if kept else label, zorder=zorder,
                       rasterized=True)

    for gpu in present:
        if gpu in colours:
            draw([p for p in points if gpu_of(p) == gpu], colours[gpu], 16, 0.75, mathtext(gpu), 2)
    rest = [p for p in points if gpu_of(p) not in colours]
    if rest:
        draw(rest, "#c0c0c0", 10, 0.7, f"other GPUs ({len({gpu_of(p) for p in rest})} types)", 1)
    if any(not good(p) for p in points):
        ax.scatter([], [], s=16, facecolors="none", edgecolors="#606060", label=MISSES_LABEL)


def _number_choices(ax: Any, groups: list[Any], x: Callable[[Any], float], y: Callable[[Any], float],
                    describe: Callable[[Any], str]) -> list[str]:
    """Circle and number each distinct chosen plan; returns the key lines '1  names: plan'."""
    key = []
    for n, (names, option, _) in enumerate(groups, start=1):
        px, py = x(option), y(option)
        ax.scatter([px], [py], s=120, facecolors="none", edgecolors="#d62728", linewidths=2, zorder=5)
        # on a white box: over a dense cloud of plans red digits on red and brown points did not read (new-user QA:
        # a 3B pretraining profile's choices 1 and 3 sat inside ~4,000 plans, only 2 was legible)
        ax.annotate(str(n), (px, py), textcoords="offset points", xytext=LABEL_OFFSETS[(n - 1) % 4], fontsize=10,
                    fontweight="bold", color="#d62728", zorder=6, gid=f"choice-{n}",
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "#d62728", "alpha": 0.9,
                          "linewidth": 0.8})
        key.append(f"{n}  {', '.join(names)}: {describe(option)}")
    return key


def _labels_inside(ax: Any) -> None:
    """Turn each choice number toward the inside of the axes where its point lies near an edge: the fastest plan is
    the leftmost point and its number, taken in turn to the left, sat on the y axis's spine, half outside the plot
    (new-user QA round 8: lora-7b-a6000's '3'). After the scales and limits are set."""
    to_axes = ax.transAxes.inverted()
    for text in ax.texts:
        if not (text.get_gid() or "").startswith("choice-") or text.get_gid() == "choice-key":
            continue
        fx, fy = to_axes.transform(ax.transData.transform(text.xy))
        dx, dy = text.xyann
        if fx < 0.15 or fx > 0.85:
            dx = LABEL_OFFSETS[0][0] if fx < 0.15 else LABEL_OFFSETS[2][0]
        if fy < 0.15 or fy > 0.85:
            dy = LABEL_OFFSETS[0][1] if fy < 0.15 else LABEL_OFFSETS[1][1]
        text.xyann = (dx, dy)


NOTHING_RUNS = "no plan runs: every GPU type is rejected (see the rejected GPU types)"
"""What a panel with no plan to draw says in place of the plot."""


def _nothing_runs(ax: Any) -> list[str]:
    """A panel whose section has no plan that runs (the model fits nowhere, no GPU has the precision): the words in
    place of the points, on linear axes without ticks (new-user QA round 11: log axes over no data were matplotlib's
    'Data cannot be log-scaled', exit 70, for --plot and --html alike)."""
    ax.text(0.5, 0.5, NOTHING_RUNS, transform=ax.transAxes, ha="center", va="center", fontsize=10, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    return []


def _training_axes(ax: Any, d: TrainingDecision) -> list[str]:
    level = f"P{d.confidence * 100:g}"
    usable = [o for o in d.options if o.usable]
    if not usable:
        return _nothing_runs(ax)
    groups = collapse_choices([*d.choices, *d.alternatives])
    preferred = [g[1].plan.gpu for g in groups] + [o.plan.gpu for o in d.frontier] + \
        [o.plan.gpu for o in d.best_per_gpu]
    hours, cost = (lambda o: o.hours), (lambda o: o.cost_usd)
    _scatter_by_gpu(ax, usable, lambda o: o.plan.gpu, hours, cost, preferred, lambda o: o.feasible)
    ax.plot([o.hours for o in d.frontier], [o.cost_usd for o in d.frontier], "-", color="#1f3b73", lw=1.2,
            label="Pareto frontier", zorder=3)
    key = _number_choices(ax, groups, hours, cost, lambda o: f"{o.plan.gpu_count}× {o.plan.gpu} on "
                                                             f"{o.plan.provider}, {hours_text(o.hours)}, "
                                                             f"{usd(o.cost_usd)}")
    if d.deadline_h is not None:
        ax.axvline(d.deadline_h, color="#2ca02c", ls="--", label=f"deadline {plain_number(d.deadline_h)} h")
    if d.budget_usd is not None:
        ax.axhline(d.budget_usd, color="#ff7f0e", ls="--", label=mathtext(f"budget ${plain_number(d.budget_usd)}"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_axis(ax.xaxis, horizontal=True)
    _plain_log_axis(ax.yaxis, "$")
    ax.set_xlabel(f"wall-clock time at {level}, hours (log scale)")
    ax.set_ylabel(f"cost at {level}, USD (log scale)")
    _labels_inside(ax)
    return key


def _serving_axes(ax: Any, d: ServingDecision) -> list[str]:
    key_name = d.latency_key
    usable = [p for p in d.options if p.fits and key_name in p.latency_s]
    if not usable:
        return _nothing_runs(ax)
    groups = collapse_choices([*d.choices, *d.alternatives])
    preferred = [g[1].gpu for g in groups] + [p.gpu for p in d.frontier] + [p.gpu for p in d.best_per_gpu]

    def latency(p: ServingPlan) -> float:
        return float(p.latency_s[key_name] * 1e3)

    def cost(p: ServingPlan) -> float:
        return float(p.monthly_cost_usd)

    _scatter_by_gpu(ax, usable, lambda p: p.gpu, latency, cost, preferred, lambda p: p.meets_slo)
    frontier = [p for p in d.frontier if key_name in p.latency_s]
    ax.plot([latency(p) for p in frontier], [cost(p) for p in frontier], "-", color="#1f3b73", lw=1.2,
            label="Pareto frontier", zorder=3)
    key = _number_choices(ax, [g for g in groups if key_name in g[1].latency_s], latency, cost,
                          lambda p: f"{p.replicas}×{p.gpus_per_replica} {p.gpu} on {p.provider}, "
                                    f"{ms(p.latency_s[key_name])}, {usd(cost(p))}/month")
    if d.target_s is not None:
        ax.axvline(d.target_s * 1e3, color="#2ca02c", ls="--", label=f"target {plain_number(d.target_s * 1e3)} ms")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_axis(ax.xaxis, horizontal=True)
    _plain_log_axis(ax.yaxis, "$")
    ax.set_xlabel(latency_name(key_name).replace("latency", "request latency") + ", ms (log scale)")
    ax.set_ylabel("USD per month, peak replicas (log scale)")
    _labels_inside(ax)
    return key


def pareto_figure(decision: Decision, profile: str) -> Any:
    """The matplotlib Figure: one panel per decided section, each with its legend (GPU colours, frontier, limits)
    and, under it, the key of the numbered choices."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [s for s in (decision.training, decision.inference) if s is not None]
    fig, axes = plt.subplots(1, len(panels), figsize=(8.5 * len(panels), 6.8), squeeze=False)
    for ax, section in zip(axes[0], panels):
        if isinstance(section, TrainingDecision):
            key = _training_axes(ax, section)
            ax.set_title(mathtext(f"{profile}: training cost vs time"))
        else:
            key = _serving_axes(ax, section)
            ax.set_title(mathtext(f"{profile}: serving cost vs p95 latency"))
        ax.grid(True, which="major", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:  # a panel where no plan runs has nothing to name
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, title="GPU type",
                      title_fontsize=8)
        # the key names GPUs, providers and instances (catalog text): every `$` escaped, line by line
        ax.text(0.0, -0.14, "\n".join(mathtext(k) for k in key) if key else "no plan meets every constraint",
                transform=ax.transAxes,
                fontsize=8, va="top", ha="left", color="#d62728", gid="choice-key")
    fig.tight_layout()
    return fig


def pareto_figure_bytes(decision: Decision, profile: str, fmt: str) -> bytes:
    """The plot as PNG or SVG bytes."""
    import matplotlib.pyplot as plt

    fig = pareto_figure(decision, profile)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=110, bbox_inches="tight",
                metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    return buffer.getvalue()


def plot_format(path: Path) -> str:
    """'png' or 'svg' from the file name, or an InputError."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        # placed like the other option errors ("--set KEY=VALUE: …"): the option and its value once, as the place
        raise InputError("expected a .png or .svg file name", file=f"--plot {path}")
    return fmt


def check_plot_available() -> None:
    """An InputError (exit 2) with the install command when matplotlib is missing."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise InputError("--plot needs matplotlib, which is not installed",
                         hint="Install the plot extra: pip install 'gpuplan[plot]' (or: pip install matplotlib).")


def write_pareto_plot(decision: Decision, profile: str, path: Path) -> None:
    """Write the Pareto plot to `path` (.png or .svg), atomically."""
    fmt = plot_format(path)
    check_plot_available()
    write_bytes_atomic(path, pareto_figure_bytes(decision, profile, fmt))
