"""Accelerator names of maintained catalogs (SkyPilot, gpuhunt) ↔ our GPU ids, from catalog/accelerator_names.yaml."""
from __future__ import annotations

import re
from pathlib import Path

from planner.catalog.load import Catalog
from planner.errors import CatalogLookupError, did_you_mean
from planner.io.loading import load_model_file
from planner.schema.names import AcceleratorName, AcceleratorNames

NAMES_FILE = "accelerator_names.yaml"
MEMORY_TOLERANCE = 0.15
"""A row's per-GPU memory matches an entry within 15 %: catalogs report usable memory (AWS: 22,888 MiB for a 24 GB
A10G, catalog_formats.md §4), a few percent under the datasheet figure."""


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.lower())


def load_accelerator_names(directory: Path, catalog: Catalog) -> AcceleratorNames:
    """The mapping file of a catalog directory, every GPU id checked against the catalog."""
    names, doc = load_model_file(Path(directory) / NAMES_FILE, AcceleratorNames, "accelerator names")
    for i, entry in enumerate(names.names):
        if entry.gpu not in catalog.gpus:
            raise doc.error(("names", i, "gpu"), f"unknown GPU id {entry.gpu!r}", hint=did_you_mean(entry.gpu,
                                                                                                   catalog.gpus))
    return names


def gpu_for(names: AcceleratorNames, source: str, name: str, cloud: str | None = None,
            memory_gb: float | None = None, text: str = "") -> str | None:
    """Our GPU id for a catalog's accelerator name on a cloud (with the row's per-GPU memory when known, and its
    instance type and GPU description as `text`), or None.

    The most specific entry wins: one whose pattern occurs in the text, then one limited to the cloud, then to the
    memory, then a plain entry."""
    key = _norm(name)
    best: tuple[int, AcceleratorName] | None = None
    for entry in names.names:
        if entry.catalog != source or _norm(entry.name) != key:
            continue
        if entry.clouds is not None and (cloud is None or _norm(cloud) not in {_norm(c) for c in entry.clouds}):
            continue
        if entry.memory_gb is not None and (memory_gb is None or abs(memory_gb - entry.memory_gb)
                                            > MEMORY_TOLERANCE * entry.memory_gb):
            continue
        if entry.pattern is not None and not re.search(entry.pattern, text, re.IGNORECASE):
            continue
        score = (entry.pattern is not None) * 4 + (entry.clouds is not None) * 2 + (entry.memory_gb is not None)
        if best is None or score > best[0]:
            best = (score, entry)
    return best[1].gpu if best else None


def skypilot_accelerator(names: AcceleratorNames, gpu_id: str, provider: str) -> str:
    """SkyPilot's accelerator name for our GPU id on a provider (the entry that maps back to the same id)."""
    cloud = names.skypilot_clouds.get(provider)
    for entry in names.names:
        if entry.catalog == "skypilot" and entry.gpu == gpu_id and gpu_for(names, "skypilot", entry.name,
                                                                             cloud) == gpu_id:
            return entry.name
    raise CatalogLookupError(f"no SkyPilot accelerator name for {gpu_id} on {provider}",
                             hint=f"Add one to catalog/{NAMES_FILE}.")
