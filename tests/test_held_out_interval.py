"""Serving intervals span at least the held-out error of their validation group (catalog/accuracy.yaml)."""
import math
import shutil

import pytest
import yaml

from planner.catalog.load import BUNDLED_CATALOG, load_catalog
from planner.efficiency.origin import prior_efficiency
from planner.model.decode_ceiling import share_of_peak

CATALOG = load_catalog(BUNDLED_CATALOG)
GROUPS = yaml.safe_load((BUNDLED_CATALOG / "accuracy.yaml").read_text())["groups"]


def test_decode_interval_is_the_held_out_error_when_the_fit_spreads_less():
    gpu = CATALOG.gpus["A100-80GB-SXM"]
    fitted = next(p for p in CATALOG.priors if (p.kind, p.arch, p.family) == ("decode", "ampere", "decoder"))
    held = math.log1p(GROUPS["serving-decode"]["median_abs_error"]) / 0.6745
    assert fitted.log_sigma < held  # the case this is for: 2 runs of one publication spread less than they miss
    eff = prior_efficiency(CATALOG, gpu, "decode", "decoder")
    # the prior is a share of the copy bandwidth, read as a share of the A100's peak (planner/model/decode_ceiling.py)
    assert eff.value == share_of_peak(gpu, fitted.efficiency)
    assert eff.log_sigma == pytest.approx(held, abs=1e-4)
    assert "held-out error of" in eff.detail and "serving-decode" in eff.detail


def test_without_an_accuracy_file_the_fitted_spread_stays(tmp_path):
    copy = tmp_path / "catalog"
    shutil.copytree(BUNDLED_CATALOG, copy)
    (copy / "accuracy.yaml").unlink()
    catalog = load_catalog(copy)
    fitted = next(p for p in catalog.priors if (p.kind, p.arch, p.family) == ("decode", "ampere", "decoder"))
    eff = prior_efficiency(catalog, catalog.gpus["A100-80GB-SXM"], "decode", "decoder")
    assert eff.log_sigma == fitted.log_sigma and "held-out" not in eff.detail
