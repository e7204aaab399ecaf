"""catalog/providers.yaml → provider facts: billing, networks between instances, storage and egress prices."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from planner.io.loading import load_model_file
from planner.io.yamlfile import read_text
from planner.schema.catalog import Offer
from planner.schema.providers import NetworkFamily, ProviderInfo, ProvidersFile

PROVIDERS_FILE = "providers.yaml"


def load_providers(catalog_dir: Path) -> dict[str, ProviderInfo]:
    """Provider id → its facts; empty when the catalog has no providers.yaml."""
    path = Path(catalog_dir) / PROVIDERS_FILE
    if not path.exists():
        return {}
    return _load(str(path.resolve()), read_text(path))


@lru_cache(maxsize=4)
def _load(path: str, text: str) -> dict[str, ProviderInfo]:
    """Keyed by the file's text, not its path or time stamp: a file rewritten (catalog refresh) within one time stamp
    is read afresh (issue 12: caches by content, or not at all)."""
    document = load_model_file(Path(path), ProvidersFile, "providers file", text)[0]
    return {p.id: p for p in document.providers}


def network_for(info: ProviderInfo | None, instance: str) -> NetworkFamily | None:
    """The network family of an instance type at a provider (first pattern that occurs in the name), if any."""
    if info is None:
        return None
    for family in info.networks:
        if re.search(family.pattern, instance, re.IGNORECASE):
            return family
    return None


def network_fields(info: ProviderInfo | None, instance: str, old: Offer | None) -> dict[str, float | str | None]:
    """An imported offer's network_gbps and network_source: its instance family's (providers.yaml) where one
    matches, else those of the offer already in the catalog, else none (the plan assumes the catalog's default)."""
    family = network_for(info, instance)
    if family is not None:
        return {"network_gbps": family.gbps, "network_source": f"{family.fabric}: {family.source}"}
    if old is None:
        return {"network_gbps": None, "network_source": None}
    return {"network_gbps": old.network_gbps,
            "network_source": old.network_source or ("previous offers file (see notes)" if old.network_gbps else None)}
