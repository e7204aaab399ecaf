"""Write catalog/accuracy.yaml: the grouped cross-validation summary (`gpuplan validate --cross-validate source`:
each run predicted without its publication) per group, with the SHA-256 of the
catalog files it was computed from. Estimates read it to print each plan's accuracy note without rerunning the
validation; tests/test_accuracy_note.py fails when the file is not what this script would write now.

Run: .venv/bin/python scripts/build_accuracy.py [CATALOG_DIR]"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from planner.validate.runs import ValidationRow


def accuracy_text(catalog_dir: Path, rows: Sequence[ValidationRow] | None = None) -> str:
    """The file's content for a catalog directory. rows: its `validate(catalog_dir, cross_validate="source")`, when
    already computed (the tests share one run of it)."""
    import yaml

    from planner.decide.confidence import inputs_digest
    from planner.validate.runs import summaries, validate

    if rows is None:
        rows = validate(catalog_dir, cross_validate="source")
    groups = {name: {"n": s.n, "median_abs_error": round(s.median_abs_error, 4),
                     "p90_abs_error": round(s.p90_abs_error, 4), "coverage_p10_p90": round(s.coverage_p10_p90, 4),
                     # how the group's runs train (the note says when a plan's method has no run in the data)
                     **({"methods": dict(s.methods)} if s.methods else {})}
              for name, s in summaries(list(rows)).items()}
    header = ("# Written by scripts/build_accuracy.py from `gpuplan validate --cross-validate source`; do not edit.\n"
              "# Each plan's accuracy note reads its group here. inputs_sha256: the catalog files it was computed "
              "from.\n# largest_global_batch: the most tokens a step of any published run that states its global batch "
              "and\n# sequence length (a plan without training.batch taking more says so).\n")
    return header + yaml.safe_dump({"inputs_sha256": inputs_digest(catalog_dir), "groups": groups,
                                    "largest_global_batch": largest_global_batch(catalog_dir)}, sort_keys=False)


def largest_global_batch(catalog_dir: Path) -> dict[str, object] | None:
    """The published run (catalog/published_runs.yaml) with the most tokens a step among those stating their global
    batch (layout.global_batch, sequences) and sequence length: its tokens, sequences, length and id."""
    from planner.catalog.load import load_catalog
    from planner.validate.train_fit import load_published_runs

    runs = load_published_runs(catalog_dir, load_catalog(catalog_dir))
    stated = [(r.layout.global_batch * r.seq_len, r) for r in runs
              if r.layout is not None and r.layout.global_batch and r.seq_len]
    if not stated:
        return None
    tokens, run = max(stated, key=lambda pair: (pair[0], pair[1].id))
    assert run.layout is not None and run.layout.global_batch is not None
    return {"tokens": tokens, "sequences": run.layout.global_batch, "seq_len": run.seq_len, "run": run.id}


def main() -> None:
    catalog_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "catalog"
    path = catalog_dir / "accuracy.yaml"
    path.write_text(accuracy_text(catalog_dir), encoding="utf-8")
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
