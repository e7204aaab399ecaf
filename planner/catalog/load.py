"""The catalog on disk → one validated `Catalog`, with name lookups that ask back when a name is ambiguous."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
from dataclasses import field
from planner.dataclass import dataclass
from pathlib import Path
from typing import Any

from planner.catalog.bandwidth_ceiling import with_bandwidth_ceilings
from planner.catalog.ceilings import with_ceilings
from planner.catalog.compiled import compiled_key, load_compiled, store_compiled
from planner.catalog.held_out import ACCURACY_FILE, HeldOut, held_out_sigmas
from planner.errors import CatalogLookupError, InputError, PlannerError, did_you_mean, option
from planner.io.loading import M, load_model_file
from planner.io.statcache import remembered
from planner.io.yamlcache import CACHE_FORMAT, content_key
from planner.io.yamlfile import YamlDocument, read_text
from planner.schema.catalog import (
    RESERVED_PROVIDER_IDS,
    CommitmentsFile,
    CommittedPrice,
    GpuCatalog,
    GpuSpec,
    Offer,
    ProviderOffers,
    PurchasePrice,
    PurchasePricesFile,
)
from planner.schema.model import ModelCatalog, ModelPreset
from planner.schema.priors import (
    EfficiencyPrior,
    EngineStep,
    Extrapolation,
    LaunchFloor,
    PriorsFile,
    TrainCurveFit,
)
from planner.schema.providers import AssumedNetwork, ProviderInfo, ProvidersFile

BUNDLED_CATALOG = (Path(__file__).resolve().parents[1] / "bundled_catalog").resolve()
"""The repository's catalog/: planner/bundled_catalog links to it in the source tree (an editable install reads it
there, under its own name), and a wheel carries a copy of it under that name (pyproject.toml package-data). New-user
QA round 15: a wheel carried no catalog, so `pip install .`, as the calibration script and SkyPilot task install
gpuplan on the rented VM, ended every `gpuplan calibrate` and `estimate` in "…/site-packages/catalog: catalog
directory not found"."""


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.lower())


@dataclass(frozen=True)
class PricedOffer:
    """An offer with its provider's billing and date attached."""

    provider: str
    offer: Offer
    billing_seconds: float
    as_of: dt.date
    network_assumed: bool = False
    """network_gbps is the plan's assumption (constraints.assumed_network_gbps), not the offer's statement."""
    discount_percent: float = 0.0
    """A discount the user holds (constraints.discounts), already taken off the offer's prices."""
    commitment: CommittedPrice | None = None
    """The published committed-term price this offer is priced at (constraints.commitment); None: on demand."""


_PRICED_DEFAULTS = {f.name: f.default for f in dataclasses.fields(PricedOffer) if f.default is not dataclasses.MISSING}
"""PricedOffer's defaults, read from the class (Catalog.offers makes ~1,000 priced offers a search without its
__init__)."""


@dataclass(frozen=True)
class Catalog:
    """Everything under catalog/: GPUs, offers, presets, priors."""

    gpus: dict[str, GpuSpec]
    providers: dict[str, ProviderOffers]
    presets: dict[str, ModelPreset]
    priors: tuple[EfficiencyPrior, ...]
    as_of: dt.date
    _names: dict[str, str] = field(default_factory=dict, repr=False)
    train_curves: tuple[TrainCurveFit, ...] = ()
    launch_floors: tuple[LaunchFloor, ...] = ()
    directory: str = ""
    """The resolved directory it was loaded from (catalog/accuracy.yaml is read from there)."""
    extrapolation: Extrapolation | None = None
    facts: dict[str, ProviderInfo] = field(default_factory=dict, repr=False)
    """Provider facts of catalog/providers.yaml: billing, networks, storage and egress prices."""
    purchase_prices: dict[str, PurchasePrice] = field(default_factory=dict, repr=False)
    """Sourced prices to buy one card, by GPU id (catalog/purchase_prices.yaml)."""
    commitments: tuple[CommittedPrice, ...] = ()
    """Published committed-term prices of catalog offers (catalog/commitments.yaml)."""
    held_out: HeldOut = field(default_factory=dict, repr=False)
    """The held-out error of each validation group of catalog/accuracy.yaml ({} without one): the least spread of
    a serving interval (planner/catalog/held_out.py)."""
    engine_steps: tuple[EngineStep, ...] = ()
    """Host time per decode step of each inference engine (catalog/priors.yaml engine_steps)."""
    assumed_network: AssumedNetwork | None = None
    """The network assumed between instances of offers that state none (catalog/providers.yaml)."""
    content_key: str = field(default="", init=False, repr=False, compare=False)
    """The compiled cache's key of the files and code it was loaded from (planner/catalog/compiled.py compiled_key),
    by which what is derived from it may be cached (planner/project/cache.py); set by load_catalog only, so a
    catalog made otherwise, or changed with dataclasses.replace, has "" and nothing derived from it is cached."""

    def __repr__(self) -> str:
        """One line (the dataclass repr wrote 600 kB: every GPU, offer and preset with its sources)."""
        offers = sum(len(p.offers) for p in self.providers.values())
        return (f"Catalog({len(self.gpus)} GPUs, {offers} offers from {len(self.providers)} providers, "
                f"{len(self.presets)} model presets, as of {self.as_of.isoformat()}, directory={self.directory!r})")

    def is_exact_gpu_name(self, name: str) -> bool:
        """Whether `name` is an id or alias (case, spaces and hyphens aside), not just a prefix of one."""
        return _norm(name) in self._names

    def gpu(self, name: str) -> GpuSpec:
        """The GPU for an id or alias; ambiguous names raise a question listing the choices."""
        return self.gpus[self.resolve_gpu(name)]

    def resolve_gpu(self, name: str) -> str:
        """Catalog id for an id, alias or unambiguous prefix (case, spaces and hyphens ignored)."""
        key = _norm(name)
        if key in self._names:
            return self._names[key]
        matches = sorted({gid for alias, gid in self._names.items() if alias.startswith(key)}) if key else []
        if len(matches) == 1:
            return matches[0]
        if matches:
            listed = ", ".join(matches[:-1]) + f" or {matches[-1]}"
            raise CatalogLookupError(f"{name}: did you mean {listed}?",
                                     hint="Use one of these ids (`gpuplan catalog list` shows them all).")
        import difflib  # here: only a message needs it (~1 ms of every start otherwise)

        close = difflib.get_close_matches(key, list(self._names), n=6, cutoff=0.6)
        ids = list(dict.fromkeys(self._names[alias] for alias in close))[:3]
        hint = did_you_mean(ids[0], ids) if len(ids) == 1 else (
            "Did you mean " + ", ".join(repr(i) for i in ids[:-1]) + f" or {ids[-1]!r}?" if ids else "")
        raise CatalogLookupError(f"unknown GPU {name!r}.", hint=hint or "Run `gpuplan catalog list` for the ids.")

    def provider(self, name: str) -> ProviderOffers:
        """The provider for an id (or display name)."""
        key = _norm(name)
        for pid, prov in self.providers.items():
            if key in (_norm(pid), _norm(prov.name)):
                return prov
        raise CatalogLookupError(f"unknown provider {name!r}.",
                                 hint=did_you_mean(name, self.providers) or f"Known: {', '.join(sorted(self.providers))}.")

    def preset(self, name: str) -> ModelPreset:
        """The model preset for a name."""
        for pid, preset in self.presets.items():
            if _norm(pid) == _norm(name):
                return preset
        raise CatalogLookupError(f"unknown model preset {name!r}.",
                                 hint=did_you_mean(name, self.presets) or "Run `gpuplan catalog models` for the list.")

    @property
    def default_network_gbps(self) -> float | None:
        """The network between instances assumed for offers that state none, Gbit/s: catalog/providers.yaml's
        assumed_network, else the slowest any offer states (conservative by construction, sourced where that offer
        is). Not the slowest always: that is a small VM's baseline or a provider's pod-to-pod overlay, which says
        nothing of a network another provider does not state."""
        if self.assumed_network is not None:
            return self.assumed_network.gbps
        stated = [o.network_gbps for p in self.providers.values() for o in p.offers if o.network_gbps]
        return min(stated) if stated else None

    def offers(self, gpu_ids: set[str] | None = None, providers: set[str] | None = None) -> list[PricedOffer]:
        """Offers, optionally restricted to some GPU ids and provider ids."""
        result = []
        new = object.__new__
        for pid, prov in sorted(self.providers.items()):
            if providers is not None and pid not in providers:
                continue
            billing, as_of = prov.billing_seconds, prov.as_of
            for offer in prov.offers:
                if gpu_ids is None or offer.gpu in gpu_ids:
                    # PricedOffer(pid, offer, billing, …) without the frozen __init__'s setattr per field (~1,000
                    # offers a search): the same fields, the defaults as the class gives them
                    priced = new(PricedOffer)
                    state = priced.__dict__
                    state["provider"], state["offer"], state["billing_seconds"] = pid, offer, billing
                    state["as_of"] = offer.as_of or as_of
                    state.update(_PRICED_DEFAULTS)
                    result.append(priced)
        return result


PURCHASE_PRICES_FILE = "purchase_prices.yaml"
"""Sourced card prices (optional): the buy-versus-rent line's price when a profile gives none."""

COMMITMENTS_FILE = "commitments.yaml"
"""Published committed-term prices (optional), planned only when a profile sets constraints.commitment."""

LOADED_KEEP = 4
"""Catalogs kept in memory, by content: a process that plans many profiles validates its catalog once."""
_LOADED: dict[tuple[str, tuple[tuple[str, str], ...]], Catalog] = {}


def load_catalog(directory: Path | str = BUNDLED_CATALOG) -> Catalog:
    """Load and cross-check a catalog directory (errors name the path as given). Each file's content key is read
    from its text, or remembered by the file's stat signature (io/statcache.py: a changed file is read again); a
    catalog whose files hold the same bytes as one loaded before is that one (never a stale one: an edited price
    is a different key). A catalog loaded before by the same code comes validated from the compiled cache
    (planner/catalog/compiled.py), else each file's parse from the YAML cache (planner/io/yamlcache.py)."""
    resolved = Path(directory).resolve()
    try:
        paths = _catalog_paths(resolved)
        contents = _content_keys(paths)
        key = (str(resolved), tuple(contents.items()))
        found = _LOADED.get(key)
        if found is None:
            compiled = compiled_key(resolved, contents)
            stored = load_compiled(compiled) if compiled is not None else None
            found = _from_fields(stored, resolved, compiled or "") if stored is not None else None
            if found is None:
                # validated from the files as they are now: their keys from the text read here
                texts = {str(p): read_text(p) for p in paths}
                contents = {name: content_key(text) for name, text in texts.items()}
                key = (str(resolved), tuple(contents.items()))
                compiled = compiled_key(resolved, contents)
                found = _load_catalog(resolved, texts)
                if compiled is not None:
                    store_compiled({f.name: getattr(found, f.name) for f in dataclasses.fields(found)
                                    if f.name not in _NOT_STORED}, compiled)
                    object.__setattr__(found, "content_key", compiled)  # frozen; not an __init__ argument
            if len(_LOADED) >= LOADED_KEEP:
                _LOADED.clear()
            _LOADED[key] = found
        return found
    except PlannerError as exc:
        exc.file = _as_given(exc.file, resolved, str(directory))
        # the further problems under it name their files the same way (new-user QA round 12: the first line said
        # cat/offers/x.yaml, the lines under it /home/…/cat/offers/x.yaml)
        exc.also = tuple(_also_given(line, resolved, str(directory)) for line in exc.also)
        raise


_NOT_STORED = ("directory", "content_key")
"""Catalog fields a compiled entry does not hold: where it was loaded from, and the entry's own key."""


def _from_fields(fields: dict[str, Any], root: Path, key: str) -> Catalog | None:
    """The catalog a compiled entry holds (planner/catalog/compiled.py), loaded from `root` under `key`; None when
    its fields are not exactly the Catalog's."""
    names = {f.name for f in dataclasses.fields(Catalog)}
    if set(fields) != names - set(_NOT_STORED):
        return None
    catalog = Catalog(**fields, directory=str(root))
    object.__setattr__(catalog, "content_key", key)  # frozen; not an __init__ argument
    return catalog


def _catalog_paths(root: Path) -> list[Path]:
    """The catalog's YAML files (gpus, offers/*, models, priors, providers, purchase prices, commitments, accuracy)."""
    if not root.is_dir():  # a file given is not 'not found' (new-user QA): say which it is
        raise InputError("is a file, not a catalog directory" if root.exists() else "catalog directory not found",
                         file=str(root), hint=f"Pass an existing directory as {option('--catalog')}, or omit it.")
    if not (root / "gpus.yaml").exists():  # new-user QA: `--catalog profiles` read "profiles/gpus.yaml: file not
        # found", naming a file the user never gave
        raise InputError("not a catalog directory: it has no gpus.yaml", file=str(root),
                         hint=f"Pass a directory holding gpus.yaml and offers/ (as the bundled catalog/ does) as "
                              f"{option('--catalog')}, or omit it.")
    paths = [root / "gpus.yaml", *sorted((root / "offers").glob("*.yaml"))]
    paths += [p for p in (root / "models.yaml", root / "priors.yaml", root / "providers.yaml",
                          root / PURCHASE_PRICES_FILE, root / COMMITMENTS_FILE, root / ACCURACY_FILE) if p.exists()]
    return paths


def _catalog_texts(root: Path) -> dict[str, str]:
    """The catalog's YAML files by path, read and size-checked."""
    return {str(p): read_text(p) for p in _catalog_paths(root)}


def _content_keys(paths: list[Path]) -> dict[str, str]:
    """Each file's content key (yamlcache.content_key of its text, read and size-checked), by path: remembered by
    the files' signatures between runs (io/statcache.py), so that an unchanged catalog's ~500 kB is not read and
    hashed on every start; a file that cannot be read raises as it is read."""
    names = [str(p) for p in paths]

    def read_keys() -> str:
        return json.dumps([content_key(read_text(p)) for p in paths])

    keys = json.loads(remembered(f"catalog-files\n{CACHE_FORMAT}", names, read_keys) or read_keys())
    if not (isinstance(keys, list) and len(keys) == len(names) and all(isinstance(k, str) for k in keys)):
        keys = json.loads(read_keys())
    return dict(zip(names, keys))


def _as_given(file: str | None, resolved: Path, given: str) -> str | None:
    """`file` (under the resolved catalog directory) rewritten under the directory as the user typed it."""
    if file is None:
        return None
    try:
        inside = Path(file).relative_to(resolved)
    except ValueError:
        return file
    return given if inside == Path(".") else str(Path(given) / inside)


def _also_given(line: str, resolved: Path, given: str) -> str:
    """A further problem's placed line ('/abs/cat/offers/x.yaml:21:3: …') with its file under the directory as
    the user typed it; a line placed elsewhere is kept."""
    prefix = str(resolved) + os.sep
    if not line.startswith(prefix):
        return line
    shown = str(Path(given))
    return line[len(prefix):] if shown == "." else shown + os.sep + line[len(prefix):]


def _load_catalog(root: Path, texts: dict[str, str]) -> Catalog:
    def load(path: Path, model: type[M], what: str) -> tuple[M, YamlDocument]:
        return load_model_file(path, model, what, text=texts[str(path)])

    gpu_file, gpu_doc = load(root / "gpus.yaml", GpuCatalog, "GPU catalog")
    gpus: dict[str, GpuSpec] = {}
    names: dict[str, str] = {}
    for i, spec in enumerate(gpu_file.gpus):
        if spec.id in gpus:
            raise gpu_doc.error(("gpus", i, "id"), f"duplicate GPU id {spec.id!r}")
        gpus[spec.id] = spec
        for alias in (spec.id, spec.name, *spec.aliases):
            owner = names.get(_norm(alias))
            if owner is not None and owner != spec.id:
                raise gpu_doc.error(("gpus", i, "aliases"), f"alias {alias!r} already names {owner}")
            names[_norm(alias)] = spec.id
    gpus = with_bandwidth_ceilings(with_ceilings(gpus))
    providers: dict[str, ProviderOffers] = {}
    for path in sorted((root / "offers").glob("*.yaml")):
        prov, doc = load(path, ProviderOffers, "offers file")
        if prov.provider != path.stem:
            raise doc.error(("provider",), f"provider id {prov.provider!r} differs from the file name {path.stem!r}")
        if prov.provider in RESERVED_PROVIDER_IDS:
            raise doc.error(("provider",), f"provider id {prov.provider!r} is reserved for "
                                           f"{RESERVED_PROVIDER_IDS[prov.provider]}",
                            hint=f"Rename the file and its provider id, e.g. {prov.provider}-cloud.")
        for i, offer in enumerate(prov.offers):
            if offer.gpu not in gpus:
                raise doc.error(("offers", i, "gpu"), f"unknown GPU id {offer.gpu!r}", hint=did_you_mean(offer.gpu, gpus))
        providers[prov.provider] = prov
    presets: dict[str, ModelPreset] = {}
    model_path = root / "models.yaml"
    if model_path.exists():
        models, _ = load(model_path, ModelCatalog, "model presets")
        presets = {m.id: m for m in models.models}
    priors: tuple[EfficiencyPrior, ...] = ()
    curves: tuple[TrainCurveFit, ...] = ()
    floors: tuple[LaunchFloor, ...] = ()
    engine_steps: tuple[EngineStep, ...] = ()
    extrapolation: Extrapolation | None = None
    priors_path = root / "priors.yaml"
    if priors_path.exists():
        priors_file = load(priors_path, PriorsFile, "priors file")[0]
        priors, curves = tuple(priors_file.priors), tuple(priors_file.train_curves)
        floors = tuple(priors_file.launch_floors)
        engine_steps = tuple(priors_file.engine_steps)
        extrapolation = priors_file.extrapolation
    as_of = max([gpu_file.as_of, *(p.as_of for p in providers.values())])
    facts: dict[str, ProviderInfo] = {}
    assumed_network: AssumedNetwork | None = None
    facts_path = root / "providers.yaml"
    if facts_path.exists():
        facts_file = load(facts_path, ProvidersFile, "providers file")[0]
        facts, assumed_network = {p.id: p for p in facts_file.providers}, facts_file.assumed_network
    purchase: dict[str, PurchasePrice] = {}
    purchase_path = root / PURCHASE_PRICES_FILE
    if purchase_path.exists():
        prices, doc = load(purchase_path, PurchasePricesFile, "purchase prices")
        for i, price in enumerate(prices.prices):
            if price.gpu not in gpus:
                raise doc.error(("prices", i, "gpu"), f"unknown GPU id {price.gpu!r}", hint=did_you_mean(price.gpu, gpus))
            if price.gpu in purchase:
                raise doc.error(("prices", i, "gpu"), f"a second price for {price.gpu}; keep one per card")
            purchase[price.gpu] = price
    commitments: list[CommittedPrice] = []
    commitments_path = root / COMMITMENTS_FILE
    if commitments_path.exists():
        committed, doc = load(commitments_path, CommitmentsFile, "commitments")
        seen: set[tuple[str, str, str, str]] = set()
        for i, c in enumerate(committed.commitments):
            # an entry whose offer an import has since dropped prices nothing (the on-demand offer is gone too);
            # the bundled file is checked against the bundled offers by tests/test_commitments.py
            key = (c.provider, c.instance, c.term, c.payment)
            if key in seen:
                raise doc.error(("commitments", i, "term"), f"a second {c.term} {c.payment} price for {c.provider} "
                                f"{c.instance}; keep one")
            seen.add(key)
            commitments.append(c)
    accuracy_path = str(root / ACCURACY_FILE)
    held_out = held_out_sigmas(texts[accuracy_path], accuracy_path) if accuracy_path in texts else {}
    return Catalog(gpus, providers, presets, priors, as_of, names, curves, floors, str(root), extrapolation, facts,
                   purchase, tuple(commitments), held_out, engine_steps, assumed_network)
