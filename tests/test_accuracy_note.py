"""catalog/accuracy.yaml is what scripts/build_accuracy.py writes from today's validation (so each plan's accuracy
note is current), and a catalog whose validation inputs changed since says its note predates them."""
import importlib.util
import shutil

from planner.decide.confidence import (
    Accuracy,
    group_accuracy,
    nearest_accuracy,
    training_group,
)

from .conftest import ROOT


def _script():
    spec = importlib.util.spec_from_file_location("build_accuracy", ROOT / "scripts" / "build_accuracy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_accuracy_file_is_current(source_cv_rows):
    # the script's text from the session's one `validate --cross-validate source` of the bundled catalog
    expected = _script().accuracy_text(ROOT / "catalog", source_cv_rows)
    stored = (ROOT / "catalog" / "accuracy.yaml").read_text(encoding="utf-8")
    assert stored == expected, "catalog/accuracy.yaml is stale: run .venv/bin/python scripts/build_accuracy.py"


def test_groups_and_notes():
    # a full decoder run from pretrained weights is a full fine-tune, the group's kind of run (new-user QA round 28: a
    # 13B full fine-tune was judged by the pretraining runs' 12 % where the fine-tuning runs' is 25 %)
    assert training_group("decoder", "full", from_pretrained=True) == "fine-tuning"
    assert training_group("encoder", "full", from_pretrained=True) == "encoder"
    assert training_group("decoder", "lora") == "fine-tuning" and training_group("decoder", "full") == \
        "llm-pretraining" and training_group("cnn", "full") == "cnn" and training_group("mlp", "full") == "training"
    fine = group_accuracy(ROOT / "catalog", "fine-tuning")
    assert fine is not None and fine.n >= 1
    # fewer than 5 runs or a median error above 30 %: rough
    assert "treat as rough" in Accuracy("fine-tuning", 2, 0.49).note
    assert "2 in the data" in Accuracy("fine-tuning", 2, 0.49).note and "49%" in Accuracy("x", 2, 0.49).note
    assert "treat as rough" not in Accuracy("encoder", 66, 0.09).note
    assert Accuracy("cnn", 50, 0.15).to_dict() == {"group": "cnn", "n": 50, "median_abs_error": 0.15}


def test_a_lora_plan_says_no_lora_run_is_in_the_data():
    """New-user QA: a LoRA plan's note cited "fine-tuning runs: 6 in the data" — all six full fine-tuning, none LoRA.
    The methods come from the validation (catalog/accuracy.yaml), and the note says whose evidence it is."""
    fine = nearest_accuracy(ROOT / "catalog", "fine-tuning", "lora")
    assert fine is not None and fine.group == "fine-tuning" and dict(fine.methods) == {"full": fine.n}
    assert fine.method_missing
    assert (f"fine-tuning runs: no LoRA/QLoRA run in the data: the evidence is {fine.n} run(s), all full "
            "fine-tuning, median error") in fine.note and fine.note.endswith("treat as rough")
    assert fine.to_dict()["methods_in_data"] == {"full": fine.n}
    # a full fine-tuning plan reads the same group without the caveat
    full = nearest_accuracy(ROOT / "catalog", "fine-tuning", "full")
    assert full is not None and not full.method_missing and "no LoRA" not in full.note
    assert "methods_in_data" not in full.to_dict()
    # the caveat follows the data: with a LoRA run in it, a LoRA plan reads the usual note; a QLoRA one names QLoRA
    mixed = Accuracy("fine-tuning", 8, 0.2, methods=(("full", 6), ("lora", 2)), plan_method="lora")
    assert not mixed.method_missing and "8 in the data" in mixed.note
    qlora = Accuracy("fine-tuning", 8, 0.2, methods=(("full", 6), ("lora", 2)), plan_method="qlora")
    assert "no QLoRA run in the data: the evidence is 8 run(s), 6 full fine-tuning, 2 LoRA" in qlora.note
    # pretraining groups hold full runs only: a full plan has no caveat
    pre = nearest_accuracy(ROOT / "catalog", "llm-pretraining", "full")
    assert pre is not None and not pre.method_missing


def test_a_changed_catalog_says_its_note_predates_the_change(tmp_path):
    copy = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", copy)
    fresh = nearest_accuracy(copy, "cnn")
    assert fresh is not None and not fresh.stale and "rerun" not in fresh.note
    runs = copy / "published_runs.yaml"
    runs.write_text(runs.read_text() + "\n# edited\n")
    stale = nearest_accuracy(copy, "cnn")
    assert stale is not None and stale.stale and "rerun scripts/build_accuracy.py" in stale.note
