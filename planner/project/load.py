"""Profiles: load, merge the preset with overrides, and check combinations the schema alone cannot see."""
from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping, Sequence
from planner.dataclass import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from planner.catalog.load import Catalog
from planner.errors import InputError, PlannerError
from planner.io.loading import error_from_validation, validate_document
from planner.io.positions import SourcePositions
from planner.io.yamlfile import YamlDocument, parse_yaml, read_text
from planner.model.standard_shape import describe, standard_shape
from planner.model.workload import params_disagreement
from planner.project.cache import LOADED_FIELDS, load_cached_profile, profile_key, store_profile
from planner.schema.catalog import a_family
from planner.schema.model import ARCH_FIELDS, Architecture, ModelPreset, ModelSection
from planner.schema.profile import OWNED_PROVIDER, Profile


@dataclass(frozen=True)
class LoadedProfile:
    """A validated profile with its resolved architecture and catalog ids."""

    profile: Profile
    arch: Architecture
    gpu_ids: frozenset[str] | None
    provider_ids: frozenset[str] | None
    positions: SourcePositions
    """Where each field of the profile sits (file:line), for errors found after validation."""
    warnings: tuple[str, ...] = ()
    owned_gpu_ids: tuple[str, ...] = ()
    """Catalog ids of constraints.owned machines' GPUs, in order."""
    discounts: tuple[tuple[str, float], ...] = ()
    """(provider id, percent) of constraints.discounts."""
    sequence_arch: tuple[ModelSection, int, Architecture] | None = None
    """(model section, sequence length, architecture): the model at the training dataset's tokens_per_sample,
    resolved with the profile where the search asks for it (plans/search.py: a decoder or encoder given
    tokens_per_sample) and it resolves, so that a cached profile builds no Architecture validator again (~3 ms of
    a cold estimate); None: not asked for, or the search resolves it and gives its error."""

    def architecture_at(self, seq_len: int) -> Architecture | None:
        """`sequence_arch`'s architecture when it was resolved for `seq_len` from this profile's model section (a
        LoadedProfile whose profile is replaced by another model keeps none)."""
        if self.sequence_arch is None:
            return None
        section, length, arch = self.sequence_arch
        return arch if section is self.profile.model and length == seq_len else None
    """What the planner assumed on the profile's behalf (a derived shape, a parameter count it did not use)."""


def resolve_architecture(section: ModelSection, catalog: Catalog, fallback_name: str = "model",
                         seq_len: int | None = None) -> Architecture:
    """Preset fields, overridden by the section's own fields, checked as a whole architecture."""
    fields: dict[str, object] = {}
    if section.preset is not None:
        preset = catalog.preset(section.preset)
        fields.update({k: getattr(preset, k) for k in ARCH_FIELDS if getattr(preset, k) is not None})
        fields["name"] = preset.id
    fields.update({k: getattr(section, k) for k in ARCH_FIELDS if getattr(section, k) is not None})
    if seq_len is not None:
        if section.preset is not None and section.params is None and seq_len != fields.get("seq_len"):
            # a changed sequence length changes learned position tables: derive the count (an unchanged one keeps
            # the preset's stated count, as a profile naming the preset does, so a run and its profile agree)
            fields.pop("params", None)
        fields["seq_len"] = seq_len
    fields["name"] = section.name or fields.get("name") or fallback_name
    if "family" not in fields:
        raise ValueError("give a preset or a family (decoder, encoder, cnn or mlp)")
    shape = ("layers", "hidden", "heads")
    if (fields["family"] in ("decoder", "encoder") and fields.get("params") is not None
            and not any(fields.get(k) is not None for k in shape) and fields.get("image_size") is None):
        vocab = fields.get("vocab")
        standard = standard_shape(float(fields["params"]),  # type: ignore[arg-type]
                                  str(fields["family"]), vocab if isinstance(vocab, int) else None)
        for key, value in standard.items():
            if fields.get(key) is None:
                fields[key] = value
        fields["shape_note"] = (f"shape derived from {float(fields['params']) / 1e9:.3g}B parameters "  # type: ignore[arg-type]
                                f"(standard shape: {describe(standard)})")
    return Architecture.model_validate(fields)


BUNDLED_PROFILES = Path(__file__).resolve().parents[2] / "profiles"
"""The example profiles shipped with the planner (beside catalog/)."""


def _profile_named(given: str) -> str | None:
    """'Did you mean …?' for a profile name that is no file: the same name with a YAML suffix, else the bundled
    profile of that name (new-user QA round 14: `gpuplan estimate pretrain-1b-72h` said a bare "file not found")."""
    path = Path(given)
    if path.suffix.lower() in (".yaml", ".yml"):
        candidates = [BUNDLED_PROFILES / path.name]
    else:
        candidates = [Path(given + ".yaml"), Path(given + ".yml"), BUNDLED_PROFILES / (path.name + ".yaml")]
    try:
        found = next((candidate for candidate in candidates if candidate.is_file()), None)
        here = Path.cwd()
    except (OSError, ValueError):  # a name too long with the suffix, a working directory removed: no guess
        return None
    if found is None:
        return None
    if found.is_absolute() and found.is_relative_to(here):
        found = found.relative_to(here)  # as the user would type it here
    return f"Did you mean {found}?"


DICT_SOURCE = "<profile dict>"
"""The file name errors give for a profile built from a Python dict (it has no lines)."""


# Top-level keys of `gpuplan estimate --format json` (planner/render/report.py) that no profile has: a user who
# passes an estimate's output back gets one message, not an "unknown key" for every section of the result.
_ESTIMATE_OUTPUT_KEYS = ("schema_version", "catalog_as_of", "decisions")


def _refuse_estimate_output(doc: YamlDocument) -> None:
    data = doc.data
    if isinstance(data, Mapping) and all(key in data for key in _ESTIMATE_OUTPUT_KEYS):
        name = data.get("profile")
        made_from = f" (made from the profile named {name!r})" if isinstance(name, str) else ""
        raise doc.error(("schema_version",), f"this is the JSON output of gpuplan estimate{made_from}, not a "
                        "profile", hint="Pass the profile YAML the estimate was made from.")


def load_profile(source: Path | str | Mapping[str, Any], catalog: Catalog,
                 overrides: Sequence[str] = (), text: str | None = None) -> LoadedProfile:
    """Load a profile file, or take a dict of the same shape, apply `--set` what-if overrides, and resolve it
    against the catalog; every problem is one placed InputError. With `text`, that is the file's contents, read
    already (standard input, named `source` in errors)."""
    key = None
    if isinstance(source, Mapping):
        doc = YamlDocument(copy.deepcopy(dict(source)), DICT_SOURCE, {})
    else:
        if text is None:
            try:
                text = read_text(source)
            except InputError as exc:
                if exc.hint is None and exc.message == "file not found":
                    exc.hint = _profile_named(str(source))
                raise
        key = profile_key(str(source), text, tuple(overrides), catalog.content_key)
        cached = load_cached_profile(key) if key is not None else None
        if cached is not None:
            return LoadedProfile(**cached)
        doc = parse_yaml(text, str(source))
    _refuse_estimate_output(doc)
    if overrides:
        from planner.io.whatif import apply_overrides

        doc = apply_overrides(doc, list(overrides))
    profile = validate_document(doc, Profile, "profile")
    model = profile.model
    try:
        arch = resolve_architecture(model, catalog, profile.name)
    except PlannerError as exc:
        raise doc.error(("model", "preset"), exc.message, hint=exc.hint) from None
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if not first["loc"]:  # a whole-architecture check: place it at the first field it names that the file sets
            message = first["msg"].removeprefix("Value error, ")
            named = [f for f in ARCH_FIELDS if re.search(rf"\b{f}\b", message) and ("model", f) in doc.marks]
            raise doc.error(("model", named[0]) if named else ("model",), message) from None
        raise error_from_validation(exc, doc, Architecture, prefix=("model",)) from None
    except ValueError as exc:
        raise doc.error(("model",), str(exc)) from None
    _check_combinations(profile, arch, doc)
    if profile.inference is not None and profile.model.preset is not None and arch.family == "decoder":
        _check_context_window(profile, catalog.preset(profile.model.preset), doc)
    if profile.inference is not None and profile.inference.speculative is not None:
        _check_draft(profile.inference.speculative.draft, arch, catalog, doc)
    gpu_ids = provider_ids = None
    if profile.constraints.gpus:
        gpu_ids = frozenset(_lookup(doc, ("constraints", "gpus"), profile.constraints.gpus, catalog.resolve_gpu))
    if profile.constraints.providers:
        provider_ids = frozenset(_lookup(doc, ("constraints", "providers"), profile.constraints.providers,
                                         lambda name: _provider_id(name, catalog, bool(profile.constraints.owned))))
    notes = model_warnings(arch) + tuple(
        f"constraints.gpus: {name!r} read as {catalog.resolve_gpu(name)} (a prefix of its name); write the full id "
        f"to be sure" for name in profile.constraints.gpus or () if not catalog.is_exact_gpu_name(name))
    if profile.inference is not None and profile.inference.max_queue_delay is not None and arch.family == "decoder":
        # new-user QA: accepted and silently ignored; only non-generative serving waits to fill a batch (a decoder
        # takes a free slot on arrival, planner/plans/serving.py). A note, not an error: the field-by-field example
        # of docs/profile.md lists every field on one decoder profile
        notes += ("inference.max_queue_delay is ignored for a decoder: it is batched continuously (a request takes "
                  "a free slot when it arrives), so no batch waits to fill; the option applies to non-generative "
                  "models",)
    owned = tuple(_lookup(doc, ("constraints", "owned"), [m.gpu for m in profile.constraints.owned],
                          catalog.resolve_gpu, suffix=("gpu",)))
    # model/interconnect.py takes NVLink only at a bandwidth gpus.yaml records; without one the machine is planned
    # over PCIe, which nothing said (new-user QA: 4 RTX 4090s 'interconnect: nvlink' planned at PCIe's 31.5 GB/s)
    notes += tuple(
        f"constraints.owned[{i}].interconnect nvlink: catalog/gpus.yaml records no NVLink bandwidth for {gpu_id}, so "
        f"its GPUs are planned over PCIe" for i, (machine, gpu_id) in enumerate(zip(profile.constraints.owned, owned))
        if machine.interconnect == "nvlink" and not catalog.gpus[gpu_id].interconnect.nvlink_gbs)
    names = list(profile.constraints.discounts)
    discount_ids = _lookup(doc, ("constraints", "discounts"), names, lambda name: catalog.provider(name).provider,
                           by_key=True)
    discounts = tuple(zip(discount_ids, profile.constraints.discounts.values()))
    # in Python, a plain number is SI, seconds; a string without its unit is refused there too (new-user QA round 24:
    # slo {ttft_p95: "500"} in a dict planned 500 s where the YAML file is refused)
    check_latency_units(doc, numbers=doc.file != DICT_SOURCE)
    loaded = LoadedProfile(profile, arch, gpu_ids, provider_ids, doc.positions, notes, owned, discounts,
                           sequence_architecture(profile, arch, catalog))
    if key is not None:
        store_profile(key, {name: getattr(loaded, name) for name in LOADED_FIELDS})
    return loaded


def sequence_architecture(profile: Profile, arch: Architecture,
                          catalog: Catalog) -> tuple[ModelSection, int, Architecture] | None:
    """LoadedProfile.sequence_arch: the architecture the training search plans at the dataset's sequence length
    (plans/search.py with plans/bounds.py sequence_architecture), or None where it asks for none or it does not
    resolve (the search then gives the error, placed)."""
    training = profile.training
    if training is None or training.dataset.tokens_per_sample is None or arch.family not in ("decoder", "encoder"):
        return None
    try:
        seq_len = int(training.dataset.tokens_per_sample)
        return profile.model, seq_len, resolve_architecture(profile.model, catalog, profile.name, seq_len=seq_len)
    except (ValueError, ArithmeticError, PlannerError):  # ValidationError is a ValueError
        return None


def model_warnings(arch: Architecture) -> tuple[str, ...]:
    """Warnings about the model: its shape derived from a count, or a given count its architecture contradicts."""
    notes: list[str] = []
    if arch.shape_note:
        notes.append(f"model {arch.shape_note}; give layers, hidden and heads to plan a specific architecture")
    disagreement = params_disagreement(arch)
    if disagreement is not None:
        given, derived = disagreement
        notes.append(f"model.params {given / 1e9:.4g}B disagrees with the architecture's {derived / 1e9:.4g}B "
                     f"({(given - derived) / derived:+.0%}); the architecture's {derived / 1e9:.4g}B is used for "
                     "memory and FLOP" + (" (a mixture of experts needs experts and experts_per_token)"
                                          if not arch.is_moe and given > derived else ""))
    return tuple(notes)


PLAIN_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
"""A string that is a number and nothing else: a duration without its unit."""


def check_latency_units(doc: YamlDocument, numbers: bool = True) -> None:
    """A duration written as a plain number is refused: `ttft_p95: 500` would be read as 500 s, while the writer
    almost always means milliseconds, and `deadline: 72` as 72 s where hours are meant (new-user QA: planned as a
    1.2-minute deadline, nothing feasible); with a unit (500ms, 0.5s, 72h) there is nothing to guess.
    numbers: False for a dict profile, where a number is seconds (SI) and only a string without its unit is refused."""
    data = doc.data if isinstance(doc.data, dict) else {}
    training, inference = data.get("training"), data.get("inference")
    slo = inference.get("slo") if isinstance(inference, dict) else None
    fields: list[tuple[tuple[str, ...], object, str]] = []
    if isinstance(training, dict) and "deadline" in training:
        fields.append((("training", "deadline"), training["deadline"], "h"))
    if isinstance(slo, dict):
        fields += [(("inference", "slo", key), value, "ms") for key, value in slo.items()]
    if isinstance(inference, dict) and "max_queue_delay" in inference:
        fields.append((("inference", "max_queue_delay"), inference["max_queue_delay"], "ms"))
    for path, value, unit in fields:
        quoted = isinstance(value, str) and PLAIN_NUMBER.fullmatch(value) is not None
        if quoted:
            # quoted ("48", !!str 48, --set 'x="48"'): the same plain number (new-user QA round 20: deadline "48"
            # planned as 48 s, ttft_p95 "500" as 500 s)
            value = float(str(value))
        if isinstance(value, (int, float)) and not isinstance(value, bool) and (numbers or quoted):
            # a fraction of a latency is seconds (new-user QA: `ttft_p95: 0.5` was told "Write 0.5ms or 0.5s", and
            # 0.5 ms is below any GPU's roofline): seconds first there, the usual unit first otherwise
            units = ("s", unit) if unit == "ms" and 0 < value < 1 else (unit, "s")
            raise doc.error(path, f"{value:g} has no unit (a plain number here would be {value:g} s)",
                            hint=f"Write {value:g}{units[0]} or {value:g}{units[1]}.")


def _lookup(doc: YamlDocument, path: tuple[str | int, ...], names: list[str],
            resolve: Callable[[str], str], suffix: tuple[str, ...] = (), by_key: bool = False) -> list[str]:
    """Each of `names` resolved against the catalog; an unknown one is an error placed at its list index, or at
    the name itself when the names are the keys of a mapping (`by_key`: constraints.discounts.<provider>)."""
    ids = []
    for i, name in enumerate(names):
        try:
            ids.append(resolve(name))
        except PlannerError as exc:
            raise doc.error((*path, name if by_key else i, *suffix), exc.message, hint=exc.hint) from None
    return ids


def _check_max_gpus(profile: Profile, doc: YamlDocument) -> None:
    """A written constraints.max_gpus below the count that constraints.gpu_count or the pinned degrees fix: the
    search planned the pinned count whatever max_gpus said (new-user QA round 12: max_gpus 4 with data 4 × pipeline 4
    recommended 16 GPUs, without a word). Unwritten, max_gpus is only the search's default bound, and pins past it
    are planned."""
    written = doc.data.get("constraints") if isinstance(doc.data, dict) else None
    if not (isinstance(written, dict) and "max_gpus" in written) or profile.training is None:
        return
    limit, count, pins = profile.constraints.max_gpus, profile.constraints.gpu_count, profile.training.parallelism
    if count is not None and count > limit:
        raise doc.error(("constraints", "gpu_count"), f"gpu_count {count:,} is more than max_gpus {limit:,}",
                        hint="Raise constraints.max_gpus or lower constraints.gpu_count (or remove one of them).")
    if pins is None:
        return
    degrees = [(k, v) for k in ("data", "tensor", "pipeline", "context") if (v := getattr(pins, k)) is not None]
    fixed = math.prod(v for _, v in degrees)
    if fixed > limit:
        named = " × ".join(f"{k} {v}" for k, v in degrees)
        whole = None not in (pins.data, pins.tensor, pins.pipeline)
        verb = "takes" if len(degrees) == 1 else "take"
        raise doc.error(("training", "parallelism"), f"{named} {verb}{'' if whole else ' at least'} {fixed:,} GPUs, "
                        f"more than constraints.max_gpus {limit:,}",
                        hint="Raise constraints.max_gpus or pin smaller degrees.")


def _check_combinations(profile: Profile, arch: Architecture, doc: YamlDocument) -> None:
    training, inference = profile.training, profile.inference
    if training is None:
        # new-user QA: constraints.gpu_count on a serving-only profile was accepted and silently ignored (serving
        # sizes its replicas from the rate and the targets), as lora_rank on full training was
        written = doc.data.get("constraints") if isinstance(doc.data, dict) else None
        for key in [k for k in ("gpu_count", "max_gpus") if isinstance(written, dict) and k in written][:1]:
            raise doc.error(("constraints", key), f"{key} bounds the training GPU count, and this profile has no "
                            "training section: serving sizes its replicas and GPUs per replica from the rate and "
                            "the latency targets", hint=f"Remove constraints.{key}, or add a training section.")
    transformer = arch.family in ("decoder", "encoder")
    if training is not None:
        if training.method != "full" and not transformer:
            raise doc.error(("training", "method"), f"{training.method} adapts transformer matmuls; "
                            f"{a_family(arch.family)} model has none", hint="Use method: full.")
        dataset = training.dataset
        if dataset.tokens is not None and arch.family in ("cnn", "mlp"):
            raise doc.error(("training", "dataset", "tokens"), f"{a_family(arch.family)} model is trained on "
                            "samples, not tokens", hint="Use dataset: {samples: …}.")
        if dataset.tokens_per_sample is not None and not transformer:
            raise doc.error(("training", "dataset", "tokens_per_sample"),
                            f"{a_family(arch.family)} model has no tokens")
        text = transformer and arch.vocab is not None
        if (text and dataset.samples is not None and dataset.tokens_per_sample is None
                and profile.model.seq_len is None):
            raise doc.error(("training", "dataset", "samples"), f"{dataset.samples:g} samples of how many tokens? "
                            f"training.dataset.tokens_per_sample is missing for this text model (its preset context "
                            f"is {arch.seq_len} tokens, rarely the length of fine-tuning samples)",
                            hint=f"Add tokens_per_sample (e.g. {{samples: {dataset.samples:g}, tokens_per_sample: "
                                 f"512}}), or set model.seq_len to the sample length.")
        count, pins = profile.constraints.gpu_count, training.parallelism
        unfilled = pins.unfilled(count) if pins is not None and count is not None else None
        if unfilled is not None:
            # new-user QA: the plan of every offer said so, the same reason once per GPU type (35+), exit 1
            raise doc.error(("constraints", "gpu_count"), f"the pinned layout cannot use gpu_count {count}: "
                            f"{unfilled}", hint="Change constraints.gpu_count or training.parallelism (the "
                                                "count is data × tensor × pipeline × context).")
        _check_max_gpus(profile, doc)
        if training.batch and training.batch.global_tokens is not None and not transformer:
            raise doc.error(("training", "batch", "global_tokens"), f"{a_family(arch.family)} model has no tokens",
                            hint="Use global_samples.")
    if inference is not None:
        slo = inference.slo
        generative = arch.family == "decoder"
        token_targets = [k for k in ("ttft_p50", "ttft_p95", "tpot_p50", "tpot_p95") if getattr(slo, k) is not None]
        latency_targets = [k for k in ("latency_p50", "latency_p95", "latency_p99") if getattr(slo, k) is not None]
        if token_targets and not generative:
            raise doc.error(("inference", "slo", token_targets[0]), f"{a_family(arch.family)} model does not "
                            "generate tokens, so it has no TTFT/TPOT", hint="Use latency_p95 (or p50/p99).")
        if latency_targets and generative:
            raise doc.error(("inference", "slo", latency_targets[0]), "a decoder is served token by token",
                            hint="Use ttft_p95 and tpot_p95.")
        if generative:
            for key in ("prompt_tokens", "output_tokens"):
                if getattr(inference, key) is None:
                    raise doc.error(("inference",), f"serving a decoder needs {key}")
                if getattr(inference, key) > arch.context * 64:
                    raise doc.error(("inference", key), f"{getattr(inference, key):g} tokens is far beyond the "
                                    f"model's context of {arch.context}")
        elif inference.prompt_tokens is not None or inference.output_tokens is not None:
            raise doc.error(("inference", "prompt_tokens" if inference.prompt_tokens else "output_tokens"),
                            f"{a_family(arch.family)} model has no prompt or output tokens",
                            hint="An encoder reads model.seq_len tokens a request: set model.seq_len to the "
                                 "requests' length." if arch.family == "encoder" else None)


def _provider_id(name: str, catalog: Catalog, owns: bool) -> str:
    """A constraints.providers entry as a provider id: a catalog provider, or `owned` for the machines of
    constraints.owned (new-user QA: 'providers: [owned]', to plan on one's own GPUs only, was 'unknown provider
    'owned'')."""
    if name.strip().lower() == OWNED_PROVIDER:
        if owns:
            return OWNED_PROVIDER
        raise PlannerError(f"{name!r} names the machines of constraints.owned, which lists none",
                           hint="Describe them under constraints.owned, or name a provider of the catalog.")
    return catalog.provider(name).provider


def _check_context_window(profile: Profile, preset: ModelPreset, doc: YamlDocument) -> None:
    """A served request, prompt and output, fits the preset's context window (catalog/models.yaml max_context), or
    the profile's own model.seq_len where it sets a longer one (a model whose context it extended). Engines refuse
    longer requests: vLLM takes its max_model_len from the config's max_position_embeddings and rejects a prompt
    that with its output would not fit (new-user QA: serve-7b-chat with 100,000-token prompts on Llama-2-7B, a 4,096
    context, was planned)."""
    inference = profile.inference
    if inference is None or preset.max_context is None:
        return
    prompt, output = inference.prompt_tokens or 0, inference.output_tokens or 0
    window = max(preset.max_context, profile.model.seq_len or 0)
    if prompt + output <= window:
        return
    raise doc.error(("inference", "prompt_tokens"), f"{prompt:,g} prompt + {output:,g} output tokens = "
                    f"{prompt + output:,g}, beyond {preset.id}'s context window of {preset.max_context:,} tokens ({preset.max_context_source})",
                    hint="Shorten inference.prompt_tokens or output_tokens, serve a model with a longer context, or "
                         "set model.seq_len to the context you extended the model to.")


def _check_draft(draft: str, arch: Architecture, catalog: Catalog, doc: YamlDocument) -> None:
    """A speculative draft is a decoder preset sharing the served model's vocabulary."""
    path = ("inference", "speculative", "draft")
    try:
        draft_arch = resolve_architecture(ModelSection(preset=draft), catalog)
    except PlannerError as exc:
        raise doc.error(path, exc.message, hint=exc.hint) from None
    if arch.family != "decoder" or draft_arch.family != "decoder":
        raise doc.error(path, "speculative decoding drafts tokens for a decoder with a decoder")
    if draft_arch.vocab != arch.vocab:
        raise doc.error(path, f"the draft {draft} has a vocabulary of {draft_arch.vocab}, the served model "
                        f"{arch.vocab}: speculative decoding needs the same tokenizer",
                        hint="Use a smaller model of the same family as the draft.")
    if draft_arch.param_count >= arch.param_count:
        # Leviathan et al. 2023 (arXiv 2211.17192) §3.4: the speed-up needs the draft's cost per token below the
        # served model's (c < 1); a draft as large as the model it drafts for only adds its forward passes
        raise doc.error(path, f"the draft {draft} ({draft_arch.param_count / 1e9:.3g}B parameters) is not smaller "
                        f"than the served model ({arch.param_count / 1e9:.3g}B): speculative decoding pays off only "
                        "with a draft cheaper per token than the model it drafts for",
                        hint="Use a smaller model of the same family as the draft, or drop inference.speculative.")


