"""What the planner understood from a profile, in the words printed under the report's title: the model (params
given or derived, active params), the work (tokens or samples, FLOP), the chosen plan's memory per GPU and layout,
precision and the software stack assumed. Each line is (label, text) so tables and markdown print the same."""
from __future__ import annotations

from dataclasses import field
from planner.dataclass import dataclass
from typing import TYPE_CHECKING

from planner.model.workload import BYTES, params_disagreement, weight_bytes, workload_for
from planner.project.load import LoadedProfile
from planner.readable import RECOMPUTATION, count_text, fixed, gbps_text, whole_ms

if TYPE_CHECKING:
    from planner.model.interconnect import PlanLinks
    from planner.plans.search import Estimate
    from planner.plans.serving import ServingPlan
    from planner.plans.training import TrainingPlan


def _mean_tokens(value: float) -> str:
    """A request's mean prompt or output length, which need not be whole: count_text rounded a mean of 1.5 prompt tokens
    to '2 prompt', 300.5 to '300' (new-user QA round 17), where the plan used 1.5 and 300.5."""
    if value < 1e6 and value != int(value):
        return f"{value:,.1f}"
    return count_text(value)


@dataclass(frozen=True)
class Understood:
    """Lines of 'what I understood' (label, text)."""

    lines: list[tuple[str, str]] = field(default_factory=list)


def _params_origin(loaded: LoadedProfile) -> str:
    model = loaded.profile.model
    if model.params is not None:
        disagreement = params_disagreement(loaded.arch)
        if disagreement is not None:
            # the architecture's count is the one planned (project/load.py model_warnings): 'given' labelled a count
            # the profile never gave (new-user QA round 10: params 125M at 12 × 768 read '161.8M params (given)')
            return (f"derived from the architecture; model.params {count_text(disagreement[0])} disagrees, see the "
                    "warning")
        return "given"
    if model.preset is not None and loaded.arch.params is not None and not any(
            getattr(model, k, None) is not None for k in ("layers", "hidden", "seq_len")):
        return f"preset {model.preset}"
    return "derived from the architecture"


def understood(loaded: LoadedProfile, est: Estimate, chosen: TrainingPlan | None = None,
               chosen_s: ServingPlan | None = None) -> Understood:
    """The header lines for an estimate and the recommended plans (their memory per GPU and layout)."""
    profile = loaded.profile
    arch = loaded.arch
    lines: list[tuple[str, str]] = []
    work = est.training.job.work if est.training is not None else (
        est.inference.work if est.inference is not None else None)
    if work is not None:
        active = getattr(work, "active_params", None) or work.params
        origin = _params_origin(loaded)
        model = profile.model
        if origin.startswith("derived") and model.preset is not None and model.seq_len is not None \
                and model.layers is None and model.hidden is None and arch.params is not None \
                and count_text(work.params) == count_text(arch.params):
            # a longer context (model.seq_len) leaves a rotary model's count the preset's own (new-user QA:
            # long-context-llama-8b read '8.03B params (derived from the architecture)' for llama-3.1-8b's 8.03B)
            origin = f"preset {model.preset}"
        if origin.startswith("preset") and arch.params is not None and work.tokens_per_sample != arch.seq_len \
                and count_text(work.params) != count_text(workload_for(arch).params):
            # the samples' length changed the count as printed (a learned position table of that many rows: GPT-2,
            # BERT), so it is not the preset's (new-user QA: gpt2-124m at 4,096-token samples read '126.7M params
            # (preset gpt2-124m)', whose stated count is 124.4M at 1,024)
            origin = (f"derived from the architecture at {count_text(work.tokens_per_sample)} tokens a sample; the "
                      f"preset states {count_text(arch.params)} at {count_text(arch.seq_len or 0)}")
        text = f"{arch.name} ({arch.family}): {count_text(work.params)} params ({origin})"
        if active < work.params * 0.999:
            text += f", {count_text(active)} active per token"
        lines.append(("model", text))
    if est.training is not None:
        job = est.training.job
        t = profile.training
        assert t is not None  # an estimate has a training section only for a profile with one
        if work is not None and work.family in ("decoder", "encoder"):
            data = (f"{count_text(job.samples)} samples × {count_text(work.tokens_per_sample)} tokens = "
                    f"{count_text(job.tokens)} tokens" if t.dataset.samples is not None
                    else f"{count_text(job.tokens)} tokens ({count_text(work.tokens_per_sample)} per sequence)")
        else:
            data = f"{count_text(job.samples)} samples"
        epochs = f" over {fixed(t.epochs, 0) if t.epochs == int(t.epochs) else fixed(t.epochs)} epoch(s)" \
            if t.dataset.samples is not None or t.epochs != 1 else ""
        lines.append(("training", f"{data}{epochs}; {job.model_flops:.3g} FLOP"))
        method = ("full training from pretrained weights" if job.from_pretrained else "full training") \
            if job.method == "full" else (
            f"{ {'lora': 'LoRA', 'qlora': 'QLoRA'}.get(job.method, job.method)} rank {job.lora_rank}: {count_text(job.trainable_params)} trainable params")
        stack = [f"{job.precision} mixed precision" if job.precision not in ("fp32", "tf32") else job.precision,
                 job.optimizer, method]
        framework = getattr(t, "framework", None)
        if framework:
            stack.append(f"framework {framework}")
        if work is not None and work.family in ("decoder", "encoder"):
            stack.append(f"{job.attention} attention")
        lines.append(("assumed", ", ".join(stack)))
        if chosen is not None:
            layout = (f"data {chosen.data} × tensor {chosen.tensor} × pipeline {chosen.pipeline}"
                      + (f" × context {chosen.context}" if chosen.context > 1 else "") + ", "
                      + (f"expert {chosen.expert} (of the data ranks), " if chosen.expert > 1 else "")
                      + f"ZeRO stage {chosen.zero}" + (", " + RECOMPUTATION[chosen.recompute_mode] if chosen.recompute else "")
                      + f", micro-batch {chosen.micro_batch} × accumulation {chosen.grad_accumulation}")
            lines.append(("chosen", f"{chosen.gpu_count}× {chosen.gpu}: {chosen.memory_per_gpu_bytes / 1e9:,.1f} GB "
                                    f"per GPU; {layout}" + _links_text(chosen.links)))
            if chosen.dequant_time_s > 0.0:
                lines.append(("dequant", _dequant_text(chosen)))
    if est.inference is not None:
        inf = profile.inference
        assert inf is not None
        slo = ", ".join(f"{k.replace('_', ' ')} {whole_ms(v)}"
                        for k, v in inf.slo.targets().items())
        if est.inference.work.is_generative:
            traffic = (f"{fixed(inf.rate)} req/s peak, {_mean_tokens(inf.prompt_tokens or 0)} prompt + "
                       f"{_mean_tokens(inf.output_tokens or 0)} output tokens")
        else:
            traffic = f"{fixed(inf.rate)} req/s peak"
        lines.append(("serving", traffic + (f"; targets {slo}" if slo else "")))
        engine = getattr(inf, "engine", None)
        stack = [f"{inf.precision} weights"]
        stack.append(f"engine {engine}" if engine else (
            "continuous batching with a paged KV cache (vLLM-style)" if est.inference.work.is_generative
            else "dynamic batching"))
        lines.append(("assumed", ", ".join(stack)))
        if chosen_s is not None:
            per_gpu = weight_bytes(est.inference.work, inf.precision) / chosen_s.gpus_per_replica \
                if inf.precision in BYTES else None
            generative = est.inference.work.is_generative
            text = f"{chosen_s.replicas}×{chosen_s.gpus_per_replica} {chosen_s.gpu}, " + (
                f"batch {chosen_s.batch_size}" if generative else f"dynamic batches of up to {chosen_s.batch_size}")
            if per_gpu is not None:
                text += f"; weights {per_gpu / 1e9:,.1f} GB per GPU (" + (
                    "the KV cache takes the rest)" if generative else "a batch's activations take the rest)")
            lines.append(("chosen", text + _links_text(chosen_s.links)))
    return Understood(lines)


def _dequant_text(plan: TrainingPlan) -> str:
    """How much of the chosen QLoRA plan's step its NF4 dequantizations take (training.dequant_bytes)."""
    from planner.plans.training import QLORA_DEQUANTIZATIONS

    times = QLORA_DEQUANTIZATIONS[plan.recompute_mode]
    share = plan.dequant_time_s / plan.step_time_s
    return (f"QLoRA dequantizes its NF4 base {times}× per micro-batch (forward, backward"
            + (", recomputed forward" if times > 2 else "") + "): "
            f"{plan.dequant_time_s:,.3g} s of each {plan.step_time_s:,.3g} s step ({share:.0%}), at the GPU's copy "
            "bandwidth")


def _links_text(links: PlanLinks | None) -> str:
    """The links a chosen plan runs on, in words ('' for one GPU)."""
    if links is None:
        return ""
    parts = []
    if links.intra_node is not None and links.intra_node_gbs is not None:
        parts.append(f"{links.intra_node_name} {links.intra_node_gbs:,.0f} GB/s "
                     "between GPUs of an instance")
    if links.inter_node_gbps is not None:
        parts.append(f"{gbps_text(links.inter_node_gbps)} Gb/s between instances (" + (
            "assumed: the offer states none)" if links.inter_node_assumed else "as the offer states)"))
    return "; " + ", ".join(parts) if parts else ""
