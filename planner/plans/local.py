"""Plan rows for the measured device ("this machine"): the core's training and serving plans with the record's
measured efficiencies, at the precision the record measured. No torch."""
from __future__ import annotations

import dataclasses
from planner.dataclass import dataclass

from planner.catalog.load import PricedOffer
from planner.efficiency.local_device import LocalDevice
from planner.efficiency.origin import Efficiency
from planner.model.inference_time import default_kv_precision
from planner.model.precision import COMPUTE_PRECISION
from planner.model.workload import (
    Workload,
    kv_bytes_per_token,
    prefill_flops,
    weight_bytes,
)
from planner.plans.serving import (
    ServingEfficiency,
    ServingPlan,
    serving_plan,
)
from planner.plans.training import TrainingJob
from planner.plans.verdict import Kind, Verdict
from planner.schema.catalog import GpuSpec
from planner.schema.profile import Inference


def inference_sizes(work: Workload, inference: Inference) -> tuple[tuple[str, float], tuple[str, float]]:
    """(kind, size) for the compute-bound and the bandwidth-bound part of serving, where the fitted curves are read:
    prefill of one prompt (FLOP) and a decode step of one sequence (bytes) for decoders; for other families a
    forward pass at the largest batch allowed (FLOP) and the weights read once (bytes)."""
    if work.is_generative:
        context = inference.prompt + inference.generated / 2.0
        kv = inference.kv_precision or default_kv_precision(inference.precision)
        return (("prefill", prefill_flops(work, inference.prompt)),
                ("decode", weight_bytes(work, inference.precision) + context * kv_bytes_per_token(work, kv)))
    batch = inference.max_batch or 1
    return (("infer", batch * work.forward_flops_per_sample), ("decode", weight_bytes(work, inference.precision)))


@dataclass(frozen=True)
class LocalTarget:
    """Where the measured device trains: its offer, its GPU, the measured efficiency, its one count and the job at
    the precision it measured."""

    offer: PricedOffer
    gpu: GpuSpec
    efficiency: Efficiency
    counts: list[int]
    job: TrainingJob


def local_training_target(local: LocalDevice, job: TrainingJob, warnings: list[str]) -> LocalTarget | None:
    """The measured device as a training target (None, with a warning, when the record measured no training)."""
    precision = local.precision_for(job.precision)
    eff = local.efficiency("train", job.work.family, job.precision, job.model_flops_per_sample,
                           job.trainable_params) \
        if precision else None
    if eff is None or precision is None:
        warnings.append("this machine: the measurement record has no training measurement; no local row")
        return None
    _warn_other_family(local, [("train", job.work.family, job.precision)], job.work.name, warnings)
    if precision != job.precision:
        warnings.append(f"this machine: {job.precision} was not measured here; its row runs at {precision}")
        job = dataclasses.replace(job, precision=precision)
    return LocalTarget(local.offer, local.gpu, eff, [local.offer.offer.gpus_per_instance], job)


def local_serving_plan(local: LocalDevice, work: Workload, inference: Inference,
                       warnings: list[str]) -> list[ServingPlan]:
    """The measured device's serving row (empty, with a warning, when the record measured no inference)."""
    wanted = COMPUTE_PRECISION[inference.precision]
    precision = local.precision_for(wanted)
    (ck, cs), (bk, bs) = inference_sizes(work, inference)
    compute = local.efficiency(ck, work.family, wanted, cs, work.params) if precision else None
    bandwidth = local.efficiency(bk, work.family, wanted, bs) if precision else None
    if compute is None or bandwidth is None:
        warnings.append(f"this machine: the measurement record has no {ck}/{bk} measurement; no local serving row")
        return []
    _warn_other_family(local, [(ck, work.family, wanted), (bk, work.family, wanted)], work.name, warnings)
    if precision != wanted:
        warnings.append(f"this machine: {wanted} was not measured here; its serving row runs at {precision}")
        inference = inference.model_copy(update={"precision": precision})
    plan = serving_plan(work, inference, None, local.offer, eff=ServingEfficiency(compute, bandwidth), gpu=local.gpu)
    return [on_one_machine(plan, local.offer.offer.gpus_per_instance)]


def _warn_other_family(local: LocalDevice, reads: list[tuple[str, str, str]], model: str,
                       warnings: list[str]) -> None:
    """One warning per (kind, family, precision) the row reads from another model family's curve (its efficiency
    is labelled transferred: calibrated.OtherFamily)."""
    for kind, family, precision in reads:
        other = local.other_family(kind, family, precision)
        if other is not None:
            warnings.append(other.warning("this machine", model))


def on_one_machine(plan: ServingPlan, available: int) -> ServingPlan:
    """A serving plan on a machine that exists once (this machine, an owned one): replicas of a rented GPU are more
    instances, so a plan needing more GPUs than the machine has fails with a TOO_MANY_DEVICES verdict."""
    if plan.gpu_count <= available:
        return plan
    return dataclasses.replace(plan, meets_slo=False, verdicts=(
        *plan.verdicts, Verdict(Kind.TOO_MANY_DEVICES, float(plan.gpu_count), float(available))))
