"""The documentation: README.md is the short front door, docs/ the reference site. The site builds with MkDocs in
strict mode (a broken link or anchor fails) and every command
output marked `<!-- output -->` is what the command prints today (scripts/docs_outputs.py regenerates them)."""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from .conftest import ROOT

MAX_README_LINES = 250


def _outputs_script():
    spec = importlib.util.spec_from_file_location("docs_outputs", ROOT / "scripts" / "docs_outputs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_readme_is_the_short_front_door():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= MAX_README_LINES
    for section in ("## The two commands", "## A worked example", "## Where to go next"):
        assert section in readme
    for page in ("docs/profile.md", "docs/commands.md", "docs/accuracy.md", "docs/measure.md"):
        assert page in readme and (ROOT / page).is_file()


def test_site_builds_in_strict_mode(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site"),
                           "--config-file", str(ROOT / "mkdocs.yml")], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "commands" / "index.html").is_file()


def test_documented_outputs_are_current():
    script = _outputs_script()
    assert sum(len(script.blocks(p)) for p in script.doc_files()) >= 4  # the checked examples exist
    stale = [f"{b.path.name}:{b.start} `{b.command}`" for b, _ in script.stale_blocks()]
    assert not stale, f"run .venv/bin/python scripts/docs_outputs.py to regenerate: {stale}"


def test_price_ages_are_masked_where_a_line_breaks_inside_them():
    # a price's age moves every day: the check masks it, also where the line breaks between 'days' and 'old'
    # (docs/catalog.md's commitment footnote read "price 635 days" / "old" and failed the check the next day)
    normalised = _outputs_script().normalised
    assert normalised("price 635 days\nold (as of") == normalised("price 636 days\nold (as of")
    assert normalised("1,532 days old, x") == normalised("1,533 days old, x")
    assert normalised("635 days of runs") != normalised("636 days of runs")  # only an age


def test_measuring_commands_shown_in_the_docs_are_checked_against_stored_records():
    # a profile or calibrate run cannot be rerun by the check (it times this machine): its block names the record it
    # wrote, kept in docs/records/, and shows what the command prints for it (issue 16: stale profiler outputs)
    script = _outputs_script()
    checked = {(b.path.name, b.command) for p in script.doc_files() for b in script.blocks(p)}
    shown = []
    for path in script.doc_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.removeprefix("$ ").split()
            if line.startswith("$ ") and len(words) > 1 and words[0].endswith("gpuplan") \
                    and words[1] in ("profile", "calibrate") \
                    and not {"--print-script", "--emit", "--model-code"} & set(words):
                shown.append((path.name, line[2:].strip()))
    assert shown, "the docs show measuring commands"
    assert [s for s in shown if s not in checked] == []
    records = [b for p in script.doc_files() for b in script.blocks(p) if b.record]
    assert {b.command.split()[1] for b in records} == {"profile", "calibrate"}
    for block in records:
        assert (script.ROOT / block.record).is_file() and f"--out {block.record}" in block.command


def test_stored_calibration_commands_are_checked_against_the_committed_store():
    # issue 16: the commands that read a calibration store ran against a scratch store the check could not rerun;
    # they now read the store kept in docs/records/calibrations/, run as the machine that measured its record
    script = _outputs_script()
    checked = {b.command: b for p in script.doc_files() for b in script.blocks(p)}
    shown = [line[2:].strip() for p in script.doc_files() for line in p.read_text(encoding="utf-8").splitlines()
             if line.startswith("$ ") and "--calibrations" in line.split()]
    assert {" ".join(c.split()[1:3]) for c in shown} >= {"calibration add", "calibration list"}
    assert any(c.split()[1] == "estimate" for c in shown)
    for command in shown:
        block = checked.get(command)
        assert block is not None, f"unchecked: {command}"
        assert block.host and (ROOT / block.host).is_file(), command
        store = command.split()[command.split().index("--calibrations") + 1]
        assert store.startswith("docs/records/") and any((ROOT / store).glob("*.yaml")), command
    estimate = next(b for c, b in checked.items() if "--calibrations" in c and c.split()[1] == "estimate")
    shown_output = estimate.path.read_text(encoding="utf-8").splitlines()[estimate.start:estimate.end]
    assert any("· local" in line for line in shown_output)  # the stored record's row: the host was matched


def test_readme_package_map_matches_the_folders():
    # issue 12: the README's architecture section is a map of planner/'s packages; a package added, renamed or
    # removed without the map fails here
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    mapped = set(re.findall(r"^\| `planner/(\w+)/` \|", section, re.MULTILINE))
    folders = {p.parent.name for p in (ROOT / "planner").glob("*/__init__.py")}
    assert mapped == folders, f"README map {sorted(mapped)} vs folders {sorted(folders)}"
    assert "`planner/api.py`" in section and (ROOT / "planner" / "api.py").is_file()
    # the modules beside the folders (errors.py, readable.py, dataclass.py) are on the map too: one added or removed
    # without it fails here
    modules = {p.name for p in (ROOT / "planner").glob("*.py")} - {"__init__.py", "__main__.py"}
    named = {name for name in modules if f"`{name}`" in section or f"`planner/{name}`" in section}
    assert named == modules, f"README map names {sorted(named)} of planner/'s modules {sorted(modules)}"
    assert "profile → workload → candidates → verdicts → decision → render" in section


def _number(text: str, pattern: str) -> int:
    found = re.search(pattern, text)
    assert found, pattern
    return int(found.group(1).replace(",", ""))


def test_catalog_counts_in_the_docs_are_the_catalogs(catalog):
    runs = yaml.safe_load((ROOT / "catalog" / "published_runs.yaml").read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pages = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md")}
    assert _number(readme, r"catalog\*\* of (\d+) GPU variants") == len(catalog.gpus)
    assert _number(readme, r"offers from (\d+) providers") == len(catalog.providers)
    assert _number(readme, r"(\d+) published model architectures") == len(catalog.presets)
    assert _number(readme, r"(\d+) published training/serving runs") == len(runs["runs"])
    assert _number(pages["catalog.md"], r"`catalog/gpus.yaml` — (\d+) GPUs") == len(catalog.gpus)
    assert _number(pages["catalog.md"], r"`catalog/offers/<provider>.yaml` — (\d+) providers") \
        == len(catalog.providers)
    assert _number(pages["catalog.md"], r"providers, ([\d,]+) offers, imported") == len(catalog.offers())
    assert _number(pages["catalog.md"], r"`catalog/models.yaml` — (\d+) presets") == len(catalog.presets)
    assert _number(pages["catalog.md"], r"— (\d+) published runs \(and") == len(runs["runs"])
    assert _number(pages["catalog.md"], r"published runs \(and (\d+) excluded rows") == len(runs["excluded"])
    assert _number(pages["accuracy.md"], r"`catalog/published_runs.yaml` \((\d+) runs") == len(runs["runs"])


OUTSIDE_DOCUMENTS = re.compile(r"\b(?:CONTRACTS|FORMULAS|PRODUCT|STYLE|SOURCES)(?:\.md| §)|\.\./shared/|/work/shared|"
                               r"\bshared/(?:design|reference)/")
"""Pointers to design documents and reference tables kept outside the repository (issue 12 item 6)."""


def test_comments_and_docs_point_only_inside_the_repository():
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("site", "snapshots", "__pycache__")]
        for name in files:
            if name.endswith((".py", ".md", ".yaml", ".toml")) and name != Path(__file__).name:
                path = Path(folder) / name
                for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                    if OUTSIDE_DOCUMENTS.search(line):
                        found.append(f"{path.relative_to(ROOT)}:{number}")
    assert not found, found


def test_profile_page_example_names_real_fields_and_every_pin(catalog):
    # docs/profile.md's field-by-field example: every key is a field of the profile schema (no stale names), and the
    # pins (training.parallelism, inference.batch) are all listed
    from planner.schema.profile import Parallelism, Profile

    page = (ROOT / "docs" / "profile.md").read_text(encoding="utf-8")
    example = yaml.safe_load(page.split("```yaml\n", 1)[1].split("```", 1)[0])

    def unknown(data, model, where):
        for key, value in data.items():
            field = model.model_fields.get(key)
            if field is None:
                yield f"{where}{key}"
                continue
            nested = [t for t in (field.annotation, *getattr(field.annotation, "__args__", ()))
                      if isinstance(t, type) and hasattr(t, "model_fields")]
            if isinstance(value, dict) and nested:
                yield from unknown(value, nested[0], f"{where}{key}.")

    assert list(unknown(example, Profile, "")) == []
    assert set(example["training"]["parallelism"]) == set(Parallelism.model_fields)
    assert "batch" in example["inference"]
    # every training, serving and constraint field is in the example (the stack, the bill, owned machines,
    # discounts and commitments were missing: a reader of the field-by-field page never met them)
    from planner.schema.profile import Constraints, Inference, OwnedMachine, Training

    for section, model in (("training", Training), ("inference", Inference), ("constraints", Constraints)):
        assert set(model.model_fields) - set(example[section]) == set(), section
    assert set(OwnedMachine.model_fields) == set(example["constraints"]["owned"][0])
    from planner.api import load_profile

    load_profile(example, catalog)  # and, as a whole, a profile a reader can copy


def test_accuracy_headline_sentence_is_the_current_summary():
    # docs/accuracy.md states the overall and training figures against issue 13's targets in prose; they are the
    # figures of catalog/accuracy.yaml (rerun scripts/build_accuracy.py, then update the sentence)
    groups = yaml.safe_load((ROOT / "catalog" / "accuracy.yaml").read_text(encoding="utf-8"))["groups"]
    text = " ".join((ROOT / "docs" / "accuracy.md").read_text(encoding="utf-8").split())
    found = re.search(r"\*\*all (\d+) runs ([\d.]+) % / ([\d.]+) % / (\d+) %, training runs ([\d.]+) % / ([\d.]+) % / "
                      r"(\d+) %", text)
    assert found, "the sentence against issue 13's targets"
    overall, training = groups["overall"], groups["training"]
    assert int(found.group(1)) == overall["n"]
    shown = [float(found.group(i)) for i in (2, 3, 4, 5, 6, 7)]
    assert shown == [round(overall["median_abs_error"] * 100, 1), round(overall["p90_abs_error"] * 100, 1),
                     round(overall["coverage_p10_p90"] * 100), round(training["median_abs_error"] * 100, 1),
                     round(training["p90_abs_error"] * 100, 1), round(training["coverage_p10_p90"] * 100)]


def test_every_gpuplan_example_in_the_docs_is_checked():
    # a console example that is not a checked block drifts (the owned-4090, bill and diff examples did): every
    # `$ gpuplan …` line of a console block is checked, except those that measure this machine's own model code or
    # hand a task to SkyPilot, which the check cannot run
    script = _outputs_script()
    checked = {lines[0] for p in script.doc_files() for b in script.blocks(p) for lines in b.commands}
    unchecked = []
    for path in script.doc_files():
        fenced = False
        for line in path.read_text(encoding="utf-8").splitlines():
            fenced = not fenced if line.startswith("```") else fenced
            words = line.removeprefix("$ ").split()
            if fenced and line.startswith("$ ") and words[0].endswith("gpuplan") and line not in checked:
                unchecked.append(line)
    assert [c for c in unchecked if "--model-code" not in c and "--emit skypilot --gpus" not in c
            and "sky down" not in c] == []


def test_a_block_runs_a_session_with_redirects_exit_statuses_and_files(tmp_path, monkeypatch):
    script = _outputs_script()
    page = tmp_path / "page.md"
    page.write_text("<!-- output -->\n```console\n"
                    "$ gpuplan estimate tests/bad_inputs/profiles/typo-key-epoch.yaml \\\n"
                    "    --top 1 > out.txt   # stdout to a file, the error still shown\n"
                    "$ echo $?\n$ cat out.txt\n```\n", encoding="utf-8")
    (block,) = script.blocks(page)
    assert len(block.commands) == 3 and block.commands[0][1].startswith("    --top 1")
    body = script.session(block).splitlines()
    assert body[:2] == list(block.commands[0])
    assert body[2].startswith("Error: tests/bad_inputs/profiles/typo-key-epoch.yaml:7:3: training.epoch:")
    assert body[3:] == ["$ echo $?", "2", "$ cat out.txt"]  # the error went to stderr: the file is empty
    assert not (script.ROOT / "out.txt").exists()  # written in a scratch folder, not the repository


def test_an_excerpt_keeps_the_named_lines_and_marks_what_it_leaves_out():
    script = _outputs_script()
    text = "head\nBuy vs rent: x\ny\nDiscounts z\ntail"
    assert script.excerpt(text, {"from": "Buy vs rent", "to": "Discounts"}) == "…\nBuy vs rent: x\ny\nDiscounts z\n…"
    assert script.excerpt(text, {"from": "head", "to": "y"}) == "head\nBuy vs rent: x\ny\n…"
    document = '{"training": {"plans": [{"gpu": "A", "cost_usd": {"p50": 1.5}, "other": 0}]}}'
    assert script.excerpt(document, {"json": "training.plans.0", "keys": "cost_usd,gpu"}) == \
        '{\n  "cost_usd": {\n    "p50": 1.5\n  },\n  "gpu": "A"\n}'
