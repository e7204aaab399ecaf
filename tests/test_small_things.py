"""The small things of issue 16, each as a user meets it: --simulate without serving, Wrote PATH, diff formats and
--fail-above per metric, spot cost in one place, GPU prefixes and bare numbers, every validation error at once."""
import json

import pytest
from typer.testing import CliRunner

from planner.cli.main import app

from .conftest import ROOT

runner = CliRunner()
PRETRAIN = ROOT / "profiles" / "pretrain-1b-72h.yaml"
LORA = ROOT / "profiles" / "lora-7b-a6000.yaml"


def test_simulate_on_a_training_only_profile_says_so():
    result = runner.invoke(app, ["estimate", str(LORA), "--simulate", "--format", "json"])
    assert result.exit_code == 0
    assert "no inference section: nothing to simulate" in " ".join(result.stderr.split())  # wrapped to COLUMNS
    json.loads(result.stdout)  # the note stays off stdout


def test_html_says_where_it_wrote(tmp_path):
    page = tmp_path / "new-folder" / "report.html"
    result = runner.invoke(app, ["estimate", str(LORA), "--html", str(page), "--format", "json"])
    assert result.exit_code == 0 and page.is_file()
    assert f"Wrote {page} (created folder {page.parent})" in result.stderr
    again = runner.invoke(app, ["estimate", str(LORA), "--html", str(page), "--format", "json"])
    assert f"Wrote {page}\n" in again.stderr


def _two_plans(tmp_path):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    # the same offer and count on both sides (8 H100s), so three epochs are three times the GPU-hours; unpinned, the
    # cheapest plan for one epoch (RTX 6000 Ada instances over the assumed network) misses three epochs' deadline
    pin = ["--set", "constraints.gpus=[H100-SXM]", "--set", "constraints.gpu_count=8"]
    for path, extra in ((old, pin), (new, [*pin, "--set", "training.epochs=3"])):
        result = runner.invoke(app, ["estimate", str(PRETRAIN), "--format", "json", *extra])
        path.write_text(result.stdout)
    return old, new


def test_diff_formats_with_readable_numbers(tmp_path):
    old, new = _two_plans(tmp_path)
    data = json.loads(runner.invoke(app, ["diff", str(old), str(new), "--format", "json"]).stdout)
    by_metric = {c["metric"]: c for c in data["changes"] if c["section"] == "training"}
    # three epochs instead of one: three times the GPU-hours (the same plan)
    gpu_hours = by_metric["GPU-hours"]
    assert gpu_hours["key"] == "gpu_hours" and gpu_hours["new"] == pytest.approx(3 * gpu_hours["old"], rel=0.01)
    md = runner.invoke(app, ["diff", str(old), str(new), "--format", "markdown"]).stdout
    assert md.startswith("## Plan diff") and "| training | compute P50 (USD) | $" in md
    table = runner.invoke(app, ["diff", str(old), str(new)]).stdout
    assert "e+" not in table and not any(len(n) > 6 for n in
                                           (w.split(".")[1] for w in table.split() if w.count(".") == 1 and
                                            w.replace(".", "").replace(",", "").isdigit()))


def test_fail_above_applies_to_the_metrics_it_names(tmp_path):
    old, new = _two_plans(tmp_path)
    # GPU-hours triple: a cost-only threshold of 500% passes, a gpu_hours threshold of 25% fails
    assert runner.invoke(app, ["diff", str(old), str(new), "--fail-above", "cost=500%"]).exit_code == 0
    result = runner.invoke(app, ["diff", str(old), str(new), "--fail-above", "cost=500%,gpu_hours=25%"])
    assert result.exit_code == 1 and "training GPU-hours rose" in result.stdout
    assert [line for line in result.stdout.splitlines() if " rose " in line] == [
        line for line in result.stdout.splitlines() if line.startswith("training GPU-hours rose")]
    assert "above --fail-above gpu_hours=25%" in result.stdout
    bad = runner.invoke(app, ["diff", str(old), str(new), "--fail-above", "gpu_hour=25%"])
    assert bad.exit_code == 2 and "Did you mean 'gpu_hours'" in bad.output
    # new-user QA: a threshold under 0.5 % was printed as the one given: `gpu_hours=0.3` failed "above … =0%"
    small = runner.invoke(app, ["diff", str(old), str(new), "--fail-above", "gpu_hours=0.3%"])
    assert small.exit_code == 1 and "above --fail-above gpu_hours=0.3%" in small.stdout


def test_spot_plans_cost_the_same_in_every_table():
    result = runner.invoke(app, ["estimate", str(PRETRAIN), "--set", "constraints.spot=true", "--format", "json"])
    data = json.loads(result.stdout)
    first = data["decisions"]["training"]["choices"][0]
    plan = next(p for p in data["training"]["plans"] if (p["gpu"], p["provider"], p["gpu_count"], p["spot"]) ==
                (first["gpu"], first["provider"], first["gpu_count"], first["spot"]))
    assert plan["cost_usd"]["p50"] == first["cost_usd"] and plan["hours"]["p50"] == first["hours"]
    table = runner.invoke(app, ["estimate", str(PRETRAIN), "--set", "constraints.spot=true"]).stdout
    assert " spot " in table.split("Training plans for")[1] and "interruption overhead" in table


def test_gpu_prefix_is_reported_and_a_bare_number_gets_a_suggestion(write):
    text = "name: t\nmodel: {preset: llama-2-7b}\ntraining: {dataset: {tokens: 1B}}\nconstraints: {gpus: [A600]}\n"
    out = runner.invoke(app, ["estimate", str(write("p.yaml", text))]).stdout
    assert "'A600' read as RTX-A6000 (a prefix of its name)" in " ".join(out.split())
    result = runner.invoke(app, ["estimate", str(write("q.yaml", text.replace("[A600]", "[4090]")))])
    assert result.exit_code == 2 and "unknown GPU '4090'. Did you mean 'RTX-4090'" in result.output


def test_every_validation_error_of_a_file_at_once(write):
    text = ("name: t\nmodel: {preset: llama-2-7b, layerz: 3}\n"
            "training: {dataset: {tokens: -1B}, epochs: 0, precision: bf17}\ninference: {rate: 0/s}\n")
    result = runner.invoke(app, ["estimate", str(write("p.yaml", text))])
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: ") and "(4 more problems below)" in lines[0]
    assert [line.split(": ")[1] for line in lines[1:]] == ["training.dataset.tokens", "training.epochs",
                                                            "training.precision", "inference.rate"]
    many = "name: t\nmodel: {preset: llama-2-7b}\ntraining: {dataset: {tokens: 1B}, " + ", ".join(
        f"k{i}: 1" for i in range(30)) + "}\n"
    lines = runner.invoke(app, ["estimate", str(write("m.yaml", many))]).stderr.splitlines()
    assert len(lines) == 21 and lines[-1] == "  … and 10 more"  # 20 reported, then the count of the rest


def test_percentile_order_error_writes_seconds_as_readable_milliseconds():
    # new-user QA: `--set inference.slo.ttft_p50=10s` said "ttft_p50 (1e+04 ms) is above ttft_p95 (500 ms)"
    serve = ROOT / "profiles" / "serve-7b-chat.yaml"
    result = runner.invoke(app, ["estimate", str(serve), "--set", "inference.slo.ttft_p50=10s"])
    assert result.exit_code == 2
    assert "ttft_p50 (10,000 ms) is above ttft_p95 (500 ms)" in result.stderr
    result = runner.invoke(app, ["estimate", str(serve), "--set", "inference.slo.tpot_p50=0.0605s",
                                 "--set", "inference.slo.tpot_p95=0.0005s"])
    assert "tpot_p50 (60.5 ms) is above tpot_p95 (0.5 ms)" in result.stderr


def test_local_usd_per_hour_without_measurements_says_it_prices_nothing():
    # new-user QA: `--local-usd-per-hour 5` without --measurements was silently ignored (--simulate on a
    # training-only profile gets a note)
    result = runner.invoke(app, ["estimate", str(LORA), "--local-usd-per-hour", "5", "--format", "json"])
    assert result.exit_code == 0
    assert ("--local-usd-per-hour 5 prices the 'this machine' row that --measurements (or a stored calibration of "
            "this machine) adds; this run has no such row" in " ".join(result.stderr.split()))  # wrapped to COLUMNS
    assert not any(p["provider"] == "local" for p in json.loads(result.stdout)["training"]["plans"])
    quiet = runner.invoke(app, ["estimate", str(LORA), "--format", "json"])
    assert "--local-usd-per-hour" not in quiet.stderr


def test_the_plans_table_prices_at_the_confidence_it_ranks_by():
    # new-user QA: at --confidence 0.9 the plans ("best first", ranked by P90 cost) showed P50 costs, so lora-mixtral's
    # table read $32, $40, $36, $39.85, $38.64 down its rows; the column is the cost the ranking reads
    import json as _json

    mixtral = ROOT / "profiles" / "lora-mixtral-8x7b.yaml"
    result = runner.invoke(app, ["estimate", str(mixtral), "--confidence", "0.9", "--format", "markdown"])
    lines = result.stdout.split("\n## Training\n", 1)[1].splitlines()
    head = next(line for line in lines if line.startswith("| # |"))
    columns = [c.strip() for c in head.strip("|").split("|")]
    assert "compute P90" in columns and "compute P50" not in columns
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines
            if line.startswith("| ") and line[2:3].isdigit()]
    costs = [float(r[columns.index("compute P90")].split()[0].lstrip("$").replace(",", "")) for r in rows
             if r[columns.index("status")].startswith("ok")]
    assert len(costs) >= 5 and costs == sorted(costs)
    data = _json.loads(runner.invoke(app, ["estimate", str(mixtral), "--confidence", "0.9", "--format",
                                           "json"]).stdout)
    first = data["training"]["plans"][0]["cost_usd"]["p90"]
    assert costs[0] == pytest.approx(first, rel=0.01)  # the recommended plan's P90 cost, as the JSON has it
    median = runner.invoke(app, ["estimate", str(mixtral), "--format", "markdown"]).stdout
    assert "| compute P50 |" in median.split("\n## Training\n", 1)[1]


def test_the_p50_bill_names_the_plans_tables_cost_at_the_confidence():
    # new-user QA: at --confidence 0.9 lora-7b-a6000's bill read "USD, P50" $2.93 beside a plans table whose chosen
    # plan's compute P90 was $4.88, unexplained; the bill stays P50 (the JSON's cost_usd by contract) and says so
    import json as _json

    lora = ROOT / "profiles" / "lora-7b-a6000.yaml"
    text = runner.invoke(app, ["estimate", str(lora), "--confidence", "0.9", "--format", "markdown"]).stdout
    data = _json.loads(runner.invoke(app, ["estimate", str(lora), "--confidence", "0.9", "--format",
                                           "json"]).stdout)
    first = data["training"]["plans"][0]["cost_usd"]
    assert first["p90"] > first["p50"] * 1.1  # the two figures differ visibly, so the note is needed
    note = next(line for line in text.splitlines() if "This bill is the run at P50" in line)
    stated = float(note.rsplit("$", 1)[1].rstrip(".").replace(",", ""))
    assert stated == pytest.approx(first["p90"], rel=0.01)
    assert "the plans table prices this plan's compute at P90" in note
    median = runner.invoke(app, ["estimate", str(lora), "--format", "markdown"]).stdout
    assert "This bill is the run at P50" not in median  # at 0.5 the two agree: nothing to say


def test_runs_of_minutes_read_apart_in_the_hours_columns_and_trade_offs():
    # new-user QA: with a 10-minute deadline the choices took 0.145, 0.101 and 0.058 h, all printed 0.1, and the
    # cheapest was "0.1 h longer than the fastest"; below 1 h the cells keep two significant figures, the trade-off
    # sentences say minutes
    from planner.readable import hours

    assert [hours(v) for v in (0.1451, 0.1011, 0.05806, 0.999, 0.0, 7.089, 197.7)] == \
        ["0.15", "0.10", "0.058", "1.0", "0.0", "7.1", "197.7"]
    args = ["estimate", str(PRETRAIN), "--set", "training.deadline=10min", "--top", "3"]
    doc = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    choices = [c for c in doc["decisions"]["training"]["choices"] if c["hours"] < 1]
    assert len(choices) >= 3
    text = runner.invoke(app, [*args, "--format", "markdown"]).stdout
    cells = {hours(c["hours"]) for c in choices}
    assert len(cells) == len({c["hours"] for c in choices}), cells  # distinct runs, distinct cells
    for cell in cells:
        assert f"| {cell} |" in text, cell
    assert "min longer than the fastest" in text and " h longer than the fastest" not in text


def test_confidence_on_a_serving_only_profile_says_it_changes_nothing():
    # new-user QA: --confidence 0.9 on serve-7b-chat gave byte-identical output to 0.5, silently (serving plans hold
    # their targets at the median, the recommendation with headroom at P10); a note on stderr, stdout unchanged
    serve = ROOT / "profiles" / "serve-7b-chat.yaml"
    at_90 = runner.invoke(app, ["estimate", str(serve), "--confidence", "0.9", "--format", "json", "--top", "1"])
    at_50 = runner.invoke(app, ["estimate", str(serve), "--format", "json", "--top", "1"])
    assert at_90.exit_code == 0 and at_90.stdout == at_50.stdout
    assert "Note: --confidence 0.9 sets the quantile of training hours" in at_90.stderr
    assert "--confidence" not in at_50.stderr
    trained = runner.invoke(app, ["estimate", str(LORA), "--confidence", "0.9", "--format", "json", "--top", "1"])
    assert "--confidence" not in trained.stderr


def test_a_count_the_samples_length_changed_is_not_called_the_presets():
    # new-user QA: gpt2-124m trained on 4,096-token samples read '126.7M params (preset gpt2-124m)': its learned
    # position table grows with the samples, and the preset states 124.4M at 1,024
    args = ["estimate", str(LORA), "--set", "model.preset=gpt2-124m", "--set", "training.dataset.tokens_per_sample=4096",
            "--set", "training.method=full", "--set", "training.lora_rank=null", "--top", "1", "--format", "markdown"]
    text = runner.invoke(app, args).stdout
    assert ("126.7M params (derived from the architecture at 4,096 tokens a sample; the preset states 124.4M at "
            "1,024)") in text, text[:600]
    # rotary positions: the count does not move with the samples' length, and stays the preset's
    same = runner.invoke(app, ["estimate", str(LORA), "--top", "1", "--format", "markdown"]).stdout
    assert "6.738B params (preset llama-2-7b)" in same


def test_notes_on_stderr_wrap_to_the_terminal():
    # new-user QA round 8: notes on stderr were one line of up to ~250 characters, which a terminal folds mid-word;
    # they wrap between words to COLUMNS, continuation lines indented under the note's text, the text unchanged
    serve = ROOT / "profiles" / "serve-7b-chat.yaml"
    for width in (40, 60, 80):
        result = runner.invoke(app, ["estimate", str(serve), "--confidence", "0.9", "--format", "json", "--top", "1"],
                               env={"COLUMNS": str(width)})
        lines = result.stderr.splitlines()
        assert len(lines) > 2 and lines[0].startswith("Note: --confidence 0.9") and result.exit_code == 0
        assert all(line.startswith("      ") and line[6] != " " for line in lines[1:]), lines
        assert all(len(line) <= width for line in lines if str(serve) not in line), lines  # a path stays whole
        assert " ".join(line.strip() for line in lines).endswith(
            "has no training section: serving plans hold their targets at the median efficiency, and the "
            "recommendation with headroom at the P10 efficiency, at any --confidence.")


def test_csv_warnings_go_to_stderr():
    # new-user QA round 8: the table, markdown and JSON warn of old prices among the plans shown; --format csv said
    # nothing (its rows carry price_as_of): the warnings go to stderr, wrapped, the CSV on stdout unchanged
    profile = ROOT / "profiles" / "long-context-llama-8b.yaml"
    result = runner.invoke(app, ["estimate", str(profile), "--format", "csv"], env={"COLUMNS": "60"})
    table = runner.invoke(app, ["estimate", str(profile)], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and result.stdout.startswith("section,gpu,provider")
    warned = [line for line in table.stdout.splitlines() if line.startswith("Warning: ")]
    # the warnings, then the network notes as 'Note: …' (new-user QA round 30: the table's 'Assumed network' line)
    stderr = " ".join(line.strip() for line in result.stderr.splitlines())
    assert warned and stderr.startswith(" ".join(warned))
    noted = " ".join(table.stdout.split()).split("Assumed network: ")[1].split(").")[0]
    assert stderr[len(" ".join(warned)):] == f" Note: Assumed network: {noted})."
    assert max(len(line) for line in result.stderr.splitlines()) <= 60


def test_a_failed_threshold_reads_past_it():
    # new-user QA round 8: `diff p.yaml p.yaml --set training.deadline=48h --fail-above cost=10%` (pretrain-1b-72h,
    # $74.52 -> $82.08, +10.14%) read 'rose 10%, above --fail-above cost=10%': the rise with the decimals that show it
    from planner.decide.diff import Change, failures

    change = Change("training", "compute P50 (USD)", 74.52, 82.08, True, "cost")
    [line] = failures([change], [], {"cost": 0.10})
    assert line == "training compute P50 (USD) rose 10.1%, above --fail-above cost=10%"
    assert failures([Change("training", "GPU-hours", 100.0, 125.0, False, "gpu_hours")], [], {"gpu_hours": 0.1}) == [
        "training GPU-hours rose 25%, above --fail-above gpu_hours=10%"]


@pytest.mark.parametrize("seconds, table, sentence", [
    # below 10 s: milliseconds as before ('9,999 ms' is read at a glance)
    (0.0097, "9.7 ms", "9.7 ms"), (0.497, "497 ms", "497 ms"), (9.9994, "9,999 ms", "9,999 ms"),
    # new-user QA round 23: a sentence's ms keep a decimal below 10 ms ('at least 3 ms (now 3 ms)' was 3.406 ms)
    (0.003406, "3.4 ms", "3.4 ms"), (0.003, "3.0 ms", "3.0 ms"), (0.00996, "10.0 ms", "10 ms"),
    # new-user QA round 18: the 'this machine' row of a 7B model on a CPU read '31,078,772 ms' and wrapped the table;
    # from 10 s the unit steps as the planner's other durations do: s below 2 min, min below 2 h, then h
    (10.237, "10.2 s", "10.2 s"), (119.0, "119 s", "119 s"), (498.755, "8.31 min", "8.31 min"),
    (31_078.772, "8.6 h", "8.6 h"), (3.6e18, "1e+15 h", "1e+15 h"),
])
def test_a_long_latency_is_written_in_a_larger_unit(seconds, table, sentence):
    from planner.readable import ms, whole_ms

    assert ms(seconds) == table
    assert whole_ms(seconds) == sentence


def test_a_missed_latency_target_reads_in_the_same_units():
    from planner.plans.verdict import Kind, Verdict, reasons

    missed = (Verdict(Kind.SLO_MISSED, 498.755, 2.0, "ttft_p95"), Verdict(Kind.SLO_MISSED, 10.237, 0.5, "tpot_p95"))
    assert reasons(missed) == ("misses ttft p95 (8.31 min > 2,000 ms); misses tpot p95 (10.2 s > 500 ms)",)
