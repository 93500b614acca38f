"""Statistics for comparing arms over seeds and problems, on scipy.stats.

- :func:`mean_ci`: mean and its two-sided confidence interval from Student's t distribution;
- :func:`median_iqr`: median and interquartile range;
- :func:`holm`: Holm's step-down correction of several p-values (Holm 1979);
- :func:`not_worse_than_best`: one-sided Mann-Whitney U tests of the best arm against each other arm,
  Holm-corrected: the arms whose difference from the best is not significant;
- :func:`ranks`: ranks with ties sharing the average rank (1 = best);
- :func:`performance_profile`: the fraction of problems on which each arm is within a factor ``tau`` of
  the best arm (Dolan & More 2002; the AlgoPerf benchmark's score).

Seeds of different arms are independent runs (the same seed does not pair two architectures), so the
unpaired Mann-Whitney U test fits; with 5 seeds per arm its smallest one-sided p-value is 1/252.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean and its ``level`` confidence interval (t distribution, n - 1 df).

    With one value the interval is the value itself.
    """
    from scipy import stats

    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, mean, mean
    sem = stats.sem(values)
    half = sem * stats.t.ppf(0.5 + level / 2, n - 1)
    return mean, mean - half, mean + half


def median_iqr(values: Sequence[float]) -> tuple[float, float, float]:
    """``(median, 25th percentile, 75th percentile)`` (linear interpolation, numpy's default)."""
    import numpy as np

    q25, median, q75 = np.percentile(values, [25, 50, 75])
    return float(median), float(q25), float(q75)


def holm(p_values: Mapping[str, float]) -> dict[str, float]:
    """Holm-adjusted p-values: sort ascending, multiply the ``i``-th smallest by ``m - i``, keep them
    non-decreasing, cap at 1 (Holm 1979, "A Simple Sequentially Rejective Multiple Test Procedure")."""
    order = sorted(p_values, key=lambda k: (p_values[k], k))
    m, running, adjusted = len(order), 0.0, {}
    for i, key in enumerate(order):
        running = max(running, min(1.0, (m - i) * p_values[key]))
        adjusted[key] = running
    return adjusted


def not_worse_than_best(
    scores: Mapping[str, Sequence[float]], maximize: bool, alpha: float = 0.05
) -> tuple[str, dict[str, float], set[str]]:
    """Compare the best arm (highest mean, or lowest when minimising) with every other arm.

    Each comparison is a one-sided Mann-Whitney U test of "the best arm's scores are better"; the
    p-values are Holm-corrected together.

    Returns:
        ``(best arm, Holm-adjusted p-value per other arm, arms not significantly worse at alpha)``; the
        best arm itself is in the set.
    """
    from scipy import stats

    means = {arm: sum(v) / len(v) for arm, v in scores.items()}
    best = (max if maximize else min)(sorted(means), key=lambda a: means[a])
    raw = {}
    for arm, values in scores.items():
        if arm == best:
            continue
        alternative = "greater" if maximize else "less"
        raw[arm] = float(stats.mannwhitneyu(scores[best], values, alternative=alternative).pvalue)
    adjusted = holm(raw) if raw else {}
    kept = {best} | {arm for arm, p in adjusted.items() if p >= alpha}
    return best, adjusted, kept


def ranks(values: Mapping[str, float], maximize: bool) -> dict[str, float]:
    """Rank of each key by value (1 = best); ties share the average of their ranks."""
    from scipy.stats import rankdata

    keys = sorted(values)
    sign = -1.0 if maximize else 1.0
    ranked = rankdata([sign * values[k] for k in keys], method="average")
    return {k: float(r) for k, r in zip(keys, ranked)}


def performance_profile(
    scores: Mapping[str, Mapping[str, float]], maximize: bool, taus: Sequence[float]
) -> dict[str, list[float]]:
    """For each arm, the fraction of problems where its score is within a factor ``tau`` of the best.

    Args:
        scores: ``{problem: {arm: score}}``; scores must be positive (errors, or accuracies/BLEU > 0).
        maximize: Whether larger scores are better (the ratio is then ``best / score``).
        taus: Factors ``>= 1`` at which to evaluate the profile.

    Returns:
        ``{arm: [rho(tau) for tau in taus]}``. An arm missing on a problem counts as not within any tau.
    """
    arms = sorted({arm for per in scores.values() for arm in per})
    ratios: dict[str, list[float]] = {arm: [] for arm in arms}
    for per in scores.values():
        best = max(per.values()) if maximize else min(per.values())
        for arm in arms:
            if arm not in per or per[arm] <= 0 or best <= 0:
                ratios[arm].append(math.inf)
            else:
                ratios[arm].append(best / per[arm] if maximize else per[arm] / best)
    n = max(1, len(scores))
    return {arm: [sum(r <= tau * (1 + 1e-12) for r in ratios[arm]) / n for tau in taus] for arm in arms}
