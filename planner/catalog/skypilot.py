"""SkyPilot's v7 catalog layout, one provider folder at a time: `<dir>/<cloud>/vms.csv` → rows with per-GPU memory,
with the data quirks of catalog/snapshots/skypilot-*/README.md detected by rules (planner/catalog/quirks.py).

Columns are found by header name (their order differs by cloud). `GpuInfo` is a Python-dict-like string on most
clouds, JSON with doubled quotes on primeintellect, a bare name on runpod: only its `Name` and `SizeInMiB` are read,
by pattern, never evaluated."""
from __future__ import annotations

import csv
import io
import math
import re
from planner.dataclass import dataclass
from pathlib import Path

from planner.errors import InputError
from planner.io.yamlfile import read_text

MAX_CSV_BYTES = 64 * 2**20
"""Largest price table read: SkyPilot's AWS vms.csv, the biggest, is a few MB."""
REQUIRED = ("InstanceType", "AcceleratorName", "AcceleratorCount", "Price")
_SIZE = re.compile(r"""SizeInMiB['"]*\s*:\s*['"]*([0-9.]+)""")
_NAME = re.compile(r"""['"]Name['"]+\s*:\s*['"]+([^'"]+)""")


@dataclass(frozen=True)
class SkyRow:
    """One accelerator row of a vms.csv, as written (prices may still be placeholders)."""

    line: int
    instance: str
    accelerator: str
    count: float
    price: float | None
    spot: float | None
    region: str
    host_gib: float | None
    memory_mib: float | None
    """`SizeInMiB` of the GpuInfo as written: per GPU, the instance total or host RAM depending on the cloud."""
    description: str
    """GpuInfo's GPU name and the upstream SKU (primeintellect): text that tells SXM from PCIe or NVL."""
    zone: str = ""
    """`AvailabilityZone` (aws, gcp, runpod); empty when the table has none."""
    count_text: str | None = None
    """The GPU count's cell as written ('1e400', 'inf', ''), for a row skipped for its count; None where the row comes
    from no table cell (gpuhunt's items)."""


def bad_count(row: SkyRow) -> str | None:
    """Why a row's GPU count is none (skipped, said and listed under `omitted`), or None when it is a whole number
    of at least 1. The count is named as the table writes it (new-user QA: a count of 1e400, read as inf, and nan or
    an empty cell, each read as no count, were all said '(0)')."""
    if row.count >= 1 and row.count == int(row.count):
        return None
    written = f"{row.count:g}" if row.count_text is None else row.count_text.strip() or "empty"
    return f"GPU count not a whole number of at least 1 ({written})"


@dataclass(frozen=True)
class HostRow:
    """A row with an instance type and no accelerator: on GCP, the host VM that an accelerator-only row is added to
    (SkyPilot pairs the two by zone)."""

    line: int
    instance: str
    region: str
    zone: str
    price: float | None
    spot: float | None


def cell(text: str | None) -> float | None:
    """A float from a cell as written (inf kept, for the offer's validation to refuse by name); None when empty or
    not a number, 'nan' included (pandas' word for a missing figure: new-user QA round 11, a Price of nan was
    neither imported nor counted among the skipped rows)."""
    if text is None or not text.strip():
        return None
    try:
        value = _float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def _float(text: str) -> float:
    """float(text), without the underscores Python's float() reads ('1_0' as 10: new-user QA round 18); a table
    writes its numbers as plain digits."""
    if "_" in text:
        raise ValueError(f"could not convert string to float: {text!r}")
    return float(text)


NUMERIC_COLUMNS = ("AcceleratorCount", "Price", "SpotPrice", "MemoryGiB")
"""vms.csv columns read as numbers: each holds a number or nothing."""


def check_numbers(raw: dict[str, str], columns: tuple[str, ...], path: Path, line: int) -> None:
    """A cell of `columns` with text that is no number is one placed InputError (file, line, column): an empty cell
    is a missing figure the importer drops by rule, but 'three' or '$3.20' is a table it cannot read (new-user QA:
    a Price of 'three' was dropped as 'no on-demand price in the source (spot only or empty)', naming no row)."""
    for column in columns:
        text = raw.get(column)
        if text is None or not text.strip():
            continue
        try:
            _float(text)
        except ValueError:
            raise InputError(f"{text.strip()!r} is not a number", file=str(path), line=line, field=column,
                             hint="Write a plain number (prices in USD per hour, e.g. 3.2), or leave the cell "
                                  "empty.") from None


def number(text: str | None) -> float | None:
    """A finite float from a cell, None when empty, not a number or not finite."""
    value = cell(text)
    return value if value is not None and math.isfinite(value) else None


def read_table(path: Path, required: tuple[str, ...], what: str,
               others: dict[str, tuple[str, ...]] | None = None) -> list[tuple[int, dict[str, str]]]:
    """(line, row by header name) of a price table (SkyPilot vms.csv, gpuhunt CSV); a missing column or an
    unreadable table is one placed InputError. `others`: the --from sources whose required columns the header may
    hold instead, named in the hint (new-user QA round 12: a SkyPilot vms.csv given --from gpuhunt listed the
    columns it lacked and its header, not which --from reads it). The header's names are quoted: a name's own spaces
    (' Price') or final period ('note.') read apart from the sentence (new-user QA round 15: 'note..')."""
    # a byte-order mark (Excel's 'CSV UTF-8') is no part of the first column's name (new-user QA round 18: the
    # header's '\ufeffInstanceType' read 'column(s) InstanceType missing')
    text = read_text(path, MAX_CSV_BYTES).removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = reader.fieldnames or []
        twice = sorted({c for c in header if header.count(c) > 1 and c in (*required, *NUMERIC_COLUMNS)})
        if twice:  # csv.DictReader keeps the last of two columns of one name, silently (new-user QA round 18)
            raise InputError(f"not {what}: the header names column(s) {', '.join(twice)} twice", file=str(path),
                             line=1, hint="Keep one column of each name.")
        missing = [c for c in required if c not in header]
        if missing:
            fits = [name for name, columns in (others or {}).items() if all(c in header for c in columns)]
            if not text.strip():  # new-user QA round 18: an empty file read 'column(s) … missing. Header found: (empty)'
                raise InputError(f"not {what}: the file is empty", file=str(path),
                                 hint=f"Its first line names the columns: {', '.join(required)}, ….")
            hint = (f"Its header is a {fits[0]} table's: pass --from {fits[0]}." if fits else
                    f"Header found: {', '.join(map(repr, header)) or '(empty)'}.")
            raise InputError(f"not {what}: column(s) {', '.join(missing)} missing", file=str(path), line=1,
                             hint=hint)
        rows = []
        for line, row in enumerate(reader, start=2):
            # a row of more cells than the header names (csv keeps the rest under the key None) or fewer (None
            # values) has its columns out of step: new-user QA round 18 found a row of 7 cells under a header of 5
            # imported, and one of 2 skipped as 'no price'
            extra = row.pop(None, None) or []
            short = sum(value is None for value in row.values())
            if extra or short:
                raise InputError(f"not {what}: this row has {len(header) + len(extra) - short} cell(s) where the "
                                 f"header names {len(header)}", file=str(path), line=line,
                                 hint="Quote a cell that holds a comma; give every row the header's columns.")
            rows.append((line, row))
        return rows
    except csv.Error as exc:  # a field over csv.field_size_limit() (131,072 characters), a NUL byte, …
        raise InputError(f"not a readable price table: {exc}", file=str(path), line=reader.line_num or None) \
            from None


def read_vms(path: Path) -> list[SkyRow]:
    """The accelerator rows of one vms.csv (CPU-only rows are not returned)."""
    return read_vms_and_hosts(path)[0]


def read_vms_and_hosts(path: Path) -> tuple[list[SkyRow], list[HostRow]]:
    """The accelerator rows of one vms.csv, and its rows with an instance type but no accelerator (CPU-only
    machines; on GCP the host VMs priced apart from their GPUs)."""
    rows, hosts = [], []
    for line, raw in read_table(path, REQUIRED, "a SkyPilot vms.csv"):
        check_numbers(raw, NUMERIC_COLUMNS, path, line)
        name = (raw.get("AcceleratorName") or "").strip()
        if not name:
            instance = (raw.get("InstanceType") or "").strip()
            if instance:
                hosts.append(HostRow(line, instance, (raw.get("Region") or "").strip(),
                                     (raw.get("AvailabilityZone") or "").strip(), number(raw.get("Price")),
                                     number(raw.get("SpotPrice"))))
            continue
        memory_mib, description = gpu_info(raw)
        rows.append(SkyRow(line, (raw.get("InstanceType") or "").strip(), name,
                           number(raw.get("AcceleratorCount")) or 0.0, number(raw.get("Price")),
                           number(raw.get("SpotPrice")), (raw.get("Region") or "").strip(),
                           number(raw.get("MemoryGiB")), memory_mib, description,
                           (raw.get("AvailabilityZone") or "").strip(), raw.get("AcceleratorCount") or ""))
    return rows, hosts


def gpu_info(raw: dict[str, str]) -> tuple[float | None, str]:
    """(SizeInMiB as written, the GPU's name and the upstream SKU) of a vms.csv row: what tells a GPU's variants
    apart (A100 40 or 80 GB, H100 SXM, PCIe or NVL)."""
    info = raw.get("GpuInfo") or ""
    size = _SIZE.search(info)
    gpu_name = _NAME.search(info)
    description = " ".join(filter(None, [gpu_name.group(1) if gpu_name else info if "{" not in info else "",
                                         (raw.get("UpstreamCloudId") or "").strip()]))
    return (number(size.group(1)) if size else None), description


def provider_folders(directory: Path) -> dict[str, Path]:
    """Cloud folder name → its vms.csv under a v7 catalog directory (the directory itself, its `v7/` or a
    `catalogs/v7/` below it)."""
    for base in (directory, directory / "v7", directory / "catalogs" / "v7"):
        found = {p.parent.name: p for p in sorted(base.glob("*/vms.csv"))}
        if found:
            return found
    raise InputError("no <cloud>/vms.csv found: not a SkyPilot v7 catalog directory", file=str(directory),
                     hint="Pass the folder that holds aws/, lambda/, runpod/ … (e.g. catalog/snapshots/"
                          "skypilot-2026-11-30).")
