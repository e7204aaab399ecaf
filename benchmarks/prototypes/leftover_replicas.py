"""Prototype and measurements of planner/model/leftover_pair_chain.py: dynamic batching on two replicas whose batches
reach their limit B, followed on both what a full batch leaves behind and the other replica's residual (issue 12 item
2; docs/serving.md 'Known limits'). Compared as benchmarks/prototypes/many_replicas_closures.py compares
(bert-train-then-serve's curves, 10 ms delay; simulate_dynamic_batching, 200,000 requests, seed 1; simulations cached
in /tmp/leftover_replicas_sims.json).

Measured 2026-12-01: signed error p50/p95/p99 % against the simulation; `one server` is LeftoverChain on two replicas
(one server twice as fast with what full batches leave behind: the planner's chain past MULTI_REPLICA_LOAD before
this one); the states of each solve ((S(b) groups + requests left followed) × 33 residual grid times); CPU ms of each
chain and its three percentiles, OPENBLAS_NUM_THREADS=1, one run on a shared 2-core machine (the first of a run also
imports scipy).

| GPU | B | load | one server | this chain | states solved | CPU ms, one server | CPU ms, this chain |
| --- | --- | --- | --- | --- | --- | --- | --- |
| RTX-3060 | 8 | 65 % | +0.8/−0.1/+0.8 | +0.4/−0.3/−1.1 | 726, 1,452 | 59 | 860 (scipy's import) |
| RTX-3060 | 8 | 80 % | +0.2/−2.2/−3.3 | +0.2/−1.0/−1.2 | 726, 2,541 | 8 | 92 |
| RTX-3060 | 8 | 90 % | −0.9/−2.2/−1.4 | +0.3/−0.7/−0.6 | 726, 4,422 | 14 | 190 |
| RTX-3060 | 16 | 65 % | −0.1/−4.5/−8.7 | −0.3/−1.1/−2.0 | 924, 1,386 | 6 | 45 |
| RTX-3060 | 16 | 80 % | −2.2/−12.9/−8.3 | −0.4/−0.5/−0.3 | 924, 2,475 | 11 | 96 |
| RTX-3060 | 16 | 90 % | −11.5/−4.3/−3.7 | +0.2/−1.4/−0.9 | 924, 4,488 | 15 | 205 |
| RTX-3060 | 32 | 65 % | −0.3/−4.3/−11.0 | −0.2/+0.4/+0.4 | 990 | 9 | 26 |
| RTX-3060 | 32 | 80 % | −7.7/−16.9/−14.7 | −2.1/−0.5/+0.4 | 957, 2,310 | 12 | 87 |
| RTX-3060 | 32 | 90 % | −17.7/−12.2/−7.4 | −2.0/−1.1/−0.5 | 957, 4,884 | 23 | 268 |
| RTX-3060 | 64 | 65 % | −0.4/−4.6/−11.7 | −0.1/+1.3/+0.7 | 990, 1,056 | 12 | 43 |
| RTX-3060 | 64 | 80 % | −7.9/−16.6/−15.4 | +0.4/+2.0/+2.6 | 1,089, 1,254, 1,518 | 19 | 78 |
| RTX-3060 | 64 | 90 % | −19.6/−18.5/−15.3 | −1.3/−0.2/+2.2 | 1,254, 4,290 | 24 | 213 |
| RTX-3060 | 128 | 65 % | −0.3/−4.6/−11.7 | −0.0/+1.3/+0.7 | 990, 1,056 | 17 | 37 |
| RTX-3060 | 128 | 80 % | −7.9/−16.6/−15.6 | +0.4/+2.0/+2.3 | 1,089, 1,254 | 23 | 62 |
| RTX-3060 | 128 | 90 % | −19.1/−16.7/−13.6 | +1.0/+4.0/+6.3 | 1,089 | 34 | 42 |
| RTX-3060 | 256 | 65 % | −0.3/−4.8/−11.9 | +0.1/+1.5/+0.8 | 990, 1,056 | 34 | 37 |
| RTX-3060 | 256 | 80 % | −10.0/−17.2/−16.2 | −2.0/−0.7/−0.6 | 1,089 | 43 | 25 |
| RTX-3060 | 256 | 90 % | −20.6/−18.3/−14.6 | −0.0/+2.0/+4.9 | 1,122 | 58 | 44 |
| RTX-A6000 | 8 | 65 % | +1.6/−0.1/+0.0 | +1.4/+0.4/+0.0 | 561, 1,320 | 3 | 26 |
| RTX-A6000 | 8 | 80 % | +1.6/−1.8/+0.0 | +0.1/−2.2/+0.0 | 561, 2,376 | 5 | 64 |
| RTX-A6000 | 8 | 90 % | +1.0/+1.2/+1.7 | −1.3/−0.6/+0.0 | 561, 4,488 | 8 | 160 |
| RTX-A6000 | 16 | 65 % | +0.8/−0.5/−1.3 | +0.9/−0.1/−1.3 | 594, 1,320 | 6 | 39 |
| RTX-A6000 | 16 | 80 % | +1.0/−0.9/−0.8 | +0.3/−0.9/−0.8 | 594, 2,409 | 6 | 59 |
| RTX-A6000 | 16 | 90 % | +1.0/+0.1/+1.3 | −0.8/−1.2/−1.1 | 594, 4,521 | 14 | 178 |
| RTX-A6000 | 32 | 65 % | −0.1/−0.3/−0.2 | −0.1/−0.1/+0.3 | 825, 1,584 | 7 | 50 |
| RTX-A6000 | 32 | 80 % | −2.1/−6.0/−8.4 | −0.5/−0.5/−0.3 | 825, 3,366 | 9 | 109 |
| RTX-A6000 | 32 | 90 % | −7.2/−10.9/−9.3 | +1.2/−0.8/−1.3 | 825, 7,854 | 14 | 369 |
| RTX-A6000 | 64 | 65 % | −0.5/−1.8/−2.8 | −0.2/−1.0/−0.7 | 858 | 11 | 25 |
| RTX-A6000 | 64 | 80 % | −6.2/−17.3/−24.7 | −0.8/−0.7/−0.1 | 1,023, 2,805, 2,805 | 18 | 141 |
| RTX-A6000 | 64 | 90 % | −21.7/−32.1/−26.1 | −1.2/−1.6/−0.7 | 1,023, 6,105 | 26 | 398 |
| RTX-A6000 | 128 | 65 % | −0.4/−2.0/−2.5 | −0.1/−0.7/−0.4 | 858 | 19 | 24 |
| RTX-A6000 | 128 | 80 % | −6.9/−18.8/−26.6 | −1.2/−1.7/−1.7 | 1,023 | 29 | 33 |
| RTX-A6000 | 128 | 90 % | −23.9/−34.7/−32.7 | −3.0/−1.0/−0.1 | 1,155, 2,607 | 39 | 133 |
| RTX-A6000 | 256 | 65 % | −0.5/−1.9/−2.7 | −0.1/−0.8/−0.4 | 858 | 30 | 22 |
| RTX-A6000 | 256 | 80 % | −8.0/−22.4/−29.1 | −0.7/−1.6/−1.0 | 1,023 | 43 | 31 |
| RTX-A6000 | 256 | 90 % | −26.9/−34.0/−32.6 | −2.8/−1.1/+0.5 | 1,221 | 78 | 44 |

The oldest left request's delay still to run at a close, U (module docstring of leftover_pair_chain), decides the
rows where many closes leave requests; against U = (T − L/λ)⁺ (above): U = T (LeftoverChain's upper bound) RTX 3060
B 16 at 80/90 % −0.2/+1.7/+7.3 and +4.1/+10.7/+7.9, RTX A6000 B 64 at 90 % +0.9/+8.7/+10.4; U = 0 RTX A6000 B 16
at 90 % +14.1/+13.6/+14.1 (the others within 6 %). The residual grid over 0 … S(B) instead of from the one-server
chain's 1e-6 tail (as batching_chain starts pair_chain's): RTX 3060 B 128 at 65 % +1.2/+7.1/+9.4 (a 13 ms step
against the 10 ms delay). With no delay (T = 0; max_queue_delay unset, U = 0), limits 16 and 64 at 65/80/90 %:
RTX 3060 B 16 +0.1/−0.0/+0.2, −0.3/+0.8/+2.6, −0.2/+5.7/+2.0; B 64 +2.6/+2.5/+3.3, +2.8/+3.0/+4.1, −0.1/+1.1/+4.9;
RTX A6000 B 16 +8.0/+0.2/+0.4, +12.2/+0.7/+0.4, +11.3/+3.8/+2.7 (p50 high where 47–61 % of closes leave requests:
each left block waited S(B)/2; taking E[R | L > 0] instead, −11 % p99 at 90 %); B 64 −0.3/−0.7/−0.4, +0.3/+0.2/−0.4,
−1.9/+0.1/+2.5; 35–450 ms; one server twice as fast −11 to −38 %. Measured again 2026-12-02 with a left block served
when the other replica next frees (only a close at R leaves requests: Q − R after it for the first block, then S(B)
a block, E[Q − R | L, R] from this chain; the table's column above is this timing, moved by at most 5.5 points, RTX
3060 B 16 at 90 %): no delay RTX A6000 B 16 +0.0/−0.2/+0.3, +0.5/−0.3/−0.5, −0.3/−0.7/−0.9; RTX 3060 B 16 +0.1/−0.0/
+0.2, −0.3/+0.7/−0.1, −0.2/−0.8/−0.2; B 64 as before but RTX A6000 at 90 %, −1.8/−1.3/−0.2; B 8 and 32 within
2.2 % on both curves; out of band RTX 3060 B 128 and 256 at 90 %, +7.0/+9.1/+12.1 and +8.2/+9.0/+11.6 (the same
before; not traced). Applied at loads 1–50 % as well (B 16, 64; the
planner applies it past MULTI_REPLICA_LOAD): within 1.5 %.

Run: .venv/bin/python benchmarks/prototypes/leftover_replicas.py [B,B] [LOAD,LOAD] [age|close|due]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import many_replicas_closures as mrc  # noqa: E402

import planner.model.leftover_pair_chain as pairs  # noqa: E402
from planner.model.batching_chain import LeftoverChain, batching_chain  # noqa: E402

mrc.CACHE = Path("/tmp/leftover_replicas_sims.json")
QS = [0.5, 0.95, 0.99]


def main() -> int:
    mode = sys.argv[3] if len(sys.argv) > 3 else "age"
    if mode != "age":
        pairs.remaining = lambda delay, left, rate: np.full(left.shape, delay if mode == "close" else 0.0)
    states: list[int] = []
    solve = pairs._solve

    def counted(step, n):  # type: ignore[no-untyped-def]
        states.append(n)
        return solve(step, n)

    pairs._solve = counted
    for name, S, delay, B, load, rate, sim in mrc.cases(2, [8, 16, 32, 64, 128, 256], [0.65, 0.8, 0.9]):
        t = time.process_time()
        base = LeftoverChain(rate, delay, B, 2, S).values(QS)
        was = time.process_time() - t
        states.clear()
        t = time.process_time()
        got = batching_chain(rate, 2, B, delay, S).values(QS)
        cpu = time.process_time() - t
        cells = ["/".join(f"{100 * (a / sim[q] - 1):+.1f}" for a, q in zip(v, mrc.KEYS)) for v in (base, got)]
        print(f"| {name} | {B} | {round(load * 100)} % | {cells[0]} | {cells[1]} | "
              f"{', '.join(f'{n:,}' for n in states) or '-'} | {was * 1e3:.0f} | {cpu * 1e3:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
