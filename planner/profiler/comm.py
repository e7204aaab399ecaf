"""All-reduce bus bandwidth and latency across N local processes (torch.distributed; gloo on CPU, NCCL on GPUs).

Bus bandwidth follows nccl-tests (doc/PERFORMANCE.md): algbw = S / t, busbw = algbw · 2(n−1)/n. The ring model
(docs/internals.md, 'Communication') t = 2(n−1)·α + 2(n−1)/n · S / B is fitted to the median times by least squares
(scipy.optimize.curve_fit), giving the latency α and the bus bandwidth B.
"""
from __future__ import annotations

import os
import socket
import statistics
import time
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from planner.schema.record import CommPoint, CommRecord


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, backend: str, sizes: list[int], repeats: int, results: Any) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group(backend, rank=rank, world_size=world)
    device = f"cuda:{rank}" if backend == "nccl" else "cpu"
    if backend == "nccl":
        torch.cuda.set_device(rank)
    try:
        times: dict[int, float] = {}
        for size in sizes:
            buf = torch.ones(size // 4, dtype=torch.float32, device=device)
            for _ in range(2):  # warm-up: connection set-up and buffer registration
                dist.all_reduce(buf)
            samples = []
            for _ in range(repeats):
                if backend == "nccl":
                    torch.cuda.synchronize()
                dist.barrier()
                start = time.perf_counter()
                dist.all_reduce(buf)
                if backend == "nccl":
                    torch.cuda.synchronize()
                samples.append(time.perf_counter() - start)
            times[size] = statistics.median(samples)
        if rank == 0:
            results.put(times)
    finally:
        dist.destroy_process_group()


def measure_allreduce(world: int = 2, backend: str | None = None, sizes: list[int] | None = None,
                      repeats: int = 10) -> CommRecord:
    """All-reduce times over message sizes across `world` local processes, and the fitted ring parameters."""
    import numpy as np
    from scipy.optimize import curve_fit

    backend = backend or ("nccl" if torch.cuda.is_available() and torch.cuda.device_count() >= world else "gloo")
    sizes = sizes or [2**k for k in range(12, 25, 2)]  # 4 KiB … 16 MiB
    ctx = mp.get_context("spawn")
    results = ctx.SimpleQueue()
    start = mp.start_processes  # type: ignore[attr-defined]  # torch re-exports it without __all__
    start(_worker, args=(world, _free_port(), backend, sizes, repeats, results), nprocs=world, join=True,
          start_method="spawn")
    times = results.get()
    factor = 2.0 * (world - 1) / world
    points = [CommPoint(bytes=float(s), seconds=times[s], bus_bandwidth_gbs=s / times[s] * factor / 1e9)
              for s in sizes]
    x = np.array([float(s) for s in sizes])
    t = np.array([times[s] for s in sizes])

    def ring(sz: Any, alpha: float, inv_bw: float) -> Any:
        return 2.0 * (world - 1) * alpha + factor * sz * inv_bw

    (alpha, inv_bw), _ = curve_fit(ring, x, t, p0=(1e-5, 1e-9), bounds=([0.0, 1e-15], [1.0, 1.0]),
                                   sigma=t, maxfev=5000)  # relative errors: small and large messages count alike
    return CommRecord(backend=backend, world_size=world, bus_bandwidth_gbs=float(1.0 / inv_bw / 1e9),
                      latency_us=float(alpha * 1e6), points=points)
