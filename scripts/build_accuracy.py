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
              "from.\n")
    return header + yaml.safe_dump({"inputs_sha256": inputs_digest(catalog_dir), "groups": groups},
                                   sort_keys=False)


def main() -> None:
    catalog_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "catalog"
    path = catalog_dir / "accuracy.yaml"
    path.write_text(accuracy_text(catalog_dir), encoding="utf-8")
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
