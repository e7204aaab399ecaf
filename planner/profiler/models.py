"""Reference PyTorch models built from an Architecture: decoder (Llama-style), encoder (BERT-style), ResNet, MLP.

Randomly initialised; the same conventions as planner/model/workload.py so that FlopCounterMode agrees with its counts:
attention is one scaled_dot_product_attention call over the full s×s matrix (causal or not, FlopCounterMode and
PaLM App. B both count the full matrix), the output head runs over every position, norms and activations are not
matmuls and count no FLOP.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from planner.schema.model import Architecture

Tensor = torch.Tensor
Cache = dict[str, Any]
"""One layer's KV cache: preallocated "k" and "v" tensors and the filled length "len"."""


class RMSNorm(nn.Module):
    """Root-mean-square norm (Zhang & Sennrich 2019), as in Llama."""

    def __init__(self, d: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def _norm(arch: Architecture) -> nn.Module:
    use_rms = arch.norm == "rmsnorm" or (arch.norm is None and arch.family == "decoder")
    return RMSNorm(arch.d_model) if use_rms else nn.LayerNorm(arch.d_model)


def rotary(x: Tensor, positions: Tensor) -> Tensor:
    """Rotary position embedding (Su et al. 2021) on (B, H, T, Dh) at the given positions (T,)."""
    half = x.shape[-1] // 2
    freqs = 1.0 / (10000 ** (torch.arange(half, dtype=torch.float32, device=x.device) / half))
    angles = positions.to(torch.float32)[:, None] * freqs[None, :]  # (T, Dh/2)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., :half], x[..., half: 2 * half]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos, x[..., 2 * half:]], dim=-1)


STANDARD_DROPOUT = 0.1
"""Attention dropout of the standard kernel (Korthikanti et al. 2022 count its mask and output: 5·a·s² bytes)."""


class Attention(nn.Module):
    """Multi-head attention with grouped-query K/V heads and an optional KV cache.

    kernel "flash": one scaled_dot_product_attention call (no s×s scores kept for backward); "standard": the
    scores materialised, softmax, dropout, weighted sum, as Megatron's unfused path (what the memory model's
    5·a·s² term counts). recompute "selective": the attention core (scores to weighted sum) is rebuilt in backward
    (torch.utils.checkpoint; Korthikanti et al. 2022, §5)."""

    def __init__(self, arch: Architecture, causal: bool, use_rotary: bool, kernel: str = "flash",
                 recompute: str = "none") -> None:
        super().__init__()
        self.kernel, self.selective = kernel, recompute == "selective"
        d = arch.d_model
        self.heads, self.kv_heads, self.head_dim = arch.n_heads, arch.n_kv_heads, d // arch.n_heads
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, self.kv_heads * self.head_dim, bias=False)
        self.v = nn.Linear(d, self.kv_heads * self.head_dim, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.causal, self.use_rotary = causal, use_rotary

    def forward(self, x: Tensor, cache: Cache | None = None) -> Tensor:
        b, t, d = x.shape  # (B, T, C)
        start = cache["len"] if cache is not None else 0
        q = self.q(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)  # (B, H, T, Dh)
        k = self.k(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)  # (B, Hkv, T, Dh)
        v = self.v(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        if self.use_rotary:
            positions = torch.arange(start, start + t, device=x.device)
            q, k = rotary(q, positions), rotary(k, positions)
        if cache is not None:  # preallocated (B, Hkv, T_max, Dh) buffers; the caller advances cache["len"]
            cache["k"][:, :, start:start + t] = k
            cache["v"][:, :, start:start + t] = v
            k, v = cache["k"][:, :, :start + t], cache["v"][:, :, :start + t]
        groups = self.heads // self.kv_heads
        if groups > 1:  # GQA: each K/V head serves `groups` query heads
            k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        if self.kernel == "flash":
            y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal and t > 1)
        elif self.selective and self.training:
            y = checkpoint(self._core, q, k, v, use_reentrant=False)
        else:
            y = self._core(q, k, v)
        return self.o(y.transpose(1, 2).reshape(b, t, d))

    def _core(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """Standard attention: softmax(QKᵀ/√d_h + causal mask), dropout, times V."""
        t, total = q.shape[-2], k.shape[-2]
        scores = q @ k.transpose(-2, -1) * (1.0 / math.sqrt(q.shape[-1]))
        if self.causal and t > 1:
            mask = torch.ones(t, total, dtype=torch.bool, device=q.device).triu(total - t + 1)
            scores = scores.masked_fill(mask, float("-inf"))
        weights = F.dropout(torch.softmax(scores, dim=-1), STANDARD_DROPOUT, self.training)
        return weights @ v


class FeedForward(nn.Module):
    """SwiGLU (gate, up, down; Shazeer 2020) or GELU/ReLU (two matrices)."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        d, f = arch.d_model, arch.ffn
        self.swiglu = arch.is_swiglu
        bias = arch.family == "encoder"
        self.up = nn.Linear(d, f, bias=bias)
        self.gate = nn.Linear(d, f, bias=False) if self.swiglu else None
        self.down = nn.Linear(f, d, bias=bias)
        self.act = nn.ReLU() if arch.activation == "relu" else nn.GELU()

    def forward(self, x: Tensor) -> Tensor:
        if self.gate is not None:
            return self.down(F.silu(self.gate(x)) * self.up(x))
        return self.down(self.act(self.up(x)))


class Block(nn.Module):
    """Pre-norm (decoder) or post-norm (BERT encoder) transformer layer; recompute "full" keeps only its input
    and reruns it in backward (torch.utils.checkpoint)."""

    def __init__(self, arch: Architecture, causal: bool, use_rotary: bool, kernel: str = "flash",
                 recompute: str = "none") -> None:
        super().__init__()
        self.pre_norm = arch.family == "decoder"
        self.full = recompute == "full"
        self.norm1, self.norm2 = _norm(arch), _norm(arch)
        self.attn = Attention(arch, causal, use_rotary, kernel, recompute)
        self.ffn = FeedForward(arch)

    def forward(self, x: Tensor, cache: Cache | None = None) -> Tensor:
        if self.full and self.training and cache is None:
            out: Tensor = checkpoint(self._layer, x, use_reentrant=False)
            return out
        return self._layer(x, cache)

    def _layer(self, x: Tensor, cache: Cache | None = None) -> Tensor:
        if self.pre_norm:
            x = x + self.attn(self.norm1(x), cache)
            return x + self.ffn(self.norm2(x))
        x = self.norm1(x + self.attn(x, cache))
        return self.norm2(x + self.ffn(x))


class Transformer(nn.Module):
    """Decoder (causal LM, rotary) or text encoder (bidirectional, learned positions, MLM head over every token)."""

    def __init__(self, arch: Architecture, kernel: str = "flash", recompute: str = "none") -> None:
        super().__init__()
        if arch.vocab is None:
            raise ValueError("the reference transformer needs a vocabulary (text models)")
        decoder = arch.family == "decoder"
        use_rotary = arch.position == "rotary" or (arch.position is None and decoder)
        self.embed = nn.Embedding(arch.vocab_size, arch.d_model)
        learned = arch.position == "learned" or (arch.position is None and not decoder)
        self.pos = nn.Embedding(arch.context, arch.d_model) if learned else None
        self.layers = nn.ModuleList(Block(arch, decoder, use_rotary, kernel, recompute) for _ in range(arch.n_layers))
        self.norm = _norm(arch)
        tied = arch.tied_embeddings if arch.tied_embeddings is not None else not decoder
        self.head = nn.Linear(arch.d_model, arch.vocab_size, bias=False)
        if tied:
            self.head.weight = self.embed.weight

    def forward(self, tokens: Tensor, caches: list[Cache] | None = None) -> Tensor:
        start = caches[0]["len"] if caches else 0
        x = self.embed(tokens)  # (B, T, C)
        if self.pos is not None:
            x = x + self.pos(torch.arange(start, start + tokens.shape[1], device=tokens.device))
        for i, layer in enumerate(self.layers):
            x = layer(x, caches[i] if caches is not None else None)
        return self.head(self.norm(x))  # (B, T, V)


def kv_caches(arch: Architecture, batch: int, max_tokens: int, dtype: torch.dtype, device: str = "cpu") -> list[Cache]:
    """Empty preallocated KV caches, one per layer: keys and values (B, Hkv, T_max, Dh) and the filled length."""
    shape = (batch, arch.n_kv_heads, max_tokens, arch.d_model // arch.n_heads)
    return [{"k": torch.zeros(shape, dtype=dtype, device=device), "v": torch.zeros(shape, dtype=dtype, device=device),
             "len": 0} for _ in range(arch.n_layers)]


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck: 1×1, 3×3 (stride here), 1×1 ×4, batch norm; projection shortcut on a first block."""

    def __init__(self, in_ch: int, mid: int, stride: int, project: bool) -> None:
        super().__init__()
        out = 4 * mid
        self.conv1, self.bn1 = nn.Conv2d(in_ch, mid, 1, bias=False), nn.BatchNorm2d(mid)
        self.conv2, self.bn2 = nn.Conv2d(mid, mid, 3, stride, 1, bias=False), nn.BatchNorm2d(mid)
        self.conv3, self.bn3 = nn.Conv2d(mid, out, 1, bias=False), nn.BatchNorm2d(out)
        self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out, 1, stride, bias=False), nn.BatchNorm2d(out)) \
            if project else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.bn1(self.conv1(x)), inplace=True)
        y = F.relu(self.bn2(self.conv2(y)), inplace=True)
        return F.relu(self.bn3(self.conv3(y)) + self.shortcut(x), inplace=True)


class ResNet(nn.Module):
    """Bottleneck ResNet (He et al. 2016; torchvision layout), built from blocks/width/image size."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        channels, width = arch.channels or 3, arch.width or 64
        self.stem = nn.Sequential(nn.Conv2d(channels, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        blocks: list[nn.Module] = []
        in_ch = width
        for stage, n in enumerate(arch.blocks or [1]):
            mid = width * 2**stage
            for i in range(n):
                blocks.append(Bottleneck(in_ch, mid, 2 if (stage > 0 and i == 0) else 1, i == 0))
                in_ch = 4 * mid
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(in_ch, arch.num_classes or 1000)

    def forward(self, images: Tensor) -> Tensor:
        x = self.blocks(self.stem(images))  # (B, C, H', W')
        return self.fc(x.mean(dim=(2, 3)))


class MLP(nn.Module):
    """`layers` dense layers of width `hidden` with ReLU: 2 FLOP per weight per sample."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        n_layers, width = mlp_shape(arch)
        mods: list[nn.Module] = []
        for i in range(n_layers):
            mods.append(nn.Linear(width, width))
            if i < n_layers - 1:
                mods.append(nn.ReLU())
        self.net = nn.Sequential(*mods)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def mlp_shape(arch: Architecture) -> tuple[int, int]:
    """(layers, width) of the reference MLP: `hidden` when given, else the width giving `params` over the layers."""
    n_layers = arch.layers or 1
    width = arch.hidden or max(1, int(math.sqrt(arch.param_count / n_layers)))
    return n_layers, width


def build_model(arch: Architecture, attention: str = "flash", recompute: str = "none") -> nn.Module:
    """The reference nn.Module of an architecture (random weights); transformers with the attention kernel
    (flash | standard) and activation recomputation (none | selective | full) asked for."""
    if arch.family in ("decoder", "encoder"):
        return Transformer(arch, attention, recompute)
    if arch.family == "cnn":
        if not arch.blocks:
            raise ValueError("the reference CNN is a bottleneck ResNet: give blocks and image_size")
        return ResNet(arch)
    return MLP(arch)


def example_input(arch: Architecture, batch: int, tokens: int | None = None, device: str = "cpu") -> Tensor:
    """A random input batch: token ids (B, T), images (B, C, H, W) or features (B, width)."""
    if arch.family in ("decoder", "encoder"):
        return torch.randint(0, arch.vocab_size, (batch, tokens or arch.context), device=device)
    if arch.family == "cnn":
        return torch.randn(batch, arch.channels or 3, arch.image_side, arch.image_side, device=device)
    return torch.randn(batch, mlp_shape(arch)[1], device=device)


def loss_of(arch: Architecture, output: Tensor, batch_input: Tensor) -> Tensor:
    """Training loss: next-token / token cross-entropy, classification cross-entropy, or mean square."""
    if arch.family in ("decoder", "encoder"):
        return F.cross_entropy(output.flatten(0, 1).float(), batch_input.flatten())
    if arch.family == "cnn":
        return F.cross_entropy(output.float(), torch.zeros(output.shape[0], dtype=torch.long, device=output.device))
    return output.float().pow(2).mean()
