"""The exact M/D/c waiting-time computation (planner/model/md_c.py): its numerical settings, and the shortcuts that
skip it."""
import math

import numpy as np
import pytest

from planner.model import md_c


@pytest.mark.parametrize("servers, load, spread", [(1, 0.3, 0.05), (4, 0.7, 0.01), (16, 0.9, 0.2), (64, 0.97, 0.003),
                                                   (512, 0.95, 0.05)])
def test_quantiles_settle_at_the_grid_used(servers, load, spread, monkeypatch):
    wait = md_c.md_c_wait(servers, load * servers, 1.0)
    used = wait.plus_uniform_quantiles(spread, (0.5, 0.95))
    monkeypatch.setattr(md_c, "GRID", 512)
    fine = wait.plus_uniform_quantiles(spread, (0.5, 0.95))
    assert used == pytest.approx(fine, rel=1e-3)


def test_the_cdf_is_a_distribution():
    wait = md_c.md_c_wait(8, 6.0, 1.0)
    t = np.linspace(0.0, 6.0, 301)
    values = wait.cdf(t)
    assert values[0] == pytest.approx(wait.no_wait)
    assert np.all(np.diff(values) >= -1e-12) and values[-1] <= 1.0
    assert wait.cdf(np.array([-0.1]))[0] == 0.0
    # continuous across the kinks jD
    for j in (1.0, 2.0):
        left, right = wait.cdf(np.array([j - 1e-9, j]))
        assert left == pytest.approx(right, abs=1e-6)


def test_growth_root_solves_its_equation():
    for servers, load in ((1, 0.5), (64, 60.0), (1000, 990.0)):
        eta = md_c.growth_root(servers, load)
        assert eta > 1.0
        assert servers * math.log(eta) == pytest.approx(load * (eta - 1.0), rel=1e-10)


def test_no_wait_shortcut_is_within_its_bound():
    # 64 slots at 50 %: P(W > 0) < 1e-3 (no FFT); the quantiles of W + U·s are q·s to within 0.05 %
    servers, rate = 64, 32.0
    assert md_c.no_wait_bound(servers, rate, md_c.growth_root(servers, rate)) < md_c.NEGLIGIBLE_WAIT
    shortcut = md_c.md_c_wait_plus_uniform_quantiles(servers, rate, 1.0, 0.1, (0.5, 0.95))
    exact = md_c.md_c_wait(servers, rate, 1.0).plus_uniform_quantiles(0.1, (0.5, 0.95))
    assert shortcut == pytest.approx(exact, rel=5e-4)
    assert shortcut == pytest.approx([0.05, 0.095], rel=5e-4)


def test_unstable_and_huge_systems():
    assert md_c.md_c_wait_plus_uniform_quantiles(4, 4.0, 1.0, 0.1, (0.95,)) == (math.inf,)
    assert md_c.md_c_wait(4, 5.0, 1.0) is None
    # ten million slots a few standard deviations below their load: past MAX_FFT_POINTS, the asymptotic tail
    servers = 10_000_000
    load = servers - 2.0 * math.sqrt(servers)
    assert md_c.fft_points(servers, load) > md_c.MAX_FFT_POINTS
    waits = md_c.md_c_wait_plus_uniform_quantiles(servers, load, 1.0, 0.01, (0.5, 0.95))
    assert all(0.0 < w < math.inf for w in waits)


def test_quantiles_are_kept_per_queue():
    # a pure function of its arguments, memoised: the same queue asked again is not recomputed (bert-base at batch 1
    # is the same queue on every GPU), a different one is
    md_c.clear_memos()
    first = md_c.md_c_wait_plus_uniform_quantiles(8, 6.0, 1.0, 0.05, (0.5, 0.95))
    assert md_c.md_c_wait_plus_uniform_quantiles(8, 6.0, 1.0, 0.05, (0.5, 0.95)) is first
    info = md_c.md_c_wait_plus_uniform_quantiles.cache_info()
    assert (info.hits, info.misses) == (1, 1)
    assert md_c.md_c_wait_plus_uniform_quantiles(8, 6.5, 1.0, 0.05, (0.5, 0.95)) != first
