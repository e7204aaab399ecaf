"""Measurement records on disk: load them as untrusted input, write them atomically, keep the calibration store
(catalog/calibrations/), and identify which catalog GPU a device is. No torch."""
from __future__ import annotations

import datetime as dt
import platform
import re
from pathlib import Path
from typing import TYPE_CHECKING

from planner.catalog.load import BUNDLED_CATALOG, Catalog
from planner.dataclass import dataclass
from planner.errors import InputError, did_you_mean, option
from planner.io.atomic import write_new_file_atomic, write_text_atomic
from planner.io.digest import sha256
from planner.io.loading import validate_document
from planner.io.safepath import inside, safe_name
from planner.io.yamlfile import YamlDocument, load_yaml, read_text

if TYPE_CHECKING:  # the record's models are imported where a record is read: every estimate looks in the
    # calibration store, mostly an empty one, and their classes cost ~3 ms of its start (docs/internals.md 'Start-up')
    from planner.schema.record import MeasurementRecord

MAX_RECORD_BYTES = 1024 * 1024
"""Largest record accepted: a full calibration is ~100 KB of YAML (a few hundred points); more is not a record."""
MEMORY_MATCH_TOLERANCE = 0.10
"""A device's reported memory may differ from the datasheet by the driver's reservation and GB/GiB rounding
(an 80 GB A100 reports 79.2 GiB = 85.1 GB; an H100 80GB reports 79.6 GiB): within 10 % counts as the same."""
BUNDLED_CALIBRATIONS = BUNDLED_CATALOG / "calibrations"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The planner package as Python imports it: site-packages/planner in a wheel install, the source tree's planner/
in a checkout (editable or not installed)."""
USER_STORE = "~/gpuplan-calibrations"
"""The calibration store suggested outside an installed package (the shell expands ~), for `calibration add` and
estimate's --calibrations."""


def load_record(path: Path | str) -> MeasurementRecord:
    """A profiler/calibration record, validated: size cap, kind, version (newer versions refused by name),
    schema and ranges; every problem is one InputError with file, line and field."""
    return load_record_document(path)[0]


def load_record_document(path: Path | str) -> tuple[MeasurementRecord, YamlDocument]:
    """`load_record`, plus the YAML document, so later checks (device identity) can point at a line."""
    from planner.schema.record import RECORD_KIND, RECORD_VERSION, MeasurementRecord

    read_text(path, MAX_RECORD_BYTES)  # size cap before parsing
    doc = load_yaml(path)
    data = doc.data
    if isinstance(data, dict):
        if data.get("kind") != RECORD_KIND:
            # a file with no kind read "kind is None" (new-user QA: a profile given as --measurements); a profile is
            # named as one, with the file that option wants
            found = f"kind is {data['kind']!r}" if "kind" in data else "it has no kind"
            profile = "kind" not in data and "model" in data
            raise doc.error(("kind",), f"not a gpuplan measurement record ({found}, expected {RECORD_KIND!r})"
                                       + (": it is a profile" if profile else ""),
                            hint="Give the record that `gpuplan profile PROFILE` or `gpuplan calibrate` writes."
                            if profile else None)
        version = data.get("version")
        if isinstance(version, int) and not isinstance(version, bool) and version > RECORD_VERSION:
            raise doc.error(("version",), f"record format version {version} was written by a newer gpuplan; this "
                                          f"gpuplan reads version {RECORD_VERSION}.",
                            hint="Upgrade gpuplan (pip install -U gpuplan) to use it.")
    return validate_document(doc, MeasurementRecord, "measurement record"), doc


def record_yaml(record: MeasurementRecord) -> str:
    """The record as YAML text (safe_dump of its JSON form)."""
    import yaml

    header = "# gpuplan measurement record (planner/schema/record.py). Written by gpuplan; validated again when read.\n"
    return header + yaml.safe_dump(record.model_dump(mode="json"), sort_keys=False, width=120)


def save_record(record: MeasurementRecord, path: Path | str) -> None:
    """Write the record atomically: a reader sees the previous file or the whole new one."""
    write_text_atomic(path, record_yaml(record))


def host_fingerprint() -> str:
    """This machine, as a hash of host name, machine type and OS (records carry the hash, not the name)."""
    return sha256(f"{platform.node()}|{platform.machine()}|{platform.system()}".encode()).hexdigest()[:16]


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def identify_gpu(catalog: Catalog, device_name: str, memory_gb: float) -> str | None:
    """The catalog GPU id for a device name as the driver reports it (e.g. 'NVIDIA A100-SXM4-80GB') and its
    memory: every catalog GPU whose id, name or an alias appears in the device name, narrowed by memory size.
    None when no GPU, or more than one, matches."""
    name = _norm(device_name)
    candidates = []
    for gid, spec in catalog.gpus.items():
        aliases = [_norm(a) for a in (gid, spec.name, *spec.aliases)]
        if any(a and (a in name or name in a) for a in aliases):
            if abs(memory_gb - spec.memory_gb) <= MEMORY_MATCH_TOLERANCE * spec.memory_gb:
                candidates.append(gid)
    if len(candidates) > 1:  # prefer the longest matching alias (SXM4-80GB over a bare 'A100')
        def best_len(gid: str) -> int:
            spec = catalog.gpus[gid]
            return max(len(_norm(a)) for a in (gid, spec.name, *spec.aliases) if _norm(a) in name or name in _norm(a))
        candidates.sort(key=best_len, reverse=True)
        if best_len(candidates[0]) == best_len(candidates[1]):
            return None
    return candidates[0] if candidates else None


DATASHEET_TOLERANCE = 1.10
"""A measured peak or bandwidth may exceed the GPU's datasheet by boost clocks and rounding, by a few per cent
(H100 SXM matmuls measure ~0.7–0.8× of the dense datasheet peak; copy bandwidth ~0.9×); more than 10 % above the
datasheet is not a measurement of that GPU."""
_MEASURED_PRECISION_PEAK = {"fp32": "fp32", "tf32": "tf32", "fp16": "fp16", "bf16": "bf16", "fp8": "fp8"}


def check_against_datasheet(record: MeasurementRecord, catalog: Catalog, where: YamlDocument | str) -> None:
    """A record of a catalog GPU cannot beat the GPU's datasheet by more than DATASHEET_TOLERANCE: a matmul peak
    or copy bandwidth above it is refused with both figures."""
    gid = record.device.catalog_id
    if gid is None or gid not in catalog.gpus:
        return
    spec = catalog.gpus[gid]

    def error(path: tuple[str, ...], message: str) -> InputError:
        hint = "Recheck the record (or the catalog's figures and their source) before adding it."
        if isinstance(where, YamlDocument):
            return where.error(path, message, hint=hint)
        return InputError(message, file=where, field=".".join(str(p) for p in path), hint=hint)

    for precision, measured in record.peaks.matmul_tflops.items():
        sheet = spec.peak_tflops.get(_MEASURED_PRECISION_PEAK[precision])
        if sheet is not None and measured > DATASHEET_TOLERANCE * sheet:
            raise error(("peaks", "matmul_tflops", precision),
                        f"measured {measured:,.4g} TFLOP/s is {measured / sheet:,.3g}× the {spec.id} datasheet "
                        f"{precision} peak ({sheet:,.4g} TFLOP/s); at most {DATASHEET_TOLERANCE:g}× is a measurement")
    bandwidth = record.peaks.memory_bandwidth_gbs
    if bandwidth > DATASHEET_TOLERANCE * spec.memory_bandwidth_gbs:
        raise error(("peaks", "memory_bandwidth_gbs"),
                    f"measured {bandwidth:,.4g} GB/s is {bandwidth / spec.memory_bandwidth_gbs:,.3g}× the {spec.id} "
                    f"datasheet bandwidth ({spec.memory_bandwidth_gbs:,.4g} GB/s); at most {DATASHEET_TOLERANCE:g}× "
                    f"is a measurement")


def check_named_gpu(record: MeasurementRecord, catalog: Catalog, where: YamlDocument | str) -> None:
    """The catalog GPU a record names (device.catalog_id), if any, is one: id known, memory matching. Checked when a
    record is stored and when `--measurements` reads one (new-user QA round 13: there an unknown id was ignored, and
    a record of a 25 GB machine naming H100-SXM planned its 'this machine' row as an H100)."""
    device = record.device
    if device.catalog_id is None:
        return

    def error(path: tuple[str, ...], message: str, hint: str | None = None) -> InputError:
        if isinstance(where, YamlDocument):
            return where.error(path, message, hint=hint)
        return InputError(message, file=where, field=".".join(path), hint=hint)

    if device.catalog_id not in catalog.gpus:
        raise error(("device", "catalog_id"), f"unknown GPU id {device.catalog_id!r}",
                    hint=did_you_mean(device.catalog_id, catalog.gpus) or "Run `gpuplan catalog list` for the ids.")
    spec = catalog.gpus[device.catalog_id]
    if abs(device.memory_gb - spec.memory_gb) > MEMORY_MATCH_TOLERANCE * spec.memory_gb:
        raise error(("device", "memory_gb"), f"device memory {device.memory_gb:g} GB does not match {spec.id} "
                                             f"({spec.memory_gb:g} GB)")


def check_device_identity(record: MeasurementRecord, catalog: Catalog, where: YamlDocument | str) -> None:
    """A record naming a catalog GPU must be one (id known, memory matching); a GPU record must name one.
    `where` is the record's YAML document (errors then carry line and column) or just its file name."""
    def error(path: tuple[str, ...], message: str, hint: str | None = None) -> InputError:
        if isinstance(where, YamlDocument):
            return where.error(path, message, hint=hint)
        return InputError(message, file=where, field=".".join(path), hint=hint)

    device = record.device
    if device.catalog_id is not None:
        check_named_gpu(record, catalog, where)
    elif device.type != "cpu":
        raise error(("device", "catalog_id"), f"the {device.type} device {device.name!r} is not a catalog GPU, so the "
                                              f"record cannot calibrate one",
                    hint="Add the GPU to catalog/gpus.yaml (with its datasheet source) and set device.catalog_id, or "
                         "use the file with `gpuplan estimate --measurements`.")


def calibration_name(record: MeasurementRecord) -> str:
    """File name in the store: <catalog id or device type>-<host>-<UTC time>-<content hash>.yaml, every part from
    the record through safe_name (a hostile `device.host: '/../..'` becomes '-'), the hash making two records of the
    same second two files."""
    who = safe_name(record.device.catalog_id or record.device.type, "device")
    host = safe_name(record.device.host[:12], "host")
    when = record.measured_at.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    digest = sha256(record_yaml(record).encode("utf-8")).hexdigest()[:12]
    return f"{who}-{host}-{when}-{digest}.yaml"


def _check_store(store: Path) -> None:
    for where in (store, *store.parents):
        if where.exists():
            if not where.is_dir():
                what = "is a file" if where == store else f"is under {where}, which is a file"
                raise InputError(f"the calibration store {what}, not a directory", file=str(store),
                                 hint="Pass a directory to --calibrations.")
            return


def inside_package(store: Path | str) -> bool:
    """Whether a calibration store lies, links resolved, inside the installed planner package: the bundled catalog's
    calibrations/ of a wheel install, where planner/bundled_catalog is a directory copied into site-packages. In a
    source checkout planner/bundled_catalog links to ../catalog, outside the package, so its store is the
    repository's catalog/calibrations/, whose records are committed."""
    return Path(store).resolve().is_relative_to(PACKAGE_DIR)


def _check_kept(store: Path) -> None:
    """A record is added where it is kept: not inside the installed package (new-user QA round 15: on a wheel
    install a plain `calibration add` wrote into site-packages, lost on the next upgrade and not writable on a
    system install)."""
    if inside_package(store):
        flag = option("--calibrations")
        fix = (f"pass {flag} DIR here and to estimate (e.g. {flag} {USER_STORE})" if flag.startswith("--") else
               f"pass a store outside it here, and the same directory to plan() as {flag} (e.g. {USER_STORE})")
        raise InputError(f"the calibration store {store} is part of the installed gpuplan package, where an added "
                         f"record is lost on upgrade: {fix}.")


def kept_store_option() -> str:
    """What `gpuplan calibration add FILE` needs after FILE to be kept: '' where its default store may hold the
    record (a source checkout's catalog/calibrations/), else `--calibrations ~/gpuplan-calibrations` (a wheel
    install: the default store is inside the package and refused), which estimate is then given too. What
    `gpuplan calibrate` and its script and SkyPilot tasks tell the user to run."""
    return f"--calibrations {USER_STORE}" if inside_package(BUNDLED_CALIBRATIONS) else ""


def add_calibration(path: Path | str, catalog: Catalog,
                    store: Path | str = BUNDLED_CALIBRATIONS) -> tuple[Path, bool]:
    """Validate a record (schema, ranges, size, device identity, datasheet) and copy it into the store, never over
    another file; returns the copy (the existing one when the same record is already stored) and whether it is
    new. A store inside the installed package (a wheel's bundled catalog) is refused before anything is read."""
    _check_kept(Path(store))
    record, doc = load_record_document(path)
    check_device_identity(record, catalog, doc)
    check_against_datasheet(record, catalog, doc)
    root = Path(store)
    _check_store(root)
    target = inside(root, calibration_name(record))
    # False: the store names a record by its content, so the same record is there already
    return target, write_new_file_atomic(target, record_yaml(record).encode("utf-8"))


@dataclass(frozen=True)
class StoredCalibration:
    """A record in the store and its file."""

    path: Path
    record: MeasurementRecord


RECORD_SUFFIXES = (".yaml", ".yml")
"""The names of the records a calibration store reads (others, such as its README.md, are not records)."""


def check_record_name(path: Path, option: str = "--out") -> None:
    """A record's file is named as YAML (.yaml or .yml), as --html's page is .html: a record is YAML, and a calibration
    store reads only those names (new-user QA round 15: `gpuplan profile --out x.txt` measured and wrote a record
    that a store skips and an editor opens as text, and `--out x.json` one that no JSON reader reads; refused
    before any measuring)."""
    if path.suffix.lower() not in RECORD_SUFFIXES:
        # x.yaml.bak: x.yaml, not x.yaml.yaml
        named = path.with_name(path.stem) if Path(path.stem).suffix.lower() in RECORD_SUFFIXES else \
            path.with_suffix(".yaml")
        raise InputError("expected a .yaml (or .yml) file name: the record is YAML", file=f"{option} {path}",
                         hint=f"Write {option} {named}.")


def load_calibrations(catalog: Catalog, store: Path | str = BUNDLED_CALIBRATIONS) -> list[StoredCalibration]:
    """Every record in the store (its *.yaml and *.yml files), validated; newest first."""
    root = Path(store)
    _check_store(root)
    if not root.is_dir():
        return []
    found = []
    try:
        # both of YAML's suffixes: a hand-copied `rec.yml` was skipped without a word (new-user QA round 14)
        paths = sorted(p for p in root.iterdir() if p.suffix in RECORD_SUFFIXES)
    except OSError as exc:
        raise InputError(f"cannot list the calibration store: {exc.strerror}", file=str(root)) from None
    for path in paths:
        record, doc = load_record_document(path)
        check_device_identity(record, catalog, doc)
        check_against_datasheet(record, catalog, doc)
        found.append(StoredCalibration(path, record))
    return sorted(found, key=lambda c: c.record.measured_at, reverse=True)


def this_host_device(calibrations: list[StoredCalibration]) -> MeasurementRecord | None:
    """The newest stored record of a non-catalog device (a CPU) measured on this very machine that measured some
    workload (a calibration cut short by its time budget may hold peaks only); else the newest such record."""
    here = host_fingerprint()
    mine = [cal.record for cal in calibrations
            if cal.record.device.catalog_id is None and cal.record.device.host == here]
    return next((record for record in mine if record.workloads), mine[0] if mine else None)


def calibrated_gpus(calibrations: list[StoredCalibration]) -> dict[str, MeasurementRecord]:
    """The newest record per catalog GPU."""
    latest: dict[str, MeasurementRecord] = {}
    for cal in calibrations:
        gid = cal.record.device.catalog_id
        if gid is not None and gid not in latest:
            latest[gid] = cal.record
    return latest


def calibration_store(catalog_dir: Path | str, calibrations: Path | str | None = None) -> Path:
    """The calibration directory: the one given, else the catalog's calibrations/."""
    return Path(calibrations) if calibrations is not None else Path(catalog_dir) / "calibrations"
