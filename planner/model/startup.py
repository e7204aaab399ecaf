"""A training run's start-up: the wall time (and billed time) before its first step, which no step model holds —
getting rented instances running, then the process group and NCCL communicators. The figures and the sources they
come from: docs/startup_sources.md."""
from __future__ import annotations

PROVISION_S = 101.0
"""Launch of a rented GPU instance until it runs user workloads: 1 min 41 s for an AWS GPU instance with SkyPilot's
image (SkyPilot PR #4091, 2024-10-15; docs/startup_sources.md P1), the one launch-to-ready figure of a GPU instance
with its method stated. Not paid on machines the user owns or on this machine, which are running already."""
NODE_INIT_S = 2.56
"""One NCCL communicator's set-up on one node (alloc, bootstrap, all-gathers, topology, graphs, connections) of
ncclCommInitRankConfig on 8 ranks of a B200 node, NCCL 2.25.1 (NVIDIA/nccl issue #1646, 2025; docs/startup_sources.md
D4); its 52 s of kernel loading there belonged to that install. Paid by runs of more than one GPU."""
RENDEZVOUS_S_PER_RANK = 100.0 / 98_304
"""Seconds per rank of the rendezvous every rank makes with rank 0's store: PyTorch's libuv TCPStore (the default
since 2.4) initialised 96K ranks in 100 s (PyTorch tutorial 'Introduction to Libuv TCPStore Backend', 2024-07-22;
docs/startup_sources.md D2), and NCCL's bootstrap all-gather is a ring of ranks − 1 steps (D6): a term linear in the
ranks."""
DISK_BYTES_PER_S = 1000 * 2**20
"""A run's disk, read and written: 1,000 MiB/s, the per-volume throughput limit of AWS EBS gp3
(docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html): the starting weights a run reads (an adapter's
base, or the pretrained weights a full run says it starts from: plans/training.starting_weight_bytes), and a spot
run's checkpoints (plans/spot.py). Each instance reads from its own volume, in parallel."""


def startup_seconds(gpus: int, provisioned: bool, read_bytes: float = 0.0) -> float:
    """Seconds from launch to the first step of a run on `gpus` GPUs; `provisioned`: on rented instances, which
    must first start (PROVISION_S); `read_bytes`: the starting weights each instance reads before its first step
    (plans/training.starting_weight_bytes: an adapter's frozen base, or the pretrained weights a full run says it
    starts from; else 0)."""
    seconds = PROVISION_S if provisioned else 0.0
    if gpus > 1:
        seconds += NODE_INIT_S + RENDEZVOUS_S_PER_RANK * gpus
    return seconds + read_bytes / DISK_BYTES_PER_S


def startup_note(read_bytes: float = 0.0) -> str:
    """What the report says under the training choices: what the hours include before the first step."""
    seconds = read_bytes / DISK_BYTES_PER_S
    shown = f"{seconds:,.0f}" if seconds >= 10 else f"{seconds:.1f}"  # BERT-base's 0.2 GB: 0.2 s, not "0 s"
    read = (f", and {read_bytes / 1e9:,.1f} GB of starting weights read at {DISK_BYTES_PER_S / 2**20:,.0f} MiB/s "
            f"(EBS gp3's volume limit: {shown} s)") if read_bytes else ""
    return (f"Hours include the start-up: {PROVISION_S:.0f} s until a rented instance runs (not on your own machines), then "
            f"{NODE_INIT_S:.1f} s + {RENDEZVOUS_S_PER_RANK * 1e3:.1f} ms per GPU of NCCL set-up and rendezvous"
            f"{read} (docs/startup_sources.md).")
