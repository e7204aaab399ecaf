"""`gpuplan estimate` on broken input: exit 2 and one `Error: file:line: field: message` line, never a traceback."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.main import app
from planner.errors import InputError, PlannerError
from planner.io.yamlfile import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES
from planner.project.load import load_profile

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ROOT / "profiles"
PRETRAIN = "pretrain-1b-72h.yaml"   # decoder preset (pythia-1b), training section only
SERVE = "serve-7b-chat.yaml"        # decoder preset (llama-2-7b), inference section only
RESNET = "resnet50-imagenet.yaml"   # cnn preset, training only
BERT = "bert-train-then-serve.yaml"  # encoder preset, training and non-generative serving


def base(name: str) -> str:
    return (PROFILES / name).read_text(encoding="utf-8")


def broken(name: str, old: str, new: str) -> str:
    """The example profile `name` with its first `old` replaced by `new` (which must be there: one thing broken)."""
    text = base(name)
    assert old in text, f"{name} no longer contains {old!r}; update this test's case"
    return text.replace(old, new, 1)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based number of the nth line containing `needle`."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= nth, f"{needle!r} not found {nth} time(s)"
    return hits[nth - 1]


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def error_text(result) -> str:
    """What went to stderr (older Click mixed it into output and raised on .stderr)."""
    try:
        return result.stderr
    except (ValueError, AttributeError):
        return result.output


def assert_one_error(result, path: Path, line: int | None, field: str | None, *fragments: str) -> str:
    """Exit 2 and exactly one `Error: PATH[:LINE[:COL]]: [FIELD: ]…` line containing every fragment."""
    text = error_text(result)
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "Traceback" not in text
    assert text.startswith("Error: "), text
    assert len(text.strip().splitlines()) == 1, text
    if line is None:
        assert f"Error: {path}: " in text, text
    else:
        assert f"Error: {path}:{line}:" in text, text
    if field is not None:
        assert f": {field}: " in text, text
    for fragment in fragments:
        assert fragment in text, text
    return text


@dataclass(frozen=True)
class Case:
    """One broken profile: its text, the offending line (a substring of it), the field and expected fragments."""

    id: str
    text: str
    at: str | None  # substring of the offending line; None: the error has no line
    field: str | None
    fragments: tuple[str, ...]
    nth: int = 1  # which occurrence of `at`


CASES = [
    # PyYAML notices the unclosed '[' where the next key starts, and reports that place (line, column).
    Case("yaml-unclosed-bracket", broken(PRETRAIN, "{tokens: 20B}", "[tokens: 20B"), "  epochs: 1", None,
         ("YAML syntax error: did not find expected ',' or ']'",)),
    Case("yaml-tab-indent", broken(PRETRAIN, "  epochs: 1", "\tepochs: 1"), "\tepochs: 1", None,
         ("YAML syntax error: found a tab character; YAML indents with spaces", "Replace the tab with spaces")),
    Case("yaml-two-documents", base(PRETRAIN) + "---\nname: again\n", "---", None,
         # new-user QA round 12: PyYAML's 'but found another document' said neither what nor how to fix it
         ("YAML syntax error: a second YAML document starts here; this file takes one. Remove the '---' line and "
          "what follows it (one document per file).",)),
    Case("unknown-key-training", broken(PRETRAIN, "  epochs: 1", "  epoch: 1"), "  epoch: 1", "training.epoch",
         ("unknown key 'epoch'", "Did you mean 'epochs'?")),
    Case("unknown-key-top-level", base(PRETRAIN) + "constraint: {spot: true}\n", "constraint:", "constraint",
         ("unknown key 'constraint'", "Did you mean 'constraints'?")),
    Case("unknown-key-model", broken(SERVE, "  preset: llama-2-7b\n", "  preset: llama-2-7b\n  layer: 24\n"),
         "  layer: 24", "model.layer", ("unknown key 'layer'", "Did you mean 'layers'")),
    Case("unknown-key-slo", broken(SERVE, "ttft_p95: 500ms", "ttft_p90: 500ms"), "ttft_p90", "inference.slo.ttft_p90",
         ("unknown key 'ttft_p90'", "Did you mean 'ttft_p95'")),
    Case("missing-name", broken(PRETRAIN, "name: pretrain-1b-72h\n", ""), "model:", "name",
         ("required field is missing",)),
    Case("no-training-or-inference", "name: x\nmodel:\n  preset: llama-2-7b\n", "name: x", None,
         ("a profile needs a training or an inference section",)),
    Case("deadline-unit", broken(PRETRAIN, "deadline: 72h", "deadline: 72 parsecs"), "deadline:", "training.deadline",
         ("expected a duration such as 72h, 3d, 90min or 500ms, got '72 parsecs'",)),
    Case("rate-unit", broken(SERVE, "  rate: 20/s", "  rate: 20 per second"), "  rate:", "inference.rate",
         ("expected a rate such as 20/s, 1200/min or 3k/h, got '20 per second'",)),
    Case("budget-words", broken(PRETRAIN, "budget: $20k", "budget: twenty dollars"), "budget:", "training.budget",
         ("expected an amount in USD such as $20k or 2500, got 'twenty dollars'",)),
    Case("epochs-word", broken(PRETRAIN, "epochs: 1", "epochs: three"), "epochs:", "training.epochs",
         ("expected a number more than 0 and at most 100,000, got 'three'",)),
    Case("negative-epochs", broken(PRETRAIN, "epochs: 1", "epochs: -3"), "epochs:", "training.epochs",
         ("expected a number more than 0 and at most 100,000, got -3",)),
    Case("zero-tokens", broken(PRETRAIN, "tokens: 20B", "tokens: 0"), "dataset:", "training.dataset.tokens",
         ("expected more than 0, got 0",)),
    Case("zero-rate", broken(SERVE, "  rate: 20/s", "  rate: 0/s"), "  rate:", "inference.rate",
         ("expected more than 0, got '0/s'",)),
    Case("nan-epochs", broken(PRETRAIN, "epochs: 1", "epochs: .nan"), "epochs:", "training.epochs",
         ("expected a finite number more than 0 and at most 100,000, got nan",)),
    Case("inf-tokens", broken(PRETRAIN, "tokens: 20B", "tokens: .inf"), "dataset:", "training.dataset.tokens",
         ("inf is not a finite number",)),
    Case("bool-tokens", broken(PRETRAIN, "tokens: 20B", "tokens: yes"), "dataset:", "training.dataset.tokens",
         ("yes is a YAML 1.1 boolean",)),
    Case("bad-precision", broken(PRETRAIN, "precision: bf16", "precision: fp64"), "precision:", "training.precision",
         ("expected 'fp32', 'tf32', 'fp16', 'bf16' or 'fp8', got 'fp64'",)),
    Case("tokens-and-samples", broken(PRETRAIN, "{tokens: 20B}", "{tokens: 20B, samples: 1M}"), "dataset:",
         "training.dataset", ("give tokens or samples, not both",)),
    Case("unknown-preset", broken(PRETRAIN, "preset: pythia-1b", "preset: llama-9-7b"), "preset:", "model.preset",
         ("unknown model preset 'llama-9-7b'.", "Did you mean 'llama-2-7b'")),
    Case("unknown-family", "name: x\nmodel:\n  family: transformer\n  params: 1B\ninference: {rate: 1/s}\n",
         "family:", "model.family", ("expected 'decoder', 'encoder', 'cnn' or 'mlp', got 'transformer'",)),
    Case("no-preset-no-family", "name: x\nmodel:\n  params: 1B\ninference: {rate: 1/s}\n", "model:", "model",
         ("give a preset or a family (decoder, encoder, cnn or mlp)",)),
    Case("incomplete-architecture",
         "name: x\nmodel:\n  family: decoder\n  layers: 4\ntraining: {dataset: {tokens: 1B}}\n", "model:", "model",
         ("a decoder model needs hidden, heads, vocab, seq_len",)),
    # The check spans the preset and the override; it is placed at the field it names that the file sets.
    Case("kv-heads-not-dividing", broken(SERVE, "  preset: llama-2-7b\n", "  preset: llama-2-7b\n  kv_heads: 5\n"),
         "kv_heads:", "model.kv_heads", ("kv_heads (5) must divide heads (32)",)),
    Case("ambiguous-gpu", base(PRETRAIN) + "constraints:\n  gpus: [A100-80GB-SXM, H100]\n", "gpus:",
         "constraints.gpus.1", ("H100: did you mean H100-NVL, H100-PCIE or H100-SXM?",)),
    Case("misspelt-gpu", base(PRETRAIN) + "constraints:\n  gpus: [RTX-A6001]\n", "gpus:", "constraints.gpus.0",
         ("unknown GPU 'RTX-A6001'.", "Did you mean 'RTX-A6000'")),
    # new-user QA round 12: the hint says how to write one GPU as a list
    Case("gpus-not-a-list", base(PRETRAIN) + "constraints:\n  gpus: H100-SXM\n", "gpus:", "constraints.gpus",
         ("expected a list, got 'H100-SXM'. Write a list, in brackets: [H100-SXM].",)),
    Case("unknown-provider", base(PRETRAIN) + "constraints:\n  providers: [aws, hyperscaler-x]\n", "providers:",
         "constraints.providers.1", ("unknown provider 'hyperscaler-x'.", "Known: aws, azure,")),
    Case("misspelt-provider", base(PRETRAIN) + "constraints:\n  providers: [lamda]\n", "providers:",
         "constraints.providers.0", ("unknown provider 'lamda'.", "Did you mean 'lambda'?")),
    # a discount's provider is a mapping key: the error names the key, not its index (constraints.discounts.0)
    Case("unknown-discount-provider",
         base(PRETRAIN) + "constraints:\n  discounts:\n    runpod: 10%\n    nosuchprovider: 15%\n", "nosuchprovider:",
         "constraints.discounts.nosuchprovider", ("unknown provider 'nosuchprovider'.", "Known: aws, azure,")),
    Case("misspelt-discount-provider", base(PRETRAIN) + "constraints:\n  discounts: {lamda: 5%}\n", "discounts:",
         "constraints.discounts.lamda", ("unknown provider 'lamda'.", "Did you mean 'lambda'?")),
    # new-user QA: a bare 0.15 was planned as 0.15 % off, where the profile's other shares are fractions
    Case("discount-as-a-fraction", base(PRETRAIN) + "constraints:\n  discounts: {vast-ai: 0.15}\n", "discounts:",
         "constraints.discounts.vast-ai", ("0.15 reads as 0.15%, and may be meant as the share 15%: write 15% or "
                                           "0.15%",)),
    # quoted, the bare number was read as 0.15 % off (the check saw only YAML numbers)
    Case("discount-as-a-quoted-fraction", base(PRETRAIN) + "constraints:\n  discounts: {vast-ai: '0.15'}\n",
         "discounts:", "constraints.discounts.vast-ai",
         ("0.15 reads as 0.15%, and may be meant as the share 15%: write 15% or 0.15%",)),
    # new-user QA: pydantic's 'a valid dictionary or instance of OwnedMachine' named a class, not what to write
    Case("owned-as-a-list-of-names", base(PRETRAIN) + "constraints:\n  owned: [RTX-4090]\n", "owned:",
         "constraints.owned.0", ("expected a section of key: value pairs, got 'RTX-4090'. Its keys: gpu, count, "
                                 "usd_per_hour, interconnect, purchase_usd, lifetime_years.",)),
    Case("training-a-number", "name: x\nmodel: {preset: llama-2-7b}\ntraining: 5\n", "training:", "training",
         ("expected a section of key: value pairs, got 5. Its keys: dataset, epochs,",)),
    # a plain number is seconds: refused where a unit is almost always meant (new-user QA: deadline: 72 was planned
    # as 72 s, nothing feasible, the header reading 'deadline 1.2 min')
    Case("deadline-without-unit", broken(PRETRAIN, "deadline: 72h", "deadline: 72"), "deadline:", "training.deadline",
         ("72 has no unit (a plain number here would be 72 s). Write 72h or 72s.",)),
    Case("latency-without-unit", broken(SERVE, "ttft_p95: 500ms", "ttft_p95: 500"), "slo:", "inference.slo.ttft_p95",
         ("500 has no unit (a plain number here would be 500 s). Write 500ms or 500s.",)),
    Case("queue-delay-without-unit", broken(BERT, "max_queue_delay: 10ms", "max_queue_delay: 10"), "max_queue_delay:",
         "inference.max_queue_delay", ("10 has no unit (a plain number here would be 10 s). Write 10ms or 10s.",)),
    # new-user QA: a fraction was told "Write 0.5ms or 0.5s", and 0.5 ms is below any GPU's roofline
    Case("ttft-fraction-without-unit", broken(SERVE, "ttft_p95: 500ms", "ttft_p95: 0.5"), "slo:",
         "inference.slo.ttft_p95", ("0.5 has no unit (a plain number here would be 0.5 s). Write 0.5s or 0.5ms.",)),
    # new-user QA round 20: quoted, the same plain number passed (deadline "48" planned as 48 s, ttft "500" as 500 s)
    Case("quoted-deadline-without-unit", broken(PRETRAIN, "deadline: 72h", 'deadline: "72"'), "deadline:",
         "training.deadline", ("72 has no unit (a plain number here would be 72 s). Write 72h or 72s.",)),
    Case("str-tagged-latency-without-unit", broken(SERVE, "ttft_p95: 500ms", "ttft_p95: !!str 500"), "slo:",
         "inference.slo.ttft_p95", ("500 has no unit (a plain number here would be 500 s). Write 500ms or 500s.",)),
    Case("zero-gpu-count", base(PRETRAIN) + "constraints:\n  gpu_count: 0\n", "gpu_count:", "constraints.gpu_count",
         ("expected a whole number from 1 to 65,536, got 0",)),
    # new-user QA round 5: pins that cannot fill the pinned count exited 1 with the same reason once per GPU type
    Case("pins-do-not-fill-the-count",
         broken(PRETRAIN, "  epochs: 1\n", "  epochs: 1\n  parallelism: {data: 4, tensor: 1, pipeline: 1}\n")
         + "constraints:\n  gpu_count: 8\n", "gpu_count:", "constraints.gpu_count",
         ("the pinned layout cannot use gpu_count 8: data 4 × tensor 1 × pipeline 1 does not fill 8 GPUs",
          "Change constraints.gpu_count or training.parallelism")),
    Case("tensor-pin-does-not-divide-the-count",
         broken(PRETRAIN, "  epochs: 1\n", "  epochs: 1\n  parallelism: {tensor: 8}\n")
         + "constraints:\n  gpu_count: 12\n", "gpu_count:", "constraints.gpu_count",
         ("tensor 8 does not fill 12 GPUs",)),
    # new-user QA round 12: a written max_gpus below the count the pins or gpu_count fix was planned past, silently
    # (max_gpus 4 with data 4 × pipeline 4 recommended 16 GPUs)
    Case("pins-take-more-than-max-gpus",
         broken(PRETRAIN, "  epochs: 1\n", "  epochs: 1\n  parallelism: {data: 4, tensor: 1, pipeline: 4}\n")
         + "constraints:\n  max_gpus: 4\n", "parallelism:", "training.parallelism",
         ("data 4 × tensor 1 × pipeline 4 take 16 GPUs, more than constraints.max_gpus 4. Raise "
          "constraints.max_gpus or pin smaller degrees.",)),
    Case("tensor-pin-takes-more-than-max-gpus",
         broken(PRETRAIN, "  epochs: 1\n", "  epochs: 1\n  parallelism: {tensor: 8}\n")
         + "constraints:\n  max_gpus: 4\n", "parallelism:", "training.parallelism",
         ("tensor 8 takes at least 8 GPUs, more than constraints.max_gpus 4",)),
    Case("gpu-count-above-max-gpus", base(PRETRAIN) + "constraints:\n  gpu_count: 16\n  max_gpus: 4\n", "gpu_count:",
         "constraints.gpu_count", ("gpu_count 16 is more than max_gpus 4. Raise constraints.max_gpus or lower "
                                   "constraints.gpu_count (or remove one of them).",)),
    # new-user QA round 12: a batch no plan can run listed every GPU type as unworkable, exit 1 (an encoder's above
    # MAX_BATCH said "its activations do not fit beside the weights" on every GPU)
    Case("batch-no-kv-cache-holds", broken(SERVE, "  precision: bf16\n", "  precision: bf16\n  batch: 4096\n"),
         "batch:", "inference.batch", ("batch 4,096: no offer searched holds that many 768-token sequences in its KV "
                                       "cache; the most is 3,571, on 8 MI300X.",)),
    Case("dynamic-batch-above-max-batch",
         broken(BERT, "  max_queue_delay: 10ms\n", "  max_queue_delay: 10ms\n  max_batch: 8192\n  batch: 5000\n"),
         "batch: 5000", "inference.batch", ("batch 5,000 is above the 4,096 requests a batch that dynamic batching is "
                                            "planned for. Pin at most 4,096.",)),
    # new-user QA round 12: a preset written as the model itself said only "expected a section of key: value pairs"
    Case("model-as-a-preset-name", broken(PRETRAIN, "model:\n  preset: pythia-1b\n", "model: pythia-1b\n"), "model:",
         "model", ("expected a section of key: value pairs, got 'pythia-1b'. A preset is written {preset: "
                   "pythia-1b}.",)),
    Case("duplicate-key", broken(PRETRAIN, "  epochs: 1\n", "  epochs: 1\n  precision: fp16\n"), "precision:",
         "training.precision", ("duplicate key 'precision' (first at line",), nth=2),
    Case("empty-file", "", None, None, ("expected a YAML mapping at the top of the profile, found empty",)),
    Case("comments-only", "# nothing here\n", None, None, ("found empty",)),
    Case("list-at-top", "- name: x\n- model: {preset: llama-2-7b}\n", None, None,
         ("expected a YAML mapping at the top of the profile, found a list",)),
    Case("lora-on-cnn", broken(RESNET, "  optimizer: sgd\n", "  optimizer: sgd\n  method: lora\n"), "method:",
         "training.method", ("lora adapts transformer matmuls; a cnn model has none", "Use method: full.")),
    Case("tokens-on-cnn", broken(RESNET, "{samples: 1281167}", "{tokens: 2B}"), "dataset:", "training.dataset.tokens",
         ("a cnn model is trained on samples, not tokens",)),
    Case("ttft-on-encoder", broken(BERT, "latency_p95: 50ms", "ttft_p95: 50ms"), "slo:", "inference.slo.ttft_p95",
         ("model does not generate tokens, so it has no TTFT/TPOT", "Use latency_p95")),
    # new-user QA: "a encoder model has no prompt or output tokens", with nothing to say where its length goes
    Case("prompt-on-encoder",
         broken(BERT, "  slo: {latency_p95: 50ms}\n", "  slo: {latency_p95: 50ms}\n  prompt_tokens: 128\n"),
         "prompt_tokens:", "inference.prompt_tokens",
         ("an encoder model has no prompt or output tokens. An encoder reads model.seq_len tokens a request: set "
          "model.seq_len to the requests' length.",)),
    Case("mlp-without-params", "name: x\nmodel: {family: mlp, layers: 4, hidden: 4096}\n"
         "training: {dataset: {samples: 10M}}\n", "model:", "model", ("an mlp model needs params",)),
    Case("latency-on-decoder", broken(SERVE, "{ttft_p95: 500ms, tpot_p95: 50ms}", "{latency_p95: 500ms}"), "slo:",
         "inference.slo.latency_p95", ("a decoder is served token by token", "Use ttft_p95 and tpot_p95.")),
    # Nothing to point at for a missing key: the error sits on the section that lacks it.
    Case("decoder-without-prompt", broken(SERVE, "  prompt_tokens: 512\n", ""), "inference:", "inference",
         ("serving a decoder needs prompt_tokens",)),
    Case("prompt-beyond-context", broken(SERVE, "prompt_tokens: 512", "prompt_tokens: 1T"), "prompt_tokens:",
         "inference.prompt_tokens", ("tokens is far beyond the model's context of 4096",)),
    # new-user QA: a request longer than the model's context window was planned (engines refuse it)
    Case("prompt-beyond-context-window", broken(SERVE, "prompt_tokens: 512", "prompt_tokens: 4000"), "prompt_tokens:",
         "inference.prompt_tokens", ("4,000 prompt + 256 output tokens = 4,256, beyond llama-2-7b's context window of "
                                     "4,096 tokens (meta-llama/llama@MODEL_CARD.md",)),
    # new-user QA: a training GPU count on a serving-only profile was accepted and silently ignored
    Case("gpu-count-without-training", base(SERVE) + "constraints:\n  gpu_count: 8\n", "gpu_count:",
         "constraints.gpu_count", ("gpu_count bounds the training GPU count, and this profile has no training "
                                   "section", "Remove constraints.gpu_count")),
    Case("max-gpus-without-training", base(SERVE) + "constraints:\n  max_gpus: 16\n", "max_gpus:",
         "constraints.max_gpus", ("max_gpus bounds the training GPU count",)),
    # new-user QA: placed on the section ("inference:") without the rates; now on average_rate's line, with both
    Case("average-above-peak", broken(SERVE, "average_rate: 8/s", "average_rate: 30/s"), "average_rate:",
         "inference.average_rate", ("30/s is above the peak rate of 20/s",)),
    # new-user QA round 24: placed on the section ("inference:"); now on batch's line, with max_batch's value
    Case("batch-above-max-batch", broken(SERVE, "average_rate: 8/s", "average_rate: 8/s\n  max_batch: 8\n  batch: 16"),
         "batch: 16", "inference.batch", ("more than max_batch 8 (got 16)",)),
    # new-user QA: a peak of 1/day read 'above the peak rate of 1.15741e-05/s'
    Case("average-above-a-daily-peak", broken(SERVE, "rate: 20/s", "rate: 1/day"), "average_rate:",
         "inference.average_rate", ("8/s is above the peak rate of 1/day",)),
    # new-user QA: a rank on full training was accepted and silently ignored; placed on lora_rank's line
    # new-user QA: 1k tokens a step of 2,048-token sequences was planned as one sequence a step, without a word
    Case("batch-below-one-sequence", broken(PRETRAIN, "{global_samples: 1024}", "{global_tokens: 1k}"), "batch:",
         "training.batch.global_tokens", ("a global batch of 1000 tokens is less than one 2048-token sample",
                                          "Give at least one sample's tokens a step.")),
    Case("rank-on-full-training", broken(PRETRAIN, "  optimizer: adamw\n", "  optimizer: adamw\n  lora_rank: 8\n"),
         "lora_rank:", "training.lora_rank", ("lora_rank 8 applies to method: lora or qlora, and method is full",
                                             "remove lora_rank")),
]


def test_rank_written_before_method_lora_is_accepted(tmp_path, catalog):
    # pydantic validates in the fields' order, not the file's: method is known when lora_rank is checked
    text = base("lora-7b-a6000.yaml").replace("  method: lora\n  lora_rank: 16\n", "  lora_rank: 8\n  method: lora\n")
    assert "  lora_rank: 8\n  method: lora\n" in text
    path = tmp_path / "rank-first.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_profile(path, catalog).profile.training.lora_rank == 8


def _with_line(case: Case) -> int | None:
    if case.at is None:
        # empty / non-mapping documents are reported at line 1
        return 1 if case.id in ("empty-file", "comments-only", "list-at-top") else None
    return line_of(case.text, case.at, case.nth)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_broken_profile_is_one_placed_error(case: Case, tmp_path):
    path = tmp_path / f"{case.id}.yaml"
    path.write_text(case.text, encoding="utf-8")
    result = invoke("estimate", str(path), "--format", "json")
    assert_one_error(result, path, _with_line(case), case.field, *case.fragments)
    assert result.stdout == ""


def test_duplicate_key_names_the_first_line(tmp_path):
    text = broken(PRETRAIN, "  epochs: 1\n", "  epochs: 1\n  precision: fp16\n")
    path = tmp_path / "dup.yaml"
    path.write_text(text, encoding="utf-8")
    first, second = line_of(text, "precision:", 1), line_of(text, "precision:", 2)
    text_out = assert_one_error(invoke("estimate", str(path)), path, second, "training.precision")
    assert f"duplicate key 'precision' (first at line {first})" in text_out


@pytest.mark.parametrize("text, line, column", [
    ("name: x\nmodel:\n\tpreset: pythia-1b\n", 3, 1),         # a tab instead of the indent
    ("a:\n  b:\n  \tc: 1\n", 3, 3),                           # a tab after spaces
    ("a:\n  - 1\n\t- 2\n", 3, 1),                             # the C scanner's 'violates indentation'
])
@pytest.mark.parametrize("pure_python", [False, True])
def test_a_tab_indent_says_yaml_indents_with_spaces(text, line, column, pure_python, monkeypatch):
    import yaml

    from planner.io import yamlfile, yamlparse

    if pure_python:  # the fallback loader words it 'found character '\t' that cannot start any token'
        monkeypatch.setattr(yamlparse, "_Loader", yaml.SafeLoader)
    with pytest.raises(InputError) as error:
        yamlfile.parse_yaml(text, "p.yaml")
    assert str(error.value) == (f"p.yaml:{line}:{column}: YAML syntax error: found a tab character; YAML indents "
                                "with spaces, never tabs. Replace the tab with spaces (as many as the lines above "
                                "it use).")
    if pure_python:  # it refuses a tab after a key's colon too, which is not an indent
        with pytest.raises(InputError, match=r"p.yaml:1:3: YAML syntax error: found a tab character where YAML "
                                             r"takes only spaces\. Replace the tab"):
            yamlfile.parse_yaml("a:\t1\n", "p.yaml")
    else:  # a tab that is not indentation stays allowed: after a key's colon, in a flow sequence's continuation
        assert yamlfile.parse_yaml("a:\t1\nb: [1,\n\t2]\n", "p.yaml").data == {"a": 1, "b": [1, 2]}


def test_kv_heads_error_points_at_the_kv_heads_line(tmp_path):
    text = broken(SERVE, "  preset: llama-2-7b\n", "  preset: llama-2-7b\n  kv_heads: 5\n")
    path = tmp_path / "kv.yaml"
    path.write_text(text, encoding="utf-8")
    assert_one_error(invoke("estimate", str(path)), path, line_of(text, "kv_heads:"), "model.kv_heads",
                     "kv_heads (5) must divide heads (32)")


@pytest.mark.parametrize("name", [PRETRAIN, SERVE, RESNET, BERT])
def test_bases_are_valid(name, catalog):
    # Each broken case changes one thing in one of these, so unbroken they must load and resolve cleanly.
    # (Loading only: whether they plan is for the planning tests, and keeps this file fast.)
    loaded = load_profile(PROFILES / name, catalog)
    assert loaded.profile.name == name.removesuffix(".yaml")


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_error_does_not_depend_on_format(fmt, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(broken(PRETRAIN, "  epochs: 1", "  epoch: 1"), encoding="utf-8")
    assert_one_error(invoke("estimate", str(path), "--format", fmt), path, line_of(path.read_text(), "epoch:"),
                     "training.epoch", "unknown key 'epoch'")


# ------------------------------------------------------------------------------------ file-level problems

def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    assert_one_error(invoke("estimate", str(path), "--format", "json"), path, None, None, "file not found")


def test_directory_instead_of_file(tmp_path):
    assert_one_error(invoke("estimate", str(tmp_path), "--format", "json"), tmp_path, None, None,
                     "is a directory, expected a YAML file")


def test_utf16_file_is_not_utf8(tmp_path):
    path = tmp_path / "utf16.yaml"
    path.write_bytes(base(SERVE).encode("utf-16"))  # starts with the byte-order mark b"\xff\xfe"
    assert path.read_bytes()[:2] == b"\xff\xfe"
    assert_one_error(invoke("estimate", str(path), "--format", "json"), path, 1, None,
                     "not UTF-8 text (byte 0xff at offset 0)")


def test_latin1_byte_is_placed_on_its_line(tmp_path):
    text = broken(SERVE, "  prompt_tokens: 512\n", "  prompt_tokens: 512   # café\n")
    path = tmp_path / "latin1.yaml"
    path.write_bytes(text.encode("latin-1"))
    offset = text.encode("latin-1").index(b"\xe9")
    assert_one_error(invoke("estimate", str(path), "--format", "json"), path, line_of(text, "café"), None,
                     f"not UTF-8 text (byte 0xe9 at offset {offset})")


def test_oversized_file_is_refused(tmp_path):
    text = base(PRETRAIN)
    padding = MAX_FILE_BYTES + 1 - len(text.encode("utf-8"))
    lines, rest = divmod(padding, 80)
    path = tmp_path / "huge.yaml"
    path.write_text(text + ("#" * 79 + "\n") * lines + "#" * rest, encoding="utf-8")
    assert path.stat().st_size == MAX_FILE_BYTES + 1 == 2_097_153
    assert_one_error(invoke("estimate", str(path), "--format", "json"), path, None, None,
                     "file is 2,097,153 bytes, larger than the 2,097,152-byte limit")


def test_billion_laughs_fails_fast(tmp_path, monkeypatch):
    # 10 levels of 9 aliases: 9**10 ≈ 3.5e9 nodes once expanded; the node cap must stop it before building them.
    # Counted, not timed (a wall-clock bound failed on a loaded machine: 5.37 s against 5 s): the walk over the
    # composed document, aliases expanded (planner/io/yamlparse.py _index), stops at MAX_NODES + 1 visits.
    from planner.io import yamlparse

    rows = ["a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    rows += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    path = tmp_path / "laughs.yaml"
    path.write_text("name: laughs\n" + "\n".join(rows) + "\n", encoding="utf-8")
    visits, walk = [0], yamlparse._index

    def counted(*args, **kwargs):
        visits[0] += 1
        return walk(*args, **kwargs)

    monkeypatch.setattr(yamlparse, "_index", counted)  # its recursion goes through the module name: every visit
    result = invoke("estimate", str(path), "--format", "json")
    assert_one_error(result, path, None, None, "nodes (aliases included); refusing to expand it")
    assert MAX_NODES < visits[0] <= MAX_NODES + 1


def test_deep_nesting_is_refused(tmp_path):
    path = tmp_path / "deep.yaml"
    depth = MAX_DEPTH + 10
    path.write_text("name: x\nmodel: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    assert_one_error(invoke("estimate", str(path), "--format", "json"), path, 2, None,
                     f"document is nested deeper than {MAX_DEPTH} levels")


# -------------------------------------------------------------------------------------------------- --debug

def test_debug_lets_the_exception_through(tmp_path):
    text = broken(PRETRAIN, "  epochs: 1", "  epoch: 1")
    path = tmp_path / "debug.yaml"
    path.write_text(text, encoding="utf-8")
    result = invoke("--debug", "estimate", str(path))
    assert result.exit_code != 0
    assert isinstance(result.exception, PlannerError)
    assert isinstance(result.exception, InputError)
    assert result.exception.file == str(path)
    assert result.exception.line == line_of(text, "epoch:")
    assert result.exception.field == "training.epoch"
    assert "Error: " not in result.output
    # the flag does not stick: the next run without it prints the one-line error again
    assert_one_error(invoke("estimate", str(path)), path, line_of(text, "epoch:"), "training.epoch")


def test_wrong_case_choice_gets_the_right_spelling(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text("name: x\nmodel: {preset: pythia-1b}\ntraining:\n  dataset: {tokens: 20B}\n  precision: BF16\n")
    result = CliRunner().invoke(app, ["estimate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:5:3: training.precision:" in result.output
    assert result.output.rstrip().endswith(", got 'BF16'. Did you mean 'bf16'?")


def test_an_estimates_json_output_is_one_error_not_a_profile(tmp_path):
    # new-user QA: `gpuplan estimate out.json` gave 12 "unknown key" errors, one per section of the result
    out = invoke("estimate", str(PROFILES / "lora-7b-a6000.yaml"), "--format", "json")
    assert out.exit_code == 0, out.output
    path = tmp_path / "out.json"
    path.write_text(out.stdout, encoding="utf-8")
    text = assert_one_error(invoke("estimate", str(path)), path, 2, "schema_version",
                            "this is the JSON output of gpuplan estimate (made from the profile named "
                            "'lora-7b-a6000'), not a profile", "Pass the profile YAML")
    assert "unknown key" not in text and "more problem" not in text


@pytest.mark.parametrize("pin, message", [
    ("tensor=3", "tensor 3 does not divide the hidden size 2048"),
    ("pipeline=99", "pipeline 99 is more stages than the model's 16 layers"),
    ("expert=2", "expert 2: expert parallelism splits experts; this model has none"),
])
def test_a_pin_the_model_rules_out_is_bad_input_at_the_pin(pin, message):
    # new-user QA: tensor 3 on Pythia-1B exited 1 with every GPU "missing the deadline (85.0 h at P50 > 72.0 h)";
    # no GPU can run it, so it is one error at the pin, exit 2
    field = pin.split("=")[0]
    result = invoke("estimate", str(PROFILES / PRETRAIN), "--set", f"training.parallelism.{pin}")
    text = error_text(result)
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert text.startswith(f"Error: --set training.parallelism.{pin}: training.parallelism.{field}: {message}. "), text
    assert len(text.strip().splitlines()) == 1


def test_a_payment_option_without_a_commitment_is_refused_at_the_option():
    # new-user QA: constraints.commitment_payment without constraints.commitment was accepted and ignored (no
    # committed price is planned without a term), like lora_rank on full training
    lone = invoke("estimate", str(PROFILES / PRETRAIN), "--set", "constraints.commitment_payment=all-upfront")
    text = error_text(lone)
    assert lone.exit_code == 2 and lone.stdout == "", lone.output
    assert "constraints.commitment_payment: commitment_payment all-upfront chooses how a committed term is paid, " \
           "and no commitment is set" in text
    paired = invoke("estimate", str(PROFILES / PRETRAIN), "--set", "constraints.commitment_payment=all-upfront",
                    "--set", "constraints.commitment=1y", "--format", "json", "--top", "1")
    assert paired.exit_code in (0, 1), paired.output  # planned: a verdict, not an input error


def test_a_queue_delay_on_a_decoder_is_named_as_ignored():
    # new-user QA: inference.max_queue_delay on a decoder was accepted and silently ignored (decoders batch
    # continuously); a warning, as the loader's other notes (docs/profile.md's example sets every field on a decoder)
    import json

    args = ["estimate", str(PROFILES / SERVE), "--top", "1", "--format", "json"]
    warned = json.loads(invoke(*args, "--set", "inference.max_queue_delay=50ms").stdout)["warnings"]
    assert any(w.startswith("inference.max_queue_delay is ignored for a decoder") for w in warned), warned
    plain = json.loads(invoke(*args).stdout)["warnings"]
    assert not any("max_queue_delay" in w for w in plain)


def test_a_request_within_the_window_or_an_extended_context_is_planned(tmp_path, catalog):
    # 3,840 + 256 = 4,096 fills Llama-2-7B's window exactly; a profile that sets a longer model.seq_len (a context it
    # extended) is held to that; a preset with no recorded window is not checked
    from planner.schema.model import ModelPreset

    fits = broken(SERVE, "prompt_tokens: 512", "prompt_tokens: 3840")
    extended = broken(SERVE, "  preset: llama-2-7b\n", "  preset: llama-2-7b\n  seq_len: 16384\n").replace(
        "prompt_tokens: 512", "prompt_tokens: 12000")
    for name, text in (("fits", fits), ("extended", extended)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        load_profile(path, catalog)
    assert catalog.preset("llama-2-7b").max_context == 4096
    unrecorded = [p for p in catalog.presets.values() if p.family == "decoder" and p.max_context is None]
    assert unrecorded
    path = tmp_path / "unrecorded.yaml"
    path.write_text(broken(SERVE, "preset: llama-2-7b", f"preset: {unrecorded[0].id}").replace(
        "prompt_tokens: 512", "prompt_tokens: 20000"), encoding="utf-8")
    load_profile(path, catalog)
    with pytest.raises(ValueError, match="max_context needs max_context_source"):
        ModelPreset(id="x", family="decoder", source="a paper", max_context=4096)


@pytest.mark.parametrize("value, number", [("1k", 1000), ("2e3", 2000), ("1.5K", 1500), ("1,024", 1024)])
def test_a_whole_number_field_takes_a_whole_count(value, number, catalog):
    # new-user QA round 17: `--set constraints.max_gpus=1k` read "Write the number alone (1): the field's name gives
    # its unit", the thousand taken for a unit; then only a hint to write 1000 (fae1625), where docs/profile.md reads
    # human numbers everywhere a number is
    profile = Path(__file__).resolve().parent.parent / "profiles" / "pretrain-1b-72h.yaml"
    max_gpus = load_profile(profile, catalog, overrides=[f"constraints.max_gpus={value}"]).profile.constraints.max_gpus
    assert max_gpus == number and isinstance(max_gpus, int)
    unit = CliRunner().invoke(app, ["estimate", str(profile), "--set", "constraints.max_gpus=8 GPUs"])
    assert unit.exit_code == 2 and "Write the number alone (8): the field's name gives its unit." in unit.stderr


@pytest.mark.parametrize("value, shown", [("1.5", "1.5"), ("'1.5'", "'1.5'"), ("1.0005k", "'1.0005k' (1000.5)")])
def test_a_whole_number_field_refuses_a_fraction(value, shown):
    profile = Path(__file__).resolve().parent.parent / "profiles" / "pretrain-1b-72h.yaml"
    result = CliRunner().invoke(app, ["estimate", str(profile), "--set", f"constraints.max_gpus={value}"])
    assert result.exit_code == 2 and f"constraints.max_gpus: expected a whole number, got {shown}" in result.stderr


def _bounded_fields(model, prefix=()):
    """(path, bounds, type) of every plain int/float field (no human units) of `model`, its sections and the items of
    its lists of sections, with ge/gt/le/lt bounds; a list's item is at index 0."""
    import typing

    from pydantic import BaseModel

    for name, field in model.model_fields.items():
        args = [a for a in typing.get_args(field.annotation) if a is not type(None)] \
            if typing.get_origin(field.annotation) is not list else []
        kind = args[0] if len(args) == 1 else field.annotation
        if typing.get_origin(kind) is list:
            item = typing.get_args(kind)[0]
            if isinstance(item, type) and issubclass(item, BaseModel):
                yield from _bounded_fields(item, (*prefix, name, 0))
            continue
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            yield from _bounded_fields(kind, (*prefix, name))
            continue
        bounds = {k: getattr(m, k) for m in field.metadata for k in ("gt", "ge", "lt", "le")
                  if getattr(m, k, None) is not None}
        human = any(type(m).__name__ == "BeforeValidator" for m in field.metadata)
        if kind in (int, float) and bounds and not human:
            yield (*prefix, name), bounds, kind


BOUNDED = list(_bounded_fields(__import__("planner.schema.profile", fromlist=["Profile"]).Profile))


def test_the_profile_has_bounded_fields_of_both_kinds():
    assert len(BOUNDED) >= 20 and {kind for _, _, kind in BOUNDED} == {int, float}


@pytest.mark.parametrize("path, bounds, kind", BOUNDED, ids=[".".join(map(str, p)) for p, _, _ in BOUNDED])
def test_a_number_out_of_range_says_the_range_in_words(path, bounds, kind):
    # new-user QA round 17: `max_gpus: 1e20` read pydantic's "Input should be less than or equal to 100000 (got
    # '1e20')"; every bounded field says what it takes, in words, and the value it got (docs/errors.md)
    import yaml

    from planner.io.loading import validate_document
    from planner.io.yamlcache import parse_yaml_cached
    from planner.schema.profile import Profile

    high = bounds.get("le", bounds.get("lt"))
    value = kind(high * 10 + 1) if high is not None else kind(bounds.get("ge", bounds.get("gt")) - 1)
    data: dict = {"name": "x", "model": {"preset": "pythia-1b"}}
    section: dict | list = data
    for part, after in zip(path[:-1], path[1:]):
        if isinstance(part, int):
            section.append({})  # type: ignore[union-attr]
        else:
            section.setdefault(part, [] if isinstance(after, int) else {})  # type: ignore[union-attr]
        section = section[part]  # type: ignore[index]
    section[path[-1]] = value  # type: ignore[index]
    with pytest.raises(InputError) as info:
        validate_document(parse_yaml_cached(yaml.safe_dump(data), "p.yaml"), Profile)
    lines = "\n".join((str(info.value), *info.value.also)).splitlines()
    line = next(line for line in lines if f": {'.'.join(map(str, path))}: " in line)
    words = {"gt": "more than", "ge": "at least", "lt": "less than", "le": "at most"}
    assert "Input should" not in line
    assert f": expected a {'whole ' if kind is int else ''}number " in line and f", got {value}" in line
    # the bound it broke, in words, with its figure ('at most 65,536', or 'from 1 to 65,536' for both ends)
    broke = "le" if "le" in bounds and value > bounds["le"] else "lt" if "lt" in bounds and value >= bounds["lt"] \
        else "ge" if "ge" in bounds and value < bounds["ge"] else "gt"
    figure = f"{int(bounds[broke]):,}" if float(bounds[broke]).is_integer() else f"{bounds[broke]:g}"
    assert f"{words[broke]} {figure}" in line or ("ge" in bounds and "le" in bounds and f" to {figure}" in line
                                                   or f"from {figure} to" in line)


@pytest.mark.parametrize("override, message", [
    ("constraints.max_gpus=1e20", "constraints.max_gpus: expected a whole number from 1 to 65,536, got '1e20'"),
    ("training.epochs=0", "training.epochs: expected a number more than 0 and at most 100,000, got 0"),
    ("training.lora_rank=0", "training.lora_rank: expected a whole number from 1 to 65,536, got 0"),
    ("training.dataset.tokens=0", "training.dataset.tokens: expected more than 0, got 0"),
])
def test_a_range_error_names_the_range_and_the_value_as_written(override, message):
    profile = Path(__file__).resolve().parent.parent / "profiles" / "pretrain-1b-72h.yaml"
    result = CliRunner().invoke(app, ["estimate", str(profile), "--set", override])
    assert result.exit_code == 2 and result.stderr == f"Error: --set {override}: {message}\n"
