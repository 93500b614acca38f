"""Statistics for comparing arms over seeds and problems, on scipy.stats and autorank.

The design
----------
A benchmark trains every arm (an attention type, a schedule, ...) with the same ``k`` seeds: seed
``1000 + i`` fixes the data order and, where the architectures allow, the initialisation, for every arm.
Two arms' runs with the same seed are therefore a *pair* (a block), not independent samples, and the
comparisons here are paired by seed: they test the per-seed differences ``d_i = other_i - best_i``, which
removes the between-seed variation that both arms share (an unpaired test would count it as noise).

The best arm is chosen on the VALIDATION mean and then compared with every other arm on TEST scores.
Choosing the winner on the test scores and then testing it on the same scores is double dipping: the arm
that wins on test partly won by luck, so its test advantage is biased upwards and the tests are
anti-conservative. With the choice made on validation, the test comparison is an honest, separate
measurement, and an arm may well turn out *better* than the validation winner on test.

- :func:`paired_comparison`: one paired comparison of two arms: the mean difference with its Student-t
  confidence interval and a two-sided p-value from the paired t-test (Student 1908) or Wilcoxon's
  signed-rank test (Wilcoxon 1945);
- :func:`compare_to_best`: the validation-chosen best arm against every other arm on test, paired by seed,
  the p-values Holm-corrected together (Holm 1979), with a verdict per arm and the attainable floor of the
  adjusted p-values;
- :func:`smallest_p`: that floor. The exact Wilcoxon test on ``n`` pairs cannot give a two-sided p below
  ``2 / 2**n``: with 5 seeds that is 0.0625, so no comparison is ever significant at 0.05, before Holm
  makes it worse (3 comparisons: 0.1875). The paired t-test has no such floor (p tends to 0 as the
  differences become consistent) but leans on roughly normal differences. Reports should say which;
- :func:`format_p`: a p-value for a table (``p < 0.001``, ``p = 0.020``, ``p = –``);
- :func:`pooled_by_level`: for factorial benchmarks, the per-seed mean over the arms sharing a factor level,
  so pooled comparisons stay paired by seed with ``n`` = seeds (never arms x seeds pseudo-replicates);
- :func:`friedman_cd`, :func:`cd_diagram_png`: across 3 or more problems, Friedman's rank test (Friedman
  1937) with the Nemenyi critical difference (Nemenyi 1963) and its critical-difference diagram, as
  recommended by Demsar (2006, "Statistical Comparisons of Classifiers over Multiple Data Sets"), computed
  by autorank;
- :func:`mean_ci`, :func:`mean_interval`, :func:`median_iqr`, :func:`holm`, :func:`ranks`, :func:`performance_profile`: summaries.

scipy and autorank are imported inside the functions: the report imports this module and must stay light.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The tests :func:`paired_comparison` knows.
TESTS = ("paired-t", "wilcoxon")
#: Per-seed differences whose spread is below this fraction of the scores' magnitude count as constant
#: (floating-point noise from subtracting equal gaps, e.g. ``30.2 - 30.1`` vs ``30.5 - 30.4``).
RELATIVE_TOLERANCE = 1e-12
#: Largest number of pairs for which the exact Wilcoxon null distribution is used (scipy's own limit).
EXACT_WILCOXON_UP_TO = 50
#: Largest number of pairs for which a sign-flip permutation test enumerates all ``2**n`` flips
#: (scipy's default ``n_resamples=9999`` covers ``2**13``).
PERMUTATION_UP_TO = 13
#: Resolution of the critical-difference diagram.
CD_DPI = 100

VERDICTS = ("better", "worse", "no significant difference", "not testable")


# -- summaries ------------------------------------------------------------------------------------------


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean and its ``level`` confidence interval (t distribution, n - 1 df).

    With one value there is no interval: ``low`` and ``high`` are NaN.
    """
    from scipy import stats

    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan, math.nan
    sem = stats.sem(values)
    half = sem * stats.t.ppf(0.5 + level / 2, n - 1)
    return mean, mean - half, mean + half


def mean_interval(values: Sequence[float], level: float = 0.95, resamples: int = 9999) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean and its ``level`` percentile bootstrap interval (``scipy.stats.bootstrap``,
    ``resamples`` draws, seeded, so a report regenerates the same). The interval lies between the smallest and the
    largest value, so it never leaves the metric's range (a t interval over 5 seeds of chrF near 100 can pass 100).

    With one value, or values all equal, there is no interval to draw: ``low`` and ``high`` are NaN, or the value.
    """
    import numpy as np
    from scipy import stats

    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan, math.nan
    if len(set(values)) == 1:
        return mean, float(values[0]), float(values[0])
    result = stats.bootstrap((np.asarray(values, dtype=float),), np.mean, confidence_level=level, n_resamples=resamples,
                             method="percentile", random_state=np.random.default_rng(0))
    return mean, float(result.confidence_interval.low), float(result.confidence_interval.high)


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


def format_p(p: float | None) -> str:
    """A p-value for a table: ``"p < 0.001"`` below 0.001, else ``"p = 0.020"`` (3 decimals).

    Never prints ``p = 0.000``: anything that would round to it is below 0.001 and says so.

    Args:
        p: A p-value in ``[0, 1]``, or ``None``/nan for a comparison that could not be tested.

    Returns:
        ``"p < 0.001"``, ``"p = 0.xxx"``, or ``"p = –"`` (an en dash) for ``None`` or nan.
    """
    if p is None or math.isnan(p):
        return "p = –"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


# -- paired comparisons ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedResult:
    """One paired comparison of ``other`` with ``best`` (see :func:`paired_comparison`).

    Attributes:
        n: Number of pairs (seeds).
        mean_difference: Mean of ``d_i = other_i - best_i`` (nan when ``n == 0``).
        ci_low: Lower end of the Student-t ``level`` confidence interval of the mean difference (n - 1 df);
            equal to the point when ``n == 1`` or the differences are constant.
        ci_high: Upper end of that interval.
        p: Two-sided p-value; nan when the comparison is not testable (see :func:`paired_comparison`).
        test: ``"paired-t"`` or ``"wilcoxon"``.
        method: How the p-value was computed: ``"t"`` (Student's t distribution), ``"exact"`` (Wilcoxon's
            exact null distribution), ``"permutation"`` (all ``2**n`` sign flips, scipy's choice with ties
            or zeros and ``n <= 13``), ``"asymptotic"`` (normal approximation), or ``"none"`` when not
            testable.
        statistic: The test statistic: t, or Wilcoxon's ``min(W+, W-)``; nan when not testable.
        relative: ``mean_difference / mean(best)`` over the same pairs; nan when that mean is 0.
        level: Confidence level of the interval.
    """

    n: int
    mean_difference: float
    ci_low: float
    ci_high: float
    p: float
    test: str
    method: str
    statistic: float
    relative: float
    level: float = 0.95

    @property
    def testable(self) -> bool:
        """Whether a p-value could be computed (``p`` is not nan)."""
        return not math.isnan(self.p)


def _check_test(test: str) -> None:
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}: expected one of {', '.join(map(repr, TESTS))}")


def paired_comparison(
    best: Sequence[float], other: Sequence[float], *, test: str = "paired-t", level: float = 0.95
) -> PairedResult:
    """Compare two arms run on the same seeds, paired by position: ``d_i = other[i] - best[i]``.

    The mean difference gets a Student-t confidence interval (n - 1 degrees of freedom) whichever test
    gives the p-value:

    - ``"paired-t"``: Student's paired t-test (``scipy.stats.ttest_rel``, two-sided):
      ``t = mean(d) / (sd(d) / sqrt(n))`` on n - 1 df. Assumes roughly normal differences.
    - ``"wilcoxon"``: Wilcoxon's (1945) signed-rank test (``scipy.stats.wilcoxon``, two-sided,
      ``zero_method="wilcox"``: zero differences are dropped). Uses the exact null distribution when
      ``n <= 50`` and there are no ties among ``|d|`` and no zeros; otherwise what scipy's default
      ``method="auto"`` picks there (scipy >= 1.15): an exhaustive sign-flip permutation test for
      ``n <= 13``, the normal approximation beyond. ``method`` records which.

    Not testable (``p`` is nan, ``method == "none"``), so callers can say "not testable" rather than
    "significant" or "no difference":

    - fewer than 2 pairs for the t-test, or no pairs for the Wilcoxon test;
    - for the t-test, constant differences (zero variance, up to floating-point noise of
      :data:`RELATIVE_TOLERANCE` times the scores' magnitude). scipy would return t = +-inf and p = 0 for a
      constant nonzero difference (or a spurious p ~ 1e-28 when rounding makes the variance tiny), which
      overstates five identical gaps; the interval is then the point;
    - for the Wilcoxon test, all differences zero (nothing left after dropping zeros).

    Args:
        best: The reference arm's scores, in seed order.
        other: The other arm's scores, in the same seed order.
        test: ``"paired-t"`` or ``"wilcoxon"``.
        level: Confidence level of the interval, in ``(0, 1)``.

    Returns:
        A :class:`PairedResult`.

    Raises:
        ValueError: For an unknown ``test``, sequences of unequal length, non-finite scores, or a ``level``
            outside ``(0, 1)``.
    """
    _check_test(test)
    if len(best) != len(other):
        raise ValueError(f"best and other must be paired by seed: got {len(best)} and {len(other)} scores")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    bad = [v for v in (*best, *other) if not math.isfinite(v)]
    if bad:
        raise ValueError(f"scores must be finite, got {bad[0]!r}")
    best, other = [float(v) for v in best], [float(v) for v in other]
    n = len(best)
    nan = math.nan
    if n == 0:
        return PairedResult(0, nan, nan, nan, nan, test, "none", nan, nan, level)

    d = [o - b for o, b in zip(other, best)]
    mean_d = sum(d) / n
    best_mean = sum(best) / n
    relative = mean_d / best_mean if best_mean != 0 else nan
    scale = max(abs(v) for v in (*best, *other))
    constant = n < 2 or max(d) - min(d) <= RELATIVE_TOLERANCE * scale

    from scipy import stats

    if constant:
        low = high = mean_d
    else:
        ci = stats.ttest_rel(other, best).confidence_interval(confidence_level=level)
        low, high = float(ci.low), float(ci.high)

    def result(p: float, method: str, statistic: float) -> PairedResult:
        return PairedResult(n, mean_d, low, high, p, test, method, statistic, relative, level)

    if test == "paired-t":
        if constant:
            return result(nan, "none", nan)
        res = stats.ttest_rel(other, best, alternative="two-sided")
        return result(float(res.pvalue), "t", float(res.statistic))

    nonzero = [x for x in d if x != 0]
    if not nonzero:
        return result(nan, "none", nan)
    ties = len({abs(x) for x in nonzero}) < len(nonzero)
    if n <= EXACT_WILCOXON_UP_TO and not ties and len(nonzero) == n:
        method, scipy_method = "exact", "exact"
    elif n <= PERMUTATION_UP_TO:
        method, scipy_method = "permutation", stats.PermutationMethod()
    else:
        method, scipy_method = "asymptotic", "asymptotic"
    res = stats.wilcoxon(other, best, zero_method="wilcox", alternative="two-sided", method=scipy_method)
    return result(float(res.pvalue), method, float(res.statistic))


def smallest_p(test: str, n: int, comparisons: int) -> float | None:
    """The smallest Holm-adjusted two-sided p-value one of ``comparisons`` comparisons on ``n`` pairs can reach.

    That is the smallest attainable p of a single comparison times ``comparisons`` (Holm's factor for the
    smallest p-value; Holm 1979), capped at 1:

    - ``"wilcoxon"``: with ``n`` pairs all of one sign the exact signed-rank statistic is at its extreme,
      which has probability ``1 / 2**n`` under the null, so the two-sided p is at least ``2 / 2**n``
      (Wilcoxon 1945). n = 5: 0.0625 alone, 0.1875 after Holm over 3 comparisons: nothing can reach 0.05.
      The same bound holds for scipy's permutation test (ties or zeros, n <= 13); beyond that scipy's
      normal approximation is used and the bound is approximate, but far below any usual alpha.
    - ``"paired-t"``: no positive floor (p tends to 0 as the differences become consistent): ``None``.

    Args:
        test: ``"paired-t"`` or ``"wilcoxon"``.
        n: Number of pairs (seeds) in the comparison.
        comparisons: Number of comparisons Holm corrects together (arms other than the best), ``>= 1``.

    Returns:
        The floor in ``(0, 1]``; ``None`` for the paired t-test with ``n >= 2``; ``1.0`` when ``n`` is too
        small to test at all (``n < 2`` for the t-test, ``n == 0`` for Wilcoxon).

    Raises:
        ValueError: For an unknown ``test``, a negative ``n``, or ``comparisons < 1``.
    """
    _check_test(test)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n!r}")
    if comparisons < 1:
        raise ValueError(f"comparisons must be >= 1, got {comparisons!r}")
    if test == "paired-t":
        return None if n >= 2 else 1.0
    return min(1.0, comparisons * 2.0 / 2.0**n)


@dataclass(frozen=True)
class Comparison:
    """The validation-chosen best arm against every other arm on test (see :func:`compare_to_best`).

    Attributes:
        best: The arm with the best mean validation score.
        maximize: Whether larger scores are better.
        test: The test used (``"paired-t"`` or ``"wilcoxon"``).
        alpha: Family-wise significance level of the verdicts.
        valid_means: Mean validation score per arm (over all its seeds).
        test_means: Mean test score per arm (over all its seeds).
        results: The :class:`PairedResult` per other arm (``other - best`` on the seeds both have).
        seeds: The seeds each comparison used, per other arm (positions when sequences were given).
        raw_p: Two-sided p per other arm (nan when not testable).
        adjusted_p: Holm-adjusted p per other arm, corrected over the testable comparisons (nan when not
            testable).
        verdicts: Per other arm: ``"better"`` or ``"worse"`` (than the best, significant at ``alpha`` after
            Holm), ``"no significant difference"``, or ``"not testable"``.
        floor: The smallest adjusted p any comparison could reach (:func:`smallest_p` for the largest
            ``n`` and the number of testable comparisons); ``None`` for the paired t-test (no positive
            floor), and with no comparisons; ``1.0`` when none is testable.
        can_reach_significance: Whether any comparison could be significant at ``alpha`` at all
            (``floor`` is ``None`` or below ``alpha``, and something is testable).
    """

    best: str
    maximize: bool
    test: str
    alpha: float
    valid_means: dict[str, float]
    test_means: dict[str, float]
    results: dict[str, PairedResult]
    seeds: dict[str, tuple[int, ...]]
    raw_p: dict[str, float]
    adjusted_p: dict[str, float]
    verdicts: dict[str, str]
    floor: float | None
    can_reach_significance: bool


def _by_seed(scores: Mapping[str, Mapping[int, float] | Sequence[float]], what: str) -> dict[str, dict[int, float]]:
    kinds = {isinstance(v, Mapping) for v in scores.values()}
    if len(kinds) > 1:
        raise ValueError(f"{what} scores mix {{seed: value}} mappings and sequences: use one kind for every arm")
    return {arm: dict(v) if isinstance(v, Mapping) else dict(enumerate(v)) for arm, v in scores.items()}


def compare_to_best(
    valid: Mapping[str, Mapping[int, float] | Sequence[float]],
    test: Mapping[str, Mapping[int, float] | Sequence[float]],
    *,
    maximize: bool,
    test_name: str = "paired-t",
    alpha: float = 0.05,
    level: float = 0.95,
) -> Comparison:
    """Choose the best arm on validation, then compare every other arm with it on test, paired by seed.

    ``best`` is the arm with the best mean validation score (highest, or lowest when minimising; ties go
    to the first arm name in sorting order). Each other arm's test scores are compared with the best's on
    the seeds both have, with :func:`paired_comparison` (``d = other - best``); the two-sided p-values of the
    testable comparisons are Holm-corrected together (:func:`holm`; Holm 1979). A verdict says whether the
    arm is significantly ``"better"`` or ``"worse"`` than the best at ``alpha`` (the direction from the sign
    of the mean difference and ``maximize``), ``"no significant difference"``, or ``"not testable"`` (nan
    p: see :func:`paired_comparison`). An arm may be "better" on test: the choice was made on validation.

    Scores per arm are either ``{seed: value}`` mappings (preferred: pairing is by seed, and an arm missing
    some seeds is compared on the seeds it shares with the best), or sequences in seed order, paired by
    position (every arm must then list the same seeds in the same order). Don't mix the two kinds.

    Args:
        valid: ``{arm: scores}`` on the validation set; chooses the best arm.
        test: ``{arm: scores}`` on the test set, for the same arms; the comparisons.
        maximize: Whether larger scores are better.
        test_name: ``"paired-t"`` (Student's paired t-test) or ``"wilcoxon"`` (Wilcoxon's signed-rank test).
        alpha: Family-wise significance level of the verdicts.
        level: Confidence level of each mean difference's interval.

    Returns:
        A :class:`Comparison`.

    Raises:
        ValueError: For an unknown ``test_name``, no arms, different arms in ``valid`` and ``test``, an arm
            without validation scores, non-finite scores, or mixed mappings and sequences.
    """
    _check_test(test_name)
    if not valid:
        raise ValueError("no arms to compare")
    if set(valid) != set(test):
        only = sorted(set(valid) ^ set(test))
        raise ValueError(f"valid and test must have the same arms; not in both: {', '.join(only)}")
    valid_by, test_by = _by_seed(valid, "valid"), _by_seed(test, "test")
    for where, by in (("valid", valid_by), ("test", test_by)):
        for arm, per in by.items():
            bad = [v for v in per.values() if not math.isfinite(v)]
            if bad:
                raise ValueError(f"{where} scores of arm {arm!r} must be finite, got {bad[0]!r}")
    empty = sorted(arm for arm, per in valid_by.items() if not per)
    if empty:
        raise ValueError(f"no validation scores for arm(s) {', '.join(empty)}")

    mean = lambda per: sum(per.values()) / len(per) if per else math.nan
    valid_means = {arm: mean(per) for arm, per in valid_by.items()}
    test_means = {arm: mean(per) for arm, per in test_by.items()}
    sign = -1.0 if maximize else 1.0
    best = min(sorted(valid_means), key=lambda arm: sign * valid_means[arm])

    results: dict[str, PairedResult] = {}
    seeds: dict[str, tuple[int, ...]] = {}
    for arm in sorted(test_by):
        if arm == best:
            continue
        shared = tuple(sorted(set(test_by[best]) & set(test_by[arm])))
        seeds[arm] = shared
        results[arm] = paired_comparison([test_by[best][s] for s in shared], [test_by[arm][s] for s in shared],
                                         test=test_name, level=level)
    raw_p = {arm: r.p for arm, r in results.items()}
    testable = {arm: p for arm, p in raw_p.items() if not math.isnan(p)}
    adjusted = holm(testable) if testable else {}
    adjusted_p = {arm: adjusted.get(arm, math.nan) for arm in results}

    verdicts = {}
    for arm, r in results.items():
        p = adjusted_p[arm]
        if math.isnan(p):
            verdicts[arm] = "not testable"
        elif p < alpha and r.mean_difference != 0:
            verdicts[arm] = "better" if (r.mean_difference > 0) == maximize else "worse"
        else:
            verdicts[arm] = "no significant difference"

    if not results:
        floor, reachable = None, False
    elif not testable:
        floor, reachable = 1.0, False
    else:
        floor = smallest_p(test_name, max(results[arm].n for arm in testable), len(testable))
        reachable = floor is None or floor < alpha
    return Comparison(best, maximize, test_name, alpha, valid_means, test_means, results, seeds, raw_p, adjusted_p,
                      verdicts, floor, reachable)


def pooled_by_level(scores: Mapping[str, Mapping[int, float]], level_of: Mapping[str, str]) -> dict[str, dict[int, float]]:
    """Per-seed means over the arms that share a factor level, for pooled comparisons in a factorial design.

    In a factorial benchmark (e.g. attention type x positional encoding), a factor level's effect is judged
    on the per-seed mean over that level's arms: the pooled scores stay paired by seed with ``n`` = seeds,
    as the arms' own scores are. Treating arms x seeds as independent samples would inflate ``n`` and
    ignore the pairing. Feed the result to :func:`compare_to_best` like arms' scores.

    Only seeds present in every arm of a level count for that level (a mean over a different subset of arms
    per seed would not be comparable across seeds). Arms of ``scores`` missing from ``level_of``, and arms of
    ``level_of`` without scores, are ignored.

    Args:
        scores: ``{arm: {seed: value}}``.
        level_of: ``{arm: level}``: the factor level of each arm.

    Returns:
        ``{level: {seed: mean over the level's arms}}``, levels and seeds sorted; a level whose arms share
        no seed maps to ``{}``.
    """
    arms_of: dict[str, list[str]] = {}
    for arm in sorted(scores):
        if arm in level_of:
            arms_of.setdefault(level_of[arm], []).append(arm)
    pooled: dict[str, dict[int, float]] = {}
    for level in sorted(arms_of):
        arms = arms_of[level]
        common = set.intersection(*(set(scores[arm]) for arm in arms))
        pooled[level] = {seed: sum(scores[arm][seed] for arm in arms) / len(arms) for seed in sorted(common)}
    return pooled


# -- across problems ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman's test and the Nemenyi critical difference over problems (see :func:`friedman_cd`).

    Attributes:
        p: Friedman's p-value (chi-square approximation, as ``scipy.stats.friedmanchisquare``): the null
            hypothesis is that all arms have the same mean rank. nan when all arms tie on every problem.
        mean_ranks: Mean rank per arm over the problems, 1 = best (ties share the average rank), ordered
            best first.
        cd: Nemenyi's critical difference at ``alpha``: two arms whose mean ranks differ by more are
            significantly different (Nemenyi 1963; Demsar 2006, section 3.2.2).
        alpha: Significance level of the test and of the critical difference.
        significant: ``p < alpha`` (Demsar: run the post-hoc comparison only then).
        maximize: Whether larger scores were better (rank 1 = largest score).
        problems: The problems, sorted.
        dropped: Arms left out because they lack a (finite) score on some problem.
        notes: Warnings raised by autorank/scipy, and how the computation was made, for the report.
        rank_result: autorank's ``RankResult``, for :func:`cd_diagram_png`.
    """

    p: float
    mean_ranks: dict[str, float]
    cd: float
    alpha: float
    significant: bool
    maximize: bool
    problems: tuple[str, ...]
    dropped: tuple[str, ...]
    notes: list[str] = field(default_factory=list)
    rank_result: Any = field(default=None, repr=False, compare=False)


#: autorank refuses fewer rows (problems) than this in its public ``autorank()``.
AUTORANK_MIN_PROBLEMS = 5


def friedman_cd(scores: Mapping[str, Mapping[str, float]], *, maximize: bool, alpha: float = 0.05) -> FriedmanResult | None:
    """Rank arms over problems: Friedman's test with Nemenyi's critical difference (Demsar 2006).

    Each problem ranks the arms by their (mean over seeds) score, 1 = best, ties sharing the average rank;
    Friedman's (1937) test asks whether the mean ranks differ, and Nemenyi's (1963) post-hoc critical
    difference ``CD = q_alpha * sqrt(k (k + 1) / (6 N))`` (k arms, N problems; q_alpha the studentized range
    quantile over sqrt 2, e.g. 2.343 for k = 3 at 0.05) says which pairs do.

    Computed by ``autorank.autorank`` with ``approach="frequentist"``, ``force_mode="nonparametric"`` (always
    Friedman + Nemenyi, whatever its normality tests say) and ``order="descending"`` when maximising
    (autorank then gives rank 1 to the largest score), ``"ascending"`` when minimising. autorank's public
    function refuses fewer than 5 problems; for 3 or 4 it calls autorank's own Friedman-Nemenyi routine
    (``autorank._util.rank_multiple_nonparametric``, which ``autorank()`` runs after its checks) and wraps
    its result the same way, and says so in ``notes``. autorank's printing (it prints its result table even
    with ``verbose=False``) is suppressed; its warnings go to ``notes``.

    Args:
        scores: ``{problem: {arm: score}}``; only arms with a finite score on every problem are ranked.
        maximize: Whether larger scores are better.
        alpha: Significance level, in ``(0, 1)``.

    Returns:
        A :class:`FriedmanResult`, or ``None`` with fewer than 3 problems or fewer than 3 arms (Friedman's
        test needs 3 arms in scipy, and autorank answers 2 with a Wilcoxon test and no diagram: compare two
        arms with :func:`paired_comparison` on their per-problem scores instead).
    """
    problems = tuple(sorted(scores))
    if len(problems) < 3:
        return None
    all_arms = sorted({arm for per in scores.values() for arm in per})
    finite = lambda per, arm: arm in per and per[arm] is not None and math.isfinite(per[arm])
    arms = [arm for arm in all_arms if all(finite(scores[p], arm) for p in problems)]
    dropped = tuple(arm for arm in all_arms if arm not in arms)
    if len(arms) < 3:
        return None

    import contextlib
    import io
    import warnings

    import pandas as pd
    from autorank import autorank
    from autorank._util import RankResult, rank_multiple_nonparametric

    data = pd.DataFrame([[float(scores[p][arm]) for arm in arms] for p in problems], columns=arms)
    order = "descending" if maximize else "ascending"
    notes = [f"left out (no score on every problem): {', '.join(dropped)}"] if dropped else []
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("always")
        if len(problems) >= AUTORANK_MIN_PROBLEMS:
            result = autorank(data, alpha=float(alpha), verbose=False, order=order, approach="frequentist",
                              force_mode="nonparametric")
        else:
            notes.append(f"{len(problems)} problems: autorank() needs {AUTORANK_MIN_PROBLEMS}; "
                         "used its Friedman-Nemenyi routine directly (no normality tests)")
            res = rank_multiple_nonparametric(data, float(alpha), False, False, order, None, "nonparametric")
            result = RankResult(rankdf=res.rankdf, pvalue=res.pvalue, cd=res.cd, omnibus=res.omnibus, posthoc=res.posthoc,
                                all_normal=False, pvals_shapiro=[], homoscedastic=None, pval_homogeneity=None,
                                homogeneity_test=None, alpha=float(alpha), alpha_normality=float(alpha) / len(arms),
                                num_samples=len(data), sample_matrix=None, posterior_matrix=None, decision_matrix=None,
                                rope=None, rope_mode=None, effect_size=res.effect_size, force_mode="nonparametric",
                                plot_order=None)
    for w in caught:
        message = f"{w.category.__name__}: {w.message}"
        if message not in notes:
            notes.append(message)
    mean_ranks = {str(arm): float(rank) for arm, rank in result.rankdf["meanrank"].sort_values().items()}
    p = float(result.pvalue)
    return FriedmanResult(p=p, mean_ranks=mean_ranks, cd=float(result.cd), alpha=float(alpha), significant=p < alpha,
                          maximize=maximize, problems=problems, dropped=dropped, notes=notes, rank_result=result)


def cd_diagram_png(result: FriedmanResult, *, allow_insignificant: bool = False, width: float = 6.0) -> bytes:
    """The critical-difference diagram of a :func:`friedman_cd` result, as PNG bytes (Demsar 2006, Fig. 1).

    The arms sit on an axis of mean ranks; a bar marked CD shows the critical difference, and thick lines
    join arms whose mean ranks differ by no more than it (not significantly different). Drawn by
    ``autorank.plot_stats`` on an Agg canvas (no pyplot state), matplotlib's default style, :data:`CD_DPI`
    dpi, no ``Software`` metadata: the same result gives the same bytes.

    Args:
        result: A :func:`friedman_cd` result.
        allow_insignificant: Draw even when Friedman's test is not significant (Demsar advises against the
            post-hoc comparison then, so by default this raises).
        width: Width of the figure in inches; the height follows autorank's layout.

    Returns:
        The PNG file's bytes.

    Raises:
        ValueError: If the Friedman test is not significant at the result's ``alpha`` and
            ``allow_insignificant`` is False.
    """
    if not result.significant and not allow_insignificant:
        raise ValueError(f"Friedman's test is not significant ({format_p(result.p)} >= {result.alpha}): "
                         "pass allow_insignificant=True to draw the diagram anyway")
    import io
    import warnings

    import matplotlib
    import matplotlib.style
    from autorank import plot_stats
    from autorank._util import get_sorted_rank_groups
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rank_result = result.rank_result
    # autorank's cd_diagram sizes its own pyplot figure; on our canvas we give it the same height
    # (autorank 1.3 layout: the rank axis at 0.65 in, 0.2 in per pair of labels, 0.1 in per group line).
    _, _, groups = get_sorted_rank_groups(rank_result._replace(rankdf=rank_result.rankdf.sort_values(by="meanrank")), True)
    k = len(rank_result.rankdf)
    height = 0.65 + (k + 1) / 2 * 0.2 + max(0.4, 0.4 + (len(groups) - 1) * 0.1)
    with matplotlib.style.context("default"), matplotlib.rc_context({"font.family": "DejaVu Sans"}), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = Figure(figsize=(width, height), dpi=CD_DPI, facecolor="white")
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        plot_stats(rank_result, allow_insignificant=True, ax=ax)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=CD_DPI, metadata={"Software": None})
    return buf.getvalue()
