"""`gpuplan calibrate --emit skypilot --gpus TYPE[:N],…`: one SkyPilot task per GPU type that calibrates it.

Each task asks for the type under every SkyPilot accelerator name that maps to it (catalog/accelerator_names.yaml),
as a set, so SkyPilot's optimizer provisions the cheapest matching offer across the user's enabled clouds; `workdir: .`
syncs the gpuplan source tree (run `sky launch` from it); `setup` is the install half of `calibrate --print-script`
(a venv, a CUDA build of torch, gpuplan); `run` calibrates within the budget. The record comes back through a
bucket mounted at RECORDS_DIR when `--bucket NAME` is given (SkyPilot storage, MOUNT mode), else it stays on the
cluster and the run prints the `scp` that brings it home (SkyPilot names the cluster's SSH host after the cluster).
Values are emitted through the YAML dumper, never pasted into YAML text (planner/render/launch.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from planner.dataclass import dataclass

from planner.catalog.names import gpu_for
from planner.errors import CatalogLookupError
from planner.render.calibrate_script import TORCH_INDEX
from planner.render.escape import comment, shell_word
from planner.schema.names import AcceleratorNames

RECORDS_DIR = "/gpuplan-records"
"""Where the bucket is mounted on the cluster (--bucket)."""
LOCAL_RECORDS = "$HOME/gpuplan-calibration"
"""Where the record stays on the cluster without a bucket."""


@dataclass(frozen=True)
class Request:
    """One `--gpus` item: a catalog GPU id and how many of it the task asks for."""

    gpu: str
    count: int = 1


def skypilot_names(names: AcceleratorNames, gpu_id: str) -> list[str]:
    """SkyPilot accelerator names that mean this GPU on some cloud (without a cloud, or on the cloud an entry is
    limited to), sorted."""
    found = set()
    for entry in names.names:
        if entry.catalog != "skypilot" or entry.gpu != gpu_id:
            continue
        clouds: list[str | None] = list(entry.clouds) if entry.clouds else [None]
        if any(gpu_for(names, "skypilot", entry.name, cloud) == gpu_id for cloud in clouds):
            found.add(entry.name)
    if not found:
        raise CatalogLookupError(f"no SkyPilot accelerator name for {gpu_id}",
                                 hint="Add one to catalog/accelerator_names.yaml.")
    return sorted(found)


def ambiguous_elsewhere(names: AcceleratorNames, gpu_id: str, candidates: list[str]) -> list[str]:
    """'NAME on CLOUD is OTHER' for each candidate name that another entry maps to another GPU on some cloud."""
    notes = []
    for entry in names.names:
        if entry.catalog == "skypilot" and entry.name in candidates and entry.gpu != gpu_id and entry.clouds:
            notes.append(f"{entry.name} on {', '.join(entry.clouds)} is {entry.gpu}")
    return sorted(set(notes))


def _slug(gpu_id: str) -> str:
    """A cluster/task name part: SkyPilot names are lower-case letters, digits and dashes."""
    return "".join(c if c.isalnum() else "-" for c in gpu_id.lower()).strip("-")


def calibration_task(names: AcceleratorNames, request: Request, budget: str, bucket: str | None,
                     torch_index: str = TORCH_INDEX, store_option: str = "") -> dict[str, Any]:
    """The SkyPilot task (as a dict) that calibrates one GPU type. `store_option`: what the `gpuplan calibration add`
    its run prints needs at home besides the file (planner/efficiency/records.py kept_store_option)."""
    accelerators = {name: request.count for name in skypilot_names(names, request.gpu)}
    out_dir = RECORDS_DIR if bucket else LOCAL_RECORDS
    run = ('STAMP="$(date -u +%Y%m%dT%H%M%SZ)"\n'
           f'OUT="{out_dir}/calibration-$GPUPLAN_GPU-$STAMP.yaml"\n'
           f'mkdir -p "{out_dir}"\n'
           '"$HOME/gpuplan-venv/bin/gpuplan" calibrate --out "$OUT" --budget "$BUDGET"\n'
           'echo "Calibration record: $OUT"\n')
    name = f"gpuplan-calibrate-{_slug(request.gpu)}"
    if not bucket:
        store = f" {store_option}" if store_option else ""
        run += f'echo "Bring it home: scp {name}:$OUT . && gpuplan calibration add $(basename "$OUT"){store}"\n'
    setup = ('set -eu\n'
             'python3 -m venv "$HOME/gpuplan-venv"\n'
             '"$HOME/gpuplan-venv/bin/python" -m pip install --quiet --upgrade pip\n'
             '"$HOME/gpuplan-venv/bin/python" -m pip install --quiet "torch>=2.3,<2.14" --index-url "$TORCH_INDEX"\n'
             '"$HOME/gpuplan-venv/bin/python" -m pip install --quiet .\n')
    task: dict[str, Any] = {
        "name": name,
        "workdir": ".",
        "resources": {"accelerators": accelerators},
        "envs": {"GPUPLAN_GPU": request.gpu, "BUDGET": budget, "TORCH_INDEX": torch_index},
        "setup": setup,
        "run": run,
    }
    if bucket:
        task["file_mounts"] = {RECORDS_DIR: {"name": bucket, "mode": "MOUNT"}}
    return task


def calibration_tasks(names: AcceleratorNames, requests: list[Request], budget: str,
                      bucket: str | None, store_option: str = "") -> str:
    """The YAML text: one document per GPU type, each headed by comments on how to launch it. `store_option`: see
    calibration_task."""
    return "---\n".join(text for _, text in calibration_documents(names, requests, budget, bucket, store_option))


def calibration_documents(names: AcceleratorNames, requests: list[Request], budget: str, bucket: str | None,
                          store_option: str = "", folder: Path | None = None) -> list[tuple[str, str]]:
    """(file name, YAML document) per GPU type, each headed by comments on how to launch it; `folder`: where the
    files are written (`calibrate --out-dir`), named in the `sky launch` line, else the document says to save it."""
    import yaml

    from planner.render.launch import yaml_dumper

    store = f" {store_option}" if store_option else ""
    estimate = f", and give gpuplan estimate the same {store_option}" if store_option else ""
    docs = []
    for request in requests:
        task = calibration_task(names, request, budget, bucket, store_option=store_option)
        candidates = sorted(task["resources"]["accelerators"])
        file = f"{task['name']}.yaml"
        launch = (f"run from the gpuplan source tree: sky launch -c {task['name']} {shell_word(folder / file)}"
                  if folder is not None else f"save this document as {file} in the gpuplan source tree and run: "
                  f"sky launch -c {task['name']} {file}")
        header = [f"gpuplan calibration task for {request.count}x {request.gpu} "
                  f"(SkyPilot names {', '.join(candidates)}: the cheapest offer of any of them)", launch,
                  f"then: gpuplan calibration add <record>{store} (from the bucket, or the scp the run "
                  f"prints){estimate}; sky down {task['name']}"]
        header += [f"note: {n}; `gpuplan calibration add` checks the device the record names"
                   for n in ambiguous_elsewhere(names, request.gpu, candidates)]
        text = "".join(f"# {comment(line)}\n" for line in header)
        docs.append((file, text + yaml.dump(task, Dumper=yaml_dumper(), sort_keys=False, width=200)))
    return docs
