"""The measured device as a plan row ("this machine", provider "local"): its GPU spec and offer from a
measurement record, and its efficiencies (`measured`). No torch."""
from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING

from planner.dataclass import dataclass

from planner.catalog.load import Catalog, PricedOffer
from planner.efficiency.calibrated import OtherFamily, measured_precision, other_family, record_efficiency
from planner.efficiency.origin import Efficiency
from planner.schema.catalog import GpuSpec, Interconnect, Offer, PeakTflops

if TYPE_CHECKING:  # annotations only: a measurement record's models are imported where one is read
    from planner.schema.record import MeasurementRecord

LOCAL_PROVIDER = "local"
LOCAL_BILLING_SECONDS = 1.0
"""A machine you own is 'billed' by the second at the hourly cost you give (0 by default)."""


@dataclass(frozen=True)
class LocalDevice:
    """A measured device: its spec (catalog datasheet, or the measured roofline), offer and record."""

    record: MeasurementRecord
    gpu: GpuSpec
    offer: PricedOffer
    catalog: Catalog | None = field(default=None, repr=False, compare=False)
    """Its priors and interval widenings re-centre and widen a curve read for another model family
    (calibrated.OtherFamily)."""

    def efficiency(self, kind: str, family: str, precision: str, size: float,
                   params: float = 0.0) -> Efficiency | None:
        """The measured efficiency relative to this spec's peaks (None: the record did not measure the kind)."""
        return record_efficiency(self.record, self.gpu, kind, family, precision, size, "measured", params,
                                 self.catalog)

    def other_family(self, kind: str, family: str, precision: str) -> OtherFamily | None:
        """Whether efficiency() reads another model family's curve for this family (None: its own, or none)."""
        return other_family(self.record, family, kind, precision)

    def precision_for(self, precision: str) -> str | None:
        """The measured precision that stands in for `precision` here (None: none measured)."""
        return measured_precision(self.record, precision)


def local_device(record: MeasurementRecord, catalog: Catalog, usd_per_hour: float = 0.0) -> LocalDevice:
    """The plan inputs for the record's device: the catalog GPU when identified (its datasheet peaks; the record's
    efficiencies are converted to them), else a spec made of the measured peaks and bandwidth."""
    device = record.device
    if device.catalog_id is not None and device.catalog_id in catalog.gpus:
        gpu = catalog.gpus[device.catalog_id]
    else:
        peaks = PeakTflops(**{p: v for p, v in record.peaks.matmul_tflops.items()},
                           **({} if "fp32" in record.peaks.matmul_tflops
                              else {"fp32": max(record.peaks.matmul_tflops.values())}))
        # model_construct: a measured device is not a datasheet GPU (no architecture family, no source document);
        # every figure here is the record's measurement.
        gpu = GpuSpec.model_construct(
            id=device.type if device.type == "cpu" else device.name, name=device.name, vendor="local",
            arch=device.type,  # type: ignore[arg-type]  # a device kind (cpu/cuda/mps), not a datasheet family
            memory_gb=device.memory_gb, memory_bandwidth_gbs=record.peaks.memory_bandwidth_gbs,
            peak_tflops=peaks, interconnect=Interconnect(), aliases=[], source=f"measured ({record.command})",
            as_of=record.measured_at.date())
    offer = Offer.model_construct(instance="this machine", gpu=gpu.id, gpus_per_instance=device.count,
                                  usd_per_hour=usd_per_hour, spot_usd_per_hour=None, intra_node="pcie",
                                  network_gbps=None, region=None, as_of=None, source=None, doubtful=None, notes=None)
    priced = PricedOffer(LOCAL_PROVIDER, offer, LOCAL_BILLING_SECONDS, record.measured_at.date())
    return LocalDevice(record, gpu, priced, catalog)

