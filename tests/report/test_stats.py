"""The benchmark statistics on hand-computed examples, checked against scipy."""

from __future__ import annotations

import math
import struct
import warnings

import pytest
from scipy import stats as sps

from harness.report.stats import (
    compare_to_best,
    format_p,
    friedman_cd,
    holm,
    mean_ci,
    median_iqr,
    paired_comparison,
    performance_profile,
    pooled_by_level,
    ranks,
    smallest_p,
)

SEEDS = [1000, 1001, 1002, 1003, 1004]


def test_mean_ci_uses_students_t():
    # values 1..5: mean 3, sample sd sqrt(2.5), sem sqrt(0.5); t(0.975, 4) = 2.7764451
    mean, low, high = mean_ci([1, 2, 3, 4, 5])
    assert mean == 3.0
    assert high - mean == pytest.approx(2.7764451 * math.sqrt(0.5), rel=1e-6)
    assert mean - low == pytest.approx(high - mean)
    mean, low, high = mean_ci([7.0])
    assert mean == 7.0 and math.isnan(low) and math.isnan(high)  # one value: no interval


def test_median_and_interquartile_range():
    assert median_iqr([1, 2, 3, 4, 5]) == (3.0, 2.0, 4.0)
    assert median_iqr([1, 2, 3, 4]) == (2.5, 1.75, 3.25)


def test_holm_correction_by_hand():
    # sorted: a 0.01 (x3 = 0.03), c 0.03 (x2 = 0.06), b 0.04 (x1 = 0.04 -> kept monotone at 0.06)
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03})
    assert adjusted == pytest.approx({"a": 0.03, "c": 0.06, "b": 0.06})
    assert holm({"x": 0.6, "y": 0.7}) == pytest.approx({"x": 1.0, "y": 1.0})


def test_ranks_share_ties():
    assert ranks({"a": 10.0, "b": 12.0, "c": 10.0}, maximize=True) == {"b": 1.0, "a": 2.5, "c": 2.5}
    assert ranks({"a": 0.3, "b": 0.2}, maximize=False) == {"b": 1.0, "a": 2.0}


def test_performance_profile_by_hand():
    scores = {"p1": {"a": 0.40, "b": 0.44}, "p2": {"a": 0.60, "b": 0.50}}  # errors: lower is better
    profile = performance_profile(scores, maximize=False, taus=[1.0, 1.1, 1.2, 1.5])
    # a: ratios 1.0 (p1), 1.2 (p2); b: 1.1 (p1), 1.0 (p2)
    assert profile == {"a": [0.5, 0.5, 1.0, 1.0], "b": [0.5, 1.0, 1.0, 1.0]}
    bleu = performance_profile({"p": {"a": 30.0, "b": 20.0}}, maximize=True, taus=[1.0, 1.5])
    assert bleu == {"a": [1.0, 1.0], "b": [0.0, 1.0]}


# -- paired comparisons ---------------------------------------------------------------------------------


def test_paired_t_by_hand():
    best, other = [10, 12, 11, 13, 9], [11, 14, 11, 15, 10]
    # d = 1, 2, 0, 2, 1: mean 1.2, squared deviations .04 .64 1.44 .64 .04 = 2.8, sample variance 0.7
    sem = math.sqrt(0.7 / 5)
    t = 1.2 / sem  # 3.2071
    assert t == pytest.approx(3.2071349, rel=1e-6)
    res = paired_comparison(best, other)
    assert (res.n, res.test, res.method) == (5, "paired-t", "t")
    assert res.mean_difference == pytest.approx(1.2)
    assert res.statistic == pytest.approx(t)
    assert res.p == pytest.approx(2 * sps.t.sf(t, 4))
    assert res.p == pytest.approx(sps.ttest_rel(other, best).pvalue)
    half = sps.t.ppf(0.975, 4) * sem
    assert (res.ci_low, res.ci_high) == pytest.approx((1.2 - half, 1.2 + half))
    assert res.relative == pytest.approx(1.2 / 11)
    assert res.testable
    # swapping the arms flips the difference, not the two-sided p
    flipped = paired_comparison(other, best)
    assert flipped.mean_difference == pytest.approx(-1.2) and flipped.p == pytest.approx(res.p)
    # a wider level widens the interval
    wide = paired_comparison(best, other, level=0.99)
    assert wide.ci_high - wide.ci_low == pytest.approx(2 * sps.t.ppf(0.995, 4) * sem)


def test_exact_wilcoxon_with_five_positive_differences_is_one_sixteenth():
    best = [10.0] * 5
    res = paired_comparison(best, [11, 12, 13, 14, 15], test="wilcoxon")
    # all 5 differences positive: W- = 0, probability 1/32 per tail, two-sided 2/32
    assert (res.p, res.method, res.statistic) == (1 / 16, "exact", 0.0)
    assert res.mean_difference == 3.0
    assert res.ci_low == pytest.approx(3 - sps.t.ppf(0.975, 4) * math.sqrt(2.5 / 5))  # still the Student-t interval
    assert paired_comparison(best, [9, 8, 7, 6, 5], test="wilcoxon").p == 1 / 16
    # ties: scipy's exhaustive sign-flip permutation test, same floor
    tied = paired_comparison(best, [11, 11, 12, 13, 14], test="wilcoxon")
    assert (tied.p, tied.method) == (pytest.approx(1 / 16), "permutation")
    # a zero difference is dropped: 4 left, 2 / 2**4
    zero = paired_comparison(best, [10, 11, 12, 13, 14], test="wilcoxon")
    assert (zero.p, zero.method) == (pytest.approx(1 / 8), "permutation")
    # more than 13 pairs with ties: normal approximation
    many = paired_comparison([0.0] * 14, [1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, -13], test="wilcoxon")
    assert many.method == "asymptotic"
    assert many.p == pytest.approx(sps.wilcoxon([1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, -13], method="asymptotic").pvalue)


def test_untestable_comparisons_have_nan_p_and_a_point_interval():
    # constant nonzero differences: scipy says t = inf, p = 0; we say not testable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy: "Precision loss occurred in moment calculation"
        assert sps.ttest_rel([2, 3, 4], [1, 2, 3]).pvalue == 0.0
    const = paired_comparison([1, 2, 3], [2, 3, 4])
    assert math.isnan(const.p) and math.isnan(const.statistic) and not const.testable
    assert (const.mean_difference, const.ci_low, const.ci_high, const.method) == (1.0, 1.0, 1.0, "none")
    # equal gaps up to rounding (scipy: p ~ 1e-28) count as constant too
    rounded = paired_comparison([30.1, 30.4, 29.9], [30.2, 30.5, 30.0])
    assert math.isnan(rounded.p) and rounded.ci_low == rounded.ci_high == pytest.approx(0.1)
    # ... but Wilcoxon can rank constant differences: 5 equal positive gaps, 1/16
    assert paired_comparison([1, 2, 3, 4, 5], [2, 3, 4, 5, 6], test="wilcoxon").p == pytest.approx(1 / 16)
    # all differences zero: not testable for either test
    for test in ("paired-t", "wilcoxon"):
        same = paired_comparison([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], test=test)
        assert math.isnan(same.p) and same.mean_difference == 0.0 and same.relative == 0.0
    one = paired_comparison([5.0], [7.0])
    assert (one.n, one.mean_difference, one.ci_low, one.ci_high) == (1, 2.0, 2.0, 2.0) and math.isnan(one.p)
    empty = paired_comparison([], [], test="wilcoxon")
    assert empty.n == 0 and math.isnan(empty.mean_difference) and math.isnan(empty.p)
    # best mean 0: no relative difference
    assert math.isnan(paired_comparison([-1.0, 1.0], [0.0, 3.0]).relative)


def test_paired_comparison_rejects_bad_input():
    with pytest.raises(ValueError, match="mann-whitney"):
        paired_comparison([1, 2], [1, 2], test="mann-whitney")
    with pytest.raises(ValueError, match="3 and 2"):
        paired_comparison([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="nan"):
        paired_comparison([1, 2, math.nan], [1, 2, 3])
    with pytest.raises(ValueError, match="1.5"):
        paired_comparison([1, 2], [2, 3], level=1.5)


def test_smallest_p():
    assert smallest_p("wilcoxon", 5, 1) == 0.0625
    assert smallest_p("wilcoxon", 5, 3) == 0.1875
    assert smallest_p("wilcoxon", 10, 3) == pytest.approx(3 * 2 / 1024)
    assert smallest_p("wilcoxon", 2, 4) == 1.0  # capped
    assert smallest_p("paired-t", 5, 3) is None
    assert smallest_p("paired-t", 1, 3) == 1.0  # nothing testable
    with pytest.raises(ValueError, match="sign"):
        smallest_p("sign", 5, 3)
    with pytest.raises(ValueError, match="comparisons"):
        smallest_p("wilcoxon", 5, 0)


# -- compare_to_best ------------------------------------------------------------------------------------


def _four_arms() -> tuple[dict, dict]:
    """A wins on validation; B is better on test on every seed; C ties A on test; D is worse on every seed."""
    valid = {
        "A": dict(zip(SEEDS, [0.80, 0.81, 0.79, 0.80, 0.82])),
        "B": dict(zip(SEEDS, [0.78, 0.77, 0.79, 0.78, 0.78])),
        "C": dict(zip(SEEDS, [0.70, 0.71, 0.69, 0.70, 0.70])),
        "D": dict(zip(SEEDS, [0.60, 0.61, 0.59, 0.60, 0.60])),
    }
    a = [0.70, 0.72, 0.69, 0.71, 0.70]
    offsets = {"A": [0, 0, 0, 0, 0], "B": [0.05, 0.06, 0.04, 0.055, 0.045], "C": [0.01, -0.02, 0.015, -0.01, 0.005],
               "D": [-0.2, -0.21, -0.19, -0.22, -0.205]}
    test = {arm: {s: x + o for s, x, o in zip(SEEDS, a, off)} for arm, off in offsets.items()}
    return valid, test


def test_best_is_chosen_on_validation_and_compared_on_test():
    valid, test = _four_arms()
    cmp = compare_to_best(valid, test, maximize=True)
    assert cmp.best == "A"  # validation winner...
    assert cmp.test_means["B"] > cmp.test_means["A"]  # ...although B has the better test mean
    assert cmp.valid_means["A"] == pytest.approx(0.804)
    assert cmp.verdicts == {"B": "better", "C": "no significant difference", "D": "worse"}
    assert cmp.results["B"].mean_difference == pytest.approx(0.05)
    assert cmp.results["D"].mean_difference == pytest.approx(-0.205)
    assert cmp.seeds["B"] == tuple(SEEDS) and cmp.results["B"].n == 5
    # the raw p-values are the paired t-tests of the test scores
    for arm in "BCD":
        expected = sps.ttest_rel([test[arm][s] for s in SEEDS], [test["A"][s] for s in SEEDS]).pvalue
        assert cmp.raw_p[arm] == pytest.approx(expected)
    # Holm across the three comparisons
    assert cmp.adjusted_p == pytest.approx(holm(cmp.raw_p))
    assert cmp.adjusted_p["B"] == pytest.approx(min(1.0, max(3 * min(cmp.raw_p.values()), 2 * cmp.raw_p["B"])))
    assert (cmp.floor, cmp.can_reach_significance) == (None, True)


def test_wilcoxon_with_five_seeds_cannot_reach_significance():
    valid, test = _four_arms()
    cmp = compare_to_best(valid, test, maximize=True, test_name="wilcoxon")
    assert cmp.best == "A" and cmp.test == "wilcoxon"
    assert cmp.floor == smallest_p("wilcoxon", 5, 3) == 0.1875
    assert cmp.can_reach_significance is False
    # B and D differ from A in the same direction on every seed: raw 1/16 each, Holm 3/16 and 2/16 -> 3/16
    assert cmp.raw_p["B"] == cmp.raw_p["D"] == pytest.approx(1 / 16)
    assert cmp.adjusted_p == pytest.approx(holm(cmp.raw_p))
    assert cmp.adjusted_p["B"] == cmp.adjusted_p["D"] == pytest.approx(0.1875)
    assert set(cmp.verdicts.values()) == {"no significant difference"}


def test_minimising_with_sequences_in_seed_order():
    valid = {"x": [0.30, 0.31, 0.29, 0.30], "y": [0.35, 0.36, 0.34, 0.35], "z": [0.33, 0.33, 0.32, 0.34]}
    test = {"x": [0.40, 0.42, 0.39, 0.41], "y": [0.50, 0.53, 0.48, 0.52], "z": [0.30, 0.33, 0.285, 0.315]}
    cmp = compare_to_best(valid, test, maximize=False)
    assert cmp.best == "x"  # lowest validation error
    assert cmp.results["y"].mean_difference == pytest.approx(0.1025)  # higher error: worse
    assert cmp.results["z"].mean_difference == pytest.approx(-0.0975)  # lower error: better
    assert cmp.verdicts == {"y": "worse", "z": "better"}
    assert cmp.seeds == {"y": (0, 1, 2, 3), "z": (0, 1, 2, 3)}
    # maximising the same numbers: y has the best validation mean and x, z are worse
    assert compare_to_best(valid, test, maximize=True).best == "y"


def test_ties_missing_seeds_and_untestable_arms():
    valid = {"b": {1: 1.0, 2: 1.0}, "a": {1: 1.0, 2: 1.0}, "c": {1: 0.5, 2: 0.5}, "d": {1: 0.2}}
    test = {"a": {1: 1.0, 2: 2.0, 3: 3.0}, "b": {1: 1.0, 2: 2.0, 3: 3.0}, "c": {1: 0.0, 2: 0.5, 3: 2.5},
            "d": {1: 0.5, 3: 2.0}}
    cmp = compare_to_best(valid, test, maximize=True)
    assert cmp.best == "a"  # tied with b on validation: first by name
    assert cmp.verdicts["b"] == "not testable" and math.isnan(cmp.raw_p["b"]) and math.isnan(cmp.adjusted_p["b"])
    assert cmp.seeds["d"] == (1, 3) and cmp.results["d"].n == 2
    assert cmp.results["d"].mean_difference == pytest.approx(-0.75)
    # Holm over the two testable comparisons only
    testable = {arm: cmp.raw_p[arm] for arm in "cd"}
    assert {arm: cmp.adjusted_p[arm] for arm in "cd"} == pytest.approx(holm(testable))
    assert cmp.results["c"].p == pytest.approx(sps.ttest_rel([0.0, 0.5, 2.5], [1.0, 2.0, 3.0]).pvalue)
    single = compare_to_best({"a": [1.0]}, {"a": [1.0]}, maximize=True)
    assert (single.best, single.results, single.floor, single.can_reach_significance) == ("a", {}, None, False)


def test_compare_to_best_rejects_bad_input():
    with pytest.raises(ValueError, match="not in both: b"):
        compare_to_best({"a": [1.0], "b": [2.0]}, {"a": [1.0]}, maximize=True)
    with pytest.raises(ValueError, match="mix"):
        compare_to_best({"a": [1.0], "b": {0: 2.0}}, {"a": [1.0], "b": [2.0]}, maximize=True)
    with pytest.raises(ValueError, match="'b'"):
        compare_to_best({"a": [1.0], "b": [2.0]}, {"a": [1.0], "b": [math.inf]}, maximize=True)
    with pytest.raises(ValueError, match="'t-test'"):
        compare_to_best({"a": [1.0]}, {"a": [1.0]}, maximize=True, test_name="t-test")


def test_format_p():
    assert format_p(0.0004) == "p < 0.001"
    assert format_p(0.0) == "p < 0.001"
    assert format_p(0.000999) == "p < 0.001"
    assert format_p(0.001) == "p = 0.001"
    assert format_p(0.02) == "p = 0.020"
    assert format_p(0.1875) == "p = 0.188"
    assert format_p(1.0) == "p = 1.000"
    assert format_p(math.nan) == "p = –"
    assert format_p(None) == "p = –"


def test_pooled_by_level_by_hand():
    scores = {
        "dot-sin": {1000: 1.0, 1001: 2.0, 1002: 3.0}, "dot-rope": {1000: 3.0, 1001: 4.0, 1002: 8.0},
        "add-sin": {1000: 10.0, 1001: 20.0, 1002: 30.0}, "add-rope": {1000: 20.0, 1001: 30.0, 1002: 40.0},
    }
    level_of = {"dot-sin": "dot", "dot-rope": "dot", "add-sin": "additive", "add-rope": "additive"}
    pooled = pooled_by_level(scores, level_of)
    assert pooled == {"additive": {1000: 15.0, 1001: 25.0, 1002: 35.0}, "dot": {1000: 2.0, 1001: 3.0, 1002: 5.5}}
    # comparisons on pooled scores stay paired by seed: n = 3 seeds, not 2 arms x 3 seeds
    cmp = compare_to_best(pooled, pooled, maximize=True)
    assert cmp.best == "additive" and cmp.results["dot"].n == 3
    assert cmp.results["dot"].mean_difference == pytest.approx((2 + 3 + 5.5) / 3 - 25)
    # a seed missing from one arm of a level drops out of that level only
    del scores["add-rope"][1002]
    assert pooled_by_level(scores, level_of) == {"additive": {1000: 15.0, 1001: 25.0}, "dot": pooled["dot"]}
    # arms without a level are ignored
    assert pooled_by_level(scores, {"dot-sin": "dot"}) == {"dot": {1000: 1.0, 1001: 2.0, 1002: 3.0}}


# -- Friedman + Nemenyi ---------------------------------------------------------------------------------

# accuracies: per-problem ranks (1 = best)  p1: a1 b2 c3   p2: b1 a2 c3   p3: a1 c2 b3   p4: a1, b c tied 2.5
FOUR = {"p1": {"a": 0.90, "b": 0.80, "c": 0.70}, "p2": {"a": 0.85, "b": 0.86, "c": 0.60},
        "p3": {"a": 0.70, "b": 0.60, "c": 0.65}, "p4": {"a": 0.95, "b": 0.90, "c": 0.90}}


def _nemenyi_cd(k: int, n: int) -> float:
    """Demsar (2006), eq. for the Nemenyi CD with q_0.05 for k = 3 from his Table 5."""
    assert k == 3
    return 2.343 * math.sqrt(k * (k + 1) / (6 * n))


def _friedman_p(scores: dict) -> float:
    problems = sorted(scores)
    return sps.friedmanchisquare(*[[scores[p][arm] for p in problems] for arm in ("a", "b", "c")]).pvalue


def test_friedman_cd_on_four_problems_by_hand():
    res = friedman_cd(FOUR, maximize=True)
    # a: (1 + 2 + 1 + 1) / 4, b: (2 + 1 + 3 + 2.5) / 4, c: (3 + 3 + 2 + 2.5) / 4; best first
    assert list(res.mean_ranks) == ["a", "b", "c"]
    assert res.mean_ranks == pytest.approx({"a": 1.25, "b": 2.125, "c": 2.625})
    # rank sums 5, 8.5, 10.5: chi2 = 12 / (4 * 3 * 4) * 207.5 - 3 * 4 * 4 = 3.875, tie correction 1 - 6 / 96
    assert res.p == pytest.approx(_friedman_p(FOUR))
    assert res.p == pytest.approx(sps.chi2.sf(3.875 / (1 - 6 / 96), 2))
    assert res.significant is False and res.p == pytest.approx(0.1266, abs=1e-4)
    # autorank's q comes from statsmodels' studentized range (3.3145 / sqrt 2 = 2.3437 vs Demsar's rounded 2.343)
    assert res.cd == pytest.approx(_nemenyi_cd(3, 4), rel=1e-3)
    assert res.cd == pytest.approx(sps.studentized_range.ppf(0.95, 3, 1e6) * math.sqrt(3 * 4 / (12 * 4)), rel=1e-4)
    assert res.problems == ("p1", "p2", "p3", "p4") and res.dropped == ()
    assert any("autorank() needs 5" in note for note in res.notes)
    # minimising the same numbers reverses each problem's ranks (autorank's order="ascending")
    low = friedman_cd(FOUR, maximize=False)
    assert low.mean_ranks == pytest.approx({"c": 1.375, "b": 1.875, "a": 2.75})
    assert list(low.mean_ranks) == ["c", "b", "a"] and low.p == pytest.approx(res.p)


def test_friedman_cd_through_autorank_on_six_problems():
    # a beats b beats c on every problem except p6 (b first)
    six = {f"p{i}": {"a": 0.9 + i / 100, "b": 0.8 + i / 100, "c": 0.5 + i / 50} for i in range(1, 6)}
    six["p6"] = {"a": 0.80, "b": 0.85, "c": 0.10}
    six["p7"] = {"a": 0.5, "b": 0.4, "c": 0.3, "d": 0.9}  # d only here: dropped
    res = friedman_cd(six, maximize=True)
    assert res.dropped == ("d",) and len(res.problems) == 7
    assert res.mean_ranks == pytest.approx({"a": 8 / 7, "b": 13 / 7, "c": 3.0})
    assert res.p == pytest.approx(_friedman_p(six))
    assert res.significant is True
    assert res.cd == pytest.approx(_nemenyi_cd(3, 7), rel=1e-3)
    assert not any("autorank() needs" in note for note in res.notes)


def test_friedman_cd_needs_three_problems_and_three_arms():
    assert friedman_cd({"p1": FOUR["p1"], "p2": FOUR["p2"]}, maximize=True) is None
    two_arms = {p: {"a": s["a"], "b": s["b"]} for p, s in FOUR.items()}
    assert friedman_cd(two_arms, maximize=True) is None
    # an arm missing on one problem is dropped, leaving two
    assert friedman_cd({**FOUR, "p5": {"a": 0.5, "b": 0.4}}, maximize=True) is None


def _png_size(png: bytes) -> tuple[int, int]:
    return struct.unpack(">II", png[16:24])


def test_cd_diagram_png():
    from harness.report.stats import CD_DPI, cd_diagram_png

    res = friedman_cd(FOUR, maximize=True)
    with pytest.raises(ValueError, match="not significant"):
        cd_diagram_png(res)
    png = cd_diagram_png(res, allow_insignificant=True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png == cd_diagram_png(res, allow_insignificant=True)  # deterministic

    # the same size autorank gives its own (pyplot) figure
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from autorank import plot_stats

    ax = plot_stats(res.rank_result, allow_insignificant=True)
    width, height = ax.figure.get_size_inches()
    plt.close(ax.figure)
    assert _png_size(png) == (round(width * CD_DPI), round(height * CD_DPI))


def test_friedman_cd_captures_warnings_into_notes():
    # all arms tie everywhere: Friedman's statistic is 0 / 0 and shapiro warns about constant columns
    flat = {f"p{i}": {"a": 1.0, "b": 1.0, "c": 1.0} for i in range(6)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing escapes
        res = friedman_cd(flat, maximize=True)
    assert math.isnan(res.p) and res.significant is False
    assert res.mean_ranks == {"a": 2.0, "b": 2.0, "c": 2.0}
    assert any("range zero" in note for note in res.notes)


def test_validation_chosen_best_and_holm_keep_the_false_alarm_rate_under_equal_arms():
    """Simulated benchmarks whose 4 arms are equal (per-seed effects shared by every arm, as shared seeds give):
    the old design (best picked on test, one-sided tests against it) called some arm worse far more often than
    5%; choosing on validation and testing on test with Holm keeps the family-wise rate at or below alpha."""
    import numpy as np

    from harness.report.stats import compare_to_best

    rng = np.random.default_rng(0)
    runs, alarms = 600, 0
    for _ in range(runs):
        seed_effect = rng.normal(size=5)  # the same for every arm: the pairing
        valid = {a: {k: 30 + seed_effect[k] + rng.normal(scale=0.5) for k in range(5)} for a in "abcd"}
        test = {a: {k: 30 + seed_effect[k] + rng.normal(scale=0.5) for k in range(5)} for a in "abcd"}
        result = compare_to_best(valid, test, maximize=True)
        alarms += any(v in ("worse", "better") for v in result.verdicts.values())
    # binomial(600, 0.05): mean 30, sd 5.3; 45 is about 3 sd above
    assert alarms / runs <= 0.075


def test_mean_interval_is_a_seeded_percentile_bootstrap_inside_the_values():
    from harness.report.stats import mean_interval

    values = [99.9, 99.8, 99.95, 90.1, 99.7]  # a t interval here passes 100: 97.89 +- 5.4
    mean, low, high = mean_interval(values)
    assert mean == pytest.approx(sum(values) / 5) and min(values) <= low < mean < high <= max(values)
    assert mean_interval(values) == (mean, low, high)  # seeded: a report regenerates the same
    assert mean_interval([3.0, 3.0])[1:] == (3.0, 3.0)
    assert all(math.isnan(x) for x in mean_interval([7.0])[1:])
