"""Output a person acts on: every command's table fits the terminal (COLUMNS) at 80 and 120 columns, `--wide` shows
the details, the decision has no duplicate rows, the header says what was understood, and every plan carries the
accuracy of its nearest validation group."""
import json
import re

import pytest
from typer.testing import CliRunner

from planner.cli.main import app

from .conftest import PROFILES, ROOT, gpuplan

runner = CliRunner()
WIDTHS = (80, 120)


def run_at(width, monkeypatch, *args):
    monkeypatch.setenv("COLUMNS", str(width))
    result = gpuplan(*args)  # once per command and width for the tests that read it
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def widest(text):
    return max((len(line) for line in text.splitlines()), default=0)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_estimate_fits_the_terminal(profile, width, monkeypatch):
    out = run_at(width, monkeypatch, "estimate", str(profile))
    assert widest(out) <= width, [line for line in out.splitlines() if len(line) > width][:3]
    assert "What I understood" in out and "How sure:" in out
    assert not padded(out)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("args", [("validate",), ("catalog", "list"), ("catalog", "models"),
                                  ("diff", str(ROOT / "profiles" / "serve-7b-chat.yaml"),
                                   str(ROOT / "profiles" / "serve-7b-chat.yaml"))], ids=" ".join)
def test_other_commands_fit_the_terminal(args, width, monkeypatch):
    out = run_at(width, monkeypatch, *args)
    assert out.strip() and widest(out) <= width
    assert not padded(out)


def padded(text):
    """The lines that end in spaces: none (a leftover of earlier new-user QA rounds: tables' titles and last columns
    were padded to their width, up to ~90 trailing spaces a line, kept by a copied table or a CI log)."""
    return [line for line in text.splitlines() if line != line.rstrip()]


def test_validate_keeps_the_unit_of_its_figures_at_80_columns(monkeypatch):
    # new-user QA: at 80 columns `validate` dropped the metric column, so 'actual 1.02M, predicted 840k' (GPU-hours)
    # sat above 'actual 140, predicted 157' (TFLOP/s per GPU) and '1,229' (tokens/s) with nothing saying what each is
    out = run_at(80, monkeypatch, "validate")
    runs = out.split("Accuracy (")[0].splitlines()
    assert "metric" in runs[1].split()
    assert any("GPU-h" in line for line in runs) and any("TFLOP/s/GPU" in line for line in runs)


def test_columns_changes_the_layout_and_wide_shows_details(monkeypatch):
    profile = str(ROOT / "profiles" / "pretrain-1b-72h.yaml")
    narrow = run_at(80, monkeypatch, "estimate", profile)
    wide = run_at(200, monkeypatch, "estimate", profile)
    assert narrow != wide and widest(wide) > 80
    # the compact view drops the least needed columns first (efficiency origin, layout), never cost or hours
    assert "hours P50 (P10–P90)" in narrow and "compute P50" in narrow and "efficiency" not in narrow.split(
        "Training plans for")[1].splitlines()[1]
    details = run_at(80, monkeypatch, "estimate", profile, "--wide")
    assert "details" in details and "micro-batch" in details and widest(details) > 80


IDENTITY = {"Training": ("GPU", "provider", "GPUs", "spot", "layout"), "Serving": ("GPU", "provider", "repl×GPU", "batch")}
"""The cells of a plans table that say which plan a row is (the rest are its figures)."""


def _plans_sections(text):
    """{'Training' / 'Serving': the lines of that plans table, its caption included (up to the recommended mark)}."""
    out = {}
    for kind in IDENTITY:
        if f"{kind} plans for" in text:
            part = text.split(f"{kind} plans for", 1)[1].splitlines()[1:]
            end = next(i for i, line in enumerate(part) if line.startswith(("← the recommended", "How sure")))
            out[kind] = part[:end]
    return out


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_plans_that_differ_read_apart_at_80_columns(profile, monkeypatch):
    # new-user QA: at 80 columns the layout column is dropped for width, and pretrain-1b-72h's first four rows read
    # '12 RTX-A4000 simplepod' alike, with no way to tell which plan each is or why their hours differ. Every two rows
    # whose plans differ (as --wide prints them, every column) must differ in a cell the 80-column output prints for
    # both: in the row itself, or named with the row's number ('#2 zero1, mb 3, 4 inst.') under the table.
    narrow = _plans_sections(run_at(80, monkeypatch, "estimate", str(profile)))
    wide = _plans_sections(run_at(80, monkeypatch, "estimate", str(profile), "--wide"))
    assert narrow.keys() == wide.keys() and narrow
    for kind, lines in wide.items():
        header = [c.strip() for c in re.split("[┃]", next(line for line in lines if line.startswith("┃")))[1:-1]]
        rows = [dict(zip(header, (c.strip() for c in line.split("│")[1:-1]))) for line in lines
                if line.startswith("│")]
        assert rows and all(key in header for key in IDENTITY[kind] if key != "spot")
        text = narrow[kind]
        body = text[next(i for i, line in enumerate(text) if line.startswith("─")) + 1:]
        row_lines: dict[str, str] = {}
        for line in body:
            if not line[:1].isdigit() and not line.startswith(" "):
                break  # the caption
            m = re.match(r"\s*(\d+(?:–\d+)?) ", line)
            if m:
                label = m.group(1)
                row_lines[label] = line
            else:  # a wrapped cell's next line
                row_lines[label] += " " + line
        notes = " ".join(" ".join(text).split())

        def shown(row, key):
            cell = row[key]
            return re.search(rf"(?<!\S){re.escape(cell)}(?!\S)", row_lines[row["#"]]) is not None or \
                re.search(rf"#{re.escape(row['#'])} {re.escape(cell)}(?:[;.]| —|\s|$)", notes) is not None

        for i, a in enumerate(rows):
            for b in rows[i + 1:]:
                differ = [k for k in IDENTITY[kind] if k in header and a[k] != b[k]]
                if differ:
                    assert any(shown(a, k) and shown(b, k) for k in differ), (kind, a, b)


def test_a_column_that_tells_rows_apart_goes_after_the_figures():
    # fit_table: an identifying column is dropped after every other where rows would then read alike; where the table
    # does not fit without dropping it all the same, the caption names its cell for each row alike
    import io

    from planner.render.console import Column, fit_table, make_console, set_wide

    set_wide(False)  # a CLI run in this process with --wide leaves it on
    columns = [Column("#", "right", labels=True), Column("GPU", identifies=True),
               Column("layout", drop=3, identifies=True), Column("figure", drop=2)]
    rows = [["1", "A4000", "zero1, 3 inst.", "x" * 12], ["2", "A4000", "zero1, 12 inst.", "y" * 12],
            ["3", "A5000", "none", "z" * 12]]
    roomy = fit_table(make_console(io.StringIO(), width=30), columns, rows)
    assert [c.header for c in roomy.columns] == ["#", "GPU", "layout"] and "Alike" not in roomy.notes()
    narrow = fit_table(make_console(io.StringIO(), width=21), columns, rows)
    assert [c.header for c in narrow.columns] == ["#", "GPU", "figure"]
    assert narrow.notes() == ("Alike above but for their layout (--wide shows every column): #1 zero1, 3 inst.; "
                              "#2 zero1, 12 inst.")
    # rows told apart by what is shown need no such note: the column left out is named alone (new-user QA round 26:
    # a narrow table said nothing of the columns it dropped), once, not beside the rows it tells apart above
    distinct = [["1", "A4000", "zero1", "x" * 12], ["2", "A5000", "none", "y" * 12]]
    assert fit_table(make_console(io.StringIO(), width=21), columns, distinct).notes() == \
        "Left out at this width: layout (--wide shows every column)."
    assert fit_table(make_console(io.StringIO(), width=30), columns, distinct).notes() == ""
    plain = [Column(c.header, c.justify, c.drop) for c in columns]
    assert [c.header for c in fit_table(make_console(io.StringIO(), width=30), plain, rows).columns] == \
        ["#", "GPU", "figure"]


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_decision_rows_are_distinct_plans(profile, monkeypatch):
    data = json.loads(run_at(120, monkeypatch, "estimate", str(profile), "--format", "json"))
    table = run_at(120, monkeypatch, "estimate", str(profile))
    for section in data["decisions"].values():
        plans = {}
        for choice in section["choices"]:
            key = (choice["gpu"], choice["provider"], choice.get("gpu_count"), choice.get("replicas"),
                   choice.get("gpus_per_replica"), choice.get("instance"))
            plans.setdefault(key, []).append(choice["name"])
        for names in plans.values():
            # one row per plan, naming every choice it is
            assert ", ".join(names) in " ".join(table.split())
    assert "nothing to give up" not in table


def test_header_says_what_was_understood(monkeypatch):
    out = run_at(120, monkeypatch, "estimate", str(ROOT / "profiles" / "lora-7b-a6000.yaml"))
    header = " ".join(out.split("Training decision")[0].split())  # a fact may wrap onto the next line
    # Llama-2-7B LoRA r16: 6.738B params from the preset, 39.98M trainable; 50k samples × 1,024 tokens × 3 epochs
    for fact in ("6.738B params (preset llama-2-7b)", "150,000 samples × 1,024 tokens = 153.6M tokens",
                 "LoRA rank 16: 39.98M trainable params", "bf16", "flash attention", "GB per GPU",
                 # 64 samples per step on one replica, as 13 balanced micro-batches of at most 5 (⌈64 / 5⌉)
                 "micro-batch 5 × accumulation 13"):
        assert fact in header, fact
    md = runner.invoke(app, ["estimate", str(ROOT / "profiles" / "serve-7b-chat.yaml"), "--format", "markdown"])
    assert "What I understood:" in md.stdout and "- **serving**: 20.0 req/s peak" in md.stdout


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_every_plan_carries_its_accuracy(profile):
    data = json.loads(gpuplan("estimate", str(profile), "--format", "json").stdout)
    for section in ("training", "inference"):
        for plan in data.get(section, {}).get("plans", []):
            accuracy = plan["accuracy"]
            # methods_in_data: only where no run of the group trains as the plan does (a LoRA plan: all full)
            assert set(accuracy) - {"methods_in_data"} == {"group", "n", "median_abs_error"}
            assert accuracy["n"] > 0 and 0 <= accuracy["median_abs_error"] < 10


def test_lora_accuracy_note_reads_the_fine_tuning_figure(monkeypatch):
    """A LoRA plan's note quotes the fine-tuning group of catalog/accuracy.yaml, says that none of its runs is LoRA
    or QLoRA, and calls the plan rough."""
    import yaml

    out = " ".join(run_at(120, monkeypatch, "estimate", str(ROOT / "profiles" / "lora-7b-a6000.yaml")).split())
    figure = yaml.safe_load((ROOT / "catalog" / "accuracy.yaml").read_text(encoding="utf-8"))["groups"]["fine-tuning"]
    found = re.search(r"How sure: fine-tuning runs: no LoRA/QLoRA run in the data: the evidence is (\d+) run\(s\), "
                      r"all full fine-tuning, median error (\d+)% .*?— (treat as rough|the "
                      r"P10–P90 interval is the range to plan with)", out)
    assert found and int(found[1]) == figure["n"] and int(found[2]) == round(figure["median_abs_error"] * 100)
    # new-user QA: the group's runs are all full fine-tuning (the validation costs every published run as full), so
    # a LoRA plan's evidence is another method's: rough whatever the median
    assert figure["methods"] == {"full": figure["n"]}
    assert found[3] == "treat as rough"


def test_impossible_deadline_names_fastest_and_cheapest_and_what_to_change(write, monkeypatch):
    path = write("tight.yaml", (ROOT / "profiles" / "pretrain-1b-72h.yaml").read_text()
                 .replace("deadline: 72h", "deadline: 1min"))
    out = " ".join(run_at(120, monkeypatch, "estimate", str(path)).split())
    assert "fastest possible" in out and "cheapest possible" in out
    assert re.search(r"To plan it, time: the deadline would have to be at least [\d.,]+ (h|min) \(now 1.0 min\)",
                     out)
    data = json.loads(run_at(120, monkeypatch, "estimate", str(path), "--format", "json"))
    assert data["training"]["recommended"] is None
    assert [c["name"] for c in data["decisions"]["training"]["choices"]] == ["fastest possible", "cheapest possible"]
    assert data["decisions"]["training"]["changes_needed"]


def test_a_budget_only_miss_is_not_told_more_gpus_would_help(write, monkeypatch):
    # new-user QA: with the deadline met and only the budget missed, the report added "the fastest plan uses every GPU
    # allowed (max_gpus is 4096); more GPUs could be faster" — more GPUs shorten a run, they do not make it cheaper
    path = write("poor.yaml", (ROOT / "profiles" / "pretrain-1b-72h.yaml").read_text()
                 .replace("budget: $20k", "budget: $20"))
    out = " ".join(run_at(120, monkeypatch, "estimate", str(path)).split())
    assert re.search(r"To plan it, budget: at least \$[\d.,]+ \(now \$20.00\)", out), out[:600]
    assert "more GPUs could be faster" not in out
    tight = write("tight.yaml", (ROOT / "profiles" / "pretrain-1b-72h.yaml").read_text()
                  .replace("deadline: 72h", "deadline: 1min"))
    assert "more GPUs could be faster" in " ".join(run_at(120, monkeypatch, "estimate", str(tight)).split())


def test_balanced_never_pays_more_than_its_share():
    from planner.decide.choices import BALANCED_MAX_EXTRA_COST

    for profile in PROFILES:
        data = json.loads(gpuplan("estimate", str(profile), "--format", "json").stdout)
        training = data.get("decisions", {}).get("training")
        if training:
            by_name = {c["name"]: c for c in training["choices"]}
            cheap, balanced = by_name["cheapest viable"], by_name["balanced"]
            assert balanced["cost_usd"] <= cheap["cost_usd"] * (1 + BALANCED_MAX_EXTRA_COST) * (1 + 1e-9)


def test_serving_recommends_the_cheapest_plan_with_headroom(catalog):
    from planner.decide.choices import decide, holds_with_headroom
    from planner.plans.search import estimate
    from planner.project.load import load_profile

    loaded = load_profile(ROOT / "profiles" / "serve-7b-chat.yaml", catalog)
    est = estimate(loaded, catalog)
    d = decide(loaded, catalog, est).inference
    slo = loaded.profile.inference.slo
    first = d.choices[0].option
    assert d.choices[0].name == "cheapest with headroom" and holds_with_headroom(first, slo)
    safe = [p for p in est.inference.plans if holds_with_headroom(p, slo)]
    assert first.monthly_cost_usd == min(p.monthly_cost_usd for p in safe)
    # "balanced" is the same plan: a latency far below its target buys nothing
    assert d.choices[1].name == "balanced" and d.choices[1].option is first


def test_fit_table_measures_as_the_whole_table_would():
    # fit_table measures a probe of each column's widest cell; the columns it keeps must be those that measuring
    # every row (rich's own Measurement of the full table) keeps, for multi-line, double-width and empty cells too
    import io
    import random

    from rich import box
    from rich.measure import Measurement
    from rich.table import Table

    from planner.render.console import Column, column_widths, fit_table, make_console, natural_width, plain

    rng = random.Random(3)
    words = ["a", "GPU", "H100-SXM", "日本語", "3×8", "$1,234", "line\nbreak", "", "x" * 17, "ok ←", "tab\there",
             "bell\x07"]
    heads = ["#", "GPU", "hours P50 (P10–P90)", "", "日本", "compute\nP90"]
    columns = [Column(rng.choice(heads) + f"c{i}", "right" if i % 2 else "left", drop=rng.choice([0, 1, 2, 3]))
               for i in range(7)]
    for trial in range(40):
        rows = [[" ".join(rng.choices(words, k=rng.randint(0, 3))) for _ in columns] for _ in range(rng.randint(0, 12))]
        console = make_console(io.StringIO(), width=rng.randint(40, 140))

        def full_width(indices, style):
            table = Table(box=style, padding=(0, 1) if style is box.HEAVY_HEAD else 0,
                          show_edge=style is box.HEAVY_HEAD)
            for i in indices:
                table.add_column(plain(columns[i].header), justify=columns[i].justify, overflow="fold")
            for row in rows:
                table.add_row(*(plain(row[i]) for i in indices))
            options = console.rich.options.update(width=10_000, max_width=10_000)
            return Measurement.get(console.rich, options, table).maximum

        keep = list(range(len(columns)))
        widths = column_widths(columns, rows)
        for indices in (keep, keep[::2], keep[:1]):  # the width fit_table works out is the one rich measures
            assert natural_width(widths, indices, framed=True) == full_width(indices, box.HEAVY_HEAD), trial
            assert natural_width(widths, indices, framed=False) == full_width(indices, box.SIMPLE_HEAD), trial
        if full_width(keep, box.HEAVY_HEAD) > console.width:
            for i in sorted((i for i in keep if columns[i].drop > 0), key=lambda i: -columns[i].drop):
                if full_width(keep, box.SIMPLE_HEAD) <= console.width:
                    break
                keep.remove(i)
        shown = [str(c.header) for c in fit_table(console, columns, rows).columns]
        assert shown == [columns[i].header for i in keep], trial


def test_lines_printed_as_is_are_what_rich_prints():
    # print_lines writes a line rich would print unchanged (prints_as_is) without rich: for every line it passes,
    # rich's own print gives the same text, wide characters and lines past the width too; tabs and control
    # characters go to rich
    import io
    import random

    from rich.cells import cell_len

    from planner.render.console import prints_as_is, rich_console

    rng = random.Random(5)
    pieces = ["a", "GPU", " ", "  ", "–", "×", "←", "†", "—", "é", "日本", "e\u0301", "\t", "\x07", "[bold]x[/]",
              ":smile:", "$1,234", "https://x.y/z", "\u200b", "…"]
    passed = 0
    for trial in range(600):
        line = "".join(rng.choices(pieces, k=rng.randint(0, 12)))
        # at the edges too: a line exactly as wide as the console, and one whose characters fit but whose cells do not
        width = max(1, rng.choice([rng.randint(10, 60), len(line), len(line) - 1, cell_len(line), cell_len(line) - 1]))
        buffer = io.StringIO()
        rich_console(buffer, width).print(line, crop=False, overflow="ignore")
        if prints_as_is(line):
            passed += 1
            assert buffer.getvalue() == line + "\n", (trial, line, width)
    assert passed > 50  # the comparison covers many lines


def test_terminal_columns_are_shutils(monkeypatch):
    # console._terminal_columns reads the width as shutil.get_terminal_size does, without importing shutil
    import shutil

    from planner.render.console import DEFAULT_WIDTH, _terminal_columns

    for value in (None, "", "abc", "0", "-3", "+100", " 90 ", "1_20", "120", "٩٠"):
        if value is None:
            monkeypatch.delenv("COLUMNS", raising=False)
        else:
            monkeypatch.setenv("COLUMNS", value)
        assert _terminal_columns() == shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns, value


def test_a_title_wider_than_its_table_takes_the_consoles_width():
    # new-user QA: the bill's title over a 76-column table broke at the table's width, "…(#1: 4× RTX-A5000 ·" on
    # one line and "primeintellect)" on the next, on an 80-column console with room for it
    import io

    from planner.render.console import Column, _trimmed, fit_table, make_console, rich_console

    title = "Whole bill of the recommended training plan (#1: 4× RTX-A5000 · primeintellect)"
    caption = "a note " * 14
    buffer = io.StringIO()
    console = make_console(buffer, width=80)
    table = fit_table(console, [Column("line"), Column("USD", "right")], [["compute", "$85.59"]], title=title,
                      caption=caption)
    console.print(table)
    lines = buffer.getvalue().splitlines()
    assert lines[0] == title and len(lines[1]) == 20  # the table stays as wide as its cells
    notes = lines[lines.index(next(l for l in lines if l.startswith("└"))) + 1:]
    assert len(notes) == 2 and all(20 < len(line.rstrip()) <= 80 for line in notes[:1])
    assert " ".join(line.strip() for line in notes) == caption.strip()
    expected = io.StringIO()
    rich_console(expected, 80).print(table.rich_table())
    assert buffer.getvalue() == _trimmed(expected.getvalue())


def test_tables_printed_without_rich_are_what_rich_prints():
    # TextConsole prints a fitted table as a plain grid (FittedTable.plain_text) without rich: for every table it
    # prints so, rich's own print of the same table gives the same text — framed or not, fitting or narrowed and
    # wrapped, with wide, combining and empty cells, long words folded, long titles and legends wrapped
    import io
    import random

    from planner.render.console import Column, _trimmed, fit_table, make_console, rich_console, set_wide

    rng = random.Random(7)
    words = ["a", "GPU", "H100-SXM", "日本語", "3×8", "$1,234", "", "x" * 17, "ok ←", "e\u0301", " ", "  lead",
             "trail  ", "0.0058", "4096× B200 · nebius", "y" * 45, "–", "†"]
    plain_count = told_apart = 0
    for trial in range(400):
        columns = [Column(rng.choice(["GPU", "hours P50", "", "日本", "cost", "z" * 12]) + f"{i}",
                          rng.choice(["left", "right", "center"]), drop=rng.choice([0, 1, 2, 3]),
                          wide_only=rng.random() < 0.1, legend=rng.choice(["", "", "c: " + "word " * rng.randint(1, 30)]),
                          identifies=rng.random() < 0.4, labels=i == 0)
                   for i in range(rng.randint(1, 7))]
        # identifying columns from few words, so that rows read alike once one is dropped (the caption names them)
        rows = [[rng.choice(words[:3]) if c.identifies else " ".join(rng.choices(words, k=rng.randint(0, 4)))
                 for c in columns] for _ in range(rng.randint(0, 8))]
        title = rng.choice([None, "Best plan per GPU type", "Training plans for " + "long-name-" * rng.randint(1, 12)])
        caption = rng.choice([None, None, "note: " + "several words here " * rng.randint(1, 6)])
        set_wide(rng.random() < 0.15)
        try:
            buffer = io.StringIO()
            console = make_console(buffer, width=rng.choice([20, 30, 40, 55, 80, 100, 140]))
            table = fit_table(console, columns, rows, title=title, caption=caption)
            told_apart += bool(table.told_apart())
            text = table.plain_text(console.width)
            expected = io.StringIO()
            rich_console(expected, console.width).print(table.rich_table())
            if text is not None:
                plain_count += 1
                assert text == expected.getvalue(), trial
            console.print(table)
            assert buffer.getvalue() == _trimmed(expected.getvalue()), trial  # less the spaces that end lines
        finally:
            set_wide(False)
    assert plain_count > 300  # most tables are printed without rich
    assert told_apart > 20  # and many tell alike rows apart in their caption


def test_a_longer_context_keeps_a_rotary_presets_count_its_own():
    # new-user QA: long-context-llama-8b (model.seq_len 131072 on llama-3.1-8b) read '8.03B params (derived from the
    # architecture)', the preset's own 8.03B; a changed shape (layers) is still derived
    from .conftest import gpuplan

    result = gpuplan("estimate", str(ROOT / "profiles" / "long-context-llama-8b.yaml"), "--top", "1")
    assert "8.03B params (preset llama-3.1-8b)" in result.stdout
    shaped = gpuplan("estimate", str(ROOT / "profiles" / "long-context-llama-8b.yaml"), "--top", "1", "--set",
                     "model.layers=16")
    assert "params (derived from the architecture)" in shaped.stdout


def _tables_printed(monkeypatch):
    """The fitted tables the commands run after this print, each with the width it is printed at."""
    from planner.render import console

    printed = []
    print_ = console.TextConsole.print

    def keep(self, *objects, **options):
        printed.extend((o, self.width) for o in objects if isinstance(o, console.FittedTable))
        return print_(self, *objects, **options)

    monkeypatch.setattr(console.TextConsole, "print", keep)
    return printed


def _cut_words(table, width):
    """The cells of a printed table whose lines hold a piece of a word rather than whole words."""
    from planner.render.console import clean

    texts = [[clean(c.header) for c in table.columns], *([clean(row[i]) for i in table.indices] for row in table.rows)]
    return [(text, lines) for row, printed in zip(texts, table.cell_lines(width)) for text, lines in zip(row, printed)
            if any(word not in text.split() for line in lines for word in line.split())]


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_no_table_cuts_a_word_at_80_columns(profile, monkeypatch):
    # new-user QA: at 80 columns `estimate profiles/serve-7b-chat.yaml --simulate` printed the provider
    # 'primeintellect' as 'primeintelle' / 'ct' and a latency as '99 ms (sim' / '99)': rich narrows the widest columns
    # first and cuts the words there; the columns are narrowed so that cells wrap between words, the parts of a cell
    # on lines no wider than they need ('99 ms' / '(sim 99)')
    printed = _tables_printed(monkeypatch)
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, ["estimate", str(profile), "--simulate"])  # run here: its tables are kept
    assert result.exit_code in (0, 1), result.output
    assert printed and widest(result.stdout) <= 80
    assert not re.search(r"primeintelle(?!ct)|\(sim(?![a-z]| [\d.,]+\))", result.stdout)
    for table, width in printed:
        assert table.plain_text(width) is not None  # printed without rich: cell_lines are its lines
        assert not _cut_words(table, width), (table.title, _cut_words(table, width)[:3])
    # percentages are written as everywhere else in the output ('25%'), never '25 %'
    assert not re.search(r"\d %", result.stdout), re.findall(r".{30}\d %", result.stdout)
    # a serving table with '(sim N)' cells says what they are, once (new-user QA round 26: nowhere)
    flat = " ".join(result.stdout.split())
    assert flat.count("the seeded simulation's as 'sim N'") == ("(sim " in result.stdout)


def test_narrowed_tables_cut_no_word_and_print_as_rich_does():
    # the tables narrowed to the console (their natural width wider, their longest words narrower): no cell's
    # lines cut a word, the table is no wider than the console, and rich's own print of it (FittedTable.rich_table,
    # given the same widths and lines) is the same text
    import io
    import random

    from rich.cells import cell_len

    from planner.render.console import Column, fit_table, make_console, rich_console

    rng = random.Random(11)
    words = ["a", "GPU", "H100-SXM", "日本語", "3×8", "$1,234", "ok ←", "e\u0301", "317 ms (sim 314)", "(×5)", "†",
             "primeintellect", "does not fit in memory", "–", "0.0058", "simplepod"]
    narrowed = whole = 0
    for trial in range(300):
        columns = [Column(rng.choice(["GPU", "hours P50", "TTFT p95", "cost", "provider"]) + f"{i}",
                          rng.choice(["left", "right", "center"])) for i in range(rng.randint(2, 8))]
        rows = [[" ".join(rng.choices(words, k=rng.randint(0, 5))) for _ in columns] for _ in range(rng.randint(0, 8))]
        buffer = io.StringIO()
        console = make_console(buffer, width=rng.choice([40, 55, 80, 100]))
        table = fit_table(console, columns, rows, title=rng.choice([None, "Serving plans"]))
        if table.layout(console.width) is None:
            continue
        narrowed += 1
        text = table.plain_text(console.width)
        assert text is not None, trial
        longest = [max(cell_len(word) for row in [[c.header for c in table.columns],
                                                  *([r[i] for i in table.indices] for r in rows)]
                       for word in row[n].split() or [""]) for n in range(len(table.columns))]
        if sum(longest) + len(longest) - 1 <= console.width:  # a narrowed table is never framed
            assert not _cut_words(table, console.width), trial  # the longest words fit: none is cut
            whole += 1
        assert max(cell_len(line) for line in text.splitlines()) <= console.width, trial
        expected = io.StringIO()
        rich_console(expected, console.width).print(table.rich_table())
        assert text == expected.getvalue(), trial
    assert narrowed > 100 and whole > 50


def test_a_narrowed_cell_breaks_where_its_lines_are_no_wider_than_needed():
    # a cell wraps to as many lines as its column's width needs, broken where those lines are narrowest: '317 ms' /
    # '(sim 314)', not the greedy '317 ms (sim' / '314)'
    import io

    from planner.render.console import Column, fit_table, make_console

    console = make_console(io.StringIO(), width=40)
    columns = [Column("plan"), Column("TTFT p95", "right"), Column("TPOT p95", "right")]
    rows = [["5×4 RTX-A4000 · simplepod", "317 ms (sim 314)", "99 ms (sim 99)"],
            ["1×8 B200 · shadeform", "9.7 ms (sim 9.9)", "40 ms (sim 39)"]]
    table = fit_table(console, columns, rows)
    lines = table.cell_lines(console.width)
    assert [line.strip() for line in lines[1][1]] == ["317 ms", "(sim 314)"]
    assert all(len(cell) <= 2 for row in lines for cell in row)
    assert "(sim" not in [line.strip() for row in lines for cell in row for line in cell]


def test_where_a_word_must_be_cut_the_other_columns_keep_theirs():
    # `estimate profiles/serve-7b-chat.yaml --top 0` at 80 columns: 'RTX-PRO-6000-BLACKWELL' and the status's longest
    # words do not all fit, and rich's narrowing (the widest columns first) also cut 'primeintellect' in 126 rows: a
    # word is cut only in a column whose longest word cannot have its width
    import io

    from planner.render.console import Column, fit_table, make_console

    console = make_console(io.StringIO(), width=36)
    columns = [Column("#", "right"), Column("GPU"), Column("provider"), Column("$/month", "right")]
    rows = [["1", "RTX-PRO-6000-BLACKWELL-MAX-Q", "primeintellect (×2)", "$1,460 †"],
            ["2", "A100-80GB-SXM", "primeintellect", "$2,891"]]
    table = fit_table(console, columns, rows)
    assert table.plain_text(console.width) is not None
    cut = _cut_words(table, console.width)
    assert cut and all(text in ("RTX-PRO-6000-BLACKWELL-MAX-Q", "A100-80GB-SXM") for text, _ in cut), cut
    # and there after a hyphen, not wherever the column's width falls ('RTX-PRO-6000-BL' / 'ACKWELL-MAX-Q')
    for _, lines in cut:
        assert all(line.rstrip().endswith("-") for line in lines[:-1]), lines


def test_validate_at_80_columns_breaks_run_names_after_a_hyphen_and_keeps_gpus_whole(monkeypatch):
    # new-user QA round 8: `validate` at 80 columns grew from 418 to 507 lines: its run names (up to ~60 characters)
    # must break, and the layout that cut the fewest names kept the run column at 29, so 'N× A100-80GB-SXM' wrapped in
    # 89 rows; names broken after a hyphen or a dot take no more lines and read as words
    printed = _tables_printed(monkeypatch)
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    runs, width = printed[0]
    assert runs.title.startswith("Published runs") and [c.header for c in runs.columns][:2] == ["run", "GPUs"]
    lines = runs.cell_lines(width)[1:]
    names = [row[0] for row in lines]
    assert all(len(row[1]) == 1 for row in lines)  # every GPUs cell on one line
    assert sum(len(name) > 1 for name in names) > 100  # the long names do break…
    for text, name in zip((row[0] for row in runs.rows), names):
        assert "".join(line.strip() for line in name) == text
        assert all(line.rstrip()[-1] in "-." for line in name[:-1]), name  # …after a hyphen or a dot
    assert len(result.stdout.splitlines()) < 430  # 418 (507 with the GPUs wrapped, 417 with names cut anywhere)


def test_a_line_never_starts_with_a_separator():
    # new-user QA round 8: at 60 columns bert-train-then-serve's serving choices read '1×1 RTX-3060-TI' /
    # '· simplepod', and at 63 resnet50-imagenet's bill title '(#1: 4× RTX-3060-TI' / '· simplepod)': the break goes
    # after the separator, before the next item, in cells, titles and sentences alike
    import io

    from planner.render.console import Column, fit_table, make_console, wrap_lines

    console = make_console(io.StringIO(), width=40)
    columns = [Column("choice"), Column("plan"), Column("latency p95", "right"), Column("$/month", "right")]
    rows = [["cheapest with headroom, balanced", "1×1 RTX-3060-TI · simplepod", "32 ms", "$43.80"]]
    table = fit_table(console, columns, rows, title="Bill of plan #1: 4× RTX-3060-TI · simplepod")
    plan = [line.strip() for line in table.cell_lines(console.width)[1][1]]
    assert len(plan) > 1 and "RTX-3060-TI ·" in plan[-2] and plan[-1] == "simplepod", plan
    text = table.plain_text(console.width)
    assert text is not None and text.startswith("Bill of plan #1: 4× RTX-3060-TI ·       \nsimplepod    ")
    assert wrap_lines(["Whole bill of the plan (#1: 4× RTX-3060-TI · simplepod)"], 43) == [
        "Whole bill of the plan (#1: 4×", "RTX-3060-TI · simplepod)"]  # textwrap alone: '… RTX-3060-TI' / '· simplepod)'
    assert wrap_lines(["Whole bill of the plan (#1: 4× RTX-3060-TI · simplepod)"], 44) == [
        "Whole bill of the plan (#1: 4× RTX-3060-TI ·", "simplepod)"]


@pytest.mark.parametrize("name", ["bert-train-then-serve", "resnet50-imagenet", "serve-7b-chat"])
def test_no_example_line_starts_with_a_separator_at_any_width(name, monkeypatch):
    # every width from 40 to 80 columns: no line of a table's cells, of a title or of a sentence starts with '·', '—'
    # or '>' (bert-train-then-serve's serving choice at 80: 'cheapest at the targets' beside '· simplepod';
    # resnet50-imagenet's '— the P10–P90 interval …' and serve-7b-chat's '> the fitted 0.07)' at 80)
    import planner
    from planner.render import report
    from planner.render.console import SEPARATORS

    catalog = planner.load_catalog()
    planned = planner.plan(planner.load_profile(ROOT / "profiles" / f"{name}.yaml", catalog), catalog)
    printed = _tables_printed(monkeypatch)
    for width in range(40, 81):
        monkeypatch.setenv("COLUMNS", str(width))
        del printed[:]
        text = report.render_table(planned.estimate, 10, planned.decision)
        starts = [line for line in text.splitlines() if line.strip().startswith(SEPARATORS)]
        for table, at in printed:
            starts += [line for row in table.cell_lines(at) for cell in row for line in cell
                       if line.strip().startswith(SEPARATORS)]
        assert printed and not starts, (width, starts[:3])


def test_a_command_in_backticks_is_never_broken_inside(tmp_path, monkeypatch):
    # new-user QA round 15: the empty `gpuplan calibration list` at 80 columns broke `gpuplan calibration add FILE`
    # after `gpuplan, and the examples' accuracy note `gpuplan validate --cross-validate …` after `gpuplan validate
    from planner.render.console import wrap_lines

    store = tmp_path / "empty"
    store.mkdir()
    for width in (40, 60, 80, 120):
        monkeypatch.setenv("COLUMNS", str(width))
        listed = CliRunner().invoke(app, ["calibration", "list", "--calibrations", str(store)])
        assert listed.exit_code == 0
        assert all(line.count("`") % 2 == 0 for line in listed.stdout.splitlines()), (width, listed.stdout)
        assert "`gpuplan calibration add FILE`." in listed.stdout
    # a command wider than the line breaks at its spaces, as any sentence
    assert wrap_lines(["run `a b c d e f g h` now"], 10) == ["run `a b c", "d e f g h`", "now"]
    assert wrap_lines(["a `b c` d"], 7, "- ") == ["- a", "  `b c`", "  d"]


@pytest.mark.parametrize("args", [("catalog", "providers"), ("catalog", "list"), ("catalog", "models"),
                                  ("validate", "--only", "moe"),
                                  ("estimate", str(ROOT / "profiles" / "serve-7b-chat.yaml"))])
def test_a_table_narrowed_says_what_it_left_out_and_wide_shows_it(args, monkeypatch):
    # new-user QA round 26: `catalog providers` at 80 columns showed 5 of its 9 columns, said nothing of the others
    # and took no --wide; a table that leaves columns out names them, and the command's --wide brings them back
    out = run_at(60, monkeypatch, *args)
    assert "Left out at this width:" in out, out[-400:]
    monkeypatch.setenv("COLUMNS", "60")
    wide = gpuplan(*args, "--wide")
    assert wide.exit_code in (0, 1), wide.output
    assert "Left out at this width:" not in wide.stdout and widest(wide.stdout) > 60
