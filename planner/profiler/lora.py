"""LoRA adapters on a reference (or user) model, for timing a fine-tuning step as the profile asks for it.

Placement is the core's (planner/model/workload.py `lora_params` / `_lora_sides`): rank-r adapters on every matmul of
every transformer layer — Q, K, V, O and the FFN's up/gate/down — while the embedding, norms and output head stay
frozen. Models without transformer layers (user code) get an adapter on every nn.Linear. Hu et al. 2021: W x + B A x
with A (r × d_in) random, B (d_out × r) zero, scaled by alpha/r; the base weights get no gradient.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from planner.profiler.models import Attention, FeedForward

ADAPTED = {Attention: ("q", "k", "v", "o"), FeedForward: ("up", "gate", "down")}
"""The matmuls of a reference transformer layer that get adapters (the core's _lora_sides)."""


class LoRALinear(nn.Module):
    """A frozen nn.Linear plus a trainable rank-r update B·A (Hu et al. 2021, eq. 3)."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float | None = None):
        super().__init__()
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.a = nn.Parameter(torch.empty(rank, base.in_features, device=base.weight.device))
        self.b = nn.Parameter(torch.zeros(base.out_features, rank, device=base.weight.device))
        nn.init.kaiming_uniform_(self.a, a=math.sqrt(5))  # as peft's default LoRA init
        self.scale = (alpha if alpha is not None else rank) / rank  # alpha = r: scale 1 (peft's default alpha/r)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.a.t() @ self.b.t()) * self.scale


def add_lora(model: nn.Module, rank: int) -> int:
    """Freeze every weight of `model` and put rank-r adapters in place; returns the adapter parameter count."""
    for p in model.parameters():
        p.requires_grad_(False)
    targets = [(m, name) for m in model.modules() for kind, names in ADAPTED.items() if isinstance(m, kind)
               for name in names if isinstance(getattr(m, name, None), nn.Linear)]
    if not targets:  # not a reference transformer: every linear layer
        targets = [(parent, name) for parent in model.modules() for name, child in parent.named_children()
                   if isinstance(child, nn.Linear)]
    for parent, name in targets:
        setattr(parent, name, LoRALinear(getattr(parent, name), rank))
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
