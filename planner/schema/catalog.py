"""Catalog entries: GPU specs, provider offers, model presets, efficiency priors."""

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from planner.schema.base import Strict
from planner.schema.bounds import (
    MAX_BANDWIDTH_GBS,
    MAX_GPU_MEMORY_GB,
    MAX_NETWORK_GBPS,
    MAX_PEAK_TFLOPS,
    MAX_TDP_W,
    MAX_USD_PER_GPU_HOUR,
    future_date,
)


def _not_future(value: dt.date | None) -> dt.date | None:
    if value is not None and future_date(value):
        raise ValueError(f"as_of is the date the figures were read, so it cannot lie in the future (got "
                         f"{value.isoformat()})")
    return value

Precision = Literal["fp32", "tf32", "fp16", "bf16", "fp8", "int8"]
Family = Literal["decoder", "encoder", "cnn", "mlp"]


def a_family(family: str) -> str:
    """The family with its article, as an error message reads it: 'an encoder', 'an mlp' (said em-el-pee), 'a cnn',
    'a decoder' (new-user QA: 'a mlp model needs params', 'a encoder model has no prompt or output tokens')."""
    return f"{'an' if family[0] in 'aeiou' or family == 'mlp' else 'a'} {family}"


class PeakTflops(Strict):
    """Dense (never with-sparsity) peak throughput by precision, TFLOP/s (int8: TOP/s)."""

    fp32: float = Field(gt=0, le=MAX_PEAK_TFLOPS, allow_inf_nan=False,
                        description="Non-tensor FP32 peak, TFLOP/s.")
    tf32: float | None = Field(None, gt=0, le=MAX_PEAK_TFLOPS, allow_inf_nan=False,
                                 description="TF32 tensor peak, dense, TFLOP/s.")
    fp16: float | None = Field(None, gt=0, le=MAX_PEAK_TFLOPS, allow_inf_nan=False,
                                 description="FP16 tensor peak (FP32 accumulate), dense, TFLOP/s.")
    bf16: float | None = Field(None, gt=0, le=MAX_PEAK_TFLOPS, allow_inf_nan=False,
                                 description="BF16 tensor peak, dense, TFLOP/s.")
    fp8: float | None = Field(None, gt=0, le=MAX_PEAK_TFLOPS, allow_inf_nan=False,
                                 description="FP8 tensor peak, dense, TFLOP/s.")
    int8: float | None = Field(None, gt=0, le=MAX_PEAK_TFLOPS, allow_inf_nan=False,
                                 description="INT8 tensor peak, dense, TOP/s.")

    def get(self, precision: str) -> float | None:
        """Peak for a precision, or None when the GPU has no such path."""
        return getattr(self, precision, None)


class Interconnect(Strict):
    """How a GPU talks to its neighbours inside one machine."""

    pcie_gen: int | None = Field(None, ge=1, le=7, description="PCIe generation of the host link (x16).")
    nvlink_gbs: float | None = Field(None, gt=0, le=MAX_BANDWIDTH_GBS, allow_inf_nan=False,
                                     description="NVLink/xGMI bandwidth per GPU, per direction, GB/s.")
    nvlink_gpus: int | None = Field(None, ge=2, le=1024,
                                    description="GPUs one NVLink domain joins (2: bridge, 8: HGX).")


class MatmulCeiling(Strict):
    """The best dense matmul a GPU runs, as a share of its dense peak: measured (maximum achievable matmul FLOP/s,
    MAMF) where published, else transferred at catalog load (planner/catalog/ceilings.py)."""

    bf16: float | None = Field(None, gt=0, le=1, description="Share of the dense 16-bit peak the best bf16 matmul "
                                                             "reaches (also stands for fp16 and tf32).")
    fp8: float | None = Field(None, gt=0, le=1, description="Share of the dense fp8 peak the best fp8 matmul reaches.")
    source: str = Field(min_length=3, description="Where the measurement was published, or the transfer rule used.")
    as_of: dt.date | None = Field(None, description="When the measurement was read (measured figures).")
    measured: bool = Field(True, description="False: transferred at catalog load, not measured.")


class BandwidthCeiling(Strict):
    """What a streaming copy kernel reaches of a GPU's datasheet memory bandwidth: measured (BabelStream Copy) where
    published, else transferred at catalog load (planner/catalog/bandwidth_ceiling.py). Below 1: no published copy
    kernel moves the datasheet's bytes/s (77-92 % on the measured GPUs)."""

    share: float = Field(gt=0, lt=1, description="Copy bandwidth over the datasheet peak memory bandwidth.")
    source: str = Field(min_length=3, description="Where the measurement was published, or the transfer rule used.")
    as_of: dt.date | None = Field(None, description="When the measurement was read (measured figures).")
    measured: bool = Field(True, description="False: transferred at catalog load, not measured.")


class GpuSpec(Strict):
    """One GPU variant with its datasheet figures."""

    id: str = Field(description="Catalog id, e.g. A100-80GB-SXM.")
    name: str = Field(description="Marketing name.")
    vendor: str = Field(description="NVIDIA or AMD.")
    arch: Literal["pascal", "volta", "turing", "ampere", "ada", "hopper", "blackwell", "cdna2", "cdna3",
                  "cdna4"] = Field(
        description="Architecture family; efficiency priors are kept per family.")
    chip: str | None = Field(None, description="Die name, e.g. GA100.")
    memory_gb: float = Field(gt=0, le=MAX_GPU_MEMORY_GB, allow_inf_nan=False, description="Device memory, GB (1e9 bytes).")
    memory_bandwidth_gbs: float = Field(gt=0, le=MAX_BANDWIDTH_GBS, allow_inf_nan=False,
                                        description="Peak memory bandwidth, GB/s.")
    memory_type: Literal["HBM", "GDDR"] | None = Field(None, description=(
        "Memory technology (HBM stacks on the package, or GDDR chips on the board), as the entry's source states: "
        "a GPU without a measured copy bandwidth gets one from measured GPUs of the same technology first "
        "(planner/catalog/bandwidth_ceiling.py); null: unknown."))
    peak_tflops: PeakTflops = Field(description="Dense peaks by precision.")
    interconnect: Interconnect = Field(default_factory=Interconnect, description="Links inside one machine.")
    tdp_w: float | None = Field(None, gt=0, le=MAX_TDP_W, allow_inf_nan=False, description="Board power, W.")
    form_factor: str | None = Field(None, description="PCIe card, SXM module, …")
    release_year: int | None = Field(None, ge=2010, le=2035, description="Year of release.")
    aliases: list[str] = Field(default_factory=list, description="Other names users and price lists use.")
    source: str = Field(min_length=3, description="Where the figures came from.")
    as_of: dt.date = Field(description="When the figures were read.")
    notes: str | None = Field(None, description="Derivations and caveats.")
    matmul_ceiling: MatmulCeiling | None = Field(
        None, description="The best matmul's share of the dense peak where measured (else transferred at load).")
    bandwidth_ceiling: BandwidthCeiling | None = Field(
        None, description="The copy bandwidth's share of the datasheet memory bandwidth where measured (else "
                          "transferred at load): the bandwidth a streaming kernel's reads and writes reach.")
    boost_clock_mhz: float | None = Field(None, gt=0, le=5000, allow_inf_nan=False, description=(
        "Boost clock, MHz, as the entry's source states; with `sms`, the rate at which a chip's SMs issue work "
        "(planner/catalog/ceilings.py tensor_rate); null: unknown."))
    sms: int | None = Field(None, ge=1, le=1024, description=(
        "Streaming multiprocessors (NVIDIA) or compute units (AMD) that run GEMM tiles, as the entry's source "
        "states; null: unknown (no tile and wave quantisation is applied)."))

    _as_of = field_validator("as_of")(_not_future)

    @property
    def half_rate_accumulate(self) -> bool:
        """A GeForce card: its 16-bit tensor math with FP32 accumulation (the catalog's fp16/bf16 peak) runs at half
        the FP16-accumulate rate, unlike the data-centre and workstation parts of the same generation (catalog
        header; GA102 / AD102 whitepapers)."""
        return self.name.lower().startswith("geforce")

    @property
    def family(self) -> str:
        """The architecture family training curves are kept for: the arch, split off for GeForce cards, whose
        half-rate tensor accumulation leaves them a different balance of tensor to memory and SM throughput."""
        return f"{self.arch}-geforce" if self.half_rate_accumulate else self.arch


class GpuCatalog(Strict):
    """catalog/gpus.yaml."""

    schema_version: Literal[1] = Field(description="Format version.")
    as_of: dt.date = Field(description="When the list was compiled.")
    gpus: list[GpuSpec] = Field(min_length=1, description="GPU variants.")

    _as_of = field_validator("as_of")(_not_future)


class Offer(Strict):
    """One rentable instance type of a provider."""

    instance: str = Field(description="The provider's name for the instance or offering.")
    gpu: str = Field(description="GPU id from gpus.yaml.")
    gpus_per_instance: int = Field(ge=1, le=64, description="GPUs in one instance.")
    usd_per_hour: float = Field(gt=0, allow_inf_nan=False, description="On-demand price of the whole instance, USD/hour.")
    spot_usd_per_hour: float | None = Field(None, gt=0, allow_inf_nan=False,
                                            description="Spot price of the whole instance, USD/hour.")
    intra_node: Literal["nvlink", "pcie"] = Field("pcie", description="How the instance's GPUs talk to each other.")
    network_gbps: float | None = Field(None, gt=0, le=MAX_NETWORK_GBPS, allow_inf_nan=False,
                                       description="Gbit/s between instances; null: none stated (plans across "
                                                   "instances assume the profile's "
                                                   "constraints.assumed_network_gbps, default catalog/providers.yaml "
                                                   "assumed_network, else the slowest network any offer states; "
                                                   "single-instance only when neither exists).")
    region: str | None = Field(None, description="Region(s) the price applies to.")
    as_of: dt.date | None = Field(None, description="Date of this price when it differs from the file's.")
    source: str | None = Field(None, description="Source of this price when it differs from the file's.")
    doubtful: str | None = Field(None, description="Why this row is doubtful, if it is.")
    notes: str | None = Field(None, description="Anything else worth knowing.")
    usd_per_hour_max: float | None = Field(None, gt=0, description="Dearest regional on-demand price in the source, "
                                           "when regions differ (usd_per_hour is the cheapest).")
    network_source: str | None = Field(None, description="Where network_gbps comes from (the provider's networks in catalog/providers.yaml).")

    _as_of = field_validator("as_of")(_not_future)

    @field_validator("usd_per_hour", mode="before")
    @classmethod
    def _rented_at_a_price(cls, value: object) -> object:
        """A free offer is refused with the way to plan a free machine (issue 15: "a home-made offer with
        usd_per_hour: 0 is refused"; the refusal named no way forward)."""
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
            raise ValueError("an offer rents at a price above 0; a machine you own (free, or at its running cost) "
                             "is planned with constraints.owned in the profile: [{gpu: …, count: …, usd_per_hour: 0}] "
                             "(docs/catalog.md, buy versus rent)")
        return value

    @model_validator(mode="after")
    def _price_per_gpu(self) -> "Offer":
        for key in ("usd_per_hour", "spot_usd_per_hour"):
            price = getattr(self, key)
            if price is not None and price / self.gpus_per_instance > MAX_USD_PER_GPU_HOUR:
                raise ValueError(f"{key} {price:,.6g} is ${price / self.gpus_per_instance:,.6g} per GPU-hour, above "
                                 f"the ${MAX_USD_PER_GPU_HOUR:,.0f} any GPU rents for; a unit slip (cents, per month)?")
        return self

    @model_validator(mode="after")
    def _spot_not_dearer(self) -> "Offer":
        if self.spot_usd_per_hour is not None and self.spot_usd_per_hour > self.usd_per_hour and not self.doubtful:
            raise ValueError("spot_usd_per_hour is above usd_per_hour; mark the row doubtful or fix it")
        return self


class OmittedRow(Strict):
    """A source row left out of the catalog, with the reason."""

    row: str = Field(description="The source row, in words.")
    reason: str = Field(description="Why it was left out.")


_BILLING_SECONDS = {"per-second": 1.0, "per-minute": 60.0, "per-hour": 3600.0}
"""Seconds of each billing granularity (ProviderOffers.billing_seconds)."""


RESERVED_PROVIDER_IDS = {
    "owned": "the machines of a profile's constraints.owned",
    "local": "the machine a --measurements record describes",
    "no-offer": "the time-only plans of GPUs that no offer rents",
}
"""Provider ids the planner gives its own rows (schema/profile.py OWNED_PROVIDER, efficiency/local_device.py
LOCAL_PROVIDER, plans/no_offer.py NO_OFFER), so no catalog provider may take them (new-user QA round 10: `catalog
import --provider owned` wrote offers that no profile could name, and a provider `local` was billed as this
machine, without the start-up of a rented instance)."""


class ProviderOffers(Strict):
    """catalog/offers/<provider>.yaml."""

    schema_version: Literal[1] = Field(description="Format version.")
    provider: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Provider id (the file name).")
    name: str = Field(description="Display name.")
    as_of: dt.date = Field(description="Date of the prices.")
    source: str = Field(min_length=3, description="Where the prices came from.")
    billing: Literal["per-second", "per-minute", "per-hour"] = Field(description="Billing granularity.")
    notes: str | None = Field(None, description="Caveats.")
    offers: list[Offer] = Field(min_length=1, description="Instances.")
    omitted: list[OmittedRow] = Field(default_factory=list, description="Rows left out, with reasons.")

    _as_of = field_validator("as_of")(_not_future)

    @model_validator(mode="after")
    def _no_duplicates(self) -> "ProviderOffers":
        """The same instance listed twice would be planned twice (duplicate plans): refused, naming both."""
        seen: dict[tuple[str, str, int, str | None], int] = {}
        for i, offer in enumerate(self.offers):
            key = (offer.instance, offer.gpu, offer.gpus_per_instance, offer.region)
            if key in seen:
                raise ValueError(f"offers {seen[key]} and {i} are the same instance ({offer.instance!r}, "
                                 f"{offer.gpus_per_instance}× {offer.gpu}{f', {offer.region}' if offer.region else ''})"
                                 f"; keep one")
            seen[key] = i
        return self

    @property
    def billing_seconds(self) -> float:
        """Billing granularity in seconds."""
        return _BILLING_SECONDS[self.billing]


PurchaseKind = Literal["launch-msrp", "list", "street", "analyst-estimate", "system-share"]
"""What a purchase price is: the maker's suggested price at launch, a vendor's list price, a retail (street) price
seen on a date, an analyst's estimate reported in the press, or a system share: a whole server's launch price
divided by its GPUs, for SXM modules sold only on boards in servers (the share includes the host: CPUs, memory,
network, storage)."""


class PublishedFigure(Strict):
    """Where a price figure was published: date, publisher, page and the figure as quoted."""

    as_of: dt.date = Field(description="When the source published the figure.")
    source: str = Field(min_length=2, description="Who published the figure (a site, a vendor).")
    title: str = Field(min_length=3, description="Title of the page or article.")
    url: str = Field(pattern=r"^https://\S+$", description="Address of the page.")
    quote: str = Field(min_length=3, description="The figure as the source writes it.")
    notes: str | None = Field(None, description="Caveats.")

    _as_of = field_validator("as_of")(_not_future)


class PurchasePrice(PublishedFigure):
    """A sourced price to buy one card (catalog/purchase_prices.yaml), for the buy-versus-rent line of an owned
    machine whose profile gives no purchase_usd."""

    gpu: str = Field(description="GPU id from gpus.yaml.")
    usd: float = Field(gt=0, le=1_000_000, allow_inf_nan=False, description="Price of one card, USD.")
    kind: PurchaseKind = Field(description="launch-msrp, list, street, analyst-estimate or system-share (a "
                                           "server's price ÷ its GPUs, host included).")
    server_gpus: int | None = Field(None, ge=2, le=72, description="kind system-share only: the GPUs in the server "
                                                                   "whose price the source gives (usd × this).")

    @model_validator(mode="after")
    def _server_share(self) -> "PurchasePrice":
        if (self.kind == "system-share") != (self.server_gpus is not None):
            raise ValueError("server_gpus goes with kind system-share, and a system share needs it")
        return self


class PurchasePricesFile(Strict):
    """catalog/purchase_prices.yaml."""

    schema_version: Literal[1] = Field(description="Format version.")
    as_of: dt.date = Field(description="When the list was compiled.")
    prices: list[PurchasePrice] = Field(min_length=1, description="One sourced price per card.")

    _as_of = field_validator("as_of")(_not_future)


CommitTerm = Literal["1m", "3m", "6m", "1y", "3y"]
"""Length of a committed term: months or years."""
CommitPayment = Literal["no-upfront", "partial-upfront", "all-upfront"]
"""How a committed term is paid: monthly, part upfront, or all upfront (then usd_per_hour spreads the sum)."""
COMMIT_TERM_HOURS: dict[str, float] = {"1m": 8760.0 / 12, "3m": 8760.0 / 4, "6m": 8760.0 / 2, "1y": 8760.0,
                                       "3y": 3 * 8760.0}
"""Hours in a term, calendar facts as the providers count them: a year of 365 days × 24 h = 8,760 h (AWS's EC2 API
gives a reservation's duration as "the number of seconds in a year (365x24x60x60) times one of the supported
durations (1 or 3)", 31,536,000 s for one year, 94,608,000 s for three; GCP's commitment plans are TWELVE_MONTH and
THIRTY_SIX_MONTH), a month a twelfth of it, 730 h (the month of the GCP list prices quoted in
catalog/commitments.yaml: a2-highgpu-1g month 2736.01956 = hour 3.747972 × 730), 3 and 6 months a quarter and a
half of the year."""


class CommittedPrice(PublishedFigure):
    """A published committed-term (reserved) price of one instance (catalog/commitments.yaml)."""

    provider: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Provider id (catalog/offers/<id>.yaml).")
    instance: str = Field(min_length=1, description="The offer's instance name in that file.")
    term: CommitTerm = Field(description="Length of the commitment: 1m, 3m, 6m, 1y or 3y.")
    payment: CommitPayment = Field(description="no-upfront, partial-upfront or all-upfront.")
    usd_per_hour: float | None = Field(None, gt=0, allow_inf_nan=False,
                                       description="Price of the whole instance per hour under the commitment "
                                                   "(all-upfront: the upfront sum over the term's hours). Give this "
                                                   "or discount_percent.")
    discount_percent: float | None = Field(None, gt=0, lt=100, allow_inf_nan=False,
                                           description="The committed price as a published percentage off the "
                                                       "offer's on-demand price (a provider that publishes its "
                                                       "committed-use discount per machine family, not prices); the "
                                                       "hourly price is then on-demand × (1 − discount_percent/100). "
                                                       "Give this or usd_per_hour.")
    on_demand_usd_per_hour: float | None = Field(
        None, gt=0, allow_inf_nan=False,
        description="With discount_percent: the source's own on-demand price of the instance, in the region the "
                    "catalog offer is priced in. A catalog price more than 10% from it flags the committed price "
                    "doubtful (the percentage is applied to a price the source does not list).")

    @model_validator(mode="after")
    def _one_price(self) -> "CommittedPrice":
        if (self.usd_per_hour is None) == (self.discount_percent is None):
            raise ValueError("give exactly one of usd_per_hour and discount_percent")
        return self

    @property
    def term_hours(self) -> float:
        """Hours the commitment binds to."""
        return COMMIT_TERM_HOURS[self.term]

    def price(self, on_demand_usd_per_hour: float) -> float:
        """The committed hourly price of the instance whose on-demand price is `on_demand_usd_per_hour`."""
        if self.usd_per_hour is not None:
            return self.usd_per_hour
        assert self.discount_percent is not None  # _one_price
        return on_demand_usd_per_hour * (1.0 - self.discount_percent / 100.0)

    @property
    def hourly(self) -> float:
        """The committed hourly price of an entry resolved against its offer (planner.catalog.commitments)."""
        if self.usd_per_hour is None:
            raise ValueError(f"{self.provider} {self.instance}: a discount_percent commitment used before being "
                             "resolved against its offer's on-demand price")
        return self.usd_per_hour


class CommitmentsFile(Strict):
    """catalog/commitments.yaml."""

    schema_version: Literal[1] = Field(description="Format version.")
    as_of: dt.date = Field(description="When the list was compiled.")
    commitments: list[CommittedPrice] = Field(min_length=1, description="Published committed-term prices.")

    _as_of = field_validator("as_of")(_not_future)
