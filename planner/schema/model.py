"""Model architecture: the profile's `model:` section and the presets in catalog/models.yaml."""

from typing import Literal

from pydantic import Field, model_validator

from planner.schema.base import Count, Strict, given
from planner.schema.catalog import Family, a_family

ARCH_FIELDS = (
    "family", "params", "layers", "hidden", "heads", "kv_heads", "ffn_hidden", "vocab", "seq_len",
    "activation", "norm", "position", "tied_embeddings", "image_size", "patch_size", "channels", "blocks",
    "width", "num_classes", "flops_per_sample", "lm_head_share", "head_dim", "experts", "experts_per_token",
    "shared_experts", "expert_ffn_hidden", "moe_layers", "kv_lora_rank", "q_lora_rank", "rope_head_dim",
    "sliding_window", "sliding_window_pattern", "memory_len",
)


class ModelFields(Strict):
    """Architecture fields shared by presets and profiles; all optional here, checked in `Architecture`."""

    family: Family | None = Field(None, description="decoder | encoder | cnn | mlp.")
    params: Count | None = Field(None, description="Parameter count; derived from the architecture when omitted.")
    layers: int | None = Field(None, ge=1, le=1000, description="Transformer layers.")
    hidden: int | None = Field(None, ge=1, le=1_000_000, description="Hidden size d.")
    heads: int | None = Field(None, ge=1, le=10_000, description="Attention heads h.")
    kv_heads: int | None = Field(None, ge=1, le=10_000, description="Key/value heads (GQA when < heads).")
    ffn_hidden: int | None = Field(None, ge=1, le=10_000_000, description="FFN inner size f.")
    vocab: int | None = Field(None, ge=1, le=100_000_000, description="Vocabulary size V.")
    seq_len: int | None = Field(None, ge=1, le=100_000_000, description="Sequence length in training (tokens).")
    activation: Literal["gelu", "relu", "swiglu", "geglu"] | None = Field(
        None, description="FFN type: gelu or relu (2 matrices) or the gated swiglu / geglu (3: gate, up, down).")
    norm: Literal["layernorm", "rmsnorm"] | None = Field(None, description="Normalisation layer.")
    position: Literal["rotary", "learned", "alibi", "none"] | None = Field(None, description="Position encoding.")
    tied_embeddings: bool | None = Field(None, description="Input and output embeddings shared.")
    image_size: int | None = Field(None, ge=8, le=100_000, description="Input image side, pixels (cnn, vision encoder).")
    patch_size: int | None = Field(None, ge=1, le=10_000, description="Patch side for a vision transformer.")
    channels: int | None = Field(None, ge=1, le=10_000, description="Input image channels.")
    blocks: list[int] | None = Field(None, min_length=1, max_length=16, description="ResNet bottleneck blocks per stage.")
    width: int | None = Field(None, ge=1, le=100_000, description="ResNet base width (first stage inner channels).")
    num_classes: int | None = Field(None, ge=1, le=10_000_000, description="Classifier outputs.")
    flops_per_sample: Count | None = Field(None, description="Forward FLOP per sample (cnn / mlp), when not derived.")
    lm_head_share: float | None = Field(
        None, ge=0, le=1, allow_inf_nan=False,
        description="Share of positions the vocabulary projection runs on: 1 (default) language modelling and "
                    "masked-LM heads that score every position; 0 classification or span (SQuAD) heads; 0.15 "
                    "masked-LM code that projects only the masked positions.")
    head_dim: int | None = Field(
        None, ge=1, le=100_000,
        description="Size of one attention head; default hidden / heads (Qwen3, Gemma 3, gpt-oss and Mistral Small "
                    "set it explicitly, so heads × head_dim may differ from hidden). With MLA: the non-rotary "
                    "query/key and the value head size (DeepSeek qk_nope_head_dim = v_head_dim).")
    # Mixture of experts (Shazeer et al. 2017; Fedus et al. 2022 Switch Transformer; config.json names in comments)
    experts: int | None = Field(
        None, ge=1, le=100_000,
        description="Routed experts per MoE layer E (config.json num_local_experts / n_routed_experts / num_experts).")
    experts_per_token: int | None = Field(
        None, ge=1, le=100_000, description="Experts each token is routed to, top-k (num_experts_per_tok).")
    shared_experts: int | None = Field(
        None, ge=0, le=1000,
        description="Experts every token passes through besides the routed ones, each of expert_ffn_hidden "
                    "(DeepSeek n_shared_experts; Llama 4: 1). Default 0.")
    expert_ffn_hidden: int | None = Field(
        None, ge=1, le=10_000_000,
        description="FFN inner size of one expert (moe_intermediate_size); default ffn_hidden (Mixtral's "
                    "intermediate_size is per expert).")
    moe_layers: int | None = Field(
        None, ge=0, le=1000,
        description="How many layers are MoE; the others are dense FFNs of ffn_hidden. Default: all layers. "
                    "DeepSeek-V3: 58 of 61 (first_k_dense_replace 3); Llama 4 Maverick: 24 of 48 (every other).")
    # Multi-head latent attention (DeepSeek-V2, arXiv 2405.04434 §2.1)
    kv_lora_rank: int | None = Field(
        None, ge=1, le=1_000_000,
        description="MLA: compressed key/value latent per token per layer d_c; the KV cache keeps d_c + "
                    "rope_head_dim values per layer instead of 2·kv_heads·head_dim.")
    q_lora_rank: int | None = Field(
        None, ge=1, le=1_000_000, description="MLA: compressed query rank d_c' (absent: queries not compressed).")
    rope_head_dim: int | None = Field(
        None, ge=1, le=100_000, description="MLA: decoupled rotary key/query size per head d_h^R (qk_rope_head_dim).")
    # Sliding-window attention (Mistral 7B arXiv 2310.06825 §2; Gemma 2/3; gpt-oss)
    sliding_window: int | None = Field(
        None, ge=1, le=100_000_000,
        description="Local attention window W: a windowed layer attends to the last W tokens and caches only W.")
    sliding_window_pattern: int | None = Field(
        None, ge=1, le=1000,
        description="Every n-th layer attends globally, the others use the window (Hugging Face's Gemma 3 "
                    "sliding_window_pattern: 6 = five local, one global; gpt-oss: 2). Absent: every layer windowed "
                    "(Mistral 7B v0.1).")
    # Segment-level recurrence (Transformer-XL, Dai et al. 2019, arXiv 1901.02860 §3.2)
    memory_len: int | None = Field(
        None, ge=1, le=100_000_000,
        description="Transformer-XL memory: hidden states of the previous memory_len tokens, cached without "
                    "gradient, that every query of a segment also attends (attention spans memory_len + its causal "
                    "prefix).")


class ModelPreset(ModelFields):
    """One published architecture in catalog/models.yaml."""

    id: str = Field(description="Preset name used in profiles.")
    name: str | None = Field(None, description="Published name.")
    family: Family = Field(description="decoder | encoder | cnn | mlp.")
    source: str = Field(min_length=3, description="Where the architecture is published.")
    notes: str | None = Field(None, description="Caveats.")
    max_context: int | None = Field(
        None, ge=1, le=100_000_000,
        description="Tokens one request may span, prompt and output together, in the released model: its config's "
                    "max_position_embeddings (n_positions, block_size) or the published context length. Absent: "
                    "not recorded, and serving does not check it.")
    max_context_source: str | None = Field(
        None, min_length=3, description="Where max_context is published (required with it).")

    @model_validator(mode="after")
    def _context_sourced(self) -> "ModelPreset":
        if self.max_context is not None and self.max_context_source is None:
            raise ValueError("max_context needs max_context_source: where the context window is published")
        return self


class ModelCatalog(Strict):
    """catalog/models.yaml."""

    schema_version: Literal[1] = Field(description="Format version.")
    models: list[ModelPreset] = Field(min_length=1, description="Presets.")


class ModelSection(ModelFields):
    """The profile's `model:` section: a preset, overrides, or a whole architecture."""

    preset: str | None = Field(None, description="A preset name from catalog/models.yaml.")
    name: str | None = Field(None, description="A label for reports.")


class Architecture(ModelFields):
    """A complete architecture, preset and overrides merged and checked per family."""

    name: str = Field(description="Label for reports.")
    family: Family = Field(description="decoder | encoder | cnn | mlp.")
    shape_note: str | None = Field(
        None, description="Set when the shape was derived from the parameter count (planner/model/standard_shape.py).")

    @model_validator(mode="after")
    def _complete(self) -> "Architecture":
        need: tuple[str, ...]
        if self.family == "decoder":
            need = ("layers", "hidden", "heads", "vocab", "seq_len")
        elif self.family == "encoder":
            need = ("layers", "hidden", "heads", "seq_len")
        elif self.family == "cnn":
            need = ("image_size",) if self.blocks else ("flops_per_sample", "params")
        else:
            need = ("params",)
        missing = [name for name in need if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{a_family(self.family)} model needs {', '.join(missing)}")
        if self.family in ("decoder", "encoder"):
            if self.head_dim is None and self.d_model % self.n_heads:
                raise ValueError(f"hidden ({self.hidden}) must be divisible by heads ({self.heads}), or give "
                                 "head_dim")
            kv = self.kv_heads or self.n_heads
            if kv > self.n_heads or self.n_heads % kv:
                raise ValueError(f"kv_heads ({kv}) must divide heads ({self.heads})")
            self._check_moe()
            if (self.kv_lora_rank is None) != (self.rope_head_dim is None):
                raise ValueError("multi-head latent attention needs both kv_lora_rank and rope_head_dim")
            if self.q_lora_rank is not None and self.kv_lora_rank is None:
                raise ValueError("q_lora_rank is part of multi-head latent attention: give kv_lora_rank and "
                                 "rope_head_dim too")
            if self.sliding_window_pattern is not None and self.sliding_window is None:
                raise ValueError("sliding_window_pattern needs sliding_window")
            if self.family == "encoder" and self.vocab is None and self.image_size is None:
                raise ValueError("an encoder needs vocab (text) or image_size and patch_size (vision)")
        return self

    def _check_moe(self) -> None:
        moe_named = [f for f in ("experts_per_token", "shared_experts", "expert_ffn_hidden", "moe_layers")
                     if getattr(self, f) is not None]
        if self.experts is None:
            if moe_named:
                raise ValueError(f"{moe_named[0]} describes a mixture of experts: give experts too")
            return
        if self.experts_per_token is None:
            raise ValueError("a mixture of experts needs experts_per_token (top-k)")
        if self.experts_per_token > self.experts:
            raise ValueError(f"experts_per_token ({self.experts_per_token}) exceeds experts ({self.experts})")
        if self.moe_layers is not None and self.moe_layers > self.n_layers:
            raise ValueError(f"moe_layers ({self.moe_layers}) exceeds layers ({self.layers})")
        if self.expert_ffn_hidden is None and self.ffn_hidden is None:
            raise ValueError("a mixture of experts needs expert_ffn_hidden (or ffn_hidden)")

    # Typed views of the fields `_complete` guarantees for the family: the core reads these, never the Optionals.
    @property
    def n_layers(self) -> int:
        """Transformer layers L."""
        return given(self.layers, "layers")

    @property
    def d_model(self) -> int:
        """Hidden size d."""
        return given(self.hidden, "hidden")

    @property
    def n_heads(self) -> int:
        """Attention heads h."""
        return given(self.heads, "heads")

    @property
    def vocab_size(self) -> int:
        """Vocabulary size V."""
        return given(self.vocab, "vocab")

    @property
    def context(self) -> int:
        """Training sequence length s."""
        return given(self.seq_len, "seq_len")

    @property
    def image_side(self) -> int:
        """Input image side in pixels."""
        return given(self.image_size, "image_size")

    @property
    def param_count(self) -> float:
        """Parameters as given (cnn without blocks, mlp)."""
        return float(given(self.params, "params"))

    @property
    def sample_flops(self) -> float:
        """Forward FLOP per sample as given (cnn without blocks)."""
        return float(given(self.flops_per_sample, "flops_per_sample"))

    @property
    def n_kv_heads(self) -> int:
        """Key/value heads (equal to heads without GQA)."""
        return self.kv_heads or self.heads or 1

    @property
    def ffn(self) -> int:
        """FFN inner size; 4·d when not given (the GPT/BERT convention)."""
        return self.ffn_hidden or 4 * (self.hidden or 0)

    @property
    def head_size(self) -> int:
        """Size of one attention head d_h: head_dim, else hidden / heads."""
        return self.head_dim or self.d_model // self.n_heads

    @property
    def is_moe(self) -> bool:
        """A mixture of experts (some layers route tokens to experts)."""
        return self.experts is not None and self.n_moe_layers > 0

    @property
    def n_moe_layers(self) -> int:
        """Layers with routed experts (0 for a dense model)."""
        if self.experts is None:
            return 0
        return self.n_layers if self.moe_layers is None else self.moe_layers

    @property
    def expert_ffn(self) -> int:
        """FFN inner size of one expert."""
        return self.expert_ffn_hidden or self.ffn

    @property
    def is_mla(self) -> bool:
        """Multi-head latent attention (DeepSeek-V2/V3)."""
        return self.kv_lora_rank is not None

    @property
    def attention_kind(self) -> str:
        """How attention is described in listings: MLA, MHA, GQA or MQA, with its window pattern."""
        if self.is_mla:
            kind = "MLA"
        elif self.n_kv_heads == 1 and self.n_heads > 1:
            kind = "MQA"
        elif self.n_kv_heads < self.n_heads:
            kind = "GQA"
        else:
            kind = "MHA"
        if self.sliding_window is not None:
            pattern = self.sliding_window_pattern
            local = "all layers" if pattern is None else f"{pattern - 1} of {pattern} layers"
            kind += f" + window {self.sliding_window} ({local})"
        return kind

    @property
    def is_swiglu(self) -> bool:
        """Three FFN matrices (gate, up, down) rather than two."""
        return self.activation in ("swiglu", "geglu")
