"""One transformer layer's matrices: attention (multi-head, grouped-query, multi-head latent), dense FFN, experts.

Pure counting from the architecture; workload.py turns the counts into parameters, FLOP and bytes. Sources:
- multi-head / grouped-query attention: docs/internals.md 'Parameters' (Q and O are d × h·d_h, K and V are
  d × h_kv·d_h; h·d_h = d unless head_dim is given, as in Qwen3, Gemma 3, gpt-oss and Mistral Small).
- multi-head latent attention (MLA): DeepSeek-V2 (arXiv 2405.04434) §2.1.2–2.1.3, eqs. 9–19: queries through a
  rank-d_c' bottleneck (W^DQ d × d_c', W^UQ d_c' × h·(d_h + d_h^R)), keys and values from one latent
  (W^DKV plus the shared rotary key W^KR: d × (d_c + d_h^R); W^UK, W^UV: d_c × h·d_h each), output h·d_h × d.
  The cache holds the latent and the rotary key: d_c + d_h^R values per token per layer (§2.1.2, Table 1).
- mixture of experts: each expert is an FFN of expert_ffn_hidden; the router is one d × E matrix (Shazeer et al.
  2017; Fedus et al. 2022, Switch Transformer §2.1; Mixtral arXiv 2401.04088 §2.1; DeepSeekMoE arXiv 2401.06066
  §3 for shared experts).
"""
from __future__ import annotations

from planner.dataclass import dataclass

from planner.schema.model import Architecture


@dataclass(frozen=True)
class LayerShapes:
    """Matrix sizes of an architecture's layers, summed where they repeat."""

    attention: tuple[tuple[float, float], ...]
    """(d_in, d_out) of each attention matrix of one layer."""
    ffn: tuple[float, float]
    """(d, f) of one dense FFN matrix pair; gated FFNs have three d × f matrices, others two."""
    expert: tuple[float, float]
    """(d, f_e) of one expert."""
    ffn_matrices: int
    """3 for gated (SwiGLU / GeGLU) FFNs, else 2."""
    layers: int
    moe_layers: int
    experts: int
    experts_per_token: int
    shared_experts: int
    extra_norms: float
    """Norm weights inside attention (MLA's latent norms) per layer."""

    @property
    def attention_params(self) -> float:
        """Matmul parameters of one layer's attention."""
        return sum(a * b for a, b in self.attention)

    @property
    def dense_ffn_params(self) -> float:
        """Parameters of one dense FFN."""
        return self.ffn_matrices * self.ffn[0] * self.ffn[1]

    @property
    def expert_params(self) -> float:
        """Parameters of one expert."""
        return self.ffn_matrices * self.expert[0] * self.expert[1]

    @property
    def router_params(self) -> float:
        """Router of one MoE layer: d × E."""
        return self.expert[0] * self.experts if self.moe_layers else 0.0

    @property
    def dense_layers(self) -> int:
        """Layers with a dense FFN."""
        return self.layers - self.moe_layers

    def matmul_params(self) -> float:
        """Matmul parameters of all layers (every expert, the routers)."""
        return (self.layers * self.attention_params + self.dense_layers * self.dense_ffn_params
                + self.moe_layers * ((self.experts + self.shared_experts) * self.expert_params
                                     + self.router_params))

    def active_matmul_params(self) -> float:
        """Matmul parameters one token passes through: the top-k routed and the shared experts, the router."""
        return (self.layers * self.attention_params + self.dense_layers * self.dense_ffn_params
                + self.moe_layers * ((self.experts_per_token + self.shared_experts) * self.expert_params
                                     + self.router_params))

    def routed_expert_params(self) -> float:
        """Parameters of all routed experts (what EP shards and what decode reads only when touched)."""
        return self.moe_layers * self.experts * self.expert_params

    def lora_sides(self) -> float:
        """Σ (d_in + d_out) over every matmul of all layers (LoRA adds rank × this; experts adapted each)."""
        attention = sum(a + b for a, b in self.attention)
        ffn = self.ffn_matrices * (self.ffn[0] + self.ffn[1])
        expert = self.ffn_matrices * (self.expert[0] + self.expert[1])
        return (self.layers * attention + self.dense_layers * ffn
                + self.moe_layers * (self.experts + self.shared_experts) * expert)

    def active_ffn_inner(self) -> float:
        """Mean FFN inner width one token's activations span per layer (k + shared experts in an MoE layer)."""
        moe_inner = (self.experts_per_token + self.shared_experts) * self.expert[1]
        return (self.dense_layers * self.ffn[1] + self.moe_layers * moe_inner) / self.layers


def layer_shapes(arch: Architecture) -> LayerShapes:
    """The matrices of one architecture's layers."""
    d = float(arch.d_model)
    h, dh = arch.n_heads, arch.head_size
    if arch.is_mla:
        rank, rope = float(arch.kv_lora_rank or 0), float(arch.rope_head_dim or 0)
        q_out = h * (dh + rope)
        q = ((d, float(arch.q_lora_rank)), (float(arch.q_lora_rank), q_out)) if arch.q_lora_rank else ((d, q_out),)
        attention = (*q, (d, rank + rope), (rank, 2.0 * h * dh), (h * dh, d))
        extra_norms = rank + float(arch.q_lora_rank or 0)
    else:
        kv_width = float(arch.n_kv_heads * dh)
        attention = ((d, h * dh), (d, kv_width), (d, kv_width), (h * dh, d))
        extra_norms = 0.0
    return LayerShapes(
        attention=attention, ffn=(d, float(arch.ffn)), expert=(d, float(arch.expert_ffn)),
        ffn_matrices=3 if arch.is_swiglu else 2, layers=arch.n_layers, moe_layers=arch.n_moe_layers,
        experts=arch.experts or 0, experts_per_token=arch.experts_per_token or 0,
        shared_experts=(arch.shared_experts or 0) if arch.is_moe else 0, extra_norms=extra_norms,
    )


def attention_pair_flops(arch: Architecture) -> float:
    """Forward FLOP of one layer for one (query, key) pair: scores q·k over h heads of d_h (+ d_h^R with MLA) and
    the weighted sum over values of d_h: 2·h·d_qk + 2·h·d_v (= 4·d for plain multi-head attention)."""
    h, dh = arch.n_heads, arch.head_size
    return 2.0 * h * (dh + (arch.rope_head_dim or 0)) + 2.0 * h * dh


def decode_pair_flops(arch: Architecture) -> float:
    """Decode FLOP of one layer per cached token. MLA decodes in the absorbed form (DeepSeek-V2 §2.1.2: W^UK folds
    into the query, W^UV into the output), attending over the latent: 2·h·(d_c + d_h^R) + 2·h·d_c."""
    if arch.is_mla:
        rank, rope = arch.kv_lora_rank or 0, arch.rope_head_dim or 0
        return 2.0 * arch.n_heads * (rank + rope) + 2.0 * arch.n_heads * rank
    return attention_pair_flops(arch)


def kv_values_per_token_layer(arch: Architecture) -> float:
    """Values cached per token per layer: keys and values 2·h_kv·d_h, or MLA's latent and rotary key d_c + d_h^R."""
    if arch.is_mla:
        return float((arch.kv_lora_rank or 0) + (arch.rope_head_dim or 0))
    return 2.0 * arch.n_kv_heads * arch.head_size


def attention_kv_heads(arch: Architecture) -> int:
    """Key/value heads the training attention kernel reads: h_kv (GQA/MQA), or h for MLA, whose latent is
    up-projected to per-head keys and values before the kernel in training (DeepSeek-V2 §2.1.2; the absorbed form
    is a decoding trick)."""
    return arch.n_heads if arch.is_mla else arch.n_kv_heads


def attention_kv_values_per_token_layer(arch: Architecture) -> float:
    """Key and value entries per token per layer that the training attention kernel reads, what context
    parallelism passes around its ring: 2·h_kv·d_h (GQA shrinks it, Megatron-LM context_parallel docs), or MLA's
    up-projected keys h·(d_h + d_h^R) and values h·d_h."""
    if arch.is_mla:
        return float(arch.n_heads * (2 * arch.head_size + (arch.rope_head_dim or 0)))
    return 2.0 * arch.n_kv_heads * arch.head_size


def windowed_layers(arch: Architecture) -> int:
    """Layers attending over a sliding window: all, or all but every sliding_window_pattern-th."""
    if arch.sliding_window is None:
        return 0
    pattern = arch.sliding_window_pattern
    return arch.n_layers if pattern is None else arch.n_layers - arch.n_layers // pattern


def causal_pairs(tokens: float, window: float | None) -> float:
    """(query, key) pairs of causal attention over `tokens`, each query seeing at most `window` keys (≈ t²/2
    without a window; W²/2 + (t − W)·W with one)."""
    if window is None or tokens <= window:
        return tokens * tokens / 2.0
    return window * window / 2.0 + (tokens - window) * window
