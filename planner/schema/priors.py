"""catalog/priors.yaml: efficiency priors fitted from published runs by scripts/fit_priors.py."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from .base import Strict


class EfficiencyPrior(Strict):
    """The efficiency of one kind of work on one architecture family, with where it came from."""

    kind: Literal["train", "prefill", "decode", "infer"] = Field(
        description="train: model FLOP utilisation of a training step; prefill/infer: of a forward pass; "
                    "decode: fraction of peak memory bandwidth reached by a decode step.")
    family: Literal["decoder", "encoder", "cnn", "mlp", "any"] = Field(description="Workload family, or any.")
    arch: str = Field(description="GPU architecture family, or any.")
    efficiency: float = Field(gt=0, le=1, description="Median efficiency of the runs.")
    log_sigma: float = Field(ge=0, le=3, description="Spread: standard deviation of ln(efficiency) across runs.")
    n: int = Field(ge=1, description="Runs behind the figure.")
    runs: list[str] = Field(description="Ids of the published runs (catalog/published_runs.yaml).")


class PriorsFile(Strict):
    """catalog/priors.yaml."""

    schema_version: Literal[1] = Field(description="Format version.")
    fitted_at: dt.date = Field(description="When the script ran.")
    method: str = Field(description="How the priors were fitted.")
    priors: list[EfficiencyPrior] = Field(min_length=1, description="Priors, most specific first.")
