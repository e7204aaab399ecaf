"""The project profile (docs/profile.md, field by field): what to train and serve, under which constraints."""

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from planner.schema.base import Count, PerSecond, Seconds, Strict, Usd, empty_list, given
from planner.schema.model import ModelSection
from planner.schema.units import check_bare_percent

TrainPrecision = Literal["fp32", "tf32", "fp16", "bf16", "fp8"]
WeightPrecision = Literal["fp32", "fp16", "bf16", "fp8", "int8", "int4"]


class Dataset(Strict):
    """How much data one epoch holds: tokens, or samples (with tokens per sample for text)."""

    tokens: Count | None = Field(None, description="Tokens per epoch (text).")
    samples: Count | None = Field(None, description="Samples per epoch (images, or sequences with tokens_per_sample).")
    tokens_per_sample: Count | None = Field(None, description="Tokens in one text sample.")

    @model_validator(mode="after")
    def _one_measure(self) -> "Dataset":
        if self.tokens is None and self.samples is None:
            raise ValueError("give tokens, or samples (with tokens_per_sample for text)")
        if self.tokens is not None and self.samples is not None:
            raise ValueError("give tokens or samples, not both")
        return self


class Batch(Strict):
    """Global batch per optimizer step; the per-GPU micro-batch is chosen unless given."""

    global_tokens: Count | None = Field(None, description="Tokens per optimizer step, all GPUs together.")
    global_samples: Count | None = Field(None, description="Samples (sequences, images) per optimizer step.")
    micro_batch: int | None = Field(None, ge=1, le=65536, description="Samples per GPU per forward pass.")

    @model_validator(mode="after")
    def _one_size(self) -> "Batch":
        if self.global_tokens is not None and self.global_samples is not None:
            raise ValueError("give global_tokens or global_samples, not both")
        return self


class Parallelism(Strict):
    """Pinned parts of the training layout; the search fills the rest (any subset may be given)."""

    data: int | None = Field(None, ge=1, le=65536, description="Data-parallel replicas.")
    tensor: int | None = Field(None, ge=1, le=64, description="Tensor-parallel ranks (Megatron), inside one instance.")
    pipeline: int | None = Field(None, ge=1, le=1024, description="Pipeline stages.")
    expert: int | None = Field(
        None, ge=1, le=65536, description="Expert-parallel ranks of a mixture of experts, out of the data-parallel "
                                          "ones (it divides data and the experts).")
    context: int | None = Field(
        None, ge=1, le=65536, description="Context-parallel ranks splitting each sample's sequence (Megatron "
                                          "context_parallel_size, ring attention): for long sequences; the "
                                          "sequence length must divide by 2 × context.")
    zero: Literal[0, 1, 2, 3] | None = Field(
        None, description="ZeRO stage: 0 none, 1 optimizer state, 2 + gradients, 3 + weights (FSDP full shard).")
    virtual: int | None = Field(
        None, ge=1, le=128, description="Virtual pipeline stages per rank (Megatron's interleaved 1F1B schedule): "
                                        "the pipeline bubble shrinks by this factor, point-to-point sends grow by it.")
    recompute: Literal["none", "selective", "full"] | None = Field(
        None, description="Activation recomputation: none, selective (attention core only, Korthikanti et al. "
                          "2022) or full (every layer from its input).")

    def unfilled(self, count: int) -> str | None:
        """Why these pins cannot lay out `count` GPUs (count = data × tensor × pipeline × context, experts among the
        data ranks), None when they can: the same words for the profile's own gpu_count (project/load.py) and for a
        searched count (plans/training.py)."""
        if self.expert is not None and self.expert > 1 and count % self.expert:
            return f"expert {self.expert} does not divide {count} GPUs"
        fixed = (self.data or 1) * (self.tensor or 1) * (self.pipeline or 1) * (self.context or 1)
        if count % fixed or (None not in (self.data, self.tensor, self.pipeline) and fixed != count):
            named = " × ".join(f"{k} {v}" for k, v in (("data", self.data), ("tensor", self.tensor),
                                                        ("pipeline", self.pipeline), ("context", self.context))
                               if v is not None)
            return f"{named} does not fill {count} GPU{'' if count == 1 else 's'}"
        return None


class Training(Strict):
    """A training or fine-tuning job."""

    dataset: Dataset = Field(description="Data per epoch.")
    epochs: float = Field(1.0, gt=0, le=100_000, allow_inf_nan=False, description="Passes over the dataset.")
    batch: Batch | None = Field(None, description="Global batch; default: each GPU runs its largest fitting micro-batch.")
    precision: TrainPrecision = Field("bf16", description="fp32 | tf32 | fp16 | bf16 | fp8 (mixed precision).")
    optimizer: Literal["adamw", "adam", "sgd", "adafactor"] = Field("adamw", description="Optimizer.")
    method: Literal["full", "lora", "qlora"] = Field("full", description="Full training or LoRA/QLoRA adapters.")
    lora_rank: int = Field(16, ge=1, le=65536, description="LoRA rank r.")
    from_pretrained: bool | None = Field(
        None, description="Whether the run starts from pretrained weights, read before its first step (a fine-tune, "
                          "continued pretraining): their bytes at the training precision enter the start-up. "
                          "Default: yes for lora and qlora (adapters train on a pretrained base), no for full.")
    recompute: Literal["auto", "none", "selective", "full"] = Field(
        "auto", description="Activation recomputation: auto turns it on only when memory requires it (selective, "
                            "then full); parallelism.recompute pins it the same way.")
    parallelism: Parallelism | None = Field(
        None, description="Pin data/tensor/pipeline/expert/context degrees, the ZeRO stage or recomputation; the "
                          "rest is searched.")
    attention: Literal["flash", "standard"] = Field(
        "flash", description="Attention kernel (transformers): flash (FlashAttention / memory-efficient attention, "
                             "what PyTorch >= 2.0 scaled_dot_product_attention runs) or standard (scores materialised).")
    capacity_factor: float = Field(
        1.25, ge=1, le=16, allow_inf_nan=False,
        description="Mixture of experts with expert parallelism: tokens the busiest expert rank processes over the "
                    "mean (load imbalance); 1.25 is the Switch Transformer's training default (Fedus et al. 2022).")
    framework: Literal["megatron", "deepspeed", "fsdp", "hf-trainer", "llm.c", "eager"] = Field(
        "fsdp", description="Training stack: megatron (Megatron-LM / NeMo), deepspeed, fsdp (PyTorch FSDP: "
                            "torchtitan, llm-foundry), hf-trainer (Hugging Face Trainer), llm.c, eager (a plain "
                            "PyTorch loop, DDP). Its efficiency factor is fitted on the published runs that state it "
                            "(catalog/priors.yaml stack_factors); a stack without runs plans at the plain-PyTorch "
                            "efficiency with a wider interval.")
    deadline: Seconds | None = Field(None, description="Wall-clock limit, e.g. 72h.")
    budget: Usd | None = Field(None, description="Spending limit, e.g. $20k.")
    dataset_gb: float | None = Field(None, gt=0, le=1e9, allow_inf_nan=False,
                                     description="Dataset size on disk, GB, for the storage line of the bill.")
    checkpoints_kept: int = Field(1, ge=0, le=10_000, description="Checkpoints kept in storage (weights and "
                                                                  "optimizer state each).")
    retention_days: float = Field(0.0, ge=0, le=36_500, allow_inf_nan=False,
                                  description="Days the data and checkpoints stay stored after the run.")

    @field_validator("lora_rank")
    @classmethod
    def _rank_needs_adapters(cls, value: int, info: ValidationInfo) -> int:
        # runs only when lora_rank is written (defaults are not validated); a field validator (method is validated
        # before it) so the error sits on lora_rank's line: a rank full training would silently ignore is a mistake
        if info.data.get("method") == "full":
            raise ValueError(f"lora_rank {value} applies to method: lora or qlora, and method is full (every weight "
                             "trained, no adapters). Set method: lora or qlora, or remove lora_rank")
        return value

    @field_validator("from_pretrained")
    @classmethod
    def _adapters_need_a_base(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        # method is validated before it, so the error sits on from_pretrained's line
        if value is False and info.data.get("method") in ("lora", "qlora"):
            raise ValueError(f"from_pretrained: false with method: {info.data['method']}, but adapters train on a "
                             "pretrained base. Set method: full to train from scratch, or remove from_pretrained")
        return value

    @model_validator(mode="after")
    def _one_recompute(self) -> "Training":
        pinned = self.parallelism.recompute if self.parallelism is not None else None
        if pinned is not None and self.recompute != "auto" and pinned != self.recompute:
            raise ValueError(f"recompute: {self.recompute} and parallelism.recompute: {pinned} disagree; give one")
        return self


class Slo(Strict):
    """Latency targets at percentiles."""

    ttft_p50: Seconds | None = Field(None, description="Time to first token, median.")
    ttft_p95: Seconds | None = Field(None, description="Time to first token, 95th percentile.")
    tpot_p50: Seconds | None = Field(None, description="Time per output token, median.")
    tpot_p95: Seconds | None = Field(None, description="Time per output token, 95th percentile.")
    latency_p50: Seconds | None = Field(None, description="Request latency, median (non-generative).")
    latency_p95: Seconds | None = Field(None, description="Request latency, 95th percentile (non-generative).")
    latency_p99: Seconds | None = Field(None, description="Request latency, 99th percentile (non-generative).")

    def targets(self) -> dict[str, float]:
        """The targets set, by field name in the fields' order: `model_dump(exclude_none=True)` without pydantic's
        serializer, which a serving estimate otherwise built for this model alone (~2 ms of its start)."""
        return {name: value for name, value in self.__dict__.items() if value is not None}

    @model_validator(mode="after")
    def _percentiles_in_order(self) -> "Slo":
        for metric, keys in (("ttft", ("p50", "p95")), ("tpot", ("p50", "p95")), ("latency", ("p50", "p95", "p99"))):
            given = [(k, getattr(self, f"{metric}_{k}")) for k in keys if getattr(self, f"{metric}_{k}") is not None]
            for (low, a), (high, b) in zip(given, given[1:]):
                if a > b:
                    raise ValueError(f"{metric}_{low} ({_ms(a)}) is above {metric}_{high} ({_ms(b)}): "
                                     f"a lower percentile cannot exceed a higher one")
        return self


def _ms(seconds: float) -> str:
    """Seconds as milliseconds for a message: '10,000 ms' (`:,.4g` printed '1e+04 ms'), '0.5 ms', '500 ms'."""
    ms = seconds * 1e3
    return f"{ms:,.0f} ms" if ms >= 1000 else f"{ms:.4g} ms"


class Speculative(Strict):
    """Speculative decoding: a draft model proposes `tokens` tokens, the served model verifies them in one pass
    (Leviathan et al. 2023, arXiv 2211.17192; vLLM and TensorRT-LLM draft-model speculation)."""

    draft: str = Field(min_length=1, description="Draft model: a preset name from catalog/models.yaml.")
    tokens: int = Field(ge=1, le=64, description="Tokens the draft proposes per verification step, k.")
    acceptance: float = Field(
        gt=0, lt=1, allow_inf_nan=False,
        description="Probability the served model accepts each drafted token, α (measure it on your traffic: "
                    "Leviathan et al. report 0.5-0.9 for T5 and LaMDA pairs).")


def _per_time(per_second: float) -> str:
    """A rate in the largest of /s, /min, /h, /day in which it is at least 1 (new-user QA: `--set inference.rate=1/day`
    read 'above the peak rate of 1.15741e-05/s')."""
    for unit, seconds in (("s", 1), ("min", 60), ("h", 3600)):
        if per_second * seconds >= 1:
            return f"{per_second * seconds:g}/{unit}"
    return f"{per_second * 86400:g}/day"


class Inference(Strict):
    """A serving workload."""

    rate: PerSecond = Field(description="Peak arrival rate, e.g. 20/s.")
    average_rate: PerSecond | None = Field(None, description="Average rate, for the bill under autoscaling.")
    prompt_tokens: Count | None = Field(None, description="Prompt tokens per request (generative).")
    output_tokens: Count | None = Field(None, description="Generated tokens per request (generative).")
    precision: WeightPrecision = Field("bf16", description="Weight precision: fp32, fp16, bf16, fp8, int8, int4.")
    kv_precision: Literal["fp32", "fp16", "bf16", "fp8", "int8"] | None = Field(
        None, description="KV-cache precision; default: 16-bit (8-bit when weights are fp8).")
    slo: Slo = Field(default_factory=Slo, description="Latency targets.")
    max_batch: int | None = Field(None, ge=1, le=65536, description="Cap on requests batched together.")
    engine: Literal["vllm", "sglang", "tensorrt-llm", "llama.cpp", "hf-transformers", "torch-eager",
                    "onnxruntime"] | None = Field(
        None, description="Inference engine; default vllm for generative models, torch-eager for the others. "
                          "torch-eager forward passes pay a host floor per kernel (catalog/priors.yaml "
                          "launch_floors); llama.cpp accumulates 16-bit GEMMs in FP16.")
    batch: int | None = Field(None, ge=1, le=65536, description="Pin the batch (requests per replica); replicas are "
                                                                "sized for it.")
    max_queue_delay: Seconds | None = Field(None, description="Longest wait to fill a batch (non-generative).")
    hours_per_month: float = Field(730.0, gt=0, le=744, allow_inf_nan=False, description="Serving hours per month.")
    egress_gb_per_month: float | None = Field(
        None, ge=0, le=1e9, allow_inf_nan=False,
        description="Data the service sends out to the internet per month (responses), GB, for the egress line of "
                    "the bill; absent: egress is counted only where the provider charges nothing for it.")
    autoscale_headroom: float = Field(
        0.0, ge=0, le=10, allow_inf_nan=False,
        description="Autoscaled bill: replicas hold the targets at average_rate × (1 + this), capped at rate.")
    prefix_cache_hit_rate: float = Field(
        0.0, ge=0, lt=1, allow_inf_nan=False,
        description="Share of prompt tokens found in the prefix cache (vLLM automatic prefix caching, SGLang "
                    "RadixAttention): their prefill is skipped. 0 (default): off.")
    chunked_prefill: int | None = Field(
        None, ge=16, le=1_000_000,
        description="Chunked prefill with this token budget per step (vLLM max_num_batched_tokens; Agrawal et al. "
                    "2024, Sarathi-Serve): prompts ride along decode steps in chunks. Absent (default): off.")
    speculative: Speculative | None = Field(None, description="Speculative decoding with a draft model; off by "
                                                              "default.")

    @field_validator("average_rate")
    @classmethod
    def _average_not_above_peak(cls, value: float | None, info: ValidationInfo) -> float | None:
        # a field validator (rate is validated before it), so the error sits on average_rate's line, not the section's
        rate = info.data.get("rate")
        if value is not None and rate is not None and value > rate:
            raise ValueError(f"{_per_time(value)} is above the peak rate of {_per_time(rate)} (rate is the peak the "
                             "replicas are sized for, average_rate the mean the autoscaled bill reads)")
        return value

    @field_validator("batch")
    @classmethod
    def _batch_not_above_max(cls, value: int | None, info: ValidationInfo) -> int | None:
        # a field validator (max_batch is validated before it), so the error sits on batch's line, not the section's
        most = info.data.get("max_batch")
        if value is not None and most is not None and value > most:
            raise ValueError(f"more than max_batch {most}")
        return value

    # Typed views for generative serving: the profile loader refuses a decoder served without these lengths.
    @property
    def prompt(self) -> float:
        """Prompt tokens per request."""
        return given(self.prompt_tokens, "inference.prompt_tokens")

    @property
    def generated(self) -> float:
        """Generated tokens per request."""
        return given(self.output_tokens, "inference.output_tokens")


def _percent(value: object) -> object:
    """'15%', '15 %' or 15 → 15.0 (a percentage). A bare number between 0 and 1 is refused: the profile writes other
    shares as fractions (autoscale_headroom: 0.2, prefix_cache_hit_rate), so `vast-ai: 0.15` may mean 15 % and was
    planned as 0.15 % (new-user QA); '0.15%' or '15%' says which."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        check_bare_percent(value)
    if isinstance(value, str) and value.strip().endswith("%"):
        value = value.strip()[:-1].strip()
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        check_bare_percent(number)  # a quoted bare number ('0.15') is as ambiguous as a plain one
        return number
    return value


Percent = Annotated[float, BeforeValidator(_percent, json_schema_input_type=float | str),
                    Field(ge=0, lt=100, allow_inf_nan=False)]
"""A percentage below 100: 15, '15%'."""


OWNED_PROVIDER = "owned"
"""The provider id owned machines are planned under (planner/plans/owned.py), which constraints.providers may name."""


class OwnedMachine(Strict):
    """GPUs the user owns: planned beside rented offers (provider `owned`), one machine each."""

    gpu: str = Field(min_length=1, description="GPU id or alias (gpus.yaml).")
    count: int = Field(1, ge=1, le=64, description="GPUs in the machine.")
    usd_per_hour: float = Field(0.0, ge=0, le=10_000, allow_inf_nan=False,
                                description="Running cost per hour besides electricity (0: none).")
    interconnect: Literal["pcie", "nvlink"] = Field("pcie", description="How the machine's GPUs talk to each other.")
    purchase_usd: Usd | None = Field(None, description="What the machine cost (for the buy-versus-rent line; "
                                                       "default: count × the card's sourced price in "
                                                       "catalog/purchase_prices.yaml).")
    lifetime_years: float | None = Field(None, gt=0, le=30, allow_inf_nan=False,
                                         description="Years the purchase is written off over: asks for the "
                                                     "buy-versus-rent line.")

    @model_validator(mode="after")
    def _purchase_with_lifetime(self) -> "OwnedMachine":
        if self.purchase_usd is not None and self.lifetime_years is None:
            raise ValueError("purchase_usd needs lifetime_years (the amortised hourly cost divides the price by it)")
        return self


class Constraints(Strict):
    """Which GPUs and providers to consider."""

    gpus: list[str] | None = Field(None, min_length=1, description="GPU ids or aliases; default: all.")
    providers: list[str] | None = Field(None, min_length=1, description="Provider ids; default: all.")
    gpu_count: int | None = Field(None, ge=1, le=65536, description="Pin the training GPU count.")
    max_gpus: int = Field(4096, ge=1, le=65536, description="Largest training GPU count searched.")
    spot: bool = Field(False, description="Use spot (interruptible) prices where offered.")
    assumed_network_gbps: float | None = Field(
        None, gt=0, le=100_000, allow_inf_nan=False,
        description="Gbit/s between instances assumed for offers that state no network (default: the catalog's, "
                    "catalog/providers.yaml assumed_network); plans that rely on it say so.")
    owned: list[OwnedMachine] = Field(default_factory=empty_list, max_length=64,
                                      description="Machines the user owns, planned beside the rented offers.")
    usd_per_kwh: float | None = Field(None, ge=0, le=10, allow_inf_nan=False,
                                      description="Electricity price for owned machines, USD/kWh.")
    discounts: dict[str, Percent] = Field(default_factory=dict,
                                          description="Discount per provider id, percent (a coupon or an agreement),"
                                                      " e.g. {massed-compute: 15%}; a bare number below 1 is"
                                                      " refused as ambiguous (write 15% or 0.5%).")
    commitment: Literal["1m", "3m", "6m", "1y", "3y"] | None = Field(
        None, description="Also plan at the published committed-term prices of this length (catalog/commitments.yaml),"
                          " beside the on-demand ones; each such plan names its term and what it binds you to, and"
                          " costs what you would owe: a training plan price × instances × max(job hours, term"
                          " hours), a serving plan every hour of the month.")
    commitment_payment: Literal["no-upfront", "partial-upfront", "all-upfront"] = Field(
        "no-upfront", description="Which published payment option of the term to plan with.")
    pue: float = Field(1.0, ge=1.0, le=5.0, allow_inf_nan=False,
                       description="Power usage effectiveness of the owned machines' site (1: the GPUs' board power "
                                   "only).")

    @field_validator("commitment_payment")
    @classmethod
    def _payment_needs_a_term(cls, value: str, info: ValidationInfo) -> str:
        # runs only when commitment_payment is written; "in info.data": a commitment that failed its own check is
        # reported there, not here. Without a term no committed price is planned, so the option would be ignored
        if "commitment" in info.data and info.data["commitment"] is None:
            raise ValueError(f"commitment_payment {value} chooses how a committed term is paid, and no commitment "
                             "is set (only on-demand prices are planned). Set commitment (1m, 3m, 6m, 1y or 3y), or "
                             "remove commitment_payment")
        return value

    @field_validator("discounts", mode="before")
    @classmethod
    def _flow_key_without_space(cls, value: object) -> object:
        """`{mithril:50%}` (no space after the colon) is, in YAML's flow style, ONE key 'mithril:50%' with no value:
        say so and show the spaced form, instead of 'a valid number (got None)' (new-user QA)."""
        if isinstance(value, dict):
            for key, given in value.items():
                if given is None and isinstance(key, str) and ":" in key:
                    name, _, amount = key.partition(":")
                    raise ValueError(
                        f"{key!r} was read as one provider name with no discount: in YAML's {{…}} form a colon needs "
                        f"a space after it; write {{{name.strip()}: {amount.strip()}}}")
        return value

    @field_validator("gpus", "providers", mode="before")
    @classmethod
    def _names_as_text(cls, value: object) -> object:
        """A bare number (gpus: [4090]) is a name written without quotes: read it as text, so the catalog lookup
        answers it with its did-you-mean (RTX-4090) instead of a type error."""
        if isinstance(value, list):
            return [str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in value]
        return value


class Profile(Strict):
    """A project profile."""

    name: str = Field(min_length=1, max_length=200, description="Project name.")
    model: ModelSection = Field(description="The model: a preset and/or its architecture.")
    training: Training | None = Field(None, description="Training or fine-tuning job.")
    inference: Inference | None = Field(None, description="Serving workload.")
    constraints: Constraints = Field(default_factory=Constraints, description="GPUs, providers, counts.")

    @field_validator("name")
    @classmethod
    def _name_shows(cls, value: str) -> str:
        # new-user QA round 10: name: "   " titled the report 'GPU plan for     (catalog …' and named the SkyPilot
        # task '   '; a name that shows nothing is as unusable as the empty one min_length refuses
        if not value.strip():
            raise ValueError("the name is blank (spaces only): give the project a name the reports can show")
        return value

    @model_validator(mode="after")
    def _something_to_plan(self) -> "Profile":
        if self.training is None and self.inference is None:
            raise ValueError("a profile needs a training or an inference section (or both)")
        return self
