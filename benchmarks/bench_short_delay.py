#!/usr/bin/env python3
"""Benchmark (not a test): plan() of bert-train-then-serve at 2,000 req/s with batches of up to 64 and a 0.1 ms
max_queue_delay (issue 12's short-delay case): with a delay that short every close of three or more replicas waits for
one (batching_chain WAITING_SHARE), so the search samples the embedded chain (model/sampled_chain.py,
model/filling_chain.py) or follows the replicas' residuals (leftover_pair_chain, leftover_triple_chain) for every such
count it judges. Prints the CPU of plan(), the chains made by kind, the sampled and filling chains drawn and the
one-server bounds the search made (plans/serving.py _batch_configuration known_over). planner.plan() keeps no chain
between runs (the CLI's store, model/batching_store.py, does): each run is a cold one.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_short_delay.py [ROUNDS]
(another tree: its own .venv/bin/python running this file).

Measured 2026-12-02 (OPENBLAS_NUM_THREADS=1, the 2-core machine shared with four other agents' jobs, load ~8; main
685bb00 and this tree alternated, two rounds; docs/internals.md 'A short delay: fewer chains made, cheaper
samples'): chains made 324 -> 285 (sampled chains drawn 102 -> 77, filling 34 -> 26, leftover_triple_chain solves
10 -> 6; 53 one-server bounds, 13 of them deciding a miss); plan() CPU 48.5-49.7 -> 27.4-27.7 s. Instructions of one
chain (callgrind, the import's 411 M off): sampled, 8 replicas at 5 % of capacity, 739 -> 609 M; filling, 4 replicas
at 73 %, 1,406 -> 1,214 M. The case's outputs (table, JSON, JSON --top 0) are main's bytes.
Later that day (338 chains, 177 filling): the filling chains stop recording once p50/p95/p99 settle (filling_chain
_settled, 137 of 177 after one block of three); plan() CPU 87.8 -> 65.0 s (one run each side by side, load ~9).
"""
from __future__ import annotations

import collections
import sys
import time
from pathlib import Path

import planner
from planner.model import batching_chain as chains

ROOT = Path(__file__).resolve().parents[1]
OVERRIDES = ["inference.rate=2000/s", "inference.max_batch=64", "inference.max_queue_delay=0.1ms"]


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    made: collections.Counter[str] = collections.Counter()
    drawn: collections.Counter[str] = collections.Counter()
    real = chains._made

    def counted(*args):  # type: ignore[no-untyped-def]
        chain = real(*args)
        made[type(chain).__name__] += 1
        return chain

    chains._made = counted
    for name in ("sampled_stationary", "filling_sample", "leftover_triple_stationary", "one_server_low"):
        if hasattr(chains, name):
            def drawing(*args, _f=getattr(chains, name), _name=name, **kwargs):  # type: ignore[no-untyped-def]
                found = _f(*args, **kwargs)
                drawn[_name] += found is not None or _name != "one_server_low"
                return found
            setattr(chains, name, drawing)
    catalog = planner.load_catalog()
    loaded = planner.load_profile(ROOT / "profiles" / "bert-train-then-serve.yaml", catalog, OVERRIDES)
    print(f"planner from {Path(planner.__file__).parent}")
    for _ in range(rounds):
        made.clear()
        drawn.clear()
        start = time.process_time()
        planner.plan(loaded, catalog)
        cpu = time.process_time() - start
        print(f"plan() {cpu:.2f} s CPU; chains made {sum(made.values())} {dict(made)}; drawn {dict(drawn)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
