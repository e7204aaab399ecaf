"""Huge but valid inputs: Erlang C over millions of servers, a 1e8 requests/s service, 1e30 training tokens, and
how tables print such numbers; `--catalog` errors name the directory as typed."""
from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.catalog.load import BUNDLED_CATALOG, load_catalog
from planner.cli.main import app
from planner.model import queueing
from planner.plans.search import estimate
from planner.plans.serving import _fill_instances
from planner.project.load import load_profile
from planner.readable import compact, fixed, usd
from planner.render.report import (
    estimate_dict,
    render_csv,
    render_markdown,
    render_table,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "bad_inputs"
CATALOG = load_catalog(BUNDLED_CATALOG)


@pytest.mark.parametrize("servers", [5_000, 20_000, 100_000, 1_000_000])
@pytest.mark.parametrize("utilisation", [0.9, 0.97, 0.99, 0.999, 0.9999])
def test_erlang_c_through_poisson_agrees_with_the_recursion(servers, utilisation, monkeypatch):
    load = servers * utilisation
    fast = queueing._erlang_c_poisson(servers, load)
    monkeypatch.setattr(queueing, "RECURSION_STEPS", 10**9)  # force the recursion however long it runs
    exact = queueing.erlang_c(servers, load)
    assert fast == pytest.approx(exact, rel=1e-10, abs=1e-300)


def test_erlang_c_switches_to_poisson_only_for_long_recursions():
    # 100 servers (the size of every pinned example) stay on the recursion; 10⁶ servers at 99.9 % take the Poisson form
    assert 100 - int(90.0 - queueing.WINDOW_SD * math.sqrt(90.0)) <= queueing.RECURSION_STEPS
    load = 999_000.0
    assert 1_000_000 - int(load - queueing.WINDOW_SD * math.sqrt(load)) > queueing.RECURSION_STEPS
    assert queueing.erlang_c(1_000_000, load) == queueing._erlang_c_poisson(1_000_000, load)


def _profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return path


HUGE_RATE = """name: serve-7b-huge
model: {preset: llama-2-7b}
inference:
  rate: 1e8/s
  average_rate: 4e7/s
  prompt_tokens: 512
  output_tokens: 256
  precision: bf16
  slo: {ttft_p95: 500ms, tpot_p95: 50ms}
"""


def test_a_service_of_1e8_requests_per_second_gets_a_sane_plan(tmp_path):
    loaded = load_profile(_profile(tmp_path, HUGE_RATE), CATALOG)
    result = estimate(loaded, CATALOG)
    plans = result.inference.plans
    assert plans[0].meets_slo
    for p in plans:
        if not p.fits or p.replicas == 0:
            continue
        assert all(math.isfinite(v) for v in p.latency_s.values()), (p.gpu, p.latency_s)
        # stable: more capacity than the load, so the replicas are at least rate / capacity
        assert p.replicas * p.capacity_rps_per_replica > loaded.profile.inference.rate
        assert p.utilization < 1.0
        if p.meets_slo:
            assert p.latency_s["ttft_p95"] <= 0.5 * (1 + 1e-9) and p.latency_s["tpot_p95"] <= 0.05 * (1 + 1e-9)
        # the autoscaled fleet (average rate plus headroom) is never larger than the peak fleet, nor below its load
        assert p.autoscaled_replicas is not None and p.autoscaled_replicas <= p.replicas
        average = loaded.profile.inference.average_rate
        assert p.autoscaled_replicas * p.capacity_rps_per_replica > average
        offer = next(o for o in CATALOG.offers({p.gpu}, {p.provider}) if o.offer.instance == p.instance)
        assert (p.replicas, p.instances) == _fill_instances(p.replicas, p.gpus_per_replica,
                                                            offer.offer.gpus_per_instance)


def test_compact_figures_keep_their_magnitude():
    # validate's narrow table: 839,700 GPU-hours was printed "84k" (divided by 1e4 under the "k" suffix)
    assert [compact(v) for v in (839_700.0, 67_500.0, 12_345.0, 9_999.0, 1.02e6, 3.5e9, 0.0123)] == \
        ["840k", "67.5k", "12.3k", "9,999", "1.02M", "3.5G", "0.0123"]


def test_huge_numbers_are_printed_readably(tmp_path):
    assert fixed(8.331719223018285e20) == "8.33e+20"
    assert fixed(1234.56) == "1,234.6" and fixed(999_999_999_999.0, 0) == "999,999,999,999"
    assert fixed(0.00042) == "0.00042" and fixed(0.0) == "0.0" and fixed(0.06) == "0.1"
    assert usd(5.000609e21) == "$5e+21" and usd(12.5) == "$12.50" and usd(1234.4) == "$1,234"
    # an amount cents would round to $0.00 keeps 3 significant figures (new-user QA round 24: a 3.6-minute job on a
    # $0.08/h GPU, $0.004542 in the JSON, read '$0.00'); zero is zero
    assert usd(0.004542) == "$0.00454" and usd(0.0051) == "$0.01" and usd(0.0) == "$0.00"
    text = (ROOT / "profiles" / "pretrain-1b-72h.yaml").read_text(encoding="utf-8")
    text = text.replace("tokens: 20B", "tokens: 1e30")
    text = "\n".join(line for line in text.splitlines() if not line.startswith(("  deadline", "  budget")))
    path = _profile(tmp_path, text + "\n")
    result = estimate(load_profile(path, CATALOG), CATALOG)
    assert result.training.plans[0].hours_p50 > 1e15
    for out in (render_table(result), render_markdown(result)):
        assert re.search(r"\d\.\d+e\+\d\d", out)
        assert not re.search(r"\d{1,3}(,\d{3}){5,}", out)  # no run of six or more digit groups
    csv_text = render_csv(result)
    assert "e+" in csv_text  # CSV and JSON keep the numbers themselves
    assert estimate_dict(result)["training"]["plans"][0]["hours"]["p50"] > 1e15
    shown = CliRunner().invoke(app, ["estimate", str(path), "--top", "3"])
    assert shown.exit_code == 0, shown.output
    assert not re.search(r"\d{1,3}(,\d{3}){5,}", shown.stdout)
    assert re.search(r"\$\d\.?\d*e\+\d\d", shown.stdout)


def test_catalog_errors_name_the_directory_as_typed(tmp_path, monkeypatch):
    shutil.copytree(CORPUS / "catalogs" / "offer-zero-price", tmp_path / "cat")
    monkeypatch.chdir(tmp_path)
    expected = ("offers/x.yaml:11:3: offers.0.usd_per_hour: an offer rents at a price above 0; a machine you own "
                "(free, or at its running cost) is planned with constraints.owned in the profile: [{gpu: …, count: …, "
                "usd_per_hour: 0}] (docs/catalog.md, buy versus rent) (got 0)")
    for typed in ("cat", "./cat/../cat"):
        result = CliRunner().invoke(app, ["catalog", "list", "--catalog", typed])
        assert result.exit_code == 2
        assert result.stderr == f"Error: {Path(typed) / expected}\n"
    # the further problems under the first name their files the same way (new-user QA round 12: the first line said
    # cat/offers/x.yaml, the lines under it the resolved absolute path)
    offers = tmp_path / "cat" / "offers" / "x.yaml"
    offers.write_text(offers.read_text(encoding="utf-8") + "  gpus_per_instance_typo: 1\n", encoding="utf-8")
    several = CliRunner().invoke(app, ["catalog", "list", "--catalog", "cat"])
    lines = several.stderr.splitlines()
    assert several.exit_code == 2 and len(lines) == 2, several.stderr
    # the count of further problems after the fix, not between the problem and its fix (new-user QA round 12)
    assert lines[0] == ("Error: cat/offers/x.yaml:13:3: offers.0.gpus_per_instance_typo: unknown key "
                        "'gpus_per_instance_typo'. Did you mean 'gpus_per_instance'? (1 more problem below)")
    assert lines[1] == f"  cat/{expected}"
    missing = CliRunner().invoke(app, ["catalog", "list", "--catalog", "no-such-dir"])
    assert missing.stderr == ("Error: no-such-dir: catalog directory not found. Pass an existing directory as --catalog, "
                              "or omit it.\n")
    (tmp_path / "profiles").mkdir()  # a directory, not a catalog's (new-user QA: "profiles/gpus.yaml: file not found")
    lora = str(ROOT / "profiles" / "lora-7b-a6000.yaml")
    other = CliRunner().invoke(app, ["estimate", lora, "--catalog", "profiles"])
    assert (other.exit_code, other.stdout) == (2, "")
    assert other.stderr == ("Error: profiles: not a catalog directory: it has no gpus.yaml. Pass a directory holding "
                            "gpus.yaml and offers/ (as the bundled catalog/ does) as --catalog, or omit it.\n")


def test_huge_figures_in_sentences_are_printed_readably():
    """New-user QA round 15: the sentences made outside the tables' formats grouped every digit or stacked two
    notations: 'over budget ($3,451,548,276,643,552 at P50 > $1)', 'misses the deadline (2,539,961,808,283.8 h at
    P50 > …)', '1e+12T tokens' for 1e24 and 'breaking even would take 66196228262883870576…× full-time use' (a
    purchase_usd of 1e300); from 1e12 they read in three significant figures, as readable.fixed writes them."""
    from planner.plans.owned import BuyVersusRent
    from planner.plans.verdict import Kind, Verdict, text
    from planner.readable import count_text
    from planner.render.plot import plain_number
    from planner.render.report import _never_pays_off

    assert text(Verdict(Kind.OVER_BUDGET, 3.451548276643552e15, 1.0, "P50")) == "over budget ($3.45e+15 at P50 > $1.00)"
    # cents below $100 (new-user QA round 24: $1.40 over a $1 budget read '$1 at P50 > $1')
    assert text(Verdict(Kind.OVER_BUDGET, 1.4019, 1.0, "P50")) == "over budget ($1.40 at P50 > $1.00)"
    assert text(Verdict(Kind.OVER_BUDGET, 25_000.4, 20_000.0, "P50")) == "over budget ($25,000 at P50 > $20,000)"
    assert text(Verdict(Kind.MISSES_DEADLINE, 2.5399618e12, 2.4e12, "P50")) == \
        "misses the deadline (2.54e+12 h at P50 > 2.4e+12 h)"
    assert text(Verdict(Kind.MISSES_DEADLINE, 80.04, 72.0, "P50")) == "misses the deadline (80.0 h at P50 > 72.0 h)"
    # from 10 s a latency is in a larger unit (new-user QA round 18): 2e12 s is 5.6e8 h
    assert text(Verdict(Kind.SLO_MISSED, 2e12, 0.5, "ttft_p95")) == "misses ttft p95 (555,555,555.6 h > 500 ms)"
    assert text(Verdict(Kind.SLO_MISSED, 4e15, 0.5, "ttft_p95")) == "misses ttft p95 (1.11e+12 h > 500 ms)"
    assert [count_text(v) for v in (1e24, 9.999e15, 1e15, 153.6e6, 50_000)] == \
        ["1e+24", "9,999T", "1,000T", "153.6M", "50,000"]
    assert [plain_number(v) for v in (1e13, 999e9, 20_000, 0.5)] == ["1e+13", "999,000,000,000", "20,000", "0.5"]
    b = BuyVersusRent("2x RTX-4090 (owned)", 3.8e295, 0.27, 11.4, "1x RTX-6000-ADA at vast-ai", 3.13, 6.62e297)
    assert _never_pays_off(b).endswith("breaking even would take 6.62e+297× full-time use over its lifetime "
                                       "(renting's $0.00456/h above running it, against $3.8e+295/h amortised)")
    # the multiple reads off the two figures it names (new-user QA round 29: '$0.28 … $0.27/h', 21.2×)
    multiple = 0.1217 / (3.13 / 11.4 - 0.27)  # amortised over renting's margin above running (plans/owned.py)
    line = _never_pays_off(BuyVersusRent("2x RTX-4090 (owned)", 0.1217, 0.27, 11.4, "x", 3.13, multiple))
    margin, amortised = (float(v) for v in re.findall(r"\$([0-9.]+)/h (?:above|amortised)", line))
    assert abs(amortised / margin - multiple) / multiple < 0.01, line


@pytest.mark.parametrize("rate, needed", [("1e300/s", "4.11e+297"), ("1.7e308/s", "6.99e+305")])
def test_a_rate_beyond_any_fleet_says_how_many_gpus_not_inf(rate, needed):
    # new-user QA round 17: 1e300 requests/s × 1.03e13 FLOP (llama-2-7b, 512 + 256 tokens) overflowed a float and the
    # error said 'needs at least inf GPUs'; 1e300 × 1.03e13 / 2.5e15 (GB200's dense bf16 peak) = 4.11e297
    result = CliRunner().invoke(app, ["estimate", str(ROOT / "profiles" / "serve-7b-chat.yaml"),
                                      "--set", f"inference.rate={rate}"])
    assert result.exit_code == 2 and f"needs at least {needed} GPUs even at the dense bf16 peak of GB200" in \
        result.stderr and "inf " not in result.stderr


def test_a_fleet_past_a_floats_range_is_written_as_its_power_of_ten(tmp_path):
    # gpt-oss-120b with 100,000-token prompts: 2.52e15 FLOP a request, × 1.7e308/s ÷ 989e12 (H200's peak) = 4.33e308,
    # beyond a float (1.8e308): written from its logarithm
    result = CliRunner().invoke(app, ["estimate", str(ROOT / "profiles" / "serve-gpt-oss-120b-chat.yaml"), "--set",
                                      "inference.rate=1.7e308/s", "--set", "inference.prompt_tokens=100000"])
    assert result.exit_code == 2 and "needs at least 4.33e+308 GPUs" in result.stderr
