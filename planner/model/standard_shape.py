"""A standard transformer shape for a parameter count, when a profile gives only `params` (issue 14: 'a 7B model
with 8k context').

The rule, Llama-style (LLaMA arXiv 2302.13971 Table 2 and §2.2; catalog/models.yaml llama-1-*):
- aspect ratio d/L = 128 and head size 128 (LLaMA 7B: d 4096, L 32, 32 heads; 13B: 5120, 40, 40). Kaplan et al.
  2020 (arXiv 2001.08361, Fig. 5) find the loss within a few per cent over d/L from about 20 to 200, so the ratio
  is a convention, not a tuned value;
- SwiGLU FFN, RMSNorm, rotary positions, untied embeddings, no GQA, vocabulary 32000 (LLaMA's) unless given;
- L from N ≈ 12·L·d² + 2·V·d at d = 128·L, then d rounded to a multiple of 128, then the FFN width f fitted so the
  count matches N (rounded to a multiple of 256, LLaMA's multiple_of), starting from LLaMA's f = 8d/3.
Encoders use the same rule with a GELU FFN, LayerNorm, learned positions and tied embeddings (BERT's layout).
"""
from __future__ import annotations

ASPECT_RATIO = 128
"""d_model / layers of LLaMA 7B and 13B."""
HEAD_SIZE = 128
"""Head size of every LLaMA model."""
DEFAULT_VOCAB = 32000
"""LLaMA's vocabulary."""
FFN_MULTIPLE = 256
"""LLaMA rounds the FFN width up to a multiple of 256 (multiple_of in meta-llama/llama model.py)."""


def _count(layers: int, d: int, f: float, vocab: int, gated: bool) -> float:
    matrices = 3 if gated else 2
    embeddings = (2 if gated else 1) * vocab * d
    return layers * (4.0 * d * d + matrices * d * f) + embeddings


def standard_shape(params: float, family: str, vocab: int | None) -> dict[str, object]:
    """Architecture fields of the standard shape for `params` parameters (decoder or encoder)."""
    gated = family == "decoder"
    v = vocab or DEFAULT_VOCAB
    best_layers, best_error = 1, float("inf")
    for layers in range(1, 513):  # N(L) rises with L; keep the closest
        d = ASPECT_RATIO * layers
        f = 8.0 * d / 3.0 if gated else 4.0 * d
        error = abs(_count(layers, d, f, v, gated) - params)
        if error < best_error:
            best_layers, best_error = layers, error
    layers = best_layers
    d = HEAD_SIZE * max(1, round(ASPECT_RATIO * layers / HEAD_SIZE))
    matrices = 3 if gated else 2
    embeddings = (2 if gated else 1) * v * d
    f_exact = (params - embeddings - layers * 4.0 * d * d) / (matrices * d * layers)
    ffn = max(FFN_MULTIPLE, FFN_MULTIPLE * round(f_exact / FFN_MULTIPLE))
    fields: dict[str, object] = {"layers": layers, "hidden": d, "heads": d // HEAD_SIZE, "kv_heads": d // HEAD_SIZE,
                                 "ffn_hidden": ffn, "vocab": v}
    if gated:
        fields.update(activation="swiglu", norm="rmsnorm", position="rotary", tied_embeddings=False)
    else:
        fields.update(activation="gelu", norm="layernorm", position="learned", tied_embeddings=True)
    return fields


def describe(fields: dict[str, object]) -> str:
    """'32 layers, hidden 4096, 32 heads, FFN 11008, vocabulary 32000'."""
    return (f"{fields['layers']} layers, hidden {fields['hidden']}, {fields['heads']} heads, "
            f"FFN {fields['ffn_hidden']} ({fields['activation']}), vocabulary {fields['vocab']}")
