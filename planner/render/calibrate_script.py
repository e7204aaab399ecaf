"""`gpuplan calibrate --print-script`: a POSIX shell script that calibrates a freshly rented GPU VM.

Printing it installs and runs nothing; the script itself creates a venv, installs a CUDA build of torch and gpuplan,
runs `gpuplan calibrate` within a time budget and says where the record is and how to bring it home.
"""
from __future__ import annotations

TORCH_INDEX = "https://download.pytorch.org/whl/cu126"
"""PyTorch's CUDA 12.6 wheel index (pytorch.org 'Get started' selector); override with TORCH_INDEX=… on the VM."""

SCRIPT = r"""#!/bin/sh
# gpuplan calibration for a rented GPU VM (printed by `gpuplan calibrate --print-script`).
# Copy the gpuplan source tree to the VM first (scp -r gpuplan VM:), then run:  sh calibrate.sh
# Settings (environment): GPUPLAN_SOURCE (pip spec or path, default ./gpuplan), TORCH_INDEX, BUDGET, WORKDIR.
set -eu
GPUPLAN_SOURCE="${GPUPLAN_SOURCE:-./gpuplan}"
DEFAULT_TORCH_INDEX=__TORCH_INDEX__
DEFAULT_BUDGET=__BUDGET__
TORCH_INDEX="${TORCH_INDEX:-$DEFAULT_TORCH_INDEX}"
BUDGET="${BUDGET:-$DEFAULT_BUDGET}"
WORKDIR="${WORKDIR:-$HOME/gpuplan-calibration}"
PYTHON="${PYTHON:-python3}"

if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "nvidia-smi not found: this VM has no NVIDIA driver, so there is no GPU to calibrate." >&2
    exit 1
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

mkdir -p "$WORKDIR"
"$PYTHON" -m venv "$WORKDIR/venv"
"$WORKDIR/venv/bin/python" -m pip install --quiet --upgrade pip
"$WORKDIR/venv/bin/python" -m pip install --quiet "torch>=2.3,<2.14" --index-url "$TORCH_INDEX"
"$WORKDIR/venv/bin/python" -m pip install --quiet "$GPUPLAN_SOURCE"

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$WORKDIR/calibration-$STAMP.yaml"
"$WORKDIR/venv/bin/gpuplan" calibrate --out "$OUT" --budget "$BUDGET"

echo ""
echo "Calibration record: $OUT"
echo "Bring it home and store it: gpuplan calibration add checks the record and keeps it where gpuplan estimate reads it."
echo "    scp $(whoami)@$(hostname -f 2>/dev/null || hostname):$OUT ."
echo "    gpuplan calibration add $(basename "$OUT")__STORE__"
"""


def calibrate_script(budget: str = "10m", torch_index: str = TORCH_INDEX, store_option: str = "") -> str:
    """The script text, with the time budget and torch wheel index filled in as shell-quoted words. `store_option`:
    what the `gpuplan calibration add` it prints needs at home besides the file (planner/efficiency/records.py
    kept_store_option: '' in a source checkout; `--calibrations DIR` for an installed package, whose own store is
    refused), a constant of gpuplan's, never the user's text."""
    from planner.render.escape import shell_word

    store = (f" {store_option}\"\necho \"    (and give gpuplan estimate the same {store_option})"
             if store_option else "")
    return (SCRIPT.replace("__TORCH_INDEX__", shell_word(torch_index)).replace("__BUDGET__", shell_word(budget))
            .replace("__STORE__", store))
