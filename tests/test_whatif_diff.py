"""What-if (`--set`) and `gpuplan diff` with `--fail-above`."""
import json

import pytest
from typer.testing import CliRunner

import planner
from planner.cli.main import app
from planner.decide.diff import Change, cost_rises_above, parse_threshold
from planner.model.costing import billed_hours

from .conftest import ROOT, gpuplan

runner = CliRunner()
PRETRAIN = ROOT / "profiles" / "pretrain-1b-72h.yaml"


def estimate_json(*args):
    result = gpuplan("estimate", str(PRETRAIN), "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def saved_estimate(path, *args):
    """The estimate's JSON written to `path` (what a user keeps with `-f json > path`), for `diff`."""
    path.write_text(json.dumps(estimate_json(*args)))
    return path


def test_set_changes_the_profile_before_validation():
    base = estimate_json()["training"]
    more = estimate_json("--set", "training.epochs=3", "--set", "constraints.gpus=[A100-80GB-SXM]")["training"]
    # 3 epochs of 20B tokens: three times the tokens and the FLOP
    assert more["workload"]["tokens"] == 3 * base["workload"]["tokens"]
    assert more["workload"]["flops_total"] == pytest.approx(3 * base["workload"]["flops_total"], rel=1e-3)
    assert {p["gpu"] for p in more["plans"]} == {"A100-80GB-SXM"}


def test_set_accepts_human_units_and_new_sections():
    data = estimate_json("--set", "training.deadline=1min")
    assert data["training"]["recommended"] is None
    data = estimate_json("--set", "constraints.providers=[lambda]")
    assert {p["provider"] for p in data["training"]["plans"]} == {"lambda"}


@pytest.mark.parametrize("override, message", [
    ("training.epochs", "expected KEY.PATH=VALUE"),
    ("training.epoch=3", "unknown key 'epoch'"),
    ("training.epochs=-1", "training.epochs"),
    ("name.first=x", "name is a single value ('pretrain-1b-72h'), with nothing under it to set"),
    ("constraints.gpus=[H100]", "did you mean"),
])
def test_bad_set_is_one_error_exit_2(override, message):
    result = runner.invoke(app, ["estimate", str(PRETRAIN), "--set", override])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    # the option named once (a hint may show how to write another)
    assert result.output.count("--set") == 1 + result.output.count("For example --set") * 2 \
        + result.output.count("Set it whole: --set")


def test_set_reaches_into_a_list_by_index():
    # new-user QA: `--set constraints.owned.0.count=4` said "constraints.owned is not a mapping", with no way on
    owned = ROOT / "docs" / "examples" / "owned-4090.yaml"

    def plans(*args):
        result = gpuplan("estimate", str(owned), "--format", "json", *args)
        assert result.exit_code in (0, 1), result.output
        return [p for p in json.loads(result.stdout)["training"]["plans"] if p["provider"] == "owned"]

    assert {p["gpu_count"] for p in plans()} == {2}
    assert {p["gpu_count"] for p in plans("--set", "constraints.owned.0.count=4")} == {4}
    assert plans("--set", "constraints.owned.0=null") == []  # null removes the item
    result = runner.invoke(app, ["estimate", str(owned), "--set", "constraints.owned.1.count=4"])
    assert result.exit_code == 2 and "constraints.owned is a list of 1 item; '1' is not one of its indices (0 to 0)" \
        in result.output and "Give the whole list: --set constraints.owned=[…]." in result.output
    # new-user QA round 12: an item of a list the profile does not have made a mapping ('constraints.gpus: Input should
    # be a valid list'), and a key under a single value read "training.epochs is not a mapping"
    missing = runner.invoke(app, ["estimate", str(PRETRAIN), "--set", "constraints.gpus.0=H100-SXM"])
    assert missing.exit_code == 2 and missing.stderr == (
        "Error: --set constraints.gpus.0=H100-SXM: constraints.gpus is not in the profile, so it has no item 0 to "
        "set. Give the whole list: --set constraints.gpus=[…].\n")
    scalar = runner.invoke(app, ["estimate", str(PRETRAIN), "--set", "training.epochs.0=3"])
    assert scalar.exit_code == 2 and scalar.stderr == (
        f"Error: {PRETRAIN}:8: training.epochs.0: --set training.epochs.0=3: training.epochs is a single value (1), "
        "with nothing under it to set. Set it whole: --set training.epochs=….\n")
    # an error in the item is placed at the option that set it
    result = runner.invoke(app, ["estimate", str(owned), "--set", "constraints.owned.0.count=0"])
    assert result.exit_code == 2 and result.stderr.startswith(
        "Error: --set constraints.owned.0.count=0: constraints.owned.0.count: expected a whole number from 1")


def test_a_set_without_equals_names_the_option_once():
    result = runner.invoke(app, ["estimate", str(PRETRAIN), "--set", "nonsense"])
    assert result.exit_code == 2
    assert result.output.startswith("Error: --set nonsense: expected KEY.PATH=VALUE.")


def test_diff_shows_the_change_and_fails_above_the_threshold(tmp_path):
    old = saved_estimate(tmp_path / "old.json")
    new = saved_estimate(tmp_path / "new.json", "--set", "training.epochs=3")
    result = runner.invoke(app, ["diff", str(old), str(new)])
    assert result.exit_code == 0, result.output
    assert "GPU-hours" in result.stdout and "compute P50 (USD)" in result.stdout
    result = runner.invoke(app, ["diff", str(old), str(new), "--fail-above", "15%"])
    assert result.exit_code == 1
    assert "above --fail-above cost=15%" in result.stdout
    # the same plan: 0% change, passes any threshold
    result = runner.invoke(app, ["diff", str(old), str(old), "--fail-above", "0%"])
    assert result.exit_code == 0 and "+0.0%" in result.stdout


def test_diff_of_two_profiles(write):
    cheaper = write("cheap.yaml", PRETRAIN.read_text().replace("tokens: 20B", "tokens: 10B"))
    result = runner.invoke(app, ["diff", str(PRETRAIN), str(cheaper), "--fail-above", "15%"])
    assert result.exit_code == 0, result.output  # cheaper is fine
    result = runner.invoke(app, ["diff", str(cheaper), str(PRETRAIN), "--fail-above", "15%"])
    assert result.exit_code == 1


def test_cost_rise_arithmetic():
    # 100 → 116 is +16 %: above 15 %; 100 → 115 is not
    assert cost_rises_above([Change("training", "cost", 100.0, 116.0, True)], 0.15)
    assert not cost_rises_above([Change("training", "cost", 100.0, 115.0, True)], 0.15)
    assert not cost_rises_above([Change("training", "hours", 100.0, 300.0, False)], 0.15)
    assert cost_rises_above([Change("inference", "$/month", None, 10.0, True)], 0.15)  # a new bill
    assert parse_threshold("15%") == pytest.approx(0.15) and parse_threshold("15") == pytest.approx(0.15)


@pytest.mark.parametrize("content, message", [
    ("{", "bad.json:1:2: not valid JSON: the file ends inside an object (cut short?); expected a key in double quotes"),
    ('{"a": 1}', "not a gpuplan estimate"),
    # a newer gpuplan's estimate says so (new-user QA round 9: it read 'not a gpuplan estimate')
    ('{"schema_version": 99, "profile": "p"}', "schema_version: estimate format version 99 was written by a newer "
                                               "gpuplan; this gpuplan reads version 1"),
    ('{"schema_version": 99}', "not a gpuplan estimate"),
    # new-user QA round 16: validate's document (schema_version 1, no sections) was diffed as an empty estimate, exit 1
    ('{"schema_version": 1, "cross_validate": null, "runs": [], "summary": {}}',
     "bad.json: not a gpuplan estimate (no profile name): it is `gpuplan validate --format json`'s output. Give"),
    ('{"schema_version": 1, "old": "a.json", "new": "b.json", "changes": []}',
     "bad.json: not a gpuplan estimate (no profile name): it is `gpuplan diff --format json`'s output. Give")])
def test_diff_bad_input_exit_2(write, content, message):
    bad = write("bad.json", content)
    result = runner.invoke(app, ["diff", str(bad), str(PRETRAIN)])
    assert result.exit_code == 2 and message in result.output


def test_a_cut_short_or_mistyped_estimate_says_where_and_what_was_expected(tmp_path):
    # new-user QA leftover: Python's json wording, 'not JSON: Unterminated string starting at.' for an estimate cut
    # short inside a string, 'Expecting value', 'Expecting property name enclosed in double quotes'
    estimate = runner.invoke(app, ["estimate", str(PRETRAIN), "--format", "json"]).stdout
    start = estimate.index('"profile": "') + len('"profile": ')  # cut inside the profile's name, a string
    line, column = estimate[:start].count("\n") + 1, start - estimate[:start].rfind("\n")
    cut = tmp_path / "cut.json"
    cut.write_text(estimate[:start + 5])
    result = runner.invoke(app, ["diff", str(cut), str(PRETRAIN)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"Error: {cut}:{line}:{column}: not valid JSON: the file ends inside the string that "
                             "starts here (cut short?); expected its closing '\"'. Give the output of `gpuplan "
                             "estimate PROFILE --format json`, or a profile.\n")
    for text, said in [("", "1:1: not valid JSON: the file is empty; expected a JSON document."),
                       ('{"a": 1,}', "1:9: not valid JSON: expected another key in double quotes after ',', found "
                                     "'}' (JSON has no trailing commas)."),
                       ("{'a': 1}", "1:2: not valid JSON: expected a key in double quotes, found a single quote"),
                       ('{"a": 1 "b": 2}', "1:9: not valid JSON: expected ',' between items, or the closing '}' or "
                                           "']', found '\"'."),
                       ('{"a": undefined}', "1:7: not valid JSON: expected a value (a string in double quotes, a "
                                            "number, an object, an array, true, false or null), found 'undefined'."),
                       ('{"a": [1, 2', "1:12: not valid JSON: the file ends inside an object or array (cut short?)"),
                       ('{"a": 1}\n{"b": 2}', "2:1: not valid JSON: the JSON document is complete before the file "
                                              "ends: found '{' after it (one document per file)."),
                       ('{"a": "x\ny"}', "1:9: not valid JSON: a line break inside a string; expected it escaped"),
                       ('{"a": "\\q"}', "1:8: not valid JSON: invalid escape '\\q' in a string")]:
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        result = runner.invoke(app, ["diff", str(bad), str(PRETRAIN)])
        assert result.exit_code == 2 and result.stderr.startswith(f"Error: {bad}:{said}"), (text, result.stderr)
        assert "Expecting" not in result.stderr and "Traceback" not in result.stderr


def test_a_cut_short_json_record_or_profile_is_named_as_json(tmp_path):
    # JSON is YAML, so records and profiles may be written as JSON; one cut short read 'YAML syntax error: found
    # unexpected end of stream' (new-user QA leftover)
    import json

    import yaml

    record = json.dumps(yaml.safe_load((ROOT / "docs" / "records" / "cpu-calibration.yaml").read_text()), indent=2,
                        default=str)
    cut = tmp_path / "record.json"
    cut.write_text(record[:record.index('"measured_at"') + 20])  # inside the date's string
    store = tmp_path / "store"
    result = runner.invoke(app, ["calibration", "add", str(cut), "--calibrations", str(store)])
    line = record[:record.index('"measured_at"')].count("\n") + 1
    assert result.exit_code == 2 and result.stderr.startswith(
        f"Error: {cut}:{line}:18: not valid JSON: the file ends inside the string that starts here (cut short?); "
        "expected its closing '\"'. It looks cut short: copy or write it again.")
    assert not store.exists()
    profile = tmp_path / "profile.json"
    profile.write_text('{"name": "p", "model": {"preset": "llama-2-7b"}, "training": {"dataset": ')
    result = runner.invoke(app, ["estimate", str(profile)])
    assert result.exit_code == 2 and result.stderr == (
        f"Error: {profile}:1:{len(profile.read_text()) + 1}: not valid JSON: the file ends where a value was expected (cut short?). It looks cut "
        "short: copy or write it again.\n")
    # a .yaml file keeps YAML's words
    (tmp_path / "profile.yaml").write_text(profile.read_text())
    result = runner.invoke(app, ["estimate", str(tmp_path / "profile.yaml")])
    assert result.exit_code == 2 and "YAML syntax error" in result.stderr


def test_an_estimate_with_a_byte_order_mark_is_read(tmp_path):
    # new-user QA round 16: an estimate saved with a UTF-8 BOM (PowerShell, Notepad) read 'not JSON: Unexpected UTF-8
    # BOM (decode using utf-8-sig)', where a profile with one is read
    estimate = runner.invoke(app, ["estimate", str(PRETRAIN), "--format", "json"]).stdout
    marked = tmp_path / "bom.json"
    marked.write_text("\ufeff" + estimate, encoding="utf-8")
    result = runner.invoke(app, ["diff", str(marked), str(PRETRAIN)])
    assert result.exit_code == 0, result.output


def test_bad_threshold_exit_2():
    result = runner.invoke(app, ["diff", str(PRETRAIN), str(PRETRAIN), "--fail-above", "lots"])
    assert result.exit_code == 2 and "--fail-above" in result.output
    # new-user QA: 'Error: --fail-above: --fail-above 'abc': expected …' named the option twice, and the value
    # 'abc' of 'cost=abc' as if it were the whole option
    for value, words in (("cost=abc", "expected a percentage such as 15%, got 'abc'"),
                         ("cost=-5%", "expected a percentage of 0% or more, got '-5%'"),
                         # new-user QA round 15: 'inf%' (and '1e400%', inf to float()) passed whatever changed
                         ("cost=inf%", "expected a finite percentage such as 15%, got 'inf%'\n"),
                         ("1e400%", "expected a finite percentage such as 15%, got '1e400%'\n"),
                         ("gpu_hours=nan%", "expected a finite percentage such as 15%, got 'nan%'\n"),
                         # new-user QA round 18: float() read '1_0' as 10, so '1_0%' was a 10 % threshold
                         ("1_0%", "expected a percentage such as 15%, its digits grouped in threes if at all (1,000 "
                                  "or 1_000), got '1_0%'\n"),
                         ("hours=0.1_5%", "expected a percentage such as 15%, its digits grouped in threes if at all "
                                          "(1,000 or 1_000), got '0.1_5%'\n")):
        result = runner.invoke(app, ["diff", str(PRETRAIN), str(PRETRAIN), "--fail-above", value])
        assert result.exit_code == 2 and result.output.startswith(f"Error: --fail-above: {words}"), result.output
        assert result.output.count("--fail-above") == 1
    # new-user QA: 'cost=0.15' was a 0.15 % threshold ("rose 50%, above --fail-above cost=0.15%"); a bare number
    # between 0 and 1 is refused as a profile's discount is (schema/units.py check_bare_percent)
    for value, words in (("cost=0.15", "0.15 reads as 0.15%, and may be meant as the share 15%: write 15% or 0.15%"),
                         ("0.5", "0.5 reads as 0.5%, and may be meant as the share 50%: write 50% or 0.5%"),
                         ("cost=15%,gpu_hours=0.25", "0.25 reads as 0.25%, and may be meant as the share 25%: write "
                                                     "25% or 0.25%"),
                         # new-user QA round 21: the share was rounded ("the share 100%: write 99.9% or 0.999%")
                         ("cost=0.999", "0.999 reads as 0.999%, and may be meant as the share 99.9%: write 99.9% or "
                                        "0.999%")):
        result = runner.invoke(app, ["diff", str(PRETRAIN), str(PRETRAIN), "--fail-above", value])
        assert result.exit_code == 2 and result.stderr == f"Error: --fail-above: {words}\n", result.output
    for value in ("cost=0.15%", "cost=15", "cost=0", "cost=1"):  # a % sign, 0, or 1 and more: not ambiguous
        result = runner.invoke(app, ["diff", str(PRETRAIN), str(PRETRAIN), "--fail-above", value])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["diff", str(PRETRAIN), str(PRETRAIN), "--fail-above", "1_000%"])  # grouped in threes
    assert result.exit_code == 0, result.output
    # new-user QA round 12: a metric named twice kept the last share, silently (a bare share is cost's)
    for value in ("cost=15%,cost=20%", "15%,cost=20%"):
        result = runner.invoke(app, ["diff", str(PRETRAIN), str(PRETRAIN), "--fail-above", value])
        assert result.exit_code == 2
        assert result.stderr == f"Error: --fail-above: cost is named twice in {value!r}. Give each metric once.\n"


def test_diff_fails_when_a_side_has_no_recommended_plan(tmp_path):
    # `--set training.budget=1` leaves every plan over budget: recommended is null and plans[0] is only the closest
    # plan. diff used to compare that plan (+0.0%) and pass; now it says there is nothing to compare and exits 1.
    data = estimate_json()
    assert isinstance(data["training"]["recommended"], int)
    old, new = tmp_path / "old.json", tmp_path / "imp.json"
    old.write_text(json.dumps(data))
    data["training"]["recommended"] = None
    new.write_text(json.dumps(data))
    for args, side in (([str(old), str(new), "--fail-above", "cost=10%"], "imp.json (new)"),
                       ([str(new), str(old)], "imp.json (old)")):
        result = runner.invoke(app, ["diff", *args])
        assert result.exit_code == 1, result.output
        assert f"{side}: training has no recommended plan" in result.stdout
        assert "none recommended" in result.stdout and "+0.0%" not in result.stdout
        assert " rose " not in result.stdout  # the missing side is not read as a cost that "rose from nothing"
    del data["training"]["recommended"]  # absent reads as null
    new.write_text(json.dumps(data))
    result = runner.invoke(app, ["diff", str(old), str(new), "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["no_recommended_plan"] == [{"section": "training", "side": "new"}]
    assert "training has no recommended plan" in result.stderr


def test_a_named_metric_neither_plan_has_is_bad_input(tmp_path):
    # new-user QA: `--fail-above ttft_p95=5%` on a training diff (or latency_p95 on a chat model's, whose plans carry
    # TTFT and TPOT) was never checked, so a CI guard on it passed whatever changed
    data = estimate_json()
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(data))
    data["training"]["plans"][data["training"]["recommended"]]["cost_usd"]["p50"] *= 3
    new.write_text(json.dumps(data))
    result = runner.invoke(app, ["diff", str(old), str(new), "--fail-above", "ttft_p95=5%"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.startswith("Error: --fail-above: ttft_p95: neither recommended plan has this metric")
    assert "(these plans have: cost, gpu_hours, hours, gpus)" in result.output
    result = runner.invoke(app, ["diff", str(old), str(new), "--fail-above", "cost=10%,latency_p95=1%"])
    assert result.exit_code == 2 and result.output.startswith("Error: --fail-above: latency_p95: neither")
    assert runner.invoke(app, ["diff", str(old), str(new), "--fail-above", "cost=10%"]).exit_code == 1


def test_a_latency_p99_target_is_compared_and_guarded(tmp_path):
    # new-user QA: a model served at latency_p99 (the latency its decision shows since fc79e0f) was compared on p95
    # only, and --fail-above named no p99, so a CI guard could not hold the targeted latency
    result = gpuplan("estimate", str(ROOT / "profiles" / "bert-train-then-serve.yaml"), "--format", "json",
                     "--set", "inference.slo={latency_p99: 50ms}")
    data = json.loads(result.stdout)
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(data))
    plan = data["inference"]["plans"][data["inference"]["recommended"]]
    before = plan["latency_ms"]["p99"]
    plan["latency_ms"]["p99"] = before * 1.5
    new.write_text(json.dumps(data))
    result = runner.invoke(app, ["diff", str(old), str(new), "--fail-above", "latency_p99=10%", "--format", "json"])
    assert result.exit_code == 1, result.output
    rows = {(c["section"], c["key"]): c for c in json.loads(result.stdout)["changes"]}
    assert rows[("inference", "latency_p99")]["old"] == before and rows[("inference", "latency_p99")]["relative"] == 0.5
    assert rows[("inference", "latency_p95")]["relative"] == 0 and ("inference", "latency_p50") in rows
    assert "inference latency p99 (ms) rose 50%, above --fail-above latency_p99=10%" in result.stderr


def test_a_doubled_job_reads_plus_100_percent_from_profiles_and_from_json(tmp_path):
    # new-user QA: twice the tokens on the same plan read "+100.0%" GPU-hours but "+99.9%" hours and cost, the
    # percentages taken from hours and dollars rounded to the JSON's 4 significant figures (191.8 -> 383.5)
    from planner.readable import change_percent

    text = PRETRAIN.read_text().replace("deadline: 72h", "deadline: 720h").replace("budget: $20k", "budget: $200k")
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(text)
    new.write_text(text.replace("tokens: 20B", "tokens: 40B"))
    data = json.loads(runner.invoke(app, ["diff", str(old), str(new), "--format", "json"]).stdout)
    numbers = [c for c in data["changes"] if c["relative"] is not None]
    assert {c["key"] for c in numbers} == {"gpus", "gpu_hours", "hours", "cost"}
    # twice the steps after the same start-up (model/startup.py), from unrounded values
    catalog = planner.load_catalog()
    first = planner.plan(planner.load_profile(old, catalog), catalog).decision.training.choices[0].option.plan
    startup = first.startup_s / 3600
    doubled = 2 * first.hours_p50 - startup
    assert 0.999 < doubled / first.hours_p50 - 1 < 1.0
    billed = billed_hours(doubled, first.billing_seconds) / billed_hours(first.hours_p50, first.billing_seconds) - 1
    expected = {"gpu_hours": doubled / first.hours_p50 - 1, "hours": doubled / first.hours_p50 - 1, "cost": billed,
                "gpus": 0.0}  # the same plan, on twice the tokens
    assert all(c["relative"] == pytest.approx(expected[c["key"]], abs=1e-6) for c in numbers), numbers
    old_json, new_json = tmp_path / "old.json", tmp_path / "new.json"
    for profile, out in ((old, old_json), (new, new_json)):
        out.write_text(runner.invoke(app, ["estimate", str(profile), "--format", "json"]).stdout)
    for a, b in ((old, new), (old_json, new_json)):
        table = runner.invoke(app, ["diff", str(a), str(b)]).stdout
        assert "99.9" not in table and table.count("+100%") == 3, table
    assert [change_percent(s) for s in (0.999479, 0.053, -0.004, 0.0, -0.25)] == ["+100%", "+5.3%", "-0.4%", "+0.0%",
                                                                                   "-25%"]
    # a rounding residue below a tenth of a point reads +0.0%, not -0.0% (a profile against its own rounded JSON)
    assert [change_percent(s) for s in (-0.0004, 0.0004, -0.0)] == ["+0.0%", "+0.0%", "+0.0%"]


def test_diff_plans_a_profile_at_its_estimates_confidence(tmp_path):
    """New-user QA: a P90 estimate diffed against its own profile (planned at P50) read as a change of plan
    (24× -> 12× RTX-A4000, hours +80 %), silently."""
    p90 = saved_estimate(tmp_path / "p90.json", "--confidence", "0.9")
    result = runner.invoke(app, ["diff", str(p90), str(PRETRAIN), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "Note: pretrain-1b-72h.yaml planned at confidence 0.9, as p90.json was." in result.stderr
    changes = json.loads(result.stdout)["changes"]
    assert all(c["old"] == c["new"] for c in changes if c["metric"] == "plan")
    assert all(abs(c["relative"]) < 0.001 for c in changes if c["relative"] is not None)


def test_diff_says_when_two_estimates_were_made_at_different_confidences(tmp_path):
    p50 = saved_estimate(tmp_path / "p50.json")
    p90 = saved_estimate(tmp_path / "p90.json", "--confidence", "0.9")
    result = runner.invoke(app, ["diff", str(p50), str(p90)])
    assert result.exit_code == 0, result.output
    assert "Note: p50.json was planned at confidence 0.5 and p90.json at 0.9" in result.stderr
    same = runner.invoke(app, ["diff", str(p50), str(PRETRAIN)])
    assert same.exit_code == 0 and "Note:" not in same.stderr


def test_diff_set_plans_a_what_if_of_the_new_profile_only():
    """QA leftover: diff had no --set; a what-if against the same profile is one command. The new side is the
    estimate with the override (the same as `estimate --set`), the old side the profile as written."""
    result = runner.invoke(app, ["diff", str(PRETRAIN), str(PRETRAIN), "--set", "training.epochs=2", "-f", "json"])
    assert result.exit_code == 0, result.output
    rows = {(c["section"], c["key"]): c for c in json.loads(result.stdout)["changes"]}
    assert json.loads(result.stdout)["new_set"] == ["training.epochs=2"]  # what NEW was planned with
    base, more = estimate_json()["training"], estimate_json("--set", "training.epochs=2")["training"]
    for doc, side in ((base, "old"), (more, "new")):
        plan = doc["plans"][doc["recommended"]]
        assert rows[("training", "gpu_hours")][side] == pytest.approx(plan["gpu_hours"], rel=1e-3)
    assert rows[("training", "gpu_hours")]["relative"] > 1.0  # twice the tokens: more than twice the GPU-hours here


def test_a_diff_with_set_says_so_in_its_title():
    # new-user QA: `diff p.yaml p.yaml --set training.epochs=3 -f markdown` was titled 'p.yaml → p.yaml', a CI
    # report that did not say what changed
    result = runner.invoke(app, ["diff", str(PRETRAIN), str(PRETRAIN), "--set", "training.epochs=2", "-f", "markdown"])
    assert result.stdout.splitlines()[0] == ("## Plan diff: pretrain-1b-72h.yaml → pretrain-1b-72h.yaml --set "
                                             "training.epochs=2")


def test_diff_confidence_plans_both_profiles_at_it():
    result = runner.invoke(app, ["diff", str(PRETRAIN), str(PRETRAIN), "--confidence", "P90", "-f", "json"])
    assert result.exit_code == 0, result.output
    p90 = estimate_json("--confidence", "0.9")["training"]
    plan = p90["plans"][p90["recommended"]]
    rows = {(c["section"], c["key"]): c for c in json.loads(result.stdout)["changes"]}
    assert rows[("training", "gpu_hours")]["old"] == rows[("training", "gpu_hours")]["new"] \
        == pytest.approx(plan["gpu_hours"], rel=1e-3)


def test_diff_confidence_against_an_estimate_of_another_says_so(tmp_path):
    p50 = saved_estimate(tmp_path / "p50.json")
    result = runner.invoke(app, ["diff", str(p50), str(PRETRAIN), "--confidence", "0.9"])
    assert result.exit_code == 0, result.output
    assert "Note: p50.json was planned at confidence 0.5 and pretrain-1b-72h.yaml at 0.9" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--confidence", "1.5"], "--confidence 1.5 is outside [0.5, 1)"),
    (["--set", "training.epochz=2"], "training.epochz: unknown key 'epochz'"),
])
def test_diff_bad_confidence_or_set_is_one_error(args, message):
    result = runner.invoke(app, ["diff", str(PRETRAIN), str(PRETRAIN), *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, result.output


def test_diff_set_on_an_estimates_json_is_refused(tmp_path):
    p50 = saved_estimate(tmp_path / "p50.json")
    result = runner.invoke(app, ["diff", str(PRETRAIN), str(p50), "--set", "training.epochs=2"])
    assert result.exit_code == 2, result.output
    assert "p50.json: --set changes the new side's profile, and this is an estimate's JSON" in result.output


@pytest.mark.parametrize("command", ["estimate", "diff"])
def test_an_empty_override_value_is_an_error_not_a_removed_key(command):
    # new-user QA: `--set training.deadline=$DEADLINE` with the variable unset removed the 72 h deadline silently
    # (exit 0, 'hours at P50; budget $20,000'); null removes a key, an empty value is an error naming the field
    args = [str(PRETRAIN)] * (2 if command == "diff" else 1)
    result = gpuplan(command, *args, "--set", "training.deadline=")
    assert result.exit_code == 2
    assert "--set training.deadline=: training.deadline: no value after '='" in result.output
    assert "training.deadline=null" in result.output
    removed = gpuplan("estimate", str(PRETRAIN), "--top", "1", "--set", "training.deadline=null")
    assert removed.exit_code == 0 and "hours at P50; budget $20,000" in removed.stdout


def test_a_section_new_does_not_plan_fails_a_guard_and_reads_removed(tmp_path):
    # new-user QA round 9: a pretrain estimate diffed against a serving-only profile read 'changed' on every
    # training row, and `--fail-above cost=15%` flagged only the serving cost that rose from nothing
    old = tmp_path / "old.json"
    old.write_text(runner.invoke(app, ["estimate", str(PRETRAIN), "--format", "json"]).stdout)
    serve = ROOT / "profiles" / "serve-7b-chat.yaml"
    guarded = runner.invoke(app, ["diff", str(old), str(serve), "--fail-above", "cost=15%"])
    assert guarded.exit_code == 1
    assert ("training: old.json plans it and serve-7b-chat.yaml does not, so there is no training plan to check "
            "against --fail-above") in guarded.output
    cells = [[c.strip() for c in line.strip("│ ").split("│")] if "│" in line else line.split()
             for line in guarded.stdout.splitlines()]  # framed where it fits, else plain
    rows = {(row[0], row[1].split()[0]): row[-1] for row in cells if row and row[0] in ("training", "inference")}
    assert rows[("training", "plan")] == rows[("training", "GPU-hours")] == "removed", rows
    assert rows[("inference", "plan")] == rows[("inference", "GPUs")] == "added", rows
    # without a guard the diff reports and exits 0, as before
    assert runner.invoke(app, ["diff", str(old), str(serve)]).exit_code == 0


@pytest.mark.parametrize("profile", ["lora-7b-a6000", "bert-train-then-serve"])
def test_a_saved_estimate_and_its_profile_diff_to_no_change(tmp_path, profile):
    # new-user QA round 17: the saved estimate's numbers are rounded ($2.58), the profile's were not ($2.5801): the same
    # plan read 'compute P50 (USD) rose 0.01%, above --fail-above cost=0%', exit 1, a CI gate failing on nothing
    path = ROOT / "profiles" / f"{profile}.yaml"
    saved = tmp_path / "saved.json"
    saved.write_text(runner.invoke(app, ["estimate", str(path), "--format", "json"]).stdout)
    for old, new in ((saved, path), (path, saved)):
        result = runner.invoke(app, ["diff", str(old), str(new), "--fail-above", "cost=0", "--format", "json"])
        assert result.exit_code == 0, result.output
        assert {c["relative"] for c in json.loads(result.stdout)["changes"]} <= {None, 0.0}


def test_diff_writes_hours_gpu_hours_and_cost_as_the_estimate_does():
    # new-user QA round 24: diff wrote a 13,610-GPU-hour run as '13,610.0' (a precision no estimate has) and its
    # hours with one decimal whatever their size; now readable.gpu_hours / hours / usd, the estimate's formats
    from planner.readable import hours, usd
    from planner.render.diff import _cell

    assert _cell(13610.0, "GPU-hours") == "13,610" and _cell(820.8, "GPU-hours") == "821"
    assert _cell(12.34, "GPU-hours") == "12.3" and _cell(0.0583, "GPU-hours") == "0.058"
    assert _cell(0.0583, "hours P50") == hours(0.0583) == "0.058" and _cell(68.44, "hours P50") == "68.4"
    assert _cell(76032.0, "compute P50 (USD)") == usd(76032.0) == "$76,032"
    result = gpuplan("diff", str(PRETRAIN), str(PRETRAIN), "--set", "training.dataset.tokens=200B",
                     env={"COLUMNS": "120"})
    row = next(line for line in result.stdout.splitlines() if "GPU-hours" in line)
    old, new = [cell.strip() for cell in row.split("│") if cell.strip()][2:4]
    assert "." not in old + new and old.replace(",", "").isdigit(), row


def test_the_diffs_plans_keep_apart_on_a_narrow_terminal(monkeypatch):
    # new-user QA round 27: at 80 columns the plan row read '12× RTX-A4000 8× H100-SXM on mithril' over 'on
    # simplepod', the old and the new plan run together; each is now its GPUs over its provider
    from planner.decide.diff import Change
    from planner.render.diff import render_changes

    changes = [Change("training", "plan", "12× RTX-A4000 on simplepod", "8× H100-SXM on mithril", None),
               Change("training", "GPU-hours", 821.0, 271.0, 271.0 / 821.0 - 1)]
    monkeypatch.setenv("COLUMNS", "80")
    text = render_changes(changes, "old.json", "new.json")
    [first] = [line for line in text.splitlines() if "12× RTX-A4000" in line]
    second = text.splitlines()[text.splitlines().index(first) + 1]
    assert "8× H100-SXM" in first and "on" not in first.replace("section", "").split("plan", 1)[1]
    assert "on simplepod" in second and "on mithril" in second
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "| 12× RTX-A4000 on simplepod | 8× H100-SXM on mithril |" in render_changes(changes, "a", "b", "markdown")


def test_fail_above_gpus_guards_a_training_plan(tmp_path):
    # new-user QA round 28: `--fail-above gpus=10%` on training plans was 'neither recommended plan has this metric
    # (these plans have: cost, gpu_hours, hours)', though docs/commands.md lists gpus and a training plan has a count
    old = tmp_path / "old.json"
    old.write_text(runner.invoke(app, ["estimate", str(PRETRAIN), "--format", "json"]).stdout)
    recommended = json.loads(old.read_text())["training"]
    count = recommended["plans"][recommended["recommended"]]["gpu_count"]
    # the same GPU on a tighter deadline: more of them (12 RTX A4000s for 72 h, 36 for 30 h)
    guarded = runner.invoke(app, ["diff", str(old), str(PRETRAIN), "--set", "training.deadline=30h", "--set",
                                  "constraints.gpus=[RTX-A4000]", "--fail-above", "gpus=10%", "--format", "json"])
    changes = {c["key"]: c for c in json.loads(guarded.stdout)["changes"] if c["section"] == "training"}
    assert changes["gpus"]["old"] == count and changes["gpus"]["new"] > count * 1.1
    assert guarded.exit_code == 1 and "training GPUs rose" in guarded.stderr
    assert runner.invoke(app, ["diff", str(old), str(PRETRAIN), "--fail-above", "gpus=10%"]).exit_code == 0
