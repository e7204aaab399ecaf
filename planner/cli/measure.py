"""`gpuplan profile` and `gpuplan calibrate` behind the CLI: torch check, measurement, atomic write, summary.

Imports torch (through planner.profiler) only when a measurement runs."""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from planner.catalog.load import Catalog
from planner.efficiency.records import (calibration_name, check_record_name, kept_store_option, record_yaml,
                                        save_record)
from planner.errors import CatalogLookupError, InputError, PlannerError
from planner.io.atomic import check_output_path, write_new_file_atomic, write_text_atomic
from planner.io.loading import explained, range_words
from planner.project.load import LoadedProfile
from planner.render.escape import shell_word
from planner.schema import record as record_schema
from planner.schema.record import MeasurementRecord
from planner.schema.units import parse_seconds

BUDGET_UNITS = "ms|sec|s|min|m|hr|h|days|day|d|weeks|week|w"
"""The short units of planner/schema/units.py parse_seconds (which also reads words: hours, minutes), longest first:
a budget is pasted into a shell script and a SkyPilot task, so it keeps to these."""
BUDGET_RE = re.compile(rf"^[0-9]+(\.[0-9]+)? *({BUDGET_UNITS})?$")
"""A budget as the script and the CLI accept it: one number and one unit (it is pasted into a shell script and a
SkyPilot task, where the `gpuplan calibrate` they install reads it, so nothing else)."""
_COMPOUND_RE = re.compile(rf"^([0-9]+(\.[0-9]+)? *({BUDGET_UNITS}) *)+$")


def check_budget(budget: str) -> float:
    """Seconds of a --budget value, the wall-clock time the calibration suite may take (steps that would start after
    it are skipped: planner/profiler/run.py Steps.run), such as 10m, 2h or 1d; refuses anything that is not one
    plain duration (or is zero), and says how to write one that is several (1d12h: 36h)."""
    text = budget.strip().lower()
    if not BUDGET_RE.match(text):
        hint = None
        if _COMPOUND_RE.match(text):
            parts = re.findall(rf"([0-9]+(?:\.[0-9]+)?) *({BUDGET_UNITS})", text)
            hours = sum(parse_seconds(number + unit) for number, unit in parts) / 3600.0
            hint = f"One number and one unit: {budget.strip()} is {hours:.6g}h."
        raise PlannerError(f"--budget: expected a duration such as 10m, 600s, 2h or 1d, got {budget!r}", hint=hint)
    try:
        seconds = parse_seconds(text)
    except ValueError as exc:
        raise PlannerError(f"--budget: {exc}") from None
    if seconds <= 0:
        # nothing in the docs makes 0 mean anything: the run would skip every step but the required ones
        # (planner/profiler/run.py calibration_record), a rented VM billed for a record of one model (new-user QA
        # round 14: `calibrate --emit skypilot --budget 0s` was accepted)
        raise PlannerError(f"--budget: {budget.strip()} is no time: every step but the roofline and the smallest "
                           "decoder would be skipped", hint="Give a duration above zero, e.g. 10m (the default).")
    return seconds


def _import_profiler() -> ModuleType:
    """The profiler package, or a clear error when torch is missing."""
    os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")  # silence allocator notices from torch.profiler
    try:
        from planner.profiler import run
    except ImportError as exc:
        if (exc.name or "torch").split(".")[0] != "torch":
            # planner's own module failed to import (new-user QA: a half-updated checkout read "measuring needs
            # PyTorch (cannot import name … from 'planner.model.precision')"): an internal error, not a missing torch
            raise
        raise PlannerError(f"measuring needs PyTorch ({exc}).",
                           hint="Install it with: pip install 'gpuplan[profile]' (or make test sets up .venv).") \
            from None
    return run


@contextmanager
def measuring() -> Iterator[None]:
    """Around a measurement: SIGINT and SIGTERM are recorded (planner/profiler/interrupts.py), and an interrupt that
    landed in C code which swallowed it or raised something else comes out as the KeyboardInterrupt it was (exit
    130, nothing written), never as exit 0 or an internal error."""
    from planner.profiler import interrupts

    with interrupts.watching():
        try:
            yield
            interrupts.check()  # swallowed on the way: the record must not be written
        except Exception:
            if interrupts.interrupted():
                raise KeyboardInterrupt from None
            raise


@contextmanager
def schema_checked(out: Path) -> Iterator[None]:
    """A measurement whose record fails the record schema (planner/schema/record.py: a bound from physics, a
    timing of zero, …) is bad input of the run, exit 2 naming the record and the field, and nothing is written:
    not an internal error."""
    from pydantic import ValidationError

    try:
        yield
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in (exc.title, *first["loc"]))
        # the problem in the words a profile's errors use (new-user QA round 18: pydantic's 'Input should be greater
        # than 0'), the value as measured
        model = getattr(record_schema, exc.title, None)
        problem, _ = explained(first, model if isinstance(model, type) else MeasurementRecord,
                               tuple(first["loc"]), None)
        problem = re.sub(r",? got .*$", "", problem) if problem.startswith("expected ") else problem
        value = first.get("input")
        shown = f" (measured {value!r:.60})" if isinstance(value, (int, float, str)) else ""
        more = len(exc.errors()) - 1
        raise InputError(f"the measured record fails the record schema: {problem}{shown}"
                         f"{f'; {more} more problem(s)' if more > 0 else ''}; nothing written", file=str(out),
                         field=where, hint="Rerun the measurement; if it fails again, report it with this line.") \
            from None


def check_model_code(model_code: str | None, trusted: bool) -> None:
    """--model-code imports (runs) a Python file: refused unless --trust-model-code says the user means it."""
    if model_code is not None and not trusted:
        raise PlannerError(f"--model-code {model_code} would import and run that Python file with your rights; "
                           f"refusing without --trust-model-code",
                           hint="Read the file, then add --trust-model-code to profile it.")


def check_not_the_profile(out: Path, profile: Path) -> None:
    """--out must not be the profile being measured (new-user QA round 13: `gpuplan profile p.yaml --out p.yaml`
    replaced the profile with its record)."""
    try:
        same = out.exists() and profile.exists() and os.path.samefile(out, profile)
    except OSError:
        same = False
    if same:
        raise InputError("--out is the profile being measured; the record would replace it", file=str(out),
                         hint="Give the record another file, or omit --out for measurements/PROFILE-NAME.yaml.")


def run_profile(loaded: LoadedProfile, catalog: Catalog, out: Path, quick: bool, comm: bool, processes: int | None,
                command: str, model_code: str | None = None, trusted: bool = False, out_given: bool = True) -> str:
    """Measure the profile's model (or the user's --model-code class), write the record atomically to `out`,
    return the summary text. `processes`: the ranks of --comm (None: 2). `out_given`: `out` is the user's --out
    (its errors name the option), not the default measurements/PROFILE-NAME.yaml."""
    if processes is not None and not comm:
        # new-user QA round 13: `profile --processes 4` without --comm ran the whole profile and measured no ranks
        raise InputError(f"{processes} sets the ranks of --comm, which is not given", field="--processes",
                         hint=f"Add --comm to measure all-reduce across {processes} local processes, or drop "
                              "--processes.")
    check_model_code(model_code, trusted)
    # before measuring: an unusable --out must not cost the run; named as the suffix check names it (new-user QA
    # round 18: `profile --out ''` read only "Error: .: is a directory; …")
    check_output_path(out, "--out" if out_given else None)
    check_record_name(out)  # after: a directory or a device is named as what it is
    with measuring():
        run = _import_profiler()
        code = None
        if model_code is not None:
            from planner.profiler.usercode import parse_model_code

            code = parse_model_code(model_code)
        profile = loaded.profile
        with schema_checked(out):
            record = run.profile_record(loaded.arch, profile.training, profile.inference, quick, comm, command,
                                        catalog, comm_world=processes or 2, model_code=code)
    save_record(record, out)
    return profile_summary(record, catalog, out)


def profile_summary(record: MeasurementRecord, catalog: Catalog, out: Path) -> str:
    """What `gpuplan profile` prints once the record is written (docs/measure.md shows it for a stored record)."""
    from planner.render.records import render_record_summary

    return render_record_summary(record, catalog) + f"Wrote {out}\n"


def calibrate_summary(record: MeasurementRecord, catalog: Catalog, target: Path) -> str:
    """What `gpuplan calibrate` prints once the record is written."""
    from planner.render.records import render_record_summary

    store = kept_store_option()  # an installed package's own store is refused: the line names one outside it
    add = f"{target} {store}\n(and give gpuplan estimate the same {store})" if store else f"{target}"
    return render_record_summary(record, catalog) + f"Wrote {target}\nAdd it with: gpuplan calibration add {add}\n"


def run_calibrate(catalog: Catalog, out: Path | None, budget_s: float, quick: bool, command: str) -> str:
    """The calibration suite on this machine; refuses a GPU the catalog does not know. Returns the summary."""
    if out is not None:
        check_output_path(out, "--out")  # before measuring: an unusable --out must not cost the run
        check_record_name(out)  # after: a directory or a device is named as what it is
    else:
        check_output_path(Path("calibration.yaml"))  # the default goes to the current directory
    with measuring():
        run = _import_profiler()
        device = run.pick_device()
        info = run.device_info(device, catalog)
        if info.type == "cuda" and info.catalog_id is None:
            raise PlannerError(f"this GPU ({info.name}, {info.memory_gb:.0f} GB) is not in the catalog, so a "
                               f"calibration would calibrate nothing.",
                               hint="Add it to catalog/gpus.yaml with its datasheet source (and an alias matching "
                                    "the name above), or use `gpuplan profile PROFILE --out FILE` and "
                                    "`gpuplan estimate --measurements FILE` for this machine alone.")
        with schema_checked(out or Path("calibration.yaml")):
            record = run.calibration_record(catalog, budget_s, command, device, quick=quick)
    if out is not None:
        target = out
        save_record(record, target)
    else:  # a fresh, content-named file: two runs in the same second write two files, neither over the other
        target = Path(calibration_name(record))
        write_new_file_atomic(target, record_yaml(record).encode("utf-8"))
    return calibrate_summary(record, catalog, target)


MAX_GPUS_PER_TASK = 64
"""GPUs one calibration task asks for (--gpus TYPE:N), as before: more than any offer's instance holds (8 at most in
the catalog), less than a typo's 100."""
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
"""Bucket names as S3 and GCS accept them (3–63 lower-case letters, digits, dots and dashes)."""


def calibration_tasks_text(catalog: Catalog, catalog_dir: Path, gpus: str | None, budget: str, bucket: str | None,
                           emitting: bool, out_dir: Path | None = None) -> str:
    """`calibrate --emit skypilot --gpus TYPE[:N],…`: the SkyPilot tasks, one per GPU type; bad input is one error
    naming the option. `out_dir` (--out-dir): each task written to its own file there (atomically), and what to
    run said instead."""
    from planner.catalog.names import load_accelerator_names
    from planner.render.calibrate_task import Request, calibration_documents

    if not emitting:
        raise InputError("--gpus, --bucket and --out-dir go with --emit skypilot", field="--emit",
                         hint="gpuplan calibrate --emit skypilot --gpus RTX-A5000,L40S:2")
    if not gpus or not gpus.strip():
        raise InputError("--emit skypilot needs the GPU types to calibrate, TYPE[:N],…", field="--gpus")
    if bucket is not None and not BUCKET_RE.match(bucket):
        raise InputError(f"{bucket!r}: expected a bucket name of 3–63 lower-case letters, digits, dots "
                         "and dashes", field="--bucket")
    requests = []
    for item in gpus.split(","):
        if not item.strip():  # new-user QA round 11: 'L40S:2,' read "'': unknown GPU ''"
            raise InputError(f"{gpus!r} has an empty item: expected TYPE[:N] between the commas", field="--gpus",
                             hint="For example --gpus RTX-A5000,L40S:2.")
        name, _, count = item.strip().partition(":")
        try:
            gpu_id = catalog.resolve_gpu(name)
        except CatalogLookupError as exc:
            raise InputError(f"{item.strip()!r}: {exc.message}", field="--gpus", hint=exc.hint) from None
        vendor = catalog.gpus[gpu_id].vendor
        if vendor != "NVIDIA":
            # the task's setup installs PyTorch's CUDA wheels (render/calibrate_script.py TORCH_INDEX), which cannot
            # drive an AMD GPU: a rented MI300X would be billed for a run that measures nothing of it (new-user QA)
            raise InputError(f"{item.strip()!r}: {gpu_id} is an {vendor} GPU, and the calibration task installs "
                             "PyTorch's CUDA wheels, which run on NVIDIA GPUs only", field="--gpus",
                             hint="Run `gpuplan calibrate` on such a machine yourself, with a torch build that drives it.")
        # ASCII digits only: str.isdigit() takes '²', which int() refuses (new-user QA round 18: an internal error)
        if count and (not re.fullmatch(r"[0-9]+", count.strip()) or not 1 <= int(count) <= MAX_GPUS_PER_TASK):
            raise InputError(f"{item.strip()!r}: expected a GPU count after ':', "
                             f"{range_words({'ge': 1, 'le': MAX_GPUS_PER_TASK}, int)}, got {count!r}", field="--gpus")
        shapes = {o.offer.gpus_per_instance for o in catalog.offers({gpu_id})}
        if count and shapes and int(count) > max(shapes):
            # a calibration measures one machine: a count no instance has is no offer to provision (new-user QA
            # round 29: 'L40S:16' was promised 'the cheapest offer', the largest being 8)
            raise InputError(f"{item.strip()!r}: no offer in the catalog has {int(count)} {gpu_id} in one instance "
                             f"(the largest has {max(shapes)}); a calibration measures one machine", field="--gpus",
                             hint=f"For example --gpus {name.strip()}:{max(shapes)}.")
        requests.append(Request(gpu_id, int(count) if count else 1))
    if len({r.gpu for r in requests}) < len(requests):
        raise InputError(f"{gpus!r} names a GPU type twice", field="--gpus")
    try:
        names = load_accelerator_names(catalog_dir, catalog)
        documents = calibration_documents(names, requests, budget, bucket, store_option=kept_store_option(),
                                          folder=out_dir)
    except CatalogLookupError as exc:
        raise InputError(exc.message, field="--gpus", hint=exc.hint) from None
    if out_dir is None:
        return "---\n".join(text for _, text in documents)
    # new-user QA round 26: one multi-document YAML on standard output, each document to be saved by hand as the
    # file its comment names before `sky launch` could read it
    targets = [check_output_path(out_dir / file, "--out-dir") for file, _ in documents]  # all, before any write
    lines = []
    for target, (file, text) in zip(targets, documents):
        write_text_atomic(target, text)
        lines.append(f"Wrote {target}: sky launch -c {file.removesuffix('.yaml')} {shell_word(target)}")
    return "\n".join(lines) + "\nRun each `sky launch` from the gpuplan source tree (the tasks sync it: workdir .).\n"
