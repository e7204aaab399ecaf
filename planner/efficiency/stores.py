"""What `gpuplan estimate` reads besides the profile and catalog: the calibration store and a measurement record."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from planner.catalog.load import Catalog
from planner.efficiency.calibrated import EfficiencyBook
from planner.efficiency.local_device import LocalDevice, local_device
from planner.efficiency.records import (calibrated_gpus, calibration_store, check_against_datasheet, check_named_gpu,
                                load_calibrations, load_record_document, this_host_device)
from planner.errors import InputError, option

if TYPE_CHECKING:  # annotations only: a measurement record's models are imported where one is read
    from planner.schema.record import MeasurementRecord


def check_calibrations(calibrations: Path | str | None) -> None:
    """A calibrations directory given (--calibrations) that is none is one error naming it (what reads a store:
    `estimate`, `calibration list`; new-user QA round 11: `calibration list --calibrations TYPO` said "No
    calibrations stored" and exited 0)."""
    if calibrations is not None and not Path(calibrations).is_dir():
        raise InputError("is a file, not a calibrations directory" if Path(calibrations).exists()
                         else "calibrations directory not found", file=str(calibrations),
                         hint=f"Pass an existing directory as {option('--calibrations')}, or omit it for CATALOG/calibrations.")


def efficiency_inputs(catalog: Catalog, catalog_dir: Path | str, calibrations: Path | str | None,
                      measurements: Path | str | None, local_usd_per_hour: float = 0.0
                      ) -> tuple[EfficiencyBook | None, LocalDevice | None]:
    """The calibration book (None when no catalog GPU is calibrated: priors everywhere) and the measured device:
    the `--measurements` record, else a stored calibration of this machine's CPU (None when neither exists)."""
    check_calibrations(calibrations)
    stored = load_calibrations(catalog, calibration_store(catalog_dir, calibrations))
    gpus = calibrated_gpus(stored)
    book = EfficiencyBook(catalog, gpus) if gpus else None
    record: MeasurementRecord | None = None
    if measurements:
        record, doc = load_record_document(measurements)
        check_named_gpu(record, catalog, doc)  # the GPU it names is that GPU, as `calibration add` checks
        check_against_datasheet(record, catalog, doc)  # a record of a catalog GPU cannot beat its datasheet
    else:
        record = this_host_device(stored)
    local = local_device(record, catalog, local_usd_per_hour) if record is not None else None
    return book, local
