"""Model architecture: the profile's `model:` section and the presets in catalog/models.yaml."""
from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import Field, model_validator

from planner.schema.base import Count, Strict
from planner.schema.catalog import Family

_T = TypeVar("_T")

ARCH_FIELDS = (
    "family", "params", "layers", "hidden", "heads", "kv_heads", "ffn_hidden", "vocab", "seq_len",
    "activation", "norm", "position", "tied_embeddings", "image_size", "patch_size", "channels", "blocks",
    "width", "num_classes", "flops_per_sample", "lm_head_share",
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
    activation: Literal["gelu", "relu", "swiglu"] | None = Field(
        None, description="FFN type: gelu or relu (2 matrices) or swiglu (3).")
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


class ModelPreset(ModelFields):
    """One published architecture in catalog/models.yaml."""

    id: str = Field(description="Preset name used in profiles.")
    name: str | None = Field(None, description="Published name.")
    family: Family = Field(description="decoder | encoder | cnn | mlp.")
    source: str = Field(min_length=3, description="Where the architecture is published.")
    notes: str | None = Field(None, description="Caveats.")


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
            raise ValueError(f"a {self.family} model needs {', '.join(missing)}")
        if self.family in ("decoder", "encoder"):
            if self.d_model % self.n_heads:
                raise ValueError(f"hidden ({self.hidden}) must be divisible by heads ({self.heads})")
            kv = self.kv_heads or self.n_heads
            if kv > self.n_heads or self.n_heads % kv:
                raise ValueError(f"kv_heads ({kv}) must divide heads ({self.heads})")
            if self.family == "encoder" and self.vocab is None and self.image_size is None:
                raise ValueError("an encoder needs vocab (text) or image_size and patch_size (vision)")
        return self

    # Typed views of the fields `_complete` guarantees for the family: the core reads these, never the Optionals.
    @property
    def n_layers(self) -> int:
        """Transformer layers L."""
        return _given(self.layers, "layers")

    @property
    def d_model(self) -> int:
        """Hidden size d."""
        return _given(self.hidden, "hidden")

    @property
    def n_heads(self) -> int:
        """Attention heads h."""
        return _given(self.heads, "heads")

    @property
    def vocab_size(self) -> int:
        """Vocabulary size V."""
        return _given(self.vocab, "vocab")

    @property
    def context(self) -> int:
        """Training sequence length s."""
        return _given(self.seq_len, "seq_len")

    @property
    def image_side(self) -> int:
        """Input image side in pixels."""
        return _given(self.image_size, "image_size")

    @property
    def param_count(self) -> float:
        """Parameters as given (cnn without blocks, mlp)."""
        return float(_given(self.params, "params"))

    @property
    def sample_flops(self) -> float:
        """Forward FLOP per sample as given (cnn without blocks)."""
        return float(_given(self.flops_per_sample, "flops_per_sample"))

    @property
    def n_kv_heads(self) -> int:
        """Key/value heads (equal to heads without GQA)."""
        return self.kv_heads or self.heads or 1

    @property
    def ffn(self) -> int:
        """FFN inner size; 4·d when not given (the GPT/BERT convention)."""
        return self.ffn_hidden or 4 * (self.hidden or 0)

    @property
    def is_swiglu(self) -> bool:
        """Three FFN matrices (gate, up, down) rather than two."""
        return self.activation == "swiglu"


def _given(value: _T | None, field: str) -> _T:
    """A field the family requires; `Architecture._complete` has already refused a missing one."""
    if value is None:
        raise ValueError(f"this model has no {field}")
    return value
