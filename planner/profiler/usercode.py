"""The user's own nn.Module, imported from a file for profiling — only when the user passes --trust-model-code.

Importing a Python file runs it with the user's rights, so the CLI refuses without the flag (planner/cli/measure.py
checks that before this module is imported). The class is built with those of the profile's `model` fields its
constructor names (`def __init__(self, hidden, layers)` gets the profile's hidden and layers; none: no arguments).
Inputs: the class's own `example_input(batch)` when it has one, else the reference input of the profile's family
(token ids B×T, images B×C×H×W, features B×width). Loss: mean square of the output (a scalar over every output; the
loss adds no matmul FLOP). FLOP come from FlopCounterMode: the core has no formula for arbitrary code.
"""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.errors import PlannerError
from planner.schema.model import Architecture

if TYPE_CHECKING:
    import torch
    from torch import nn


def parse_model_code(spec: str) -> tuple[Path, str]:
    """`path/to/file.py:ClassName` → (path, class name); a clear error for anything else."""
    path, sep, name = spec.rpartition(":")
    if not sep or not path or not name.isidentifier():
        raise PlannerError(f"--model-code: expected path/to/file.py:ClassName (got {spec!r})")
    file = Path(path)
    if file.suffix != ".py":
        raise PlannerError(f"--model-code: {path} is not a .py file")
    if not file.is_file():
        raise PlannerError(f"--model-code: {path} does not exist")
    return file, name


@dataclass
class UserModel:
    """A class from the user's file, with the architecture whose fields it is built from and whose inputs it gets."""

    cls: type
    arch: Architecture
    spec: str

    @property
    def kwargs(self) -> dict[str, Any]:
        """Constructor arguments: the profile's model fields the signature names."""
        fields = {k: v for k, v in self.arch.model_dump().items() if v is not None}
        params = inspect.signature(self.cls).parameters
        return {name: fields[name] for name in params if name in fields}

    def build(self) -> nn.Module:
        """A fresh instance of the user's module (random weights, as the class initialises them)."""
        return self.cls(**self.kwargs)

    def inputs(self, batch: int, device: str = "cpu", tokens: int | None = None) -> Any:
        """The class's own example_input(batch) when it defines one, else the family's reference input."""
        own = getattr(self.cls, "example_input", None)
        if callable(own):
            return own(batch).to(device)
        from planner.profiler.models import example_input

        return example_input(self.arch, batch, tokens, device)

    @staticmethod
    def loss(output: Any) -> torch.Tensor:
        """Mean square of the (first) output."""
        if isinstance(output, (tuple, list)):
            output = output[0]
        return output.float().pow(2).mean()


def load_user_model(file: Path, name: str, arch: Architecture) -> UserModel:
    """Import `file` (this runs it), find `name`, build it once and run one forward pass: every failure is one
    PlannerError naming the file, never a traceback."""
    import torch

    spec_text = f"{file}:{name}"
    module_name = "gpuplan_user_model_" + hashlib.sha256(str(file.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise PlannerError(f"--model-code: cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: any error it raises is reported, not crashed on
        sys.modules.pop(module_name, None)
        raise PlannerError(f"--model-code: importing {file} failed: {type(exc).__name__}: {exc}") from None
    cls = getattr(module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        found = sorted(k for k, v in vars(module).items() if isinstance(v, type) and issubclass(v, torch.nn.Module)
                       and v.__module__ == module_name)
        raise PlannerError(f"--model-code: {file} has no nn.Module class {name!r}",
                           hint=f"Its nn.Module classes: {', '.join(found)}." if found else None)
    user = UserModel(cls, arch, spec_text)
    missing = [p.name for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
               if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               and p.name not in user.kwargs]
    if missing:
        raise PlannerError(f"--model-code: {name}() needs {', '.join(missing)}, which the profile's model section "
                           f"does not give", hint="Give them defaults, or name the constructor arguments after "
                                                  "model fields (hidden, layers, vocab, seq_len, …).")
    try:
        model = user.build()
        with torch.inference_mode():
            user.loss(model(user.inputs(1)))
    except Exception as exc:  # the user's code, run once before timing so a failure is reported cleanly
        raise PlannerError(f"--model-code: {name} failed on a batch of 1: {type(exc).__name__}: {exc}") from None
    return user
