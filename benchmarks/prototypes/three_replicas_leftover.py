"""Prototype (not used by the planner): three replicas whose batches reach their limit B, followed as two replicas
each 3/2 as fast (residuals 2S(b)/3; many_replicas_closures.py's `two`) on both what full batches leave behind and
the other's residual — planner/model/leftover_pair_chain.py on the faster curve, the latency at S(b), a left block
waiting S(B)/3 (LeftoverChain with those states) — where the planner follows them as one server three times as fast
(LeftoverChain) past MULTI_REPLICA_LOAD and names them known low (issue 12 item 2; docs/serving.md 'Known limits').
The residual grid starts as batching_chain starts pair_chain's, at the one-server chain's SPAN_TAIL tail (2r).

Measured 2026-12-01 as benchmarks/prototypes/leftover_replicas.py measures (bert-train-then-serve's curves, 10 ms
delay; simulate_dynamic_batching, 200,000 requests, seed 1; cached in /tmp/three_replicas_leftover_sims.json):
signed error p50/p95/p99 %; CPU ms of each chain and its three percentiles, OPENBLAS_NUM_THREADS=1, one run on a
shared 2-core machine (the first also imports scipy).

| GPU | B | load | one server (planner) | two 3/2 as fast, left requests | CPU ms, one server | CPU ms, this |
| --- | --- | --- | --- | --- | --- | --- |
| RTX-3060 | 8 | 65 % | +1.8/+0.7/+1.7 | +1.2/+0.2/+0.7 | 49 | 824 (scipy's import) |
| RTX-3060 | 8 | 80 % | +2.3/+3.1/+1.6 | +1.1/+2.5/+0.2 | 6 | 92 |
| RTX-3060 | 8 | 90 % | +2.2/+1.6/+2.0 | +0.9/+1.5/+2.0 | 12 | 204 |
| RTX-3060 | 16 | 65 % | +0.0/−1.2/−6.0 | +0.5/+0.3/+0.5 | 5 | 41 |
| RTX-3060 | 16 | 80 % | −0.9/−8.6/−8.1 | +4.3/+1.0/−0.4 | 8 | 77 |
| RTX-3060 | 16 | 90 % | −4.0/−6.2/−6.4 | +3.6/−0.4/−2.5 | 12 | 202 |
| RTX-3060 | 32 | 65 % | −0.2/−2.5/−8.3 | +0.9/+2.4/+0.8 | 8 | 39 |
| RTX-3060 | 32 | 80 % | −4.3/−22.2/−21.9 | +1.9/−4.8/−4.3 | 15 | 85 |
| RTX-3060 | 32 | 90 % | −19.6/−14.7/−8.0 | −1.6/−2.0/+0.3 | 18 | 272 |
| RTX-3060 | 64 | 65 % | −0.2/−2.6/−8.5 | +1.0/+3.4/+2.4 | 11 | 40 |
| RTX-3060 | 64 | 80 % | −4.1/−21.9/−21.7 | +3.1/−2.0/−2.4 | 18 | 91 |
| RTX-3060 | 64 | 90 % | −23.9/−26.4/−23.2 | −4.3/−6.8/−3.6 | 23 | 306 |
| RTX-3060 | 128 | 65 % | −0.2/−2.6/−8.3 | +0.9/+2.5/+1.0 | 18 | 27 |
| RTX-3060 | 128 | 80 % | −3.9/−21.7/−21.5 | +2.9/−1.5/−1.7 | 21 | 57 |
| RTX-3060 | 128 | 90 % | −22.8/−25.6/−22.2 | −3.5/−5.2/−1.4 | 36 | 41 |
| RTX-3060 | 256 | 65 % | −0.4/−3.3/−8.7 | +0.4/+1.8/+0.8 | 31 | 23 |
| RTX-3060 | 256 | 80 % | −4.1/−22.5/−22.3 | +2.2/−4.1/−4.4 | 44 | 30 |
| RTX-3060 | 256 | 90 % | −24.0/−25.9/−22.4 | −3.6/−5.3/−2.0 | 60 | 44 |
| RTX-A6000 | 8 | 65 % | +2.0/+0.2/−1.0 | +2.1/+0.9/+0.2 | 3 | 32 |
| RTX-A6000 | 8 | 80 % | +2.4/−1.4/−0.3 | +1.4/−1.3/+0.3 | 5 | 49 |
| RTX-A6000 | 8 | 90 % | +1.9/+1.7/+2.7 | +1.1/+1.0/+2.2 | 8 | 165 |
| RTX-A6000 | 16 | 65 % | +0.8/−0.2/+0.3 | +1.1/+0.4/+0.7 | 3 | 31 |
| RTX-A6000 | 16 | 80 % | +1.0/−1.5/−1.1 | +0.7/−0.4/+0.1 | 7 | 72 |
| RTX-A6000 | 16 | 90 % | +1.4/+0.3/+1.4 | +0.2/−0.7/−0.2 | 10 | 212 |
| RTX-A6000 | 32 | 65 % | +0.1/−0.1/−0.1 | +0.1/−0.1/−0.1 | 8 | 67 |
| RTX-A6000 | 32 | 80 % | +0.3/−0.3/−0.2 | +0.1/−0.1/−0.1 | 9 | 147 |
| RTX-A6000 | 32 | 90 % | +1.1/+0.4/+1.1 | +0.3/+0.2/+0.3 | 18 | 304 |
| RTX-A6000 | 64 | 65 % | −0.4/−0.2/−1.1 | −0.4/−0.2/−0.8 | 17 | 83 |
| RTX-A6000 | 64 | 80 % | −3.2/−11.1/−19.8 | −1.6/−6.5/−8.5 | 23 | 221 |
| RTX-A6000 | 64 | 90 % | −11.9/−25.7/−20.4 | +9.8/−1.4/−3.7 | 33 | 1323 |
| RTX-A6000 | 128 | 65 % | −0.4/−0.4/+0.0 | −0.3/−0.3/+0.0 | 27 | 38 |
| RTX-A6000 | 128 | 80 % | −3.0/−12.6/−23.4 | −1.2/−7.5/−9.8 | 39 | 54 |
| RTX-A6000 | 128 | 90 % | −17.8/−43.9/−43.2 | +5.0/−9.2/−9.2 | 63 | 443 |
| RTX-A6000 | 256 | 65 % | −0.5/−0.5/−1.4 | −0.4/−0.4/−1.0 | 44 | 37 |
| RTX-A6000 | 256 | 80 % | −4.2/−17.1/−27.5 | −1.8/−8.3/−6.7 | 59 | 53 |
| RTX-A6000 | 256 | 90 % | −23.5/−46.5/−49.2 | +5.7/−13.8/−19.0 | 87 | 64 |

Within 10 % at every point for limits 8–128 (closest: RTX A6000 B 64 90 % p50 +9.8, B 128 80 % p99 −9.8, B 128 90 %
p95/p99 −9.2), not at 256 (RTX A6000 90 % −13.8/−19.0 p95/p99, where one server was −46.5/−49.2); 23–443 ms but
1.3 s at RTX A6000 B 64 90 %. Not wired in: the margins are thin, B 129–256 would stay known low, and no delay
(T = 0) is unmeasured.

Run: .venv/bin/python benchmarks/prototypes/three_replicas_leftover.py [B,B] [LOAD,LOAD]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import many_replicas_closures as mrc  # noqa: E402

from planner.model.batching_chain import LeftoverChain, _stationary  # noqa: E402
from planner.model.leftover_pair_chain import leftover_pair_stationary  # noqa: E402
from planner.model.pair_chain import SPAN_TAIL  # noqa: E402

mrc.CACHE = Path("/tmp/three_replicas_leftover_sims.json")
QS = [0.5, 0.95, 0.99]
C = 3


def chain(rate: float, limit: int, delay: float, S: mrc.Callable[[float], float]) -> LeftoverChain:
    """Three replicas as two 3/2 as fast, on the requests left behind and the other's residual (docstring)."""
    def faster(b: float) -> float:
        return S(b) * 2.0 / C

    _, weight, r = _stationary(rate, delay, limit, lambda b: np.array([S(float(x)) for x in b.tolist()]) / C)
    order = np.argsort(r)
    beyond = np.cumsum(weight[order][::-1])[::-1]
    span = max(2.0 * float(r[order][np.flatnonzero(beyond > SPAN_TAIL)[-1]]), faster(1.0))
    return LeftoverChain(rate, delay, limit, C, S, leftover_pair_stationary(rate, limit, delay, faster, span))


def main() -> int:
    for name, S, delay, B, load, rate, sim in mrc.cases(C, [8, 16, 32, 64, 128, 256], [0.65, 0.8, 0.9]):
        t = time.process_time()
        base = LeftoverChain(rate, delay, B, C, S).values(QS)
        was = time.process_time() - t
        t = time.process_time()
        got = chain(rate, B, delay, S).values(QS)
        cpu = time.process_time() - t
        cells = ["/".join(f"{100 * (a / sim[q] - 1):+.1f}".replace("-", "−") for a, q in zip(v, mrc.KEYS))
                 for v in (base, got)]
        print(f"| {name} | {B} | {round(load * 100)} % | {cells[0]} | {cells[1]} | {was * 1e3:.0f} | "
              f"{cpu * 1e3:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
