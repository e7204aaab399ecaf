#!/usr/bin/env python3
"""Benchmark (not a test): in-process CPU time of `planner.api.plan` on every example profile, analytic and with
`simulate=True`, and how often the serving search asks for M/D/c quantiles (calls vs distinct arguments).

Run: .venv/bin/python benchmarks/bench_plan.py [--no-simulate] [--serving]   (--serving: the profiles with an
inference section only)
Target (issue 17): `--simulate --top 0` ≤ 3 s per profile (cold, whole command: benchmarks/bench_simulate.py);
issue 12: the serving search no slower than before the exact M/D/c model. CPU time (time.process_time), median of
REPEATS runs in one process after one warm-up run, so import time and first-call caches are not counted; the
in-process memos (planner/model/md_c.py) are cleared before every run, so each run pays for its own misses.
Issue 15: the full training search ≤ 50 ms in-process. Last measured (2026-11-30, the search's fifth round, medians
of 5, 3 rounds alternating with the tree before it, load average 6-8 on 2 cores; docs/internals.md 'Performance'):
analytic pretrain-1b-72h 406-439 -> 240-250 ms CPU, resnet50-imagenet 357-370 -> 187-197 ms, bert-train-then-serve
531-587 -> 348-388 ms, lora-7b-a6000 59-63 -> 38-41 ms: the 50 ms target is not met. Sixth round (2026-11-30:
communication terms shared across GPUs, layouts keys that read alike sharing one list; docs/internals.md): CPU
medians moved within the busy machine's ±15 % noise; instructions per plan() (valgrind callgrind, deterministic)
pretrain-1b-72h 1,249 -> 1,175 M (-6.0 %), resnet50-imagenet 1,008 -> 908 M (-9.8 %), bert-train-then-serve's
serving section 663 -> 639 M (-3.6 %). Seventh round (2026-11-30: counts whose floor shows they change no output are
not timed, plans/count_bound.py and plans/pruning.py; docs/internals.md): medians of 5, 3 runs alternating with main
before it, pretrain-1b-72h 224-236 -> 111-123 ms CPU, resnet50-imagenet 170-186 -> 93-95 ms, lora-7b-a6000 32-35 ->
33-35 ms; instructions per plan() pretrain-1b-72h 1,259 -> 734 M, resnet50-imagenet 1,006 -> 604 M, lora-7b-a6000
210 -> 198 M. The 50 ms target is still not met (what is left: docs/internals.md 'Performance'). Eighth round
(2026-11-30: the counts past each offer's cheapest in blocks on a heap, fits per memory size, the floors at the
search's tensor degrees; main 58ea8a2 vs 283d395, medians of 5, 3 runs alternating): pretrain-1b-72h 105-110 -> 97-101
ms CPU, resnet50-imagenet 80-89 -> 67-80 ms, lora-7b-a6000 28-29 -> 27-28 ms; instructions per plan()
pretrain-1b-72h 760 -> 682 M, resnet50-imagenet 603 -> 555 M. Ninth round (2026-12-01: the floors' fits flat, their
shapes made when reached, NCCL's least latency without the plateaus, their memos dropped after the search; main with
and without fd06a03 and 318e70a, medians of 5, 3 runs alternating, load average ~12): pretrain-1b-72h 103-105 -> 90-93
ms CPU, resnet50-imagenet 84-85 -> 71-72 ms, lora-mixtral-8x7b (no floors) unchanged; instructions per plan()
pretrain-1b-72h 691 -> 603 M, resnet50-imagenet 572 -> 496 M, the floors alone 328 -> 246 M (docs/internals.md).
Layout search covering every tensor degree and pipeline depth that fits (2026-12-01, 966a9bd: a correctness fix, the
least that fits was up to 6x slower on slow networks; docs/internals.md 'Layout choice'): slower, medians of 5, 3 runs
alternating with the tree before, load ~8: pretrain-1b-72h 69-79 -> 116-123 ms CPU, resnet50-imagenet 62-68 -> 95-102
ms, lora-7b-a6000 22-23 -> 34-35 ms; context-parallel layouts likewise: long-context-llama-8b 37-38 -> 48-50 ms.
Tenth round (2026-12-01: no collector pass at the end of plan(), the training curve's per-GPU terms kept, NCCL's least
latency written out, the M/D/c FFT path without numpy's dispatch, headroom_slo kept; main with and without 916c551,
64590f6, c6be7c6, bab5edd, medians of 5, 3 runs alternating, load 9-12): instructions per plan() pretrain-1b-72h
1,007 -> 969 M (-3.8 %); CPU within the load's noise for the training profiles (pretrain-1b-72h ~150 ms on the busy
machine), serve-gpt-oss-120b-chat 40-44 -> 37-39 ms, bert-train-then-serve 239-272 -> 235-245 ms, serve-7b-chat
279-325 -> 271-291 ms. The 50 ms target is not met (docs/internals.md 'Performance', the tenth round).
Eleventh round (2026-12-01: quick floors from the degrees alone, the floor worked out only where they do not
exclude a count; measured and dropped, branch speed-quick-floors): instructions per plan() with the collector off
pretrain-1b-72h 1,059 -> 1,062 M, resnet50-imagenet 783 -> 901 M. With it on, instructions per plan() over runs of 0
and 2 plans swing by +-30 % with whether a collection falls inside them: compare trees with gc.disable().
Twelfth round (2026-12-01, 411491d: md_c_wait's log z as ln r + i*theta instead of np.log's clog; docs/internals.md):
instructions per cold plan() (gc off) serve-7b-chat 1,694 -> 1,548 M (-8.6 %), serve-gpt-oss-120b-chat 221 -> 215 M;
CPU medians of 5, 3 runs alternating, load ~2: serve-7b-chat 217-231 -> 205-208 ms, serve-gpt-oss-120b-chat 27-29 ->
28-30 ms. Targets not met: serve-7b-chat ~205 ms cold, bert-train-then-serve ~210-270 ms, pretrain-1b-72h ~150 ms.
Thirteenth round (2026-12-01, f47efc8: the floors' fits shared by offer shapes that read alike, trials found on a
list of floats, training_memory's job terms once, searched_offers without frozen __init__s, the accuracy digest once
per file state; docs/internals.md): instructions per plan() (callgrind, gc off, runs of 0 and 2 after a warm-up,
main 84976c3 before) pretrain-1b-72h 1,008 -> 916 M, bert-train-then-serve 1,390 -> 1,269 M, resnet50-imagenet 823
-> 759 M, serve-7b-chat 1,541 -> 1,521 M, serve-gpt-oss-120b-chat 215 -> 210 M, lora-7b-a6000 304 -> 282 M, and
with the TrainingMemory commit after it lora-mixtral-8x7b 686 -> 630 M. CPU at load ~8.7 moved within its ±30 % noise; main on the quiet machine
(load 0.6): pretrain-1b-72h 171 ms, resnet50-imagenet 127 ms, bert-train-then-serve 208 ms, serve-7b-chat 227 ms,
lora-mixtral-8x7b 139 ms, long-context-llama-8b 67 ms, lora-7b-a6000 44 ms, serve-gpt-oss-120b-chat 30 ms. Targets
not met.
The serving numerics (2026-12-01: md_c_wait's transforms as pocketfft's ufuncs, growth_root without max(), each
queue's bracket grids kept; docs/internals.md): instructions per cold plan() (OPENBLAS_NUM_THREADS=1 — its spinning
threads swing the counts by +-25 % —, gc off) serve-7b-chat 1,538 -> 1,503 M, serve-gpt-oss-120b-chat 214 -> 210 M,
bert-train-then-serve 1,385 -> 1,384 M, the M/D/c numerics replayed alone 694 -> 652 M; CPU within the load's noise
(serve-7b-chat 272-301 -> 250-313 ms, load 7-8). Count a tree after one run in its folder (docs/internals.md).
Fifteenth round (2026-12-01: batches pruned by the cost bound without their configuration, dynamic batching's
unbound batch state shared across batch limits; docs/internals.md): instructions per cold plan() serve-7b-chat
1,486 -> 1,449-1,455 M, with the quantile store warm 916 -> 889-893 M, bert-train-then-serve 1,266 -> 1,235-1,240 M;
CPU within the load's noise. Targets not met (serve-7b-chat ~205-260 ms cold, what is left: docs/internals.md).
Then one candidate for dynamic batching's limits that share their percentiles: bert-train-then-serve 1,232 -> 1,179 M.
Then a decode step's batch-independent terms once per tensor degree: serve-7b-chat 1,455 -> 1,436 M cold, 890 -> 875 M
store warm. The round in all (afb9c3a before): serve-7b-chat 1,486 -> 1,436 M cold, 916 -> 875 M warm; bert 1,266 ->
~1,180 M (its training search as at afb9c3a).
Sixteenth round (2026-12-01: coarse floors from the degrees alone, the finer floors worked out only where they
decide, plans/count_bound.py coarse_floors; docs/internals.md): instructions per plan() (callgrind, gc off,
OPENBLAS_NUM_THREADS=1, the trees counted one after the other, main afb9c3a before) pretrain-1b-72h 911 -> 774 M,
resnet50-imagenet 759 -> 662 M, bert-train-then-serve 1,268 -> 1,095 M, lora-7b-a6000 277 -> 180 M. CPU at load
4-5 moved within its noise (pretrain-1b-72h 170-219 -> 161-188 ms). The 50 ms target is not met.
Seventeenth round (2026-12-01: _fastest skips layouts whose floor passes the fastest found, without their StepComm;
docs/internals.md): instructions per plan() (callgrind, gc off, OPENBLAS_NUM_THREADS=1, PYTHONHASHSEED=0, setarch -R,
main 1f20df5 before) pretrain-1b-72h 641 -> 609 M, bert-train-then-serve 864 -> 845 M, resnet50-imagenet 524 -> 507 M,
lora-7b-a6000 311 -> 304 M. Coarse floors at the micro-batch the search picks: measured and dropped (bert-train-then-
serve 986 -> 1,024 M). The same tree's count moved 609 -> 744 M between jobs 16 minutes apart: compare trees only
within one job. The 50 ms target is not met.
Eighteenth round (2026-12-01: the layout search's candidate layouts from the floors' fits, coarse floors first for GPUs
without the job's precision, the heap's small blocks as single counts, the coarse floors' curve terms hoisted;
docs/internals.md): instructions per plan() (callgrind, gc off, OPENBLAS_NUM_THREADS=1, PYTHONHASHSEED=0, setarch -R,
main dc02c32 before, 1963381 after, one job) pretrain-1b-72h 744 -> 696 M, bert-train-then-serve 985 -> 957 M,
resnet50-imagenet 642 -> 629 M, lora-7b-a6000 304 -> 281 M; then the heap's single counts left out at once where
already excluded: pretrain-1b-72h 697 -> 680 M, resnet50-imagenet 630 -> 627 M, bert-train-then-serve
957 -> 956 M. CPU within the load's noise (pretrain-1b-72h ~120-145 ms). The 50 ms target is not met.
Nineteenth round (2026-12-01: the fast probes' heap one entry per target, named tuples and layouts made without their
classes' Python-level constructors, efficiency copies with evolve, each offer's counts once, coarse floors keyed by
one int, the finer floors' closure per offer shape; docs/internals.md): instructions per plan() (callgrind, gc off,
OPENBLAS_NUM_THREADS=1, PYTHONHASHSEED=0, setarch -R) 9c93cd6 against main a6336cb: pretrain-1b-72h 681 -> 641 M,
bert-train-then-serve 956 -> 922 M, resnet50-imagenet 626 -> 590 M, lora-7b-a6000 277 -> 269 M; the commit after it
against 9c93cd6 on main 498f25a: pretrain-1b-72h 618 -> 602 M, bert-train-then-serve 899 -> 887 M, resnet50-imagenet
569 -> 564 M, lora-7b-a6000 248 -> 243 M. CPU within the load's noise (pretrain-1b-72h ~135-190 ms at load 4-7).
The 50 ms target is not met. Count a tree only once its files have settled (2 s, planner/io/statcache.py), or the
run of 0 writes remembered digests the run of 2 reads and the count comes out low. Then block minima by map, instances
per offer shape, candidate_counts by bisection: pretrain-1b-72h 603 -> 597 M, resnet50-imagenet 563 -> 559 M,
bert-train-then-serve 887 -> 883 M, lora-7b-a6000 242 -> 241 M (d650be8 before).
Twentieth round (2026-12-01: pipelines fitted and made only where a floor or the layout search cannot rule them out,
plans/count_bound.py Pipe, plans/training.py LazyPipe; docs/internals.md): instructions per plan() (callgrind, as
above, trees alternating in one job, main 8fa456a before) pretrain-1b-72h 596 -> 554-555 M (-7.0 %); 4f9e1ba against
3325113 in a later job: bert-train-then-serve 2,432 -> 2,433 M, resnet50-imagenet 559 -> 561 M, lora-7b-a6000 241 ->
225 M (-6.9 %). Then 1b4ff3f (offers copied with the assumed network without model_copy): pretrain-1b-72h 554 -> 551 M.
CPU within the load's noise. The 50 ms target is not met (pretrain-1b-72h ~551 M, ~115-160 ms CPU at load 4-7).
Twenty-first round (2026-12-01: the coarse floors' micro-batch caps from the first trial's room where it surely fits,
plans/count_bound.py _micro_caps; counts with more replicas than samples take their candidate layouts from the floors'
fits, plans/training.py lazy_entries; docs/internals.md): instructions per plan() (callgrind as above, run of 1 less run
of 0, main 5206677 before) pretrain-1b-72h 555 -> 526 -> 517 M (-6.8 %; finer floors 1,200 -> 720), resnet50-imagenet
545 -> 547 -> 546 M, lora-7b-a6000 220 -> 207 M, bert-train-then-serve 2,432 -> 2,426 M. CPU within the load's noise
(pretrain-1b-72h ~165-185 ms at load 7-8). The 50 ms target is not met.
Twenty-second round (2026-12-02, f02014a: offers whose GPU already has a cheaper feasible option deferred, their rows
made when read, plans/search.py RankedRows; serving service times' tile and wave quantisation per (workload, SM
count), gemm_shapes.forward_shape_efficiency_of; docs/internals.md): instructions per plan() (callgrind as above,
main d6da01a before) pretrain-1b-72h 521 -> 470 M (-9.8 %), resnet50-imagenet 551 -> 489 M (-11.3 %), lora-7b-a6000
225 -> 212 M, bert-train-then-serve 2,433 -> 2,282 M; CPU medians of 5, 3 runs alternating, load 4-5: pretrain-1b-72h
137-160 -> 108-132 ms, resnet50-imagenet 133-158 -> 126-145 ms, bert-train-then-serve 476-495 -> 416-429 ms. The
50 ms target is not met.
Serving round (2026-12-01, issue 15: open TTFT verdicts judged on the queue's distribution, the batches between the
powers of two bracketed by other counts', fewer look-ups; docs/internals.md 'The serving search judges open verdicts
on the queue's distribution'): instructions per cold plan() (callgrind as above, main 8fa456a before) serve-7b-chat
1,420 -> 1,333 M, serve-gpt-oss-120b-chat 180 -> 176 M; CPU within the load's noise (serve-7b-chat ~345-400 ms at
load 6-7). The serving search's 100 ms is not met for serve-7b-chat.
Twenty-third round (2026-12-02: the offers of GPUs without the job's precision searched per GPU, their rows made when
read, plans/search.py unusable_by_gpu; expert-parallel layouts under _fastest's floor; the layout fits' trials sharing
their activations and static bytes; docs/internals.md): instructions per plan() (callgrind as above, f00d719 before)
pretrain-1b-72h 472 -> 434 M (-8.1 %), resnet50-imagenet 493 -> 484 M, lora-mixtral-8x7b 559 -> 552 M,
long-context-llama-8b 335 -> 301 M, bert-train-then-serve 2,286 -> 2,240 M. Each section apart as a second estimate
pays it: benchmarks/bench_sections.py (the training search's 50 ms not met for five profiles, ~70-130 ms;
serve-7b-chat's serving ~180 ms).
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 3


def _clear_memos() -> None:
    """Forget what a process remembers between plans (the M/D/c memos, the search's remembered collectives, PCIe
    rates and z-scores), so each run pays its own misses as a fresh `gpuplan estimate` does."""
    from planner.decide import confidence
    from planner.model import interconnect, md_c, nccl
    from planner.plans import options

    clear = getattr(md_c, "clear_memos", None)
    if clear is not None:
        clear()
    for module in (interconnect, nccl, options, confidence):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", "") == module.__name__:
                value.cache_clear()


def _empty_serving_stores() -> None:
    """Remove the M/D/c quantiles and dynamic-batching chains plan() keeps between calls (planner/api.py
    _serving_stores), so that each run computes its own, as a profile's first `gpuplan estimate` does."""
    from planner.io.yamlcache import cache_dir

    for pattern in ("mdc*.bin", "chains-*.bin"):
        for kept in cache_dir().glob(pattern):
            kept.unlink()


def plan_seconds(name: str, simulate: bool) -> float:
    """Median CPU seconds of plan() on profiles/<name>."""
    import planner

    catalog = planner.load_catalog()
    loaded = planner.load_profile(ROOT / "profiles" / name, catalog)
    times = []
    for _ in range(REPEATS + 1):
        _clear_memos()
        _empty_serving_stores()
        start = time.process_time()
        planner.plan(loaded, catalog, simulate=simulate)
        times.append(time.process_time() - start)
    return statistics.median(times[1:])


def main() -> None:
    sys.path.insert(0, str(ROOT))
    # a folder of its own: the stores it empties before each run are not the user's
    os.environ["GPUPLAN_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-plan-")
    modes = (False,) if "--no-simulate" in sys.argv else (False, True)
    for profile in sorted((ROOT / "profiles").glob("*.yaml")):
        if "--serving" in sys.argv and "\ninference:" not in profile.read_text():
            continue
        figures = "  ".join(f"{'simulated' if s else 'analytic'} {plan_seconds(profile.name, s) * 1e3:8.1f} ms CPU"
                            for s in modes)
        print(f"plan() {profile.name:32s} {figures}")


if __name__ == "__main__":
    main()
