"""Tables of measurement records: the summary `gpuplan profile`/`calibrate` print at the end, and
`gpuplan calibration list`. Rows are plain data (a test can read them); rendering uses rich."""
from __future__ import annotations

import io
from typing import Any

from planner.catalog.load import Catalog
from planner.efficiency.records import StoredCalibration
from planner.readable import compact
from planner.render.console import Column, TextConsole, fit_table, make_console, print_lines
from planner.schema.record import EMULATED_SHARE, MeasurementRecord, WorkPoint, emulated


def peak_rows(record: MeasurementRecord, catalog: Catalog | None = None) -> list[dict[str, Any]]:
    """Measured peaks, with the datasheet figure and the ratio when the device is a catalog GPU."""
    spec = catalog.gpus.get(record.device.catalog_id) if catalog and record.device.catalog_id else None
    rows = []
    for precision, tflops in record.peaks.matmul_tflops.items():
        sheet = spec.peak_tflops.get(precision) if spec else None
        rows.append({"what": f"matmul {precision}", "measured": tflops, "unit": "TFLOP/s", "datasheet": sheet,
                     "ratio": tflops / sheet if sheet else None})
    sheet_bw = spec.memory_bandwidth_gbs if spec else None
    bw = record.peaks.memory_bandwidth_gbs
    rows.append({"what": "memory bandwidth", "measured": bw, "unit": "GB/s", "datasheet": sheet_bw,
                 "ratio": bw / sheet_bw if sheet_bw else None})
    return rows


def _console(buffer: io.StringIO) -> TextConsole:
    return make_console(buffer)


def render_record_summary(record: MeasurementRecord, catalog: Catalog | None = None) -> str:
    """Peaks (vs datasheet), every measured point (time, spread, efficiency), fits and all-reduce."""

    buffer = io.StringIO()
    console = _console(buffer)
    device = record.device
    who = device.name + (f" = {device.catalog_id}" if device.catalog_id else "")
    peak_body = []
    for row in peak_rows(record, catalog):
        sheet = f"{row['datasheet']:,.4g} {row['unit']}" if row["datasheet"] else "–"
        ratio = f"{row['ratio']:.0%}" if row["ratio"] else "–"
        peak_body.append([row["what"], f"{row['measured']:,.4g} {row['unit']}", sheet, ratio])
    console.print(fit_table(console, [Column("what"), Column("measured", "right"), Column("datasheet", "right"),
                                      Column("of datasheet", "right")], peak_body,
                            title=f"Measured peaks on {who}"))
    body = []
    for w in record.workloads:
        # a calibration measures two sizes of a reference model into one workload, with the same labels: the size
        # tells their rows apart
        sized = len({p.params for p in w.points}) > 1
        for p in w.points:
            memory = f"{p.peak_memory_bytes / 1e6:,.1f} MB" if p.peak_memory_bytes is not None else ""
            label = f"{compact(p.params)} params, {p.label}" if sized else p.label
            body.append([f"{w.family} {w.kind} {w.precision}", label, f"{p.seconds * 1e3:,.2f} ms",
                         f"{p.iqr_seconds / p.seconds:.1%}", f"{p.efficiency:.0%}", memory])
    # family, kind and precision in one column that is never dropped: a narrow terminal dropped family and precision
    # first, leaving a calibration's rows ("train step, batch 1 × 128 tokens" six times) impossible to tell apart
    # (new-user QA)
    console.print(fit_table(console, [Column("workload"), Column("what"), Column("median", "right"),
                                      Column("IQR/median", "right", drop=2), Column("efficiency", "right"),
                                      Column("peak memory", "right", drop=1)], body,
                            title="Measured steps and calls (efficiency: achieved ÷ measured peak)"))
    for model in dict.fromkeys(w.model for w in record.workloads):
        print_lines(console, [f"reference model: {model}"])
    for w in record.workloads:
        per_param = f" + {w.fit.per_param:.3g}·N" if w.fit.per_param else ""
        print_lines(console, [f"fit {w.family} {w.kind} {w.precision}: efficiency = {w.fit.e_max:.3f} · x / (x + "
                              f"{w.fit.size_half:.3g}{per_param}), σ(ln) {w.fit.log_sigma:.2f}, {w.fit.n} points"
                              + (" — reduced model" if w.reduced else "")])
    if record.comm is not None:
        c = record.comm
        print_lines(console, [f"all-reduce ({c.backend}, {c.world_size} ranks): bus bandwidth "
                              f"{c.bus_bandwidth_gbs:.3g} GB/s, latency {c.latency_us:.3g} µs per step"])
    console.print()
    print_lines(console, ["What this means:"])
    print_lines(console, renter_lines(record, catalog), "- ")
    return buffer.getvalue()


_ABOVE_PEAK = ("above the {what}, so doubtful (timing noise, a {what} benchmark that ran low on a loaded machine, or "
               "on a CPU a model whose {cache} stay in cache); the record caps its efficiency at 100%.")
"""What a measured call above the peak it is divided by means (planner/profiler/workloads.py _clip caps it in the
record; new-user QA round 13: the summary printed 'MFU 113%' and '267% of memory bandwidth' unflagged beside a table
showing 100%)."""


def _spread_note(point: WorkPoint) -> str:
    """A sentence flagging a point whose timings' interquartile range exceeds their median (the middle half of the
    runs spans more than the time reported, so the figure read from it is not a stable one), else ''. New-user QA
    round 13: the docs' CPU record read 'prefill … MFU 67%' from a point of IQR/median 475%, shown only in a column
    a narrow terminal drops."""
    if point.iqr_seconds <= point.seconds:
        return ""
    return f" Its timings spread wider than their median (IQR/median {point.iqr_seconds / point.seconds:.0%}): doubtful."


def renter_lines(record: MeasurementRecord, catalog: Catalog | None = None) -> list[str]:
    """What was measured, in a renter's words: per measured kind, the best achieved TFLOP/s against the peak
    (datasheet when the device is a catalog GPU, else the measured matmul peak) — the MFU —, and the next step."""
    spec = catalog.gpus.get(record.device.catalog_id) if catalog and record.device.catalog_id else None
    lines = []
    for w in record.workloads:
        if w.kind == "decode":
            best = max(w.points, key=lambda p: p.bytes_moved / p.seconds if p.bytes_moved else 0.0)
            if best.bytes_moved:
                achieved = best.bytes_moved / best.seconds / 1e9
                peak = spec.memory_bandwidth_gbs if spec else record.peaks.memory_bandwidth_gbs
                share = f"{achieved / peak:.0%} of memory bandwidth"
                lines.append(f"{w.family} decode ({w.precision}): {achieved:,.3g} GB/s of "
                             f"{'the datasheet' if spec else 'the measured'} {peak:,.4g} GB/s = "
                             + (f"{share} (decode is bound by reading weights)." if achieved <= peak else
                                f"{share}: {_ABOVE_PEAK.format(what='bandwidth', cache='weights and KV cache')}")
                             + _spread_note(best))
            continue
        best = max(w.points, key=lambda p: p.model_flops / p.seconds)
        achieved = best.model_flops / best.seconds / 1e12
        sheet = spec.peak_tflops.get(w.precision) if spec else None
        flops_peak = sheet or record.peaks.matmul_tflops.get(w.precision)
        what = {"train": "training step", "infer": "forward pass", "prefill": "prefill"}.get(w.kind, w.kind)
        if flops_peak:
            lines.append(f"{w.family} {what} ({w.precision}, {best.label}): {achieved:,.3g} TFLOP/s of "
                         f"{'the datasheet' if sheet else 'the measured matmul'} peak {flops_peak:,.4g} TFLOP/s — "
                         f"MFU {achieved / flops_peak:.0%}"
                         + ("." if achieved <= flops_peak else
                            f": {_ABOVE_PEAK.format(what='peak', cache='weights and activations')}")
                         + _spread_note(best))
    fp32 = record.peaks.matmul_tflops.get("fp32")
    for precision, tflops in record.peaks.matmul_tflops.items():
        if precision != "fp32" and fp32 and emulated(record.peaks.sweep, precision):
            lines.append(f"{precision} matmuls ran at {tflops:,.3g} TFLOP/s here, under {EMULATED_SHARE:.0%} of "
                         f"fp32's {fp32:,.4g}: no {precision} unit on this device, so its larger sizes were not "
                         f"measured.")
    where = record.device.catalog_id or f"this {record.device.type.upper()} ({record.device.name})"
    if record.device.type == "cpu" or spec is None:
        lines.append(f"These figures describe {where}, not a GPU you would rent: planning uses them only for its "
                     f"'this machine' row. The measurement that pays off is on the GPU you mean to rent: run "
                     f"`gpuplan calibrate --print-script` and run that script on a rented VM of that type.")
    else:
        lines.append(f"To plan with these figures: `gpuplan estimate PROFILE --measurements FILE` (this machine), "
                     f"or store a calibration with `gpuplan calibration add FILE` so every {where} plan uses it. "
                     f"For another GPU type: run `gpuplan calibrate --print-script` on the GPU you mean to rent.")
    return lines


def calibration_rows(calibrations: list[StoredCalibration], catalog: Catalog) -> list[dict[str, Any]]:
    """One row per stored record: device, when, software, and each measured peak against its datasheet."""
    rows = []
    for cal in calibrations:
        r = cal.record
        rows.append({"file": cal.path.name, "device": r.device.name, "catalog_id": r.device.catalog_id,
                     "type": r.device.type, "measured_at": r.measured_at.isoformat(),
                     "torch": r.device.torch_version, "driver": r.device.driver,
                     "peaks": peak_rows(r, catalog), "workloads": len(r.workloads)})
    return rows


def render_calibration_list(rows: list[dict[str, Any]]) -> str:
    """The calibration store as a table."""

    buffer = io.StringIO()
    console = _console(buffer)
    if not rows:
        print_lines(console, ["No calibrations stored. Run `gpuplan calibrate` on a GPU and "
                              "`gpuplan calibration add FILE`."])
        return buffer.getvalue()
    body = []
    for row in rows:
        peaks = "; ".join(f"{p['what']} {p['measured']:,.3g} {p['unit']}"
                          + (f" ({p['ratio']:.0%})" if p["ratio"] else "") for p in row["peaks"])
        body.append([row["catalog_id"] or f"({row['type']})", row["device"], row["measured_at"],
                     f"{row['torch']} / {row['driver'] or '–'}", peaks, str(row["workloads"]), row["file"]])
    console.print(fit_table(console, [Column("GPU"), Column("device", drop=3), Column("measured", drop=4, identifies=True),
                                      Column("torch / driver", drop=5), Column("peaks measured (vs datasheet)"),
                                      Column("workloads", drop=2), Column("file", drop=1)], body,
                            title="Calibrations"))
    return buffer.getvalue()
