"""catalog/providers.yaml: facts about providers that are not per offer — billing, networks between instances,
storage and egress prices, the folder a maintained catalog keeps them in — each with its source."""

import datetime as dt
from typing import Literal

from pydantic import Field

from planner.schema.base import Strict


class NetworkFamily(Strict):
    """The network between instances of the offers whose instance type matches `pattern`."""

    pattern: str = Field(min_length=1, max_length=200, description="Regular expression (case ignored) on the "
                                                                   "instance type.")
    gbps: float = Field(gt=0, le=100_000, description="Network bandwidth of one instance, Gbit/s.")
    fabric: str = Field(min_length=2, description="EFA, InfiniBand NDR, Ethernet, …")
    source: str = Field(min_length=3, description="Where the figure comes from.")


class AssumedNetwork(Strict):
    """The network assumed between instances of an offer that states none: a plan relying on it names it, and
    constraints.assumed_network_gbps replaces it."""

    gbps: float = Field(gt=0, le=100_000, description="Network bandwidth of one instance, Gbit/s.")
    basis: str = Field(min_length=3, description="Why this figure: which stated network it is.")
    source: str = Field(min_length=3, description="Where the figure comes from.")


class PriceFact(Strict):
    """One sourced price."""

    usd: float = Field(ge=0, le=1000, description="Price in USD per unit.")
    source: str = Field(min_length=3, description="Where the price comes from.")
    as_of: dt.date = Field(description="When it was read.")


class HostVm(Strict):
    """A host VM that GCP prices apart from its GPUs: the instance is the accelerator row plus this machine type's
    row in the same zone of the same price table (its price is never taken from here: a host priced in one region
    added to GPUs priced in another misprices the machine)."""

    accelerator: str = Field(description="SkyPilot accelerator name of the GPU rows it hosts.")
    count: int = Field(ge=1, le=64, description="GPUs per VM.")
    instance: str = Field(min_length=1, description="Machine type, e.g. a2-highgpu-8g.")
    source: str = Field(min_length=3, description="Where the machine type's GPUs are stated.")


class ProviderInfo(Strict):
    """One provider."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Provider id (offers/<id>.yaml).")
    name: str = Field(min_length=1, description="Display name.")
    skypilot: str | None = Field(None, description="Folder of the provider in SkyPilot's catalog (catalogs/v7/<x>).")
    billing: Literal["per-second", "per-minute", "per-hour"] | None = Field(
        None, description="Billing granularity, for offers files written by an import.")
    billing_source: str | None = Field(None, description="Where the billing granularity comes from, or why it is "
                                                         "assumed.")
    networks: list[NetworkFamily] = Field(default_factory=list, description="Networks between instances by family; "
                                                                            "the first match wins.")
    storage_usd_per_gb_month: PriceFact | None = Field(None, description="Persistent storage, USD per GB-month.")
    egress_usd_per_gb: PriceFact | None = Field(None, description="Data out to the internet, USD per GB.")
    host_vms: list[HostVm] = Field(default_factory=list, description="GCP: host machine type by accelerator and count.")


class ProvidersFile(Strict):
    """The whole file."""

    schema_version: Literal[1] = Field(description="Format version.")
    as_of: dt.date = Field(description="When the file was last checked.")
    assumed_network: AssumedNetwork | None = Field(None, description="The network assumed for offers that state "
                                                                     "none (without it: the slowest any offer "
                                                                     "states).")
    providers: list[ProviderInfo] = Field(min_length=1, description="Providers.")
