"""`gpuplan profile` and `gpuplan calibrate`: decide what to measure, measure it with a progress bar, fit the
efficiency curves and return the record (the CLI writes it atomically)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from planner.catalog.load import Catalog
from planner.efficiency.calibrated import NEAREST_PRECISION
from planner.efficiency.curve import fit_efficiency_curve
from planner.efficiency.records import host_fingerprint, identify_gpu
from planner.model.precision import COMPUTE_PRECISION
from planner.profiler.interrupts import check
from planner.profiler.microbench import (
    copy_bandwidth_gbs,
    matmul_point,
    supported_precisions,
)
from planner.profiler.models import mlp_shape
from planner.profiler.usercode import UserModel, load_user_model
from planner.profiler.workloads import (
    Peak,
    measure_decode,
    measure_infer,
    measure_prefill,
    measure_train,
)
from planner.schema.model import Architecture
from planner.schema.profile import Inference, Training
from planner.schema.record import (
    CommRecord,
    DeviceInfo,
    MatmulPoint,
    MeasurementRecord,
    Peaks,
    WorkloadRecord,
    WorkPoint,
    emulated,
)


@dataclass(frozen=True)
class Settings:
    """How hard to measure."""

    quick: bool
    min_run_time: float
    """Most seconds spent timing one point (adaptive_autorange's max_run_time)."""
    matmul_sizes: tuple[int, ...]
    copy_megabytes: int
    batches: tuple[int, ...]


QUICK = Settings(True, 0.25, (384, 1024), 128, (1, 2, 4))
FULL = Settings(False, 1.5, (256, 512, 1024, 2048), 256, (1, 2, 4, 8))
GPU_RUN_TIME = 0.5
"""Most seconds spent timing one point on a GPU, whose timings are steady (FULL's 1.5 s is for a CPU's)."""
GPU_MATMUL_SIZES = (512, 1024, 2048, 4096, 8192)
"""On GPUs the sweep runs up to 8192³, where every datasheet GPU is saturated."""


def pick_device() -> str:
    """CUDA when present, else Apple MPS, else the CPU."""
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def device_info(device: str, catalog: Catalog | None) -> DeviceInfo:
    """Name, memory, software and a host fingerprint (a hash, so the record does not carry the host name)."""
    host = host_fingerprint()
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(0)
        memory_gb = props.total_memory / 1e9
        name = torch.cuda.get_device_name(0)
        catalog_id = identify_gpu(catalog, name, memory_gb) if catalog is not None else None
        return DeviceInfo(name=name, type="cuda", catalog_id=catalog_id, count=torch.cuda.device_count(),
                          memory_gb=memory_gb, torch_version=torch.__version__, driver=torch.version.cuda, host=host)
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return DeviceInfo(name=_cpu_name() if device == "cpu" else "Apple GPU (MPS)", type=device, memory_gb=memory_gb,
                      torch_version=torch.__version__, threads=torch.get_num_threads(), host=host)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def reduce_architecture(arch: Architecture, quick: bool, device: str = "cpu") -> tuple[Architecture, bool]:
    """The architecture at a size this device profiles in seconds: fewer layers, narrower, shorter sequences,
    a smaller vocabulary — same family, FFN type, norm, position encoding and GQA ratio. A GPU takes sizes where its
    matmuls saturate (hidden up to 4096, sequences up to 2048). Returns (arch, reduced)."""
    update: dict[str, object] = {}
    if arch.family in ("decoder", "encoder"):
        if device != "cpu":
            max_layers, max_hidden, max_seq, max_vocab = (2, 2048, 1024, 32768) if quick else (4, 4096, 2048, 65536)
        else:
            max_layers, max_hidden, max_seq, max_vocab = (2, 256, 128, 4096) if quick else (4, 384, 256, 8192)
        d, heads = arch.d_model, arch.n_heads
        groups = heads // arch.n_kv_heads
        if d > max_hidden:
            head_dim = d // heads
            new_heads = max(groups, (max_hidden // head_dim) // groups * groups)
            new_head_dim = max(2, max_hidden // new_heads // 2 * 2)
            update.update(hidden=new_heads * new_head_dim, heads=new_heads, kv_heads=new_heads // groups,
                          ffn_hidden=max(8, round(arch.ffn * new_heads * new_head_dim / d / 8) * 8))
        if arch.n_layers > max_layers:
            update["layers"] = max_layers
        if arch.context > max_seq:
            update["seq_len"] = max_seq
        if arch.vocab and arch.vocab > max_vocab:
            update["vocab"] = max_vocab
    elif arch.family == "cnn":
        max_image, max_width, max_blocks = ((64, 16, 1) if quick else (112, 32, 2)) if device == "cpu" else (
            (224, 64, 1) if quick else (224, 64, 3))
        if arch.image_side > max_image:
            update["image_size"] = max_image
        if (arch.width or 64) > max_width:
            update["width"] = max_width
        if arch.blocks and max(arch.blocks) > max_blocks:
            update["blocks"] = [min(b, max_blocks) for b in arch.blocks]
        if (arch.num_classes or 1000) > 100:
            update["num_classes"] = 100
    else:
        layers, width = mlp_shape(arch)
        max_layers, max_width = ((4, 512) if quick else (4, 1024)) if device == "cpu" else (4, 8192)
        if layers > max_layers or width > max_width:
            layers, width = min(layers, max_layers), min(width, max_width)
            update.update(layers=layers, hidden=width, params=float(layers * (width * width + width)))
    if not update:
        return arch, False
    if arch.family != "mlp":
        update["params"] = None  # derived again from the reduced shape
    update["flops_per_sample"] = None
    return Architecture.model_validate({**arch.model_dump(), **update}), True


def describe(arch: Architecture) -> str:
    """The reference model in words."""
    if arch.family in ("decoder", "encoder"):
        kv = f", {arch.n_kv_heads} KV heads" if arch.n_kv_heads != arch.heads else ""
        return (f"{arch.family} {arch.layers} layers × {arch.hidden} hidden, {arch.heads} heads{kv}, FFN {arch.ffn} "
                f"({arch.activation or 'gelu'}), vocab {arch.vocab}, seq {arch.seq_len}")
    if arch.family == "cnn":
        return (f"ResNet blocks {arch.blocks}, width {arch.width or 64}, {arch.image_size}px, "
                f"{arch.num_classes or 1000} classes")
    layers, width = mlp_shape(arch)
    return f"MLP {layers} layers × {width}"


def local_precision(wanted: str, supported: list[str]) -> str:
    """The supported precision closest to the one asked for (fp16→bf16 on CPUs, fp8→bf16, tf32→fp32)."""
    for candidate in NEAREST_PRECISION.get(wanted, (wanted,)):
        if candidate in supported:
            return candidate
    return "fp32"


class Steps:
    """A list of named measurements run under one Rich progress bar (on stderr)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Callable[[], object], bool]] = []

    def add(self, description: str, action: Callable[[], object], required: bool = False) -> None:
        """Queue one measurement; `required` ones (the roofline) run whatever the budget."""
        self.items.append((description, action, required))

    def run(self, show: bool = True, budget_s: float | None = None) -> list[object]:
        """Run every step in order; with a budget, steps that would start after it are skipped (None results)."""
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        results: list[object] = []
        start = time.perf_counter()
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=Console(stderr=True), disable=not show, transient=False) as bar:
            task = bar.add_task("measuring", total=len(self.items))
            for description, action, required in self.items:
                check()  # an interrupt some C code swallowed stops the run here (planner/profiler/interrupts.py)
                if budget_s is not None and time.perf_counter() - start > budget_s and not required:
                    results.append(None)
                else:
                    bar.update(task, description=description)
                    try:
                        results.append(action())
                    except (torch.cuda.OutOfMemoryError, MemoryError):
                        # a size too large for this device: skip it, keep the rest of the suite
                        if torch.cuda.is_available():
                            torch.cuda.empty_cache()
                        bar.console.print(f"skipped (out of memory): {description}")
                        results.append(None)
                bar.advance(task)
            bar.update(task, description="done")
        return results


def _workload(family: str, kind: str, precision: str, model: str, reduced: bool,
              points: list[WorkPoint], method: str = "full", source: str = "reference") -> WorkloadRecord:
    # decode is fitted against bytes alone: its per-parameter cost (reading the weights) is part of its size
    params = [p.params for p in points] if kind != "decode" else None
    fit = fit_efficiency_curve([p.size for p in points], [p.efficiency for p in points], params)
    return WorkloadRecord(family=family, kind=kind, precision=precision, model=model[:500], reduced=reduced,
                          points=points, fit=fit, method=method, source=source)


QLORA_NOTE = "QLoRA timed as LoRA: no NF4 kernel here, frozen weights kept at the compute precision"
"""No NF4 matmul exists on CPU (and bitsandbytes is not a dependency), so a QLoRA step is timed as a LoRA step; the
record says so rather than pretending. The core's QLoRA memory model (NF4 weights) is unaffected."""


def _append_matmul(sweep: list[MatmulPoint], precision: str, n: int, device: str, min_run_time: float) -> None:
    """Measure one point of the sweep (sizes in rising order per precision), unless the precision has shown it runs
    slower than fp32 here (schema/record.py EMULATED_SHARE): its first size is always measured, its peak the best
    point measured."""
    if precision != "fp32" and emulated(sweep, precision):
        return
    sweep.append(matmul_point(precision, n, device, min_run_time))


def measure_peaks(device: str, settings: Settings, precisions: list[str],
                  steps: Steps) -> Callable[[], tuple[Peak, Peaks]]:
    """Queue the roofline microbenchmarks; the returned function assembles the measured peaks afterwards."""
    sizes = GPU_MATMUL_SIZES if device.startswith("cuda") else settings.matmul_sizes
    sweep: list[MatmulPoint] = []
    bandwidth: list[float] = []
    for precision in precisions:
        for n in sizes:
            steps.add(f"matmul {precision} {n}³", functools.partial(
                _append_matmul, sweep, precision, n, device, settings.min_run_time), True)
    steps.add(f"memory bandwidth ({settings.copy_megabytes} MB copy)",
              lambda: bandwidth.append(copy_bandwidth_gbs(device, settings.copy_megabytes, settings.min_run_time)[0]),
              True)

    @functools.cache  # measured once, when the first workload needs it
    def assemble() -> tuple[Peak, Peaks]:
        best: dict[str, float] = {}
        for point in sweep:
            best[point.precision] = max(best.get(point.precision, 0.0), point.tflops)
        peaks = Peaks(matmul_tflops=best, memory_bandwidth_gbs=bandwidth[0], sweep=sweep)
        return Peak({p: v * 1e12 for p, v in best.items()}, bandwidth[0] * 1e9), peaks
    return assemble


def decode_shapes(context: int) -> list[tuple[int, int]]:
    """(batch, tokens already in the cache) of the decode steps measured for a model of `context` positions: the
    new token takes position `tokens`, so the longest holds context − 1 (new-user QA: `gpuplan profile` of a
    learned-position decoder, GPT-2, stopped at 'internal error: IndexError: index out of range in self' with the
    step at position `context`, one past the position table)."""
    return [(1, context // 2), (4, context // 2), (8, context - 1)]


def queue_family(arch: Architecture, reduced: bool, precision: str, optimizer: str | None, inference: bool,
                 device: str, settings: Settings, steps: Steps, peak_of: Callable[[], Peak],
                 out: list[WorkloadRecord], prompt: int | None = None, method: str = "full", lora_rank: int = 16,
                 user: UserModel | None = None, required: bool = False) -> None:
    """Queue the training and inference measurements of one reference model (or the user's, `user`); records land
    in `out`. `method`: full training, or a LoRA/QLoRA step of rank `lora_rank` adapters. `required` steps run
    whatever the budget."""
    def _add(description: str, action: Callable[[], object]) -> None:
        steps.add(description, action, required)

    if user is not None:
        model = f"user code {user.spec}, built with {user.kwargs or 'no arguments'}"
    else:
        model = describe(arch) + (" (reduced from the profile's model)" if reduced else "")
    source = "reference" if user is None else "user-code"
    batches = list(settings.batches)
    if optimizer is not None:
        train_model = model if method == "full" else f"LoRA r={lora_rank} on {model}" + (
            f"; {QLORA_NOTE}" if method == "qlora" else "")
        _add(f"{arch.family} {'train' if method == 'full' else method} step ({precision}, batches {batches})",
                  lambda: out.append(_workload(
                      arch.family, "train", precision, train_model, reduced,
                      measure_train(arch, batches, precision, optimizer, peak_of(), device, settings.min_run_time,
                                    method=method, lora_rank=lora_rank, user=user), method, source)))
    if not inference:
        return
    if user is not None:  # the user's module has no KV-cache interface: forward passes only
        seq = arch.seq_len or 1
        prompts = sorted({max(8, seq // 4), max(8, seq // 2), seq})
        kind, sizes = ("prefill", prompts) if arch.family == "decoder" else ("infer", [b * 4 for b in batches])
        measure = (lambda: measure_prefill(arch, prompts, precision, peak_of(), device, settings.min_run_time, user)) \
            if kind == "prefill" else \
            (lambda: measure_infer(arch, sizes, precision, peak_of(), device, settings.min_run_time, user))
        _add(f"user model {kind} ({precision}, {sizes})", lambda: out.append(_workload(
            arch.family, kind, precision, model, reduced, measure(), source=source)))
        return
    if arch.family == "decoder":
        seq = arch.context
        prompts = sorted({max(8, seq // 4), max(8, seq // 2), seq})
        _add(f"decoder prefill ({precision}, prompts {prompts})", lambda: out.append(_workload(
            "decoder", "prefill", precision, model, reduced,
            measure_prefill(arch, prompts, precision, peak_of(), device, settings.min_run_time))))
        shapes = decode_shapes(seq)
        _add(f"decoder decode step ({precision}, batch×context {shapes})", lambda: out.append(_workload(
            "decoder", "decode", precision, model, reduced,
            measure_decode(arch, shapes, precision, peak_of(), device, settings.min_run_time))))
    else:
        infer_batches = [b * 4 for b in batches]
        _add(f"{arch.family} forward ({precision}, batches {infer_batches})", lambda: out.append(_workload(
            arch.family, "infer", precision, model, reduced,
            measure_infer(arch, infer_batches, precision, peak_of(), device, settings.min_run_time))))


def profile_record(arch: Architecture, training: Training | None, inference: Inference | None,
                   quick: bool, comm: bool, command: str,
                   catalog: Catalog | None = None, device: str | None = None, show: bool = True,
                   comm_world: int = 2, model_code: tuple[Path, str] | None = None) -> MeasurementRecord:
    """Measure a profile's model (reduced when too large) on this device: peaks, training (full, or the LoRA/QLoRA
    step the profile asks for), inference, comm. `model_code` (file, class): the user's nn.Module instead of the
    reference model, built from the reduced architecture's fields (the caller checked --trust-model-code)."""
    device = device or pick_device()
    settings = QUICK if quick else FULL
    supported = supported_precisions(device)
    wanted = [local_precision(training.precision, supported)] if training is not None else []
    if inference is not None:
        wanted.append(local_precision(COMPUTE_PRECISION[inference.precision], supported))
    precisions = list(dict.fromkeys(["fp32", *wanted]))
    small, reduced = reduce_architecture(arch, quick, device)
    user = load_user_model(*model_code, small) if model_code is not None else None
    steps = Steps()
    assemble = measure_peaks(device, settings, precisions, steps)

    def peak_of() -> Peak:
        return assemble()[0]

    workloads: list[WorkloadRecord] = []
    if training is not None:
        queue_family(small, reduced, wanted[0], training.optimizer, False, device, settings, steps, peak_of,
                     workloads, method=training.method, lora_rank=training.lora_rank, user=user)
    if inference is not None:
        queue_family(small, reduced, wanted[-1], None, True, device, settings, steps, peak_of, workloads, user=user)
    comm_out: list[CommRecord] = []
    if comm:
        from planner.profiler.comm import measure_allreduce

        steps.add(f"all-reduce across {comm_world} processes", lambda: comm_out.append(measure_allreduce(comm_world)))
    steps.run(show)
    peak_of()
    return MeasurementRecord(kind="gpuplan/calibration", version=1, device=device_info(device, catalog),
                             measured_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0), command=command,
                             quick=quick, peaks=assemble()[1], workloads=workloads,
                             comm=comm_out[0] if comm_out else None)


@dataclass(frozen=True)
class ReferenceSizes:
    """Sizes of the calibration suite on one kind of device."""

    hidden: tuple[int, ...]
    seq: int
    cnn_width: tuple[int, ...]
    image: int
    mlp: tuple[int, ...]


REFERENCE_SIZES = {
    "cpu": ReferenceSizes(hidden=(64, 128, 256), seq=128, cnn_width=(8, 16, 32), image=64, mlp=(128, 256, 512)),
    "gpu": ReferenceSizes(hidden=(512, 1536, 4096), seq=1024, cnn_width=(16, 32, 64), image=224,
                          mlp=(1024, 4096, 8192)),
}
"""Calibration sizes, small matrices to saturated ones: a 2-core CPU saturates near 256-wide matmuls; a datacenter
GPU needs ~4096 (its matmul sweep runs to 8192³)."""


def reference_architectures(device: str) -> list[Architecture]:
    """The calibration suite: every family at three sizes, smallest first."""
    sizes = REFERENCE_SIZES["cpu" if device == "cpu" else "gpu"]
    archs = []
    for d, width, mlp in zip(sizes.hidden, sizes.cnn_width, sizes.mlp):
        archs.append(Architecture(name=f"decoder-{d}", family="decoder", layers=2, hidden=d, heads=max(2, d // 64),
                                  kv_heads=max(1, d // 128), ffn_hidden=(8 * d // 3) // 8 * 8, vocab=4096,
                                  seq_len=sizes.seq, activation="swiglu", norm="rmsnorm"))
        archs.append(Architecture(name=f"encoder-{d}", family="encoder", layers=2, hidden=d, heads=max(2, d // 64),
                                  vocab=4096, seq_len=sizes.seq, activation="gelu"))
        archs.append(Architecture(name=f"resnet-{width}", family="cnn", blocks=[1, 1, 1, 1], width=width,
                                  image_size=sizes.image, num_classes=100))
        archs.append(Architecture(name=f"mlp-{mlp}", family="mlp", layers=3, hidden=mlp, params=3 * (mlp * mlp + mlp)))
    return archs


def calibration_record(catalog: Catalog, budget_s: float, command: str, device: str | None = None,
                       show: bool = True, quick: bool = False, comm: bool = True) -> MeasurementRecord:
    """The full suite on this device: peaks at every supported precision, every family training and inference
    at several sizes and precisions, all-reduce across the local GPUs (or 2 CPU processes). Steps that would start
    after `budget_s` are skipped, except the smallest decoder's; every fit uses what was measured."""
    device = device or pick_device()
    settings = QUICK if quick else FULL
    if device != "cpu":  # GPU timings are steady: half a second per point keeps the suite inside 10 minutes
        settings = dataclasses.replace(settings, min_run_time=min(settings.min_run_time, GPU_RUN_TIME))
    precisions = supported_precisions(device)
    steps = Steps()
    assemble = measure_peaks(device, settings, precisions, steps)

    def peak_of() -> Peak:
        return assemble()[0]

    parts: list[WorkloadRecord] = []
    # smallest sizes of every family first: a budget cuts the top. The first of them (the smallest decoder, first
    # precision: train, prefill and decode) runs whatever the budget, so a record always holds workloads: a budget
    # spent on the roofline by a busy machine once left records with none, which hid good records from `estimate`
    for a, arch in enumerate(reference_architectures(device)):
        for i, precision in enumerate(precisions):
            queue_family(arch, False, precision, "adamw", True, device, settings, steps, peak_of, parts,
                         required=a == 0 and i == 0)
    comm_out: list[CommRecord] = []
    if comm:
        from planner.profiler.comm import measure_allreduce

        world = torch.cuda.device_count() if device.startswith("cuda") else 2
        if world >= 2:
            steps.add(f"all-reduce across {world} processes", lambda: comm_out.append(measure_allreduce(world)))
    steps.run(show, budget_s)
    peak_of()
    return MeasurementRecord(kind="gpuplan/calibration", version=1, device=device_info(device, catalog),
                             measured_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0), command=command,
                             quick=quick, peaks=assemble()[1], workloads=merge_workloads(parts),
                             comm=comm_out[0] if comm_out else None)


def merge_workloads(parts: list[WorkloadRecord]) -> list[WorkloadRecord]:
    """One record per (family, kind, precision): the points of every size together, fitted once."""
    groups: dict[tuple[str, str, str], list[WorkloadRecord]] = {}
    for part in parts:
        groups.setdefault((part.family, part.kind, part.precision), []).append(part)
    merged = []
    for (family, kind, precision), members in groups.items():
        points = [p for m in members for p in m.points]
        model = "; ".join(m.model for m in members)
        merged.append(_workload(family, kind, precision, model[:500], False, points))
    return merged
