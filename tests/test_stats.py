import pytest

from reportlib.core.stats import wilson_interval


@pytest.mark.parametrize(
    "k, n, low, high",
    [  # reference values: Wilson (1927) score interval, z = 1.96 (e.g. R's prop.test without
        # continuity correction, or statsmodels proportion_confint(method="wilson"))
        (0, 10, 0.0, 0.27754),
        (5, 10, 0.23659, 0.76341),
        (10, 10, 0.72246, 1.0),
        (1, 3, 0.06149, 0.79234),
    ],
)
def test_known_values(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


def _score_bound(k: int, n: int, z: float, upper: bool) -> float:
    """The Wilson bound by its definition, |k/n - p| = z * sqrt(p(1-p)/n), solved by bisection."""
    p_hat = k / n
    lo, hi = (p_hat, 1.0) if upper else (0.0, p_hat)
    for _ in range(200):
        mid = (lo + hi) / 2
        outside = abs(p_hat - mid) > z * (mid * (1 - mid) / n) ** 0.5
        if outside == upper:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


@pytest.mark.parametrize("k, n", [(81, 263), (2, 7), (13, 40), (99, 100)])
def test_matches_the_definition(k, n):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(_score_bound(k, n, 1.959964, upper=False), abs=1e-9)
    assert hi == pytest.approx(_score_bound(k, n, 1.959964, upper=True), abs=1e-9)


def test_interval_contains_the_rate_and_narrows_with_n():
    for k, n in [(3, 9), (30, 90), (300, 900)]:
        lo, hi = wilson_interval(k, n)
        assert lo < k / n < hi
    assert (wilson_interval(300, 900)[1] - wilson_interval(300, 900)[0]) < (
        wilson_interval(3, 9)[1] - wilson_interval(3, 9)[0]
    )


@pytest.mark.parametrize("k, n", [(1, 0), (-1, 5), (6, 5)])
def test_bad_counts(k, n):
    with pytest.raises(ValueError):
        wilson_interval(k, n)


# --- exact tests, Holm, the crossed bootstrap ---------------------------------------

import numpy as np  # noqa: E402

from reportlib.core.stats import (  # noqa: E402
    binomial_two_sided,
    crossed_bootstrap,
    holm_adjust,
    mcnemar_exact,
    percentile_interval,
)


@pytest.mark.parametrize(
    "k, n, p",
    [(0, 5, 2 / 32), (5, 5, 2 / 32), (1, 10, 2 * 11 / 1024), (2, 4, 1.0), (0, 0, 1.0)],
)
def test_sign_test_known_values(k, n, p):
    assert binomial_two_sided(k, n) == pytest.approx(p)


def test_mcnemar_counts_only_discordant_pairs():
    a = [True] * 10 + [True] * 5 + [False] * 5
    b = [False] * 10 + [True] * 5 + [False] * 5
    test = mcnemar_exact(a, b)
    assert (test.pairs, test.a_only, test.b_only) == (20, 10, 0)
    assert test.p_value == pytest.approx(2 / 1024)
    assert test.difference == pytest.approx(0.5)
    same = mcnemar_exact([True, False], [True, False])
    assert same.p_value == 1.0 and same.difference == 0.0
    with pytest.raises(ValueError, match="equal lengths"):
        mcnemar_exact([True], [True, False])


def test_holm_known_values():
    assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjust([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm_adjust([]) == []


def test_crossed_bootstrap_is_deterministic_and_constant_on_a_constant_table():
    totals = np.full((4, 3), 2.0)
    reps = crossed_bootstrap(totals / 2, totals, draws=50, seed=1)
    assert reps.shape == (50,) and np.allclose(reps, 0.5)
    noisy = np.arange(12.0).reshape(4, 3) % 3
    assert np.array_equal(
        crossed_bootstrap(noisy, totals, 40, seed=3), crossed_bootstrap(noisy, totals, 40, seed=3)
    )


def test_clustered_interval_is_wider_than_wilson_when_languages_cluster():
    """Half the languages always succeed, half never: 100 answers, but only 10 clusters."""
    successes = np.repeat([[1.0], [0.0]], 5, axis=0) * np.ones((10, 10))
    totals = np.ones((10, 10))
    low, high = percentile_interval(crossed_bootstrap(successes, totals, 2000, seed=0))
    w_low, w_high = wilson_interval(50, 100)
    assert high - low > 1.5 * (w_high - w_low)
    assert low < 0.5 < high


def test_grouped_bootstrap_replicates_per_group():
    successes = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    totals = np.ones((4, 2))
    reps = crossed_bootstrap(successes, totals, 200, seed=0, groups=np.array(list("aabb")))
    assert reps.shape == (200, 2)
    assert (reps[:, 0] == 1.0).all()
    assert (reps[:, 0] - reps[:, 1] > 0).all()  # every replicate separates the groups
    same = crossed_bootstrap(np.eye(4), totals[:, :1].repeat(4, 1), 500, 0, np.array(list("abab")))
    differences = same[:, 0] - same[:, 1]
    assert min((differences <= 0).mean(), (differences >= 0).mean()) > 0.1  # both signs


def test_sign_test_of_differences_drops_ties():
    from reportlib.core.stats import sign_test_of_differences

    assert sign_test_of_differences([0.1, 0.2, 0.0, -0.1]) == (2, 1, 1.0)
    positive, negative, p = sign_test_of_differences([0.5] * 6)
    assert (positive, negative) == (6, 0) and p == pytest.approx(2 / 64)


def test_permutation_p_value_known_cases():
    from reportlib.core.stats import permutation_p_value

    # 3 vs 3 perfectly separated: 2 of the C(6,3) = 20 relabellings are as extreme
    assert permutation_p_value([1, 1, 1], [0, 0, 0]) == pytest.approx(2 / 20)
    assert permutation_p_value([0.5, 0.2], [0.5, 0.2]) == 1.0
    big = permutation_p_value([1.0] * 12, [0.0] * 12, draws=2000, seed=1)  # sampled
    assert big < 0.01
    with pytest.raises(ValueError, match="at least one"):
        permutation_p_value([], [1.0])
