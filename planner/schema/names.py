"""catalog/accelerator_names.yaml: other catalogs' accelerator names → our GPU ids."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from planner.schema.base import Strict


class AcceleratorName(Strict):
    """One name a maintained catalog uses, and the GPU variant it means."""

    catalog: Literal["skypilot", "gpuhunt"] = Field(description="Which catalog uses the name.")
    name: str = Field(min_length=1, description="The catalog's accelerator name, e.g. A100-80GB.")
    gpu: str = Field(description="Our GPU id (gpus.yaml).")
    clouds: list[str] | None = Field(None, description="Only on these clouds/providers (their names in that catalog).")
    memory_gb: float | None = Field(None, gt=0, description="Only when the row's per-GPU memory is about this, GB.")
    pattern: str | None = Field(None, min_length=1, max_length=200,
                                description="Only when this regular expression (case ignored) occurs in the row's "
                                            "instance type or GPU description (SXM vs PCIe vs NVL of one name).")


class AcceleratorNames(Strict):
    """The whole mapping file."""

    schema_version: Literal[1] = Field(description="Format version.")
    as_of: dt.date = Field(description="When the mapping was checked.")
    source: str = Field(min_length=3, description="Where the names come from.")
    names: list[AcceleratorName] = Field(description="Name entries; the most specific match wins.")
    skypilot_clouds: dict[str, str] = Field(default_factory=dict,
                                            description="Our provider id → SkyPilot infra/cloud name.")
    gpuhunt_providers: dict[str, str] = Field(default_factory=dict,
                                              description="Our provider id → gpuhunt provider name (the providers "
                                                          "`catalog refresh --from gpuhunt` queries).")
