"""Architecture → work: parameters, FLOP per token/sample, bytes moved, memory. Pure; no torch.

Formulas and sources are in docs/internals.md#formulas; each function cites the one it uses.
FLOP here are floating-point operations (one multiply-accumulate = 2 FLOP), as FlopCounterMode counts them.
"""
from __future__ import annotations

import math
from planner.dataclass import dataclass

from planner.model import precision
from planner.model.gemm_shapes import Gemm
from planner.model.layers import (
    LayerShapes,
    attention_kv_heads,
    attention_kv_values_per_token_layer,
    attention_pair_flops,
    causal_pairs,
    decode_pair_flops,
    kv_values_per_token_layer,
    layer_shapes,
    windowed_layers,
)
from planner.schema.model import Architecture

BYTES = precision.BYTES
"""Bytes per stored value by precision (planner/model/precision.py)."""

NF4_BYTES = 4.127 / 8.0
"""QLoRA NF4 with double quantisation: 4.127 bits per parameter (Dettmers et al. 2023, §3)."""


@dataclass(frozen=True)
class ResnetLayer:
    """One convolution (or the classifier) of a ResNet: its MACs, parameters and output size."""

    macs: float
    params: float
    out_elements: float


@dataclass(frozen=True)
class Workload:
    """What one sample of a model costs: FLOP, parameters, memory terms. Counts are per sample."""

    name: str
    family: str
    params: float
    """Parameters (published count when given, else derived)."""
    trainable_matmul_params: float
    """Parameters multiplied once per token (matmul weights incl. the output head); the '2N' of 2N FLOP/token."""
    tokens_per_sample: float
    """Sequence length (text) or patches (vision transformer); 1 for cnn and mlp."""
    forward_flops_per_sample: float
    """Model FLOP of one forward pass over one sample."""
    attention_flops_per_sample: float
    """Share of forward_flops_per_sample spent in attention scores and weighted sums."""
    activation_bytes_per_sample_16bit: float
    """Activations kept for backward, 16-bit, no recomputation (flash-style attention: no s×s scores kept)."""
    recompute_activation_bytes_per_sample_16bit: float
    """Activations kept with full recomputation: layer inputs plus one layer's working set."""
    layers: int
    hidden: int
    kv_bytes_per_token_16bit: float
    """Key/value cache per token, 16-bit (0 for non-decoders)."""
    attention_score_bytes_per_sample_16bit: float = 0.0
    """What a standard (non-flash) attention kernel keeps besides, over all layers: 5·a·s² bytes per layer (softmax
    output 2, dropout mask 1, dropout output 2 per score; Korthikanti et al. 2022, §4.1). 0 for non-transformers."""
    attention_scores_per_sample: float = 0.0
    """Attention scores a standard kernel materialises per sample: a·s² per layer over all layers (0 for
    non-transformers)."""
    lora_sides_per_layer: float = 0.0
    """Σ (d_in + d_out) over the matmuls of one layer: LoRA adds rank × this per layer (0: not adaptable)."""
    active_params_per_token: float = 0.0
    """Parameters one token passes through (0: all of `params`). A mixture of experts counts only the top-k routed
    and the shared experts; the input embedding, a table lookup with no arithmetic, is left out (OpenAI's gpt-oss
    convention: 5.1B active of 117B; Mistral and Qwen count it, a ~1 % difference for Mixtral)."""
    routed_expert_params: float = 0.0
    """Parameters of every routed expert together (0: dense): what expert parallelism shards and what one decode
    step reads only for the experts its batch touches."""
    experts: int = 0
    """Routed experts per MoE layer E (0: dense)."""
    experts_per_token: int = 0
    """Top-k."""
    moe_layers: int = 0
    """Layers with routed experts."""
    expert_flops_share: float = 0.0
    """Share of the forward FLOP spent in routed experts (what load imbalance slows down)."""
    attention_pair_flops: float = 0.0
    """Forward FLOP per layer per (query, key) pair (0: 4·hidden, plain multi-head attention)."""
    decode_pair_flops: float = 0.0
    """Decode FLOP per layer per cached token (MLA absorbed; 0: attention_pair_flops)."""
    window: int = 0
    """Sliding-window size W of the windowed layers (0: none)."""
    windowed_layers: int = 0
    """Layers attending over the window; the others attend over the whole context."""
    attention_kind: str = ""
    """MHA / GQA / MQA / MLA, with its window, for reports."""
    shape_note: str = ""
    """How the shape was obtained when it was not given ('derived from 7B parameters: …'); empty when given."""
    attention_kv_values_per_token_layer: float = 0.0
    """Key/value entries per token per layer the training attention kernel reads (2·h_kv·d_h; MLA up-projected):
    what a context-parallel ring passes between GPUs (0: no attention)."""
    attention_heads: int = 0
    """Query heads per layer (0: no attention). Tensor parallelism splits them: a degree must divide them
    (Megatron-LM's and vLLM's check; 12-head BERT runs at tensor 1, 2, 4 — not 8, though 8 divides its 768 hidden)."""
    attention_kv_heads: int = 0
    """Key/value heads of that kernel (tensor parallelism splits them; with more ranks than heads each rank keeps
    one, Megatron's GQA replication)."""
    relative_attention: bool = False
    """Transformer-XL attention over a memory: a second, shifted score matmul per pair (relative positions), so an
    eager forward pass makes RELATIVE_SCORE_PASSES more passes over the scores (forward_time.py)."""
    draft: Workload | None = None
    """Serving: the draft model of speculative decoding, when the profile asks for one."""
    head_flops_per_sample: float = 0.0
    """Forward FLOP of the output layer (vocabulary head or classifier) per sample, part of
    forward_flops_per_sample: what the last pipeline stage computes besides its transformer layers."""
    gemms: tuple[Gemm, ...] = ()
    """The dense matrix products of one forward pass per sample (rows per sample, N, K, count), part of
    forward_flops_per_sample: what tile and wave quantisation act on (planner/model/gemm_shapes.py). Empty: shapes
    unknown (a model given by its FLOP only)."""

    @property
    def active_params(self) -> float:
        """Parameters per token (all of them for a dense model)."""
        return self.active_params_per_token or self.params

    @property
    def is_moe(self) -> bool:
        """A mixture of experts."""
        return self.experts > 0

    @property
    def pair_flops(self) -> float:
        """Forward attention FLOP per layer per (query, key) pair."""
        return self.attention_pair_flops or 4.0 * self.hidden

    def window_of(self, layer_windowed: bool) -> float | None:
        """The window of a windowed layer, None for a global one."""
        return float(self.window) if layer_windowed and self.window else None

    @property
    def train_flops_per_sample(self) -> float:
        """Model FLOP of one training step's work on one sample: forward + backward (2× forward)."""
        return 3.0 * self.forward_flops_per_sample

    @property
    def is_generative(self) -> bool:
        """Decoders generate token by token (prefill + decode)."""
        return self.family == "decoder"


def transformer_layer_matmul_params(arch: Architecture) -> float:
    """Matmul parameters of one transformer layer, averaged over the layers: attention (Q, K, V, O or MLA's
    projections) and the FFN or experts (docs/internals.md, 'Parameters'; planner/model/layers.py)."""
    return layer_shapes(arch).matmul_params() / arch.n_layers


def transformer_params(arch: Architecture) -> float:
    """Total parameters of a decoder or encoder: layers (every expert) + norms + embeddings (+ head when untied)."""
    d = arch.d_model
    shapes = layer_shapes(arch)
    norms = ((2 * d if arch.norm == "rmsnorm" else 4 * d) + shapes.extra_norms) * arch.n_layers
    total = shapes.matmul_params() + norms
    if arch.vocab:
        total += arch.vocab_size * d * (1 if _tied(arch) else 2)
    if arch.position == "learned" or (arch.position is None and arch.family == "encoder"):
        total += arch.context * d
    if arch.image_size and arch.patch_size:
        total += (arch.channels or 3) * arch.patch_size**2 * d + d * (arch.num_classes or 1000)
    return float(total)


def _tied(arch: Architecture) -> bool:
    """Input and output embeddings shared: as given, else BERT-style encoders tie and decoders do not."""
    return arch.tied_embeddings if arch.tied_embeddings is not None else arch.family == "encoder"


def resnet_layers(arch: Architecture) -> list[ResnetLayer]:
    """The convolutions of a bottleneck ResNet (torchvision v1.5 layout: stride on the 3×3), then the classifier.

    He et al. 2016, Table 1; stride placement as in torchvision.models.resnet.Bottleneck.
    """
    channels = arch.channels or 3
    width = arch.width or 64
    side = arch.image_side / 2  # stem: 7×7 conv, stride 2
    layers = [ResnetLayer(49 * channels * width * side**2, 49 * channels * width + 2 * width, width * side**2)]
    side = math.ceil(side / 2)  # 3×3 max-pool, stride 2
    in_ch = width
    for stage, n_blocks in enumerate(arch.blocks or []):
        mid = width * 2**stage
        out = 4 * mid
        for block in range(n_blocks):
            stride = 2 if (stage > 0 and block == 0) else 1
            out_side = math.ceil(side / stride)
            layers.append(ResnetLayer(in_ch * mid * side**2, in_ch * mid + 2 * mid, mid * side**2))
            layers.append(ResnetLayer(9 * mid * mid * out_side**2, 9 * mid * mid + 2 * mid, mid * out_side**2))
            layers.append(ResnetLayer(mid * out * out_side**2, mid * out + 2 * out, out * out_side**2))
            if block == 0:
                layers.append(ResnetLayer(in_ch * out * out_side**2, in_ch * out + 2 * out, out * out_side**2))
            in_ch, side = out, out_side
    classes = arch.num_classes or 1000
    layers.append(ResnetLayer(in_ch * classes, in_ch * classes + classes, classes))
    return layers


def workload_for(arch: Architecture) -> Workload:
    """The per-sample work of an architecture."""
    if arch.family in ("decoder", "encoder"):
        return _transformer_workload(arch)
    if arch.family == "cnn":
        return _cnn_workload(arch)
    return _mlp_workload(arch)


PARAMS_AGREE = 0.05
"""A given parameter count within 5 % of the architecture's is the published exact count and is used; further off,
the architecture's own count is (issue 14: 'params: 46.7B' on a dense 7B shape must not plan 46.7B of FLOP)."""


def params_disagreement(arch: Architecture) -> tuple[float, float] | None:
    """(given, derived) when a transformer's given params differ from its architecture's by more than 5 %."""
    if arch.params is None or arch.family not in ("decoder", "encoder") or arch.shape_note:
        return None
    derived = transformer_params(arch)
    if abs(arch.params - derived) <= PARAMS_AGREE * derived:
        return None
    return float(arch.params), derived


def _transformer_workload(arch: Architecture) -> Workload:
    d, n_layers = arch.d_model, arch.n_layers
    vision = arch.vocab is None and arch.image_size is not None
    if vision:
        patches = (arch.image_side // (arch.patch_size or 16)) ** 2
        seq = patches + 1  # + class token
    else:
        seq = arch.context
    shapes = layer_shapes(arch)
    layer_matmul = shapes.active_matmul_params() / n_layers  # what one token multiplies, per layer on average
    # Forward FLOP per token: 2 per matmul weight; attention QK^T and AV over the full s×s matrix: 4·s·d per layer
    # for multi-head attention (PaLM App. B counts the full matrix; training = 3× forward gives 6N + 12·L·d·s);
    # pair_flops generalises 4·d to head_dim ≠ d/h and MLA; windowed layers count the pairs inside their window.
    pair = attention_pair_flops(arch)
    n_windowed = windowed_layers(arch)
    # a Transformer-XL memory of m cached tokens adds s·m pairs per layer, all visible (no mask)
    memory = float(arch.memory_len or 0)
    full_pairs = 2.0 * ((n_layers - n_windowed) * causal_pairs(seq, None)
                        + n_windowed * causal_pairs(seq, arch.sliding_window)) + n_layers * seq * memory
    attention = pair * full_pairs
    matmul = 2.0 * n_layers * layer_matmul * seq
    if memory:
        # Transformer-XL's memory holds hidden states, not keys and values (Dai et al. 2019 §3.2; NVIDIA DLE
        # PyTorch/LanguageModeling/Transformer-XL mem_transformer.py, the source of its catalog/published_runs.yaml
        # rows, RelPartialLearnableMultiHeadAttn: qkv_net(cat([mems, w]))): every segment projects Q, K and V over
        # memory + segment, and relative positions add a second score matmul per pair, BD = (q + r_r_bias)·Rᵀ, of
        # the FLOP of q·kᵀ. R's own projection (r_net) runs once per forward for the whole batch: not per sample.
        qkv = shapes.attention_params - shapes.attention[-1][0] * shapes.attention[-1][1]  # all but the output matrix
        matmul += 2.0 * n_layers * qkv * memory
        attention += 2.0 * arch.n_heads * arch.head_size * n_layers * seq * (seq + memory)
    if vision:
        patch_dim = (arch.channels or 3) * (arch.patch_size or 16) ** 2
        head_params = d * (arch.num_classes or 1000)
        matmul += 2.0 * patch_dim * d * patches + 2.0 * head_params  # patch embedding; classifier on one token
        head_per_token = head_params / seq
    else:
        share = 1.0 if arch.lm_head_share is None else arch.lm_head_share
        head_per_token = arch.vocab_size * d * share
        matmul += 2.0 * head_per_token * seq  # vocabulary head over its share of positions (LM / MLM logits)
    gemms = _transformer_gemms(arch, shapes, float(seq), memory, vision)
    derived = transformer_params(arch)
    params = derived if arch.params is None or params_disagreement(arch) else arch.params
    # Activations per layer, 16-bit, per token, in units of d (Korthikanti et al. 2022, §4.1, generalised to f ≠ 4d):
    # attention 11 (QKV input 2, Q,K 4, V 2, output-projection input 2, dropout mask 1), norms 4, FFN input 2,
    # FFN inner tensors 2 bytes each: gelu keeps fc1-out and gelu-out (2·2f), swiglu gate, up, act, product (4·2f),
    # dropout mask 1. For f = 4d, gelu this is Korthikanti's 34. Flash attention keeps no s×s scores.
    ffn_tensors = 4 if arch.is_swiglu else 2
    per_token_layer = d * (11 + 4 + 2 + 1) + 2.0 * ffn_tensors * shapes.active_ffn_inner()
    logits = 0.0 if vision else 6.0 * arch.vocab_size * share  # 16-bit logits + fp32 copy for the loss, per scored token
    # with a memory, the projection's input cat([mems, w]) and its Q, K, V output span memory + segment (the
    # memory's 2 + 6 bytes per d per layer beside the segment's, kept for backward like the segment's own)
    activations = seq * (n_layers * per_token_layer + logits) + n_layers * 8.0 * d * memory
    recompute = seq * (n_layers * 2.0 * d + per_token_layer + logits)  # layer inputs kept; one layer rebuilt
    # a standard kernel materialises a × s × s scores per layer, kept for backward as 5·a·s² bytes (Korthikanti's
    # 5as/h term of s·h·(34 + 5as/h)); causal and windowed kernels still hand the full matrix to the softmax (masked)
    scores = n_layers * arch.n_heads * float(seq) * (seq + memory)
    # KV cache per token (docs/internals.md, 'Serving': 2·L·h_kv·d_h·p; MLA: latent + rotary key, layers.py), 16-bit
    kv = n_layers * kv_values_per_token_layer(arch) * 2.0 if arch.family == "decoder" else 0.0
    embedding = 0.0 if vision or _tied(arch) else float(arch.vocab_size * d)
    active = params * (shapes.active_matmul_params() + derived - shapes.matmul_params() - embedding) / derived
    routed = shapes.routed_expert_params() * params / derived
    expert_flops = 2.0 * seq * shapes.moe_layers * shapes.experts_per_token * shapes.expert_params
    return Workload(
        name=arch.name, family=arch.family, params=float(params),
        trainable_matmul_params=float(n_layers * layer_matmul + head_per_token),
        tokens_per_sample=float(seq), forward_flops_per_sample=matmul + attention,
        attention_flops_per_sample=attention, activation_bytes_per_sample_16bit=activations,
        recompute_activation_bytes_per_sample_16bit=recompute, attention_score_bytes_per_sample_16bit=5.0 * scores,
        attention_scores_per_sample=scores,
        layers=n_layers, hidden=d, kv_bytes_per_token_16bit=kv, lora_sides_per_layer=shapes.lora_sides() / n_layers,
        active_params_per_token=float(active) if arch.is_moe else 0.0, routed_expert_params=float(routed),
        experts=shapes.experts if arch.is_moe else 0, experts_per_token=shapes.experts_per_token,
        moe_layers=shapes.moe_layers, expert_flops_share=expert_flops / (matmul + attention),
        attention_pair_flops=pair, decode_pair_flops=decode_pair_flops(arch),
        window=arch.sliding_window or 0, windowed_layers=n_windowed,
        attention_kind=arch.attention_kind if arch.family == "decoder" else "", shape_note=arch.shape_note or "",
        attention_kv_values_per_token_layer=attention_kv_values_per_token_layer(arch),
        attention_heads=arch.n_heads, attention_kv_heads=attention_kv_heads(arch), relative_attention=bool(memory),
        head_flops_per_sample=2.0 * head_per_token * seq, gemms=gemms,
    )


def _transformer_gemms(arch: Architecture, shapes: LayerShapes, seq: float, memory: float, vision: bool
                       ) -> tuple[Gemm, ...]:
    """The dense products behind the matmul FLOP of _transformer_workload, per sample: each attention matrix (over
    memory + segment for all but the output projection when a Transformer-XL memory is kept), the FFN matrices of
    the dense layers (gated: two d×f and one f×d), in MoE layers each routed expert over its share k/E of the tokens
    (balanced routing), the shared experts and the router; then the vocabulary head over its share of positions, or
    a vision model's patch embedding and classifier."""
    d, n_layers = float(arch.d_model), arch.n_layers
    out: list[Gemm] = []
    last = len(shapes.attention) - 1
    for i, (d_in, d_out) in enumerate(shapes.attention):
        out.append(Gemm(seq + (memory if i < last else 0.0), d_out, d_in, n_layers))
    up = float(shapes.ffn_matrices - 1)  # d → f matrices (gate and up, or up alone); one f → d
    if shapes.dense_layers:
        f = shapes.ffn[1]
        out += [Gemm(seq, f, d, up * shapes.dense_layers), Gemm(seq, d, f, float(shapes.dense_layers))]
    if shapes.moe_layers:
        fe, moe = shapes.expert[1], float(shapes.moe_layers)
        routed = seq * shapes.experts_per_token / shapes.experts
        for rows, count in ((routed, moe * shapes.experts), (seq, moe * shapes.shared_experts)):
            if count:
                out += [Gemm(rows, fe, d, up * count), Gemm(rows, d, fe, count)]
        out.append(Gemm(seq, float(shapes.experts), d, moe))
    if vision:
        side = arch.patch_size or 16
        out += [Gemm(seq - 1, d, float((arch.channels or 3) * side * side)), Gemm(1.0, float(arch.num_classes or 1000), d)]
    else:
        share = 1.0 if arch.lm_head_share is None else arch.lm_head_share
        if share and arch.vocab_size:
            out.append(Gemm(seq * share, float(arch.vocab_size), d))
    return tuple(out)


def _cnn_workload(arch: Architecture) -> Workload:
    if arch.blocks:
        layers = resnet_layers(arch)
        flops = 2.0 * sum(layer.macs for layer in layers)
        derived_params = sum(layer.params for layer in layers)
        # kept for backward per conv: its output and the batch-norm output (ReLU runs in place), 16-bit
        activations = 2.0 * 2.0 * sum(layer.out_elements for layer in layers)
        depth = len(layers)
    else:
        flops, derived_params, depth = arch.sample_flops, arch.param_count, 1
        activations = 0.0
    params = float(arch.params or derived_params)
    return Workload(
        name=arch.name, family="cnn", params=params, trainable_matmul_params=params, tokens_per_sample=1.0,
        forward_flops_per_sample=float(arch.flops_per_sample or flops) if not arch.blocks else flops,
        attention_flops_per_sample=0.0, activation_bytes_per_sample_16bit=activations,
        recompute_activation_bytes_per_sample_16bit=activations / max(1.0, math.sqrt(depth)),
        layers=depth, hidden=arch.width or 64, kv_bytes_per_token_16bit=0.0,
    )


def _mlp_workload(arch: Architecture) -> Workload:
    params = arch.param_count
    flops = float(arch.flops_per_sample or 2.0 * params)  # a dense network does one MAC per weight per sample
    width = arch.hidden or int(math.sqrt(params))
    n_layers = arch.layers or 1
    activations = 2.0 * 2.0 * width * n_layers  # each layer's input and pre-activation, 16-bit
    return Workload(
        name=arch.name, family="mlp", params=params, trainable_matmul_params=params, tokens_per_sample=1.0,
        forward_flops_per_sample=flops, attention_flops_per_sample=0.0,
        activation_bytes_per_sample_16bit=activations, recompute_activation_bytes_per_sample_16bit=activations,
        layers=n_layers, hidden=width, kv_bytes_per_token_16bit=0.0,
    )


# ----------------------------------------------------------------------------------------------- inference


def _global_and_windowed(work: Workload) -> tuple[int, int]:
    return work.layers - work.windowed_layers, work.windowed_layers


def prefill_flops(work: Workload, prompt_tokens: float) -> float:
    """Forward FLOP of a prompt: 2·N per token + causal attention 2·L·P²·d (docs/internals.md, 'Serving'), the
    attention term over each layer's causal pairs (windowed layers: inside the window) at pair_flops each."""
    full, windowed = _global_and_windowed(work)
    pairs = full * causal_pairs(prompt_tokens, None) + windowed * causal_pairs(prompt_tokens, work.window_of(True))
    return 2.0 * work.trainable_matmul_params * prompt_tokens + work.pair_flops * pairs


def decode_flops(work: Workload, context: float) -> float:
    """FLOP of one decode step of one sequence: 2·N + 4·L·ctx·d (docs/internals.md, 'Serving'); windowed layers
    attend over at most W tokens, MLA over its latent (decode_pair_flops)."""
    full, windowed = _global_and_windowed(work)
    keys = full * context + windowed * min(context, work.window or context)
    return 2.0 * work.trainable_matmul_params + (work.decode_pair_flops or work.pair_flops) * keys


def weight_bytes(work: Workload, precision: str) -> float:
    """Bytes of the weights at a storage precision (int4 includes its group scales); every expert."""
    return work.params * BYTES[precision]


def experts_touched_fraction(work: Workload, tokens: float) -> float:
    """Expected share of a layer's routed experts that `tokens` tokens touch, each routed to k of E experts
    uniformly: 1 − (1 − k/E)^tokens (expected distinct experts touched = E·(1 − (1 − k/E)^tokens); balanced
    routing is what the load-balancing loss trains for, Fedus et al. 2022 §2.2). 1 for a dense model."""
    if not work.is_moe:
        return 1.0
    untouched: float = (1.0 - work.experts_per_token / work.experts) ** max(0.0, tokens)
    return 1.0 - untouched


def weights_read_bytes(work: Workload, precision: str, tokens: float) -> float:
    """Weight bytes one forward pass over `tokens` tokens reads: all dense weights, the routed experts touched."""
    routed = work.routed_expert_params * experts_touched_fraction(work, tokens)
    return (work.params - work.routed_expert_params + routed) * BYTES[precision]


def kv_bytes_per_token(work: Workload, kv_precision: str) -> float:
    """KV cache per token with every layer global: 2·L·h_kv·d_h·p (docs/internals.md, 'Serving'); GQA-aware
    via kv_heads; MLA keeps L·(d_c + d_h^R)·p."""
    return work.kv_bytes_per_token_16bit / 2.0 * BYTES[kv_precision]


def kv_cache_bytes(work: Workload, tokens: float, kv_precision: str) -> float:
    """KV cache of one sequence of `tokens`: global layers keep every token, windowed layers at most W (Mistral 7B
    arXiv 2310.06825 §2, rolling buffer cache)."""
    full, windowed = _global_and_windowed(work)
    kept = full * tokens + windowed * min(tokens, work.window or tokens)
    return kv_bytes_per_token(work, kv_precision) / work.layers * kept if work.layers else 0.0


# ----------------------------------------------------------------------------------------------- training memory


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes per GPU of one training configuration."""

    weights: float
    gradients: float
    optimizer: float
    activations: float

    @property
    def total(self) -> float:
        """All of it."""
        return self.weights + self.gradients + self.optimizer + self.activations


OPTIMIZER_STATE_BYTES = {"adamw": 8.0, "adam": 8.0, "sgd": 4.0, "adafactor": 0.0}
"""fp32 optimizer state per trainable parameter: Adam's two moments; SGD momentum; Adafactor factored (≈ 0)."""

ZERO_STAGES = ("none", "zero1", "zero2", "zero3")


def lora_params(work: Workload, rank: int) -> float:
    """LoRA adapter parameters on every matmul of every layer: r·(d_in + d_out) per matrix (Hu et al. 2021)."""
    return float(work.layers * rank * work.lora_sides_per_layer)
