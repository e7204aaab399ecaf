"""`gpuplan catalog refresh --from skypilot-url`: today's SkyPilot v7 tables for every provider folder named in
catalog/providers.yaml, downloaded into a temporary directory, imported like the bundled snapshot
(planner/catalog/snapshot_import.py), compared with the offers files, and written only when every provider
imported (each file atomically). Without network it says so in one line and changes nothing."""
from __future__ import annotations

import datetime as dt
import tempfile
import urllib.error
import urllib.request
from planner.dataclass import dataclass
from pathlib import Path

from planner.catalog.load import Catalog
from planner.catalog.providers import load_providers
from planner.catalog.snapshot_import import ProviderImport, check_as_of, import_snapshot
from planner.errors import InputError, PlannerError
from planner.schema.catalog import Offer

SKYPILOT_URL = "https://raw.githubusercontent.com/skypilot-org/skypilot-catalog/master/catalogs/v7"
"""Where SkyPilot publishes its catalog (skypilot-org/skypilot-catalog, catalogs/v7/<cloud>/vms.csv)."""
TIMEOUT_S = 20.0
MAX_BYTES = 64 * 2**20


def fetch(url: str) -> bytes:
    """The bytes at `url` (tests replace this with recorded files)."""
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # a fixed https catalog URL or --url
        data: bytes = response.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise InputError(f"{url}: larger than {MAX_BYTES // 2**20} MB; not a price table")
    return data


@dataclass(frozen=True)
class OfferChange:
    """How one provider's offers moved."""

    provider: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    repriced: tuple[tuple[str, float, float], ...]
    """(instance, old on-demand USD/h, new)."""


def download(base_url: str, catalog_dir: Path, target: Path) -> list[str]:
    """Every provider folder of providers.yaml into target/v7/<cloud>/vms.csv; the folders fetched."""
    clouds = sorted({p.skypilot for p in load_providers(catalog_dir).values() if p.skypilot})
    fetched = []
    for cloud in clouds:
        url = f"{base_url.rstrip('/')}/{cloud}/vms.csv"
        try:
            data = fetch(url)
        except urllib.error.HTTPError as exc:  # the server answered: the network is there, the address is wrong
            # (new-user QA: a mistyped --url read 'no network: … (Not Found)')
            raise InputError(f"{url}: the server answered {exc.code} {exc.reason}; the catalog is unchanged",
                             field="--url", hint="Give the folder that holds <cloud>/vms.csv (SkyPilot's "
                                                 "catalogs/v7).") from None
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            if base_url.lower().startswith("file:"):  # a local folder: no network involved (new-user QA)
                raise InputError(f"could not read {url} ({reason}); the catalog is unchanged", field="--url",
                                 hint="Give a folder that holds <cloud>/vms.csv for every provider folder of "
                                      "catalog/providers.yaml.") from None
            raise NoNetwork(f"no network: could not fetch {url} ({reason}); the catalog is unchanged") from None
        folder = target / "v7" / cloud
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "vms.csv").write_bytes(data)
        fetched.append(cloud)
    return fetched


class NoNetwork(PlannerError):
    """The catalog source could not be reached: bad input's one `Error:` line and exit 2, as every other error
    (new-user QA: 'no network: …' alone lacked the prefix)."""


def changes(catalog: Catalog, results: list[ProviderImport]) -> list[OfferChange]:
    """What each provider's offers would become, against the catalog as loaded."""
    out = []
    for r in results:
        old: dict[str, Offer] = {o.instance: o for o in catalog.providers[r.provider].offers} \
            if r.provider in catalog.providers else {}
        new = {o.instance: o for o in r.document.offers}
        repriced = tuple((i, old[i].usd_per_hour, new[i].usd_per_hour) for i in sorted(old.keys() & new.keys())
                         if abs(old[i].usd_per_hour - new[i].usd_per_hour) > 1e-9)
        out.append(OfferChange(r.provider, tuple(sorted(new.keys() - old.keys())),
                               tuple(sorted(old.keys() - new.keys())), repriced))
    return out


def render_changes(diff: list[OfferChange], shown: int = 5) -> str:
    """One line per provider, then up to `shown` repriced offers each."""
    lines = []
    for c in diff:
        lines.append(f"{c.provider}: {len(c.added)} new, {len(c.removed)} gone, {len(c.repriced)} repriced")
        for instance, before, after in c.repriced[:shown]:
            lines.append(f"  {instance}: ${before:g}/h → ${after:g}/h ({(after - before) / before:+.1%})")
    return "\n".join(lines) + "\n"


URL_SCHEMES = ("https", "http", "file")
"""What --url may name: a web mirror of the catalog, or a local copy (file:///path/to/catalogs/v7)."""


def check_base_url(base_url: str) -> None:
    """--url must be a URL urllib fetches over those schemes: 'notaurl' was an internal error (urllib's ValueError
    'unknown url type', exit 70; new-user QA), ftp:// or a mistyped scheme 'no network'."""
    import urllib.parse

    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme.lower() not in URL_SCHEMES or not (parts.netloc or parts.scheme.lower() == "file"):
        raise InputError(f"{base_url!r} is not an http(s) or file URL of a catalog folder", field="--url",
                         hint=f"Give the folder that holds <cloud>/vms.csv, such as {SKYPILOT_URL}.")


def refresh(catalog: Catalog, catalog_dir: Path, base_url: str = SKYPILOT_URL,
            today: dt.date | None = None, as_of: dt.date | None = None
            ) -> tuple[list[ProviderImport], list[OfferChange]]:
    """Download, import and compare (nothing written here). The prices are dated `as_of` where given (a copy taken
    earlier), else the day fetched; a local copy (file://) must say its date, which nothing in SkyPilot's tables
    holds (new-user QA: a 2026-11-30 copy read on 2026-12-01 was dated that day, an old mirror looking fresh)."""
    check_base_url(base_url)
    fetched = today or dt.date.today()
    check_as_of(as_of, fetched)
    if as_of is None and base_url.lower().startswith("file:"):
        raise InputError("a local copy of the catalog carries no date of its own: give the day its prices were "
                         "taken", field="--as-of", hint="For example --as-of 2026-11-30 (dating it today would make "
                                                        "an old copy look fresh).")
    with tempfile.TemporaryDirectory(prefix="gpuplan-refresh-") as tmp:
        download(base_url, catalog_dir, Path(tmp))
        day = as_of or fetched
        origin = f"{base_url}, fetched {day}" if as_of is None else f"{base_url}, prices as of {day} (--as-of)"
        results = import_snapshot(Path(tmp), catalog, catalog_dir, day, origin=origin)
    return results, changes(catalog, results)
