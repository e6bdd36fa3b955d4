import pytest

from reportlib.stats import wilson_interval


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
