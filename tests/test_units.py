import math

import pytest

from planner.schema.units import check_digit_groups, parse_count, parse_rate, parse_seconds, parse_usd


@pytest.mark.parametrize("text, expected", [
    ("7B", 7e9), ("6.7B", 6.7e9), ("350M", 350e6), ("1.4T", 1.4e12), ("4k", 4000.0), ("2e9", 2e9),
    ("1_000", 1000.0), (12, 12.0), (1.5, 1.5), ("1.28M", 1.28e6),
    # new-user QA round 17: the presets write sizes in lower case (gpt2-350m, llama-2-7b); `params: 7b` was refused
    ("7b", 7e9), ("350m", 350e6), ("1.4t", 1.4e12), ("2g", 2e9), ("1p", 1e15),
])
def test_counts(text, expected):
    assert parse_count(text) == pytest.approx(expected)


@pytest.mark.parametrize("text, expected", [
    ("72h", 72 * 3600.0), ("3d", 3 * 86400.0), ("500ms", 0.5), ("90min", 5400.0), ("30s", 30.0), (10, 10.0),
    ("2 weeks", 14 * 86400.0),
    # new-user QA round 17: '3 days' was read and '3 hours', '1 hour', '90 minutes' refused; several parts too
    ("3 hours", 3 * 3600.0), ("1 hour", 3600.0), ("90 minutes", 5400.0), ("72 hrs", 72 * 3600.0),
    ("45 seconds", 45.0), ("500 msec", 0.5), ("2 Days", 2 * 86400.0),
    ("1h30m", 5400.0), ("3d 12h", 84 * 3600.0), ("1 hour 30 minutes", 5400.0), ("1h 30m 20s", 5420.0),
    # new-user QA round 17: microseconds were refused where 500ms was read (1 µs = 1e-6 s)
    ("500us", 500e-6), ("500\u00b5s", 500e-6), ("500\u03bcs", 500e-6), ("500 microseconds", 500e-6),
    ("1 microsecond", 1e-6), ("250 usec", 250e-6), ("500 milliseconds", 0.5), ("1ms 500us", 1.5e-3),
])
def test_durations(text, expected):
    assert parse_seconds(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["20/us", "20/\u00b5s", "20/microsecond", "20/millisecond"])
def test_no_rate_is_per_microsecond(text):
    # a rate per a sub-second unit is a slip (20/ms would be 20,000 requests/s), as 20/ms was before
    with pytest.raises(ValueError, match="expected a rate such as"):
        parse_rate(text)


@pytest.mark.parametrize("text, expected", [("$20k", 20000.0), ("$1.5M", 1.5e6), ("2500", 2500.0),
                                            ("$300", 300.0), ("1,200 USD", 1200.0)])
def test_money(text, expected):
    assert parse_usd(text) == pytest.approx(expected)


@pytest.mark.parametrize("text, expected", [
    ("20/s", 20.0), ("1200/min", 20.0), ("3k/h", 3000 / 3600), (5, 5.0),
    # new-user QA round 17: the output's own 'req/s', serving benchmarks' rps and qps, the unit's word or capital
    ("20 req/s", 20.0), ("20 requests/s", 20.0), ("1200 requests/minute", 20.0), ("20rps", 20.0), ("20 QPS", 20.0),
    ("2k rps", 2000.0), ("72k/hour", 20.0), ("20/S", 20.0), ("1200/Min", 20.0), ("2M/day", 2e6 / 86400),
])
def test_rates(text, expected):
    assert parse_rate(text) == pytest.approx(expected)


@pytest.mark.parametrize("parser, text, fragment", [
    (parse_count, "7 bananas", "expected a count"),
    (parse_count, "7bn", "expected a count"),
    (parse_seconds, "72 parsecs", "expected a duration"),
    (parse_seconds, "72", None),
    (parse_usd, "€20k", "expected an amount in USD"),
    (parse_rate, "20 per second", "expected a rate"),
    (parse_rate, "20 tokens/s", "expected a rate"),
    (parse_rate, "20/ms", "expected a rate"),
    (parse_seconds, "1h 2 parsecs", "expected a duration"),
    (parse_seconds, "1h30", "expected a duration"),
    (parse_count, True, "expected a number"),
    (parse_count, math.nan, "not a finite number"),
    (parse_count, "1e999", "not a finite number"),
])
def test_bad_units_say_what_was_expected(parser, text, fragment):
    if fragment is None:  # a bare number is seconds, not an error
        assert parser(text) == 72.0
        return
    with pytest.raises(ValueError, match=fragment):
        parser(text)


def test_atomic_write_replaces_whole_file_with_normal_permissions(tmp_path):
    import os

    from planner.io.atomic import write_text_atomic

    target = tmp_path / "record.yaml"
    target.write_text("old\n")
    write_text_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["record.yaml"]  # no temporary file left behind


@pytest.mark.parametrize("text", ["1,024", "1_000", "1_000_000", "6,738,000,000", "1,024.5", "$20,000", "12", "0.5",
                                  "2e3", "1,024k"])
def test_digits_grouped_in_threes_are_read(text):
    check_digit_groups(text, "a number")


@pytest.mark.parametrize("text", ["1_0", "1,5", "0.9_5", "1_0%", "$1,5", "12_34", "1,0000", "1_", "1,", "0_5",
                                  "1,000.0_1"])
def test_digits_grouped_otherwise_are_refused(text):
    # new-user QA round 18: int(), float(), pydantic and YAML 1.1 read '1_0' as 10, and parse_count read a decimal
    # comma's '1,5' as 15
    with pytest.raises(ValueError, match=r"its digits grouped in threes if at all \(1,000 or 1_000\), got "):
        check_digit_groups(text, "a number")


@pytest.mark.parametrize("parse, text", [(parse_count, "1,5"), (parse_count, "1_0k"), (parse_usd, "$1,5"),
                                         (parse_usd, "2_50")])
def test_counts_and_amounts_refuse_digits_grouped_otherwise(parse, text):
    with pytest.raises(ValueError, match="grouped in threes"):
        parse(text)
