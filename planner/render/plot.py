"""The Pareto plot: cost against time (training) or p95 latency (serving) for every usable option, the frontier
highlighted, the deadline, budget or latency target drawn. matplotlib (Agg) is imported only here."""
from __future__ import annotations

import io
from pathlib import Path

from planner.decide.choices import Decision, ServingDecision, TrainingDecision
from planner.errors import InputError

FORMATS = {".png": "png", ".svg": "svg"}


def _training_axes(ax, d: TrainingDecision) -> None:
    level = f"P{d.confidence * 100:g}"
    usable = [o for o in d.options if o.usable]
    ax.scatter([o.hours for o in usable], [o.cost_usd for o in usable], s=12, color="#b0b0b0",
               label=f"options ({len(usable)}: GPU × provider × count × pricing)")
    ax.plot([o.hours for o in d.frontier], [o.cost_usd for o in d.frontier], "-o", color="#1f77b4", ms=4,
            label="Pareto frontier")
    for choice, marker in zip(d.choices, ("o", "D", "s")):
        o = choice.option
        ax.scatter([o.hours], [o.cost_usd], s=90, marker=marker, facecolors="none", edgecolors="#d62728",
                   linewidths=2, zorder=5)
        ax.annotate(f"{choice.name}: {o.plan.gpu_count}× {o.plan.gpu} ({o.plan.provider})", (o.hours, o.cost_usd),
                    textcoords="offset points", xytext=(6, 6), fontsize=8, color="#d62728")
    if d.deadline_h is not None:
        ax.axvline(d.deadline_h, color="#2ca02c", ls="--", label=f"deadline {d.deadline_h:,.0f} h")
    if d.budget_usd is not None:
        ax.axhline(d.budget_usd, color="#ff7f0e", ls="--", label=f"budget ${d.budget_usd:,.0f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"wall-clock hours ({level})")
    ax.set_ylabel(f"cost, USD ({level})")


def _serving_axes(ax, d: ServingDecision) -> None:
    key = d.latency_key
    usable = [p for p in d.options if p.fits and key in p.latency_s]
    ax.scatter([p.latency_s[key] * 1e3 for p in usable], [p.monthly_cost_usd for p in usable], s=12,
               color="#b0b0b0", label=f"options ({len(usable)}: GPU × provider)")
    frontier = [p for p in d.frontier if key in p.latency_s]
    ax.plot([p.latency_s[key] * 1e3 for p in frontier], [p.monthly_cost_usd for p in frontier], "-o",
            color="#1f77b4", ms=4, label="Pareto frontier")
    for choice, marker in zip(d.choices, ("o", "D", "s")):
        p = choice.option
        ax.scatter([p.latency_s[key] * 1e3], [p.monthly_cost_usd], s=90, marker=marker, facecolors="none",
                   edgecolors="#d62728", linewidths=2, zorder=5)
        ax.annotate(f"{choice.name}: {p.replicas}×{p.gpus_per_replica} {p.gpu} ({p.provider})",
                    (p.latency_s[key] * 1e3, p.monthly_cost_usd), textcoords="offset points", xytext=(6, 6),
                    fontsize=8, color="#d62728")
    if d.target_s is not None:
        ax.axvline(d.target_s * 1e3, color="#2ca02c", ls="--", label=f"target {d.target_s * 1e3:,.0f} ms")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(("TTFT" if key == "ttft_p95" else "latency") + " p95, ms")
    ax.set_ylabel("USD per month (peak replicas)")


def pareto_figure_bytes(decision: Decision, profile: str, fmt: str) -> bytes:
    """The plot as PNG or SVG bytes: one panel per decided section."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [s for s in (decision.training, decision.inference) if s is not None]
    fig, axes = plt.subplots(1, len(panels), figsize=(7.5 * len(panels), 5.5), squeeze=False)
    for ax, section in zip(axes[0], panels):
        if isinstance(section, TrainingDecision):
            _training_axes(ax, section)
            ax.set_title(f"{profile}: training cost vs time")
        else:
            _serving_axes(ax, section)
            ax.set_title(f"{profile}: serving cost vs p95 latency")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=110, metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    return buffer.getvalue()


def plot_format(path: Path) -> str:
    """'png' or 'svg' from the file name, or an InputError."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"--plot {path}: expected a .png or .svg file name", field="--plot")
    return fmt


def write_pareto_plot(decision: Decision, profile: str, path: Path) -> None:
    """Write the Pareto plot to `path` (.png or .svg), atomically."""
    from planner.io.atomic import write_bytes_atomic

    fmt = plot_format(path)
    write_bytes_atomic(path, pareto_figure_bytes(decision, profile, fmt))
