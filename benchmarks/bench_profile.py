#!/usr/bin/env python3
"""Benchmark of `gpuplan profile` (not a test): the figures of issue 3's "Numbers to reach".

1. `gpuplan profile PROFILE --quick` wall time for every example profile (target ≤ 60 s), and the spread
   (IQR/median) of every time the record reports (target ≤ 5 %).
2. Self-consistency: for each reference family, training steps are measured over a grid of widths × batches;
   the efficiency curve is fitted on part of the grid and the core's step time, model FLOP / (measured peak ×
   fitted efficiency) — training.py's compute time on one device — is compared with the measured time at the
   held-out widths and batches (target within 15 %).

3. LoRA: a LoRA step's time against a full step of the same model (the core's FLOP ratio is 2/3), and the
   LoRA efficiency curve's predictions at held-out widths and batches.

Run: .venv/bin/python benchmarks/bench_profile.py [--skip-cli | --lora-only]
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")


def quick_wall_times() -> None:
    from planner.efficiency.records import load_record

    print("1. gpuplan profile --quick (wall time, spread of the reported times)")
    print(f"{'profile':28} {'wall s':>7} {'points':>6} {'max IQR/median':>15} {'median IQR/median':>18} "
          f"{'≤5 %':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for profile in sorted((ROOT / "profiles").glob("*.yaml")):
            out = Path(tmp) / f"{profile.stem}.yaml"
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "planner", "profile", str(profile), "--quick", "--out", str(out)],
                           cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            wall = time.perf_counter() - start
            record = load_record(out)
            spreads = sorted(p.iqr_seconds / p.seconds for w in record.workloads for p in w.points)
            spreads += [m.spread for m in record.peaks.sweep]
            spreads.sort()
            within = sum(s <= 0.05 for s in spreads)
            print(f"{profile.stem:28} {wall:7.1f} {len(spreads):6d} {max(spreads):15.1%} "
                  f"{spreads[len(spreads) // 2]:18.1%} {within:>3}/{len(spreads)}")


def _cpu_fp32_peak():
    """Measured fp32 matmul peak of this CPU: (TFLOP/s, Peak for the core's efficiency)."""
    from planner.profiler.microbench import matmul_point
    from planner.profiler.workloads import Peak

    tflops = max(matmul_point("fp32", n, "cpu", 1.0).tflops for n in (512, 1024, 1536))
    return tflops, Peak({"fp32": tflops * 1e12}, 0.0)


def self_consistency() -> None:
    from planner.efficiency.curve import fit_efficiency_curve
    from planner.profiler.workloads import measure_train
    from planner.schema.model import Architecture

    print("\n2. Self-consistency: predicted (fit on other sizes) vs measured training step, fp32, AdamW")
    peak_tflops, peak = _cpu_fp32_peak()
    print(f"measured fp32 matmul peak: {peak_tflops:.3f} TFLOP/s")
    families = {
        "decoder": lambda k: Architecture(name=f"d{k}", family="decoder", layers=2, hidden=64 * k, heads=k,
                                          kv_heads=max(1, k // 2), ffn_hidden=(8 * 64 * k // 3) // 8 * 8, vocab=2048,
                                          seq_len=128, activation="swiglu"),
        "encoder": lambda k: Architecture(name=f"e{k}", family="encoder", layers=2, hidden=64 * k, heads=k,
                                          vocab=2048, seq_len=128),
        "cnn": lambda k: Architecture(name=f"c{k}", family="cnn", blocks=[1, 1, 1, 1], width=4 * k, image_size=64,
                                      num_classes=100),
        "mlp": lambda k: Architecture(name=f"m{k}", family="mlp", layers=3, hidden=128 * k,
                                      params=3 * ((128 * k) ** 2 + 128 * k)),
    }
    widths, batches, fit_batches = (2, 4, 6), [1, 2, 4, 8], {1, 4, 8}
    print(f"{'family':8} {'held-out point':34} {'measured ms':>12} {'predicted ms':>13} {'error':>7}")
    errors = []
    for family, make in families.items():
        points = {k: measure_train(make(k), batches, "fp32", "adamw", peak, "cpu", 1.0, memory=False)
                  for k in widths}
        # fit on the outer widths at batches 1, 4, 8; hold out the middle width and every batch-2 point
        train = [p for k in (widths[0], widths[-1]) for p in points[k] if p.batch in fit_batches]
        fit = fit_efficiency_curve([p.size for p in train], [p.efficiency for p in train], [p.params for p in train])
        held = [(k, p) for k in widths for p in points[k] if k == widths[1] or p.batch not in fit_batches]
        for k, p in held:
            predicted = p.model_flops / (peak.flops["fp32"] * fit.at(p.size, p.params))
            error = (predicted - p.seconds) / p.seconds
            errors.append(abs(error))
            print(f"{family:8} {f'width ×{k}, ' + p.label:34} {p.seconds * 1e3:12.2f} {predicted * 1e3:13.2f} "
                  f"{error:+7.1%}")
    errors.sort()
    print(f"held-out points: {len(errors)}, median |error| {errors[len(errors) // 2]:.1%}, "
          f"max {errors[-1]:.1%}, within 15 %: {sum(e <= 0.15 for e in errors)}/{len(errors)}")


def lora_steps() -> None:
    """A LoRA step against a full step of the same decoder, and the LoRA curve's predictions at held-out widths."""
    from planner.efficiency.curve import fit_efficiency_curve
    from planner.profiler.workloads import measure_train
    from planner.schema.model import Architecture

    print("\n3. LoRA (r=16) steps, fp32, AdamW: time against a full step, and predicted vs measured")
    peak_tflops, peak = _cpu_fp32_peak()

    def make(k: int) -> Architecture:
        return Architecture(name=f"d{k}", family="decoder", layers=2, hidden=64 * k, heads=k, kv_heads=max(1, k // 2),
                            ffn_hidden=(8 * 64 * k // 3) // 8 * 8, vocab=2048, seq_len=128, activation="swiglu")
    widths, batches, fit_batches = (2, 4, 6), [1, 2, 4, 8], {1, 4, 8}
    full = measure_train(make(4), batches, "fp32", "adamw", peak, "cpu", 1.0, memory=False)
    lora = {k: measure_train(make(k), batches, "fp32", "adamw", peak, "cpu", 1.0, memory=False, method="lora")
            for k in widths}
    print(f"{'width ×4, batch':16} {'full ms':>9} {'LoRA ms':>9} {'LoRA/full':>10} {'core FLOP ratio':>16}")
    for f, lo in zip(full, lora[4]):
        print(f"{f.batch:16d} {f.seconds * 1e3:9.2f} {lo.seconds * 1e3:9.2f} {lo.seconds / f.seconds:10.2f} "
              f"{lo.model_flops / f.model_flops:16.2f}")
    train = [p for k in (widths[0], widths[-1]) for p in lora[k] if p.batch in fit_batches]
    fit = fit_efficiency_curve([p.size for p in train], [p.efficiency for p in train], [p.params for p in train])
    errors = []
    for k in widths:
        for p in lora[k]:
            if k == widths[1] or p.batch not in fit_batches:
                predicted = p.model_flops / (peak.flops["fp32"] * fit.at(p.size, p.params))
                errors.append(abs(predicted - p.seconds) / p.seconds)
                print(f"width ×{k}, {p.label:40} {p.seconds * 1e3:9.2f} ms measured {predicted * 1e3:9.2f} ms "
                      f"predicted {(predicted - p.seconds) / p.seconds:+7.1%}")
    errors.sort()
    print(f"held-out LoRA points: {len(errors)}, median |error| {errors[len(errors) // 2]:.1%}, "
          f"within 15 %: {sum(e <= 0.15 for e in errors)}/{len(errors)}")


if __name__ == "__main__":
    if "--lora-only" in sys.argv:
        lora_steps()
        sys.exit(0)
    if "--skip-cli" not in sys.argv:
        quick_wall_times()
    self_consistency()
    lora_steps()
