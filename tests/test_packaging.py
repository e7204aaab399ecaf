"""The wheel `pip install .` builds (the calibration script and SkyPilot task install gpuplan so on the rented VM):
it carries the catalog, so the installed `gpuplan` plans and calibrates without the source tree."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

from planner.catalog.load import BUNDLED_CATALOG, load_catalog

from .conftest import ROOT

CATALOG = load_catalog(BUNDLED_CATALOG)


def test_a_wheel_install_carries_the_catalog(tmp_path):
    """New-user QA round 15: a wheel held planner/ only, and BUNDLED_CATALOG pointed beside site-packages, so on a VM
    set up by `gpuplan calibrate --print-script` (or --emit skypilot) every `gpuplan calibrate` and `estimate` ended
    in "…/site-packages/catalog: catalog directory not found" after torch was installed."""
    source = tmp_path / "source"  # built from a copy: pip builds in the tree it is given (build/, *.egg-info)
    for name in ("planner", "catalog"):
        shutil.copytree(ROOT / name, source / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "calibrations"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(source)], check=True, capture_output=True)
    assert not (target / "planner" / "bundled_catalog").is_symlink()
    shutil.rmtree(source)  # the installed package alone
    env = {**os.environ, "PYTHONPATH": str(target), "GPUPLAN_CACHE_DIR": str(tmp_path / "cache")}
    shown = subprocess.run(
        [sys.executable, "-c", "import planner; from planner.catalog.load import BUNDLED_CATALOG as B; "
                               "c = planner.load_catalog(); print(B.relative_to(planner.__path__[0]), len(c.gpus), "
                               "len(c.offers()) > 0)"],
        cwd=tmp_path, env=env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["bundled_catalog", str(len(CATALOG.gpus)), "True"]

    # the installed copy is no store: a plain `calibration add` is refused, nothing written, and what calibrate
    # tells the user to run names a store outside it (new-user QA round 15: the record went into site-packages)
    def gpuplan(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "planner", *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True)

    record = shutil.copy(ROOT / "docs" / "records" / "cpu-calibration.yaml", tmp_path / "cpu-calibration.yaml")
    bundled = target / "planner" / "bundled_catalog"
    refused = gpuplan("calibration", "add", str(record))
    assert (refused.returncode, refused.stdout) == (2, "") and len(refused.stderr.splitlines()) == 1, refused.stderr
    assert refused.stderr.startswith(f"Error: the calibration store {bundled / 'calibrations'} is part of the "
                                     "installed gpuplan package"), refused.stderr
    assert not (bundled / "calibrations").exists()
    added = gpuplan("calibration", "add", str(record), "--calibrations", str(tmp_path / "store"))
    assert added.returncode == 0 and added.stdout.startswith(f"Stored {tmp_path / 'store'}/"), added.stderr
    script = gpuplan("calibrate", "--print-script")
    assert 'calibration add $(basename "$OUT") --calibrations ~/gpuplan-calibrations"' in script.stdout
