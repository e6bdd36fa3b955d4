"""Small statistics: rates with confidence intervals, exact paired tests, a
bootstrap for clustered answers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def resample_indices(n: int, draws: int, seed: int) -> np.ndarray:
    """``draws`` bootstrap resamples of ``n`` item indices, with replacement (seeded)."""
    return np.random.default_rng(seed).integers(0, n, size=(draws, n))


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval for a binomial rate (95% by default).

    Unlike the normal approximation it stays inside [0, 1] and is sensible for
    small ``trials`` and for rates of 0 or 1.
    """
    if trials <= 0:
        raise ValueError(f"trials must be positive, not {trials}")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be between 0 and {trials}, not {successes}")
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided p-value of ``k`` successes in ``n`` fair coin flips (sign test):
    twice the smaller tail, at most 1; 1 when ``n`` is 0."""
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, not k={k}, n={n}")
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(k, n - k) + 1)) / 2**n
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class McNemar:
    """An exact McNemar test on paired yes/no outcomes of A and B."""

    pairs: int
    a_only: int  #: pairs where only A succeeded
    b_only: int  #: pairs where only B succeeded
    p_value: float

    @property
    def difference(self) -> float:
        """Rate of A minus rate of B over the pairs."""
        return (self.a_only - self.b_only) / self.pairs if self.pairs else 0.0


def mcnemar_exact(a: Sequence[bool], b: Sequence[bool]) -> McNemar:
    """McNemar's exact test: a sign test on the discordant pairs of ``a`` and ``b``."""
    if len(a) != len(b):
        raise ValueError(f"paired outcomes need equal lengths, not {len(a)} and {len(b)}")
    a_only = sum(bool(x) and not bool(y) for x, y in zip(a, b, strict=True))
    b_only = sum(bool(y) and not bool(x) for x, y in zip(a, b, strict=True))
    return McNemar(len(a), a_only, b_only, binomial_two_sided(a_only, a_only + b_only))


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: adjusted p-values in the input order; rejecting
    those below alpha keeps the family-wise error rate at alpha."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def crossed_bootstrap(
    successes: np.ndarray,
    totals: np.ndarray,
    draws: int = 2000,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Bootstrap replicates of a pooled rate over a rows × columns table of clusters.

    ``successes`` and ``totals`` are counts per (row cluster, column cluster), e.g.
    (language, prompt frame). Rows and columns are resampled independently with
    replacement (the "pigeonhole" bootstrap of Owen 2007, for crossed random
    effects), so the interval reflects that answers of one language, or of one
    frame, are not independent. With ``groups`` (a label per row), rows are
    resampled within each group and one replicate is returned per group, sharing
    the column draw: shape (draws, groups), to compare groups. Returns the replicate
    rates, shape (draws,) without groups.
    """
    successes = np.asarray(successes, dtype=float)
    totals = np.asarray(totals, dtype=float)
    if successes.shape != totals.shape or successes.ndim != 2:
        raise ValueError("successes and totals must be tables of the same shape")
    rng = np.random.default_rng(seed)
    n_rows, n_cols = totals.shape
    labels = np.zeros(n_rows, dtype=int) if groups is None else np.asarray(groups)
    names = list(dict.fromkeys(labels.tolist()))
    members = [np.flatnonzero(labels == name) for name in names]  # row indices per group
    out = np.empty((draws, len(names)))
    for d in range(draws):
        col_w = rng.multinomial(n_cols, np.full(n_cols, 1 / n_cols))
        for g, idx in enumerate(members):
            row_w = np.zeros(n_rows)
            row_w[idx] = rng.multinomial(len(idx), np.full(len(idx), 1 / len(idx)))
            den = row_w @ totals @ col_w
            out[d, g] = (row_w @ successes @ col_w) / den if den else np.nan
    return out[:, 0] if groups is None else out


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` percentile interval of bootstrap replicates (NaNs ignored)."""
    tail = (1 - level) / 2 * 100
    lo, hi = np.nanpercentile(replicates, [tail, 100 - tail])
    return float(lo), float(hi)


def sign_test_of_differences(differences: Sequence[float]) -> tuple[int, int, float]:
    """An exact two-sided sign test on cluster-level paired differences (e.g. one per
    language): (positive, negative, p-value); zero differences are dropped."""
    positive = sum(d > 0 for d in differences)
    negative = sum(d < 0 for d in differences)
    return positive, negative, binomial_two_sided(positive, positive + negative)


def permutation_p_value(
    first: Sequence[float], second: Sequence[float], draws: int = 20000, seed: int = 0
) -> float:
    """Two-sided permutation p-value for a difference of means between two groups of
    cluster-level values (e.g. per-language rates): the share of relabellings whose
    difference is at least as large in absolute value. Exact (every relabelling) when
    there are at most ``draws`` of them, else ``draws`` random ones (seeded)."""
    from itertools import combinations

    values = np.array([*first, *second], dtype=float)
    k, n = len(first), len(values)
    if not k or k == n:
        raise ValueError("both groups need at least one value")
    observed = abs(values[:k].mean() - values[k:].mean())
    total = values.sum()

    def gap(idx: Sequence[int]) -> float:
        inside = values[list(idx)].sum()
        return abs(inside / k - (total - inside) / (n - k))

    if math.comb(n, k) <= draws:
        gaps = [gap(idx) for idx in combinations(range(n), k)]
    else:
        rng = np.random.default_rng(seed)
        gaps = [gap(rng.choice(n, size=k, replace=False).tolist()) for _ in range(draws)]
    return float(np.mean(np.array(gaps) >= observed - 1e-12))


def interval_text(low: float, high: float) -> str:
    """An interval of rates as text: ``"21–94%"``."""
    return f"{low:.0%}–{high:.0%}"


def rate_text(rate: float, low: float | None = None, high: float | None = None) -> str:
    """A rate with its interval when it has one: ``"67% (21–94%)"``, else ``"67%"``."""
    if low is None or high is None or low != low or high != high:  # None or NaN
        return f"{rate:.0%}"
    return f"{rate:.0%} ({interval_text(low, high)})"


def wilson_text(successes: int, trials: int) -> str:
    """The 95% Wilson interval of ``successes`` in ``trials`` as text ("—" without trials)."""
    return interval_text(*wilson_interval(successes, trials)) if trials else "—"


def cohen_kappa(first: Sequence[bool], second: Sequence[bool]) -> float:
    """Cohen's kappa of two yes/no labellings of the same items: agreement beyond what
    their rates of "yes" give by chance (1: always agree; 0: chance; NaN: one constant
    labelling that the other matches by chance only)."""
    a, b = np.asarray(first, bool), np.asarray(second, bool)
    if len(a) != len(b) or not len(a):
        raise ValueError("kappa needs two labellings of the same, non-empty items")
    observed = float((a == b).mean())
    chance = float(a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean()))
    return (observed - chance) / (1 - chance) if chance < 1 else float("nan")


def kappa_interval(
    first: Sequence[bool], second: Sequence[bool], draws: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """A 95% bootstrap interval of :func:`cohen_kappa` over the items (seeded)."""
    a, b = np.asarray(first, bool), np.asarray(second, bool)
    reps = np.array([cohen_kappa(a[i], b[i]) for i in resample_indices(len(a), draws, seed)])
    return percentile_interval(reps)
