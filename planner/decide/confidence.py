"""How sure a plan is: the `gpuplan validate` group nearest the plan's kind of work, with its number of published
runs and median |error| (grouped cross-validation by source), read from catalog/accuracy.yaml — written by
scripts/build_accuracy.py from the validation, so an estimate does not rerun the validation at start-up (tests/test_accuracy_note.py checks
the file is current)."""
from __future__ import annotations

import functools
import os
from planner.dataclass import dataclass
from pathlib import Path
from typing import Any

from planner.catalog.held_out import accuracy_document
from planner.io.digest import sha256
from planner.io.statcache import Signature, remembered, signature

INPUT_FILES = ("published_runs.yaml", "priors.yaml", "gpus.yaml", "models.yaml")
"""Catalog files the validation reads: their SHA-256 is stored with the summary; when today's files differ the note
says the summary predates them (tests/test_accuracy_note.py keeps the bundled one current)."""
ROUGH_MEDIAN = 0.30
"""Median |error| above which a plan is called rough: beyond it the P10–P90 interval (±1.28 σ) no longer covers the
typical miss of the validation (σ ≈ 0.2 for the fitted curves, exp(1.28·0.2) − 1 ≈ 0.29)."""
FEW_RUNS = 5
"""Fewer runs than this in a group: its median is one or two runs, so the note says so."""
METHOD_TEXT = {"lora": "LoRA", "qlora": "QLoRA", "full": "full"}

GROUP_TEXT = {"llm-pretraining": "LLM pretraining runs", "fine-tuning": "fine-tuning runs", "cnn": "CNN training runs",
              "encoder": "encoder training runs", "training": "training runs (all groups)",
              "serving-decode": "decode serving rows", "serving-prefill": "prefill serving rows",
              "inference-batched": "non-generative batched inference rows",
              "inference-batch-1": "non-generative one-sample inference rows", "overall": "published runs (all)"}


@dataclass(frozen=True)
class Accuracy:
    """The validation group nearest a plan, its size and median |error|, and the note printed with the plan."""

    group: str
    n: int
    median_abs_error: float
    stale: bool = False
    """The catalog's validation inputs changed since the summary was written (scripts/build_accuracy.py)."""
    methods: tuple[tuple[str, int], ...] = ()
    """How the group's runs train (full, lora, qlora) → runs, from catalog/accuracy.yaml; empty: not training."""
    plan_method: str | None = None
    """The plan's training method (None: serving); the note says when no run of the data trains that way."""

    @property
    def method_missing(self) -> bool:
        """The plan trains by a method no run of the group does: its evidence is another method's."""
        return self.plan_method is not None and bool(self.methods) and self.plan_method not in dict(self.methods)

    def _method_text(self, method: str) -> str:
        label = METHOD_TEXT.get(method, method)
        return f"{label} fine-tuning" if self.group == "fine-tuning" and method == "full" else (
            f"{label} training" if method == "full" else label)

    @property
    def note(self) -> str:
        """One line: the group, how many runs, the median error, and how to read the plan."""
        what = GROUP_TEXT.get(self.group, self.group + " runs")
        verdict = ("treat as rough" if self.median_abs_error > ROUGH_MEDIAN or self.n < FEW_RUNS or self.method_missing
                   else "the P10–P90 interval is the range to plan with")
        few = " (too few to be sure)" if self.n < FEW_RUNS else ""
        stale = " [validation inputs changed since: rerun scripts/build_accuracy.py]" if self.stale else ""
        count = f"{self.n} in the data{few}"
        if self.method_missing:  # a LoRA plan next to 6 full fine-tuning runs: say whose evidence it is
            absent = [m for m in ("lora", "qlora") if m not in dict(self.methods)] \
                if self.plan_method in ("lora", "qlora") else [str(self.plan_method)]
            kinds = ", ".join(f"{k} {self._method_text(m)}" for m, k in self.methods)
            shown = (f"all {self._method_text(self.methods[0][0])}" if len(self.methods) == 1 else kinds)
            count = (f"no {'/'.join(METHOD_TEXT.get(m, m) for m in absent)} run in the data: the evidence is "
                     f"{self.n} run(s){few}, {shown}")
        return (f"{what}: {count}, median error {self.median_abs_error:.0%} "
                f"(each predicted without its publication, `gpuplan validate --cross-validate source --only "
                f"{self.group}`) — {verdict}{stale}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: each plan's `accuracy` in `gpuplan estimate --format json` (planner/render/report.py);
        `methods_in_data` only when the plan's method has no run in the group."""
        out: dict[str, Any] = {"group": self.group, "n": self.n, "median_abs_error": round(self.median_abs_error, 4)}
        if self.method_missing:
            out["methods_in_data"] = dict(self.methods)
        return out


def inputs_digest(catalog_dir: Path | str) -> str:
    """SHA-256 over the validation's input files, in a fixed order (missing files count as empty)."""
    digest = sha256()
    for name in INPUT_FILES:
        path = Path(catalog_dir) / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    return digest.hexdigest()


def _load(catalog_dir: str) -> tuple[dict[str, Any], bool] | None:
    """The groups of the accuracy file (planner/catalog/held_out.py parses it once per content), and whether
    its inputs differ from today's."""
    document = accuracy_document(catalog_dir)
    if not document:
        return None
    return document["groups"], _stale(catalog_dir, str(document.get("inputs_sha256")))


def _stale(catalog_dir: str, stored: str) -> bool:
    """Whether today's validation inputs differ from those the file was written from."""
    return stored != _digest(catalog_dir, tuple(signature(os.path.join(catalog_dir, name)) for name in INPUT_FILES))


@functools.lru_cache(maxsize=8)
def _digest(catalog_dir: str, signatures: tuple[Signature | None, ...]) -> str:
    """inputs_digest, once per state of the files (`signatures`: device, inode, size, modification and change
    times): a plan with training and serving asks twice, and hashing the ~750 kB costs ~1.3 ms each time; between
    runs it is remembered by the same signatures (io/statcache.py), so an estimate reads none of those files."""
    paths = [os.path.join(catalog_dir, name) for name in INPUT_FILES]
    return remembered("accuracy-inputs", paths, lambda: inputs_digest(catalog_dir)) or inputs_digest(catalog_dir)


def group_accuracy(catalog_dir: Path | str, group: str, method: str | None = None) -> Accuracy | None:
    """The stored summary of one validation group (None: no current accuracy file, or no such group); `method`:
    the plan's training method."""
    loaded = _load(str(Path(catalog_dir).resolve()))
    entry = loaded[0].get(group) if loaded else None
    if loaded is None or not isinstance(entry, dict):
        return None
    methods = entry.get("methods")
    return Accuracy(group, int(entry["n"]), float(entry["median_abs_error"]), loaded[1],
                    tuple(sorted((str(k), int(v)) for k, v in methods.items())) if isinstance(methods, dict) else (),
                    method)


def largest_published_batch(catalog_dir: Path | str) -> tuple[float, str] | None:
    """Tokens a step of the published run with the largest stated global batch, and its id (catalog/accuracy.yaml
    largest_global_batch, which scripts/build_accuracy.py works out from catalog/published_runs.yaml); None without
    it."""
    entry = accuracy_document(str(Path(catalog_dir).resolve())).get("largest_global_batch")
    if not isinstance(entry, dict) or not isinstance(entry.get("tokens"), (int, float)):
        return None
    return float(entry["tokens"]), str(entry.get("run"))


def training_group(family: str, method: str, from_pretrained: bool = False) -> str:
    """The validation group of a training job: adapters, and a full run from pretrained weights (a full fine-tune, the
    kind of run the group holds), are fine-tuning; decoders otherwise pretraining runs (new-user QA round 28: a full
    13B fine-tune read 'LLM pretraining runs: … median error 12%' beside the fine-tuning runs' 25%)."""
    if method != "full" or (from_pretrained and family == "decoder"):
        return "fine-tuning"
    return {"decoder": "llm-pretraining", "cnn": "cnn", "encoder": "encoder"}.get(family, "training")


def serving_group(generative: bool) -> str:
    """The validation group of serving: generative serving is bound by decode; non-generative serving by batched
    forward passes."""
    return "serving-decode" if generative else "inference-batched"


def nearest_accuracy(catalog_dir: Path | str, group: str, method: str | None = None) -> Accuracy | None:
    """The group's accuracy, else the broader group it belongs to (training, overall); `method`: the plan's
    training method (None: serving)."""
    for name in (group, "training" if group in ("llm-pretraining", "fine-tuning", "cnn", "encoder") else "overall",
                 "overall"):
        found = group_accuracy(catalog_dir, name, method)
        if found is not None and found.n > 0:
            return found
    return None
