"""`gpuplan profile` and `gpuplan calibrate` behind the CLI: torch check, measurement, atomic write, summary.

Imports torch (through planner.profiler) only when a measurement runs."""
from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from types import FrameType, ModuleType

from planner.catalog.load import Catalog
from planner.errors import PlannerError
from planner.io.profile import LoadedProfile
from planner.io.atomic import check_output_path, write_new_file_atomic
from planner.io.records import record_yaml, save_record
from planner.schema.units import parse_seconds

BUDGET_RE = re.compile(r"^[0-9]+(\.[0-9]+)?(ms|s|min|m|h)?$")
"""A budget as the script and the CLI accept it (it is pasted into a shell script, so nothing else)."""


def check_budget(budget: str) -> float:
    """Seconds of a --budget value such as 10m; refuses anything that is not a plain duration."""
    text = budget.strip().lower()
    if not BUDGET_RE.match(text):
        raise PlannerError(f"--budget: expected a duration such as 10m, 600s or 1h (got {budget!r})")
    try:
        return parse_seconds(text)
    except ValueError as exc:
        raise PlannerError(f"--budget: {exc}") from None


def _import_profiler() -> ModuleType:
    """The profiler package, or a clear error when torch is missing."""
    os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")  # silence allocator notices from torch.profiler
    try:
        from planner.profiler import run
    except ImportError as exc:
        raise PlannerError(f"measuring needs PyTorch ({exc}).",
                           hint="Install it with: pip install 'gpuplan[profile]' (or make test sets up .venv).") \
            from None
    return run


def _interrupt_on_term() -> None:
    """SIGTERM behaves like Ctrl-C: the run stops before anything is written."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)


def check_model_code(model_code: str | None, trusted: bool) -> None:
    """--model-code imports (runs) a Python file: refused unless --trust-model-code says the user means it."""
    if model_code is not None and not trusted:
        raise PlannerError(f"--model-code {model_code} would import and run that Python file with your rights; "
                           f"refusing without --trust-model-code",
                           hint="Read the file, then add --trust-model-code to profile it.")


def run_profile(loaded: LoadedProfile, catalog: Catalog, out: Path, quick: bool, comm: bool, processes: int,
                command: str, model_code: str | None = None, trusted: bool = False) -> str:
    """Measure the profile's model (or the user's --model-code class), write the record atomically to `out`,
    return the summary text."""
    check_model_code(model_code, trusted)
    check_output_path(out)  # before measuring: an unusable --out must not cost the run
    run = _import_profiler()
    code = None
    if model_code is not None:
        from planner.profiler.usercode import parse_model_code

        code = parse_model_code(model_code)
    _interrupt_on_term()
    profile = loaded.profile
    record = run.profile_record(loaded.arch, profile.training, profile.inference, quick, comm, command, catalog,
                                comm_world=processes, model_code=code)
    save_record(record, out)
    from planner.render.records import render_record_summary

    return render_record_summary(record, catalog) + f"Wrote {out}\n"


def run_calibrate(catalog: Catalog, out: Path | None, budget_s: float, quick: bool, command: str) -> str:
    """The calibration suite on this machine; refuses a GPU the catalog does not know. Returns the summary."""
    if out is not None:
        check_output_path(out)  # before measuring: an unusable --out must not cost the run
    else:
        check_output_path(Path("calibration.yaml"))  # the default goes to the current directory
    run = _import_profiler()
    _interrupt_on_term()
    device = run.pick_device()
    info = run.device_info(device, catalog)
    if info.type == "cuda" and info.catalog_id is None:
        raise PlannerError(f"this GPU ({info.name}, {info.memory_gb:.0f} GB) is not in the catalog, so a calibration "
                           f"would calibrate nothing.",
                           hint="Add it to catalog/gpus.yaml with its datasheet source (and an alias matching the "
                                "name above), or use `gpuplan profile PROFILE --out FILE` and "
                                "`gpuplan estimate --measurements FILE` for this machine alone.")
    record = run.calibration_record(catalog, budget_s, command, device, quick=quick)
    from planner.io.records import calibration_name

    if out is not None:
        target = out
        save_record(record, target)
    else:  # a fresh, content-named file: two runs in the same second write two files, neither over the other
        target = Path(calibration_name(record))
        write_new_file_atomic(target, record_yaml(record).encode("utf-8"))
    from planner.render.records import render_record_summary

    return render_record_summary(record, catalog) + f"Wrote {target}\nAdd it with: gpuplan calibration add {target}\n"
