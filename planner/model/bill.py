"""The whole bill of a plan beside compute (JSON cost_usd.compute/storage/egress/total; docs/catalog.md), at the
provider's $/GB-month and $/GB (catalog/providers.yaml, each price with a source). Training: storage of the dataset
and the kept checkpoints while the run lasts and for the retention after it, and egress of the final weights once.
Serving, per month: storage of the served weights all month, and egress of the responses the profile says leave.
A line whose price the catalog does not know is None, and the plan says so; the total then holds the known lines."""
from __future__ import annotations

from planner.dataclass import dataclass

from planner.schema.providers import ProviderInfo

HOURS_PER_MONTH = 730.0
"""8,760 h / 12: the month the storage prices are quoted for (and inference.hours_per_month's default)."""
DAYS_PER_MONTH = 30.44
"""365.25 / 12."""
WEIGHT_BYTES = 2.0
"""Final weights are shipped in 16-bit (bf16/fp16) precision."""
DATASET_NOT_GIVEN = "dataset size not given (training.dataset_gb): storage counts checkpoints only"
STORAGE_UNKNOWN = "storage price unknown for this provider: not in the total"
EGRESS_UNKNOWN = "egress price unknown for this provider: not in the total"
EGRESS_VOLUME_NOT_GIVEN = "response volume not given (inference.egress_gb_per_month): egress not in the total"
OWN_MACHINE = "on your own machine: no storage or egress price to bill, not in the total"
"""An owned or measured machine's only note (new-user QA round 26: its JSON said 'storage price unknown for this
provider' and 'dataset size not given' where the table said 'on your own machine: no storage price to bill')."""
"""The bill's notes (a plan's `bill_notes` in the JSON); the report words the unknown lines itself
(planner/render/bill.py) and prints the others under the bill."""


@dataclass(frozen=True)
class Bill:
    """Storage and egress of one plan, USD (None: the provider's price is not in the catalog)."""

    storage_usd: float | None
    egress_usd: float | None
    storage_gb: float
    egress_gb: float
    notes: tuple[str, ...]


@dataclass(frozen=True)
class BillRates:
    """One provider's storage and egress for one job, all but the run's hours: a training search prices thousands
    of plans at a few dozen providers, each plan with its own hours."""

    stored_gb: float
    storage_usd_per_gb_month: float | None
    retention_months: float
    egress_usd: float | None
    final_weights_gb: float
    notes: tuple[str, ...]
    egress_usd_per_gb: float | None = None
    """The provider's egress price, USD per GB (None: unknown)."""
    dataset_gb: float | None = None
    """What stored_gb holds, for the report: the dataset (None: not given), and `checkpoints_kept` checkpoints of
    `checkpoint_gb` each."""
    checkpoint_gb: float = 0.0
    checkpoints_kept: int = 0

    @property
    def retention_days(self) -> float:
        """Days the storage is kept after the run (training.retention_days)."""
        return self.retention_months * DAYS_PER_MONTH

    def storage_usd(self, hours: float) -> float | None:
        """Storage over the run's `hours` and the retention after it (None: price unknown)."""
        if self.storage_usd_per_gb_month is None:
            return None
        return self.stored_gb * self.storage_usd_per_gb_month * (hours / HOURS_PER_MONTH + self.retention_months)

    def at(self, hours: float) -> Bill:
        """The bill of a run of `hours`."""
        return Bill(self.storage_usd(hours), self.egress_usd, self.stored_gb, self.final_weights_gb, self.notes)


def bill_rates(facts: ProviderInfo | None, dataset_gb: float | None, checkpoint_gb: float, checkpoints_kept: int,
               retention_days: float, final_weights_gb: float, own_machine: bool = False) -> BillRates:
    """A provider's rates for one job (training_bill without the hours); `own_machine`: the user's own or the
    measured machine, whose disk and network nothing bills."""
    notes = []
    stored = (dataset_gb or 0.0) + checkpoint_gb * checkpoints_kept
    if own_machine:
        return BillRates(stored, None, retention_days / DAYS_PER_MONTH, None, final_weights_gb, (OWN_MACHINE,),
                         None, dataset_gb, checkpoint_gb, checkpoints_kept)
    if dataset_gb is None:
        notes.append(DATASET_NOT_GIVEN)
    storage = egress = egress_rate = None
    if facts is not None and facts.storage_usd_per_gb_month is not None:
        storage = facts.storage_usd_per_gb_month.usd
    else:
        notes.append(STORAGE_UNKNOWN)
    if facts is not None and facts.egress_usd_per_gb is not None:
        egress_rate = facts.egress_usd_per_gb.usd
        egress = final_weights_gb * egress_rate
    else:
        notes.append(EGRESS_UNKNOWN)
    return BillRates(stored, storage, retention_days / DAYS_PER_MONTH, egress, final_weights_gb, tuple(notes),
                     egress_rate, dataset_gb, checkpoint_gb, checkpoints_kept)


def training_bill(facts: ProviderInfo | None, hours: float, dataset_gb: float | None, checkpoint_gb: float,
                  checkpoints_kept: int, retention_days: float, final_weights_gb: float) -> Bill:
    """Storage = (dataset + checkpoint × kept) GB × $/GB-month × (run months + retention months);
    egress = final weights GB × $/GB."""
    return bill_rates(facts, dataset_gb, checkpoint_gb, checkpoints_kept, retention_days, final_weights_gb).at(hours)


@dataclass(frozen=True)
class ServingBill:
    """One provider's storage and egress for a month of serving: one copy of the served weights (a speculative
    draft's too), at the served precision, kept in the provider's persistent storage the whole month (it stays
    stored whether or not the instances run; the replicas load it from there), and the data the service sends out,
    inference.egress_gb_per_month. The profile states no other disk (KV-cache offload, logs), so none is counted."""

    weights_gb: float
    storage_usd_per_gb_month: float | None
    """The provider's storage price (None: unknown)."""
    egress_gb: float | None
    """GB sent out per month (None: the profile does not say)."""
    egress_usd_per_gb: float | None
    """The provider's egress price (None: unknown)."""
    notes: tuple[str, ...]

    @property
    def storage_usd(self) -> float | None:
        """Weights GB × $/GB-month × one month (None: price unknown)."""
        if self.storage_usd_per_gb_month is None:
            return None
        return self.weights_gb * self.storage_usd_per_gb_month

    @property
    def egress_usd(self) -> float | None:
        """GB out × $/GB; 0 at a provider that charges nothing for egress whatever the volume (None: price unknown,
        or a priced egress with no volume given)."""
        if self.egress_usd_per_gb is None:
            return None
        if self.egress_usd_per_gb == 0.0:
            return 0.0
        return None if self.egress_gb is None else self.egress_gb * self.egress_usd_per_gb


def serving_bill(facts: ProviderInfo | None, weights_gb: float, egress_gb: float | None,
                 own_machine: bool = False) -> ServingBill:
    """A provider's month of storage and egress for one service (ServingBill), with notes on what is left out
    (`own_machine`: as bill_rates)."""
    if own_machine:
        return ServingBill(weights_gb, None, egress_gb, None, (OWN_MACHINE,))
    storage = egress = None
    if facts is not None and facts.storage_usd_per_gb_month is not None:
        storage = facts.storage_usd_per_gb_month.usd
    if facts is not None and facts.egress_usd_per_gb is not None:
        egress = facts.egress_usd_per_gb.usd
    notes = [STORAGE_UNKNOWN] if storage is None else []
    if egress is None:
        notes.append(EGRESS_UNKNOWN)
    elif egress > 0.0 and egress_gb is None:
        notes.append(EGRESS_VOLUME_NOT_GIVEN)
    return ServingBill(weights_gb, storage, egress_gb, egress, tuple(notes))
