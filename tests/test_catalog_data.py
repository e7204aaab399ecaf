"""Checks over the shipped catalog data (GPUs, offers, presets, priors) and a tiny synthetic catalog's errors."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from planner.catalog.load import BUNDLED_CATALOG, load_catalog
from planner.efficiency.prior_fit import fit_priors
from planner.errors import CatalogLookupError, InputError
from planner.io.loading import load_model_file
from planner.model.workload import transformer_params
from planner.schema.model import ARCH_FIELDS, Architecture
from planner.schema.priors import PriorsFile
from planner.schema.runs import PublishedRunsFile

REQUIRED_GPUS = (
    "RTX-A4000", "RTX-A5000", "RTX-A6000", "RTX-6000-ADA", "L4", "L40", "L40S", "A10", "A10G", "T4",
    "V100-16GB-SXM2", "V100-32GB-SXM2", "V100-16GB-PCIE", "V100-32GB-PCIE", "A100-40GB-PCIE", "A100-40GB-SXM",
    "A100-80GB-PCIE", "A100-80GB-SXM", "H100-PCIE", "H100-SXM", "H100-NVL", "H200-SXM", "H200-NVL", "B200",
    "GH200-96GB", "GH200-141GB", "GB200", "RTX-3090", "RTX-4090", "MI250X", "MI300X", "A30", "A40", "RTX-A4500",
    "RTX-A5500", "RTX-4000-ADA", "RTX-5000-ADA", "RTX-PRO-6000-BLACKWELL", "P100-16GB-PCIE", "P100-16GB-SXM2",
)
REQUIRED_PRESETS = (
    "gpt2-124m", "gpt2-350m", "gpt2-774m", "gpt2-1.5b", "bert-base", "bert-large", "resnet50", "vit-b16",
    "llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3-8b", "llama-3-70b", "mistral-7b", "pythia-1b",
)
PARAMS_TOLERANCE = 0.025
"""Derived vs published parameter count. The formula omits biases (BERT: ~1.1 % of its 110M; BERT-large ~1.8 % of
340M, both published as rounded figures), so 2.5 % is the widest gap a correct architecture should show."""

OFFER_FILES = sorted((BUNDLED_CATALOG / "offers").glob("*.yaml"))


def _raw(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def raw_gpus() -> list[dict]:
    return _raw(BUNDLED_CATALOG / "gpus.yaml")["gpus"]


@pytest.fixture(scope="module")
def raw_models() -> list[dict]:
    return _raw(BUNDLED_CATALOG / "models.yaml")["models"]


# --------------------------------------------------------------------------------------------------- gpus.yaml

def test_gpu_catalog_is_large_and_has_every_required_id(catalog, raw_gpus):
    assert len(raw_gpus) >= 40
    assert len(catalog.gpus) == len(raw_gpus)
    missing = sorted(set(REQUIRED_GPUS) - set(catalog.gpus))
    assert missing == []


def test_gpu_ids_are_unique(raw_gpus):
    ids = [g["id"] for g in raw_gpus]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == []


def test_every_gpu_has_a_source_and_a_date(raw_gpus):
    for g in raw_gpus:
        assert isinstance(g.get("source"), str) and g["source"].strip(), g["id"]
        assert g.get("as_of"), g["id"]


def test_gpu_memory_and_bandwidth_are_positive(catalog):
    for gpu in catalog.gpus.values():
        assert gpu.memory_gb > 0, gpu.id
        assert gpu.memory_bandwidth_gbs > 0, gpu.id


def test_dense_peaks_are_ordered_by_precision(catalog):
    # Narrower formats never run slower on the same tensor cores: fp8 ≥ bf16 ≥ tf32 ≥ fp32 (each where present),
    # and fp16 ≥ fp32 (tensor or packed-half rate vs. plain FP32).
    for gpu in catalog.gpus.values():
        p = gpu.peak_tflops
        chain = [(name, getattr(p, name)) for name in ("fp8", "bf16", "tf32", "fp32") if getattr(p, name) is not None]
        for (hi_name, hi), (lo_name, lo) in zip(chain, chain[1:]):
            assert hi >= lo, f"{gpu.id}: {hi_name} {hi} < {lo_name} {lo}"
        if p.fp16 is not None:
            assert p.fp16 >= p.fp32, f"{gpu.id}: fp16 {p.fp16} < fp32 {p.fp32}"


# ------------------------------------------------------------------------------------------------- offers/*.yaml

def test_there_are_at_least_eight_provider_files(catalog):
    assert len(OFFER_FILES) >= 8
    assert sorted(catalog.providers) == sorted(p.stem for p in OFFER_FILES)


@pytest.mark.parametrize("path", OFFER_FILES, ids=lambda p: p.stem)
def test_provider_file_has_date_source_and_billing(path):
    raw = _raw(path)
    assert raw.get("as_of"), path.name
    assert isinstance(raw.get("source"), str) and raw["source"].strip(), path.name
    assert raw.get("billing") in ("per-second", "per-minute", "per-hour"), path.name
    assert raw.get("offers"), path.name


@pytest.mark.parametrize("path", OFFER_FILES, ids=lambda p: p.stem)
def test_offers_are_consistent(path, catalog):
    for i, offer in enumerate(_raw(path)["offers"]):
        where = f"{path.name} offer {i} ({offer.get('instance')})"
        assert offer["gpu"] in catalog.gpus, where
        assert isinstance(offer["gpus_per_instance"], int) and offer["gpus_per_instance"] >= 1, where
        assert offer["usd_per_hour"] > 0, where
        spot = offer.get("spot_usd_per_hour")
        if spot is not None and not offer.get("doubtful"):
            assert spot <= offer["usd_per_hour"], where


# ---------------------------------------------------------------------------------------------------- models.yaml

def test_every_required_preset_is_there_with_a_source(catalog, raw_models):
    assert sorted(set(REQUIRED_PRESETS) - set(catalog.presets)) == []
    by_id = {m["id"]: m for m in raw_models}
    for pid in REQUIRED_PRESETS:
        assert isinstance(by_id[pid].get("source"), str) and by_id[pid]["source"].strip(), pid


def _transformer_presets():
    presets = load_catalog(BUNDLED_CATALOG).presets
    return [p for p in sorted(presets) if presets[p].family in ("decoder", "encoder") and presets[p].params]


@pytest.mark.parametrize("preset_id", _transformer_presets())
def test_derived_params_match_published(catalog, preset_id):
    # Same merge as profiles.resolve_architecture, minus `params`, so transformer_params derives the count.
    preset = catalog.presets[preset_id]
    fields = {k: getattr(preset, k) for k in ARCH_FIELDS if k != "params" and getattr(preset, k) is not None}
    arch = Architecture.model_validate({**fields, "name": preset.id})
    derived = transformer_params(arch)
    assert derived == pytest.approx(preset.params, rel=PARAMS_TOLERANCE), (preset_id, derived, preset.params)


def test_required_transformer_presets_are_all_checked():
    checked = set(_transformer_presets())
    wanted = {p for p in REQUIRED_PRESETS if p not in ("resnet50",)}
    assert wanted <= checked


# --------------------------------------------------------------------------------------------------- name lookup

@pytest.mark.parametrize("name, gpu_id", [
    ("A6000", "RTX-A6000"),
    ("a100-80gb", "A100-80GB-SXM"),
    ("rtx 4090", "RTX-4090"),
    ("RTX-A6000", "RTX-A6000"),
])
def test_gpu_names_resolve(catalog, name, gpu_id):
    assert catalog.resolve_gpu(name) == gpu_id


def test_ambiguous_gpu_name_asks_back(catalog):
    with pytest.raises(CatalogLookupError) as info:
        catalog.resolve_gpu("H100")
    assert info.value.message == "H100: did you mean H100-NVL, H100-PCIE or H100-SXM?"


def test_misspelt_gpu_id_gets_a_suggestion(catalog):
    with pytest.raises(CatalogLookupError) as info:
        catalog.resolve_gpu("RTX-A6001")
    assert "Did you mean 'RTX-A6000'" in str(info.value)


def test_misspelt_gpu_alias_gets_a_suggestion(catalog):
    # 'A6001' is one letter from the alias 'A6000': the suggestion names the id the alias stands for
    with pytest.raises(CatalogLookupError) as info:
        catalog.resolve_gpu("A6001")
    assert "Did you mean 'RTX-A6000'" in str(info.value)


# ------------------------------------------------------------------------------------------------------- priors

def test_priors_are_reproducible_from_published_runs(catalog):
    runs, _ = load_model_file(BUNDLED_CATALOG / "published_runs.yaml", PublishedRunsFile)
    stored, _ = load_model_file(BUNDLED_CATALOG / "priors.yaml", PriorsFile)
    fitted = fit_priors(runs.runs, catalog)
    assert [p.model_dump() for p in fitted] == [p.model_dump() for p in stored.priors]


# -------------------------------------------------------------------------------------------- synthetic catalog

def _gpu(gid: str) -> str:
    return f"""\
- id: {gid}
  name: Test {gid}
  vendor: NVIDIA
  arch: ampere
  memory_gb: 24
  memory_bandwidth_gbs: 900
  peak_tflops: {{fp32: 30, bf16: 120}}
  source: synthetic test data
  as_of: 2026-01-01
"""


def _offers(provider: str, gpu: str) -> str:
    return f"""\
schema_version: 1
provider: {provider}
name: X Cloud
as_of: 2026-01-01
source: synthetic test data
billing: per-hour
offers:
- instance: one
  gpu: TG-1
  gpus_per_instance: 1
  usd_per_hour: 1.0
- instance: two
  gpu: {gpu}
  gpus_per_instance: 2
  usd_per_hour: 2.0
"""


def _write_catalog(root: Path, gpu_ids: list[str], provider: str = "x", offer_gpu: str = "TG-1") -> Path:
    (root / "offers").mkdir(parents=True)
    gpus = "schema_version: 1\nas_of: 2026-01-01\ngpus:\n" + "".join(_gpu(g) for g in gpu_ids)
    (root / "gpus.yaml").write_text(gpus, encoding="utf-8")
    (root / "offers" / "x.yaml").write_text(_offers(provider, offer_gpu), encoding="utf-8")
    return root


def test_synthetic_catalog_loads(tmp_path):
    cat = load_catalog(_write_catalog(tmp_path / "ok", ["TG-1", "TG-2"], offer_gpu="TG-2"))
    assert sorted(cat.gpus) == ["TG-1", "TG-2"]
    assert [o.offer.instance for o in cat.offers()] == ["one", "two"]
    assert cat.presets == {} and cat.priors == ()


def test_offer_naming_an_unknown_gpu_is_rejected(tmp_path):
    root = _write_catalog(tmp_path / "unknown-gpu", ["TG-1", "TG-2"], offer_gpu="TG-3")
    with pytest.raises(InputError) as info:
        load_catalog(root)
    # _offers: 7 header lines, 4 per offer: the second offer's "  gpu: TG-3" is line 7 + 4 + 2 = 13.
    text = str(info.value)
    assert f"{root.resolve() / 'offers' / 'x.yaml'}:13:" in text
    assert "offers.1.gpu" in text
    assert "unknown GPU id 'TG-3'" in text


def test_duplicate_gpu_id_is_rejected(tmp_path):
    root = _write_catalog(tmp_path / "dup", ["TG-1", "TG-1"])
    with pytest.raises(InputError) as info:
        load_catalog(root)
    # header is 3 lines, each _gpu block 9 lines: the second "- id: TG-1" is line 3 + 9 + 1 = 13.
    text = str(info.value)
    assert f"{root.resolve() / 'gpus.yaml'}:13:" in text
    assert "duplicate GPU id 'TG-1'" in text


def test_provider_id_must_match_the_file_name(tmp_path):
    root = _write_catalog(tmp_path / "renamed", ["TG-1"], provider="y")
    with pytest.raises(InputError) as info:
        load_catalog(root)
    text = str(info.value)
    assert f"{root.resolve() / 'offers' / 'x.yaml'}:2:" in text  # "provider: y" is line 2
    assert "provider id 'y' differs from the file name 'x'" in text


def test_served_decoders_carry_their_sourced_context_window(catalog):
    # new-user QA (round 3): Pythia, OPT, TinyLlama, Qwen, Llama 3.2-3B, Llama 4 and Mistral Small had no max_context,
    # so a served request longer than the model's window was planned as if it fit; each now carries its config's
    # max_position_embeddings (or the model card's figure) with the source
    expected = {"pythia-160m": 2048, "pythia-410m": 2048, "pythia-1b": 2048, "pythia-2.8b": 2048, "pythia-6.9b": 2048,
                "pythia-12b": 2048, "gpt-neox-20b": 2048, "opt-175b": 2048, "tinyllama-1.1b": 2048,
                "llama-3.2-3b": 131072, "llama-4-scout": 10485760, "llama-4-maverick": 1048576,
                "qwen2.5-7b": 131072, "qwen2.5-32b": 131072, "qwen2.5-72b": 131072, "qwen3-8b": 40960,
                "qwen3-32b": 40960, "qwen3-30b-a3b": 40960, "qwen3-235b-a22b": 40960, "mistral-small-24b": 32768}
    for preset, window in expected.items():
        found = catalog.preset(preset)
        assert (found.max_context, bool(found.max_context_source)) == (window, True), preset
