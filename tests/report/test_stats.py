"""The benchmark statistics on hand-computed examples."""

from __future__ import annotations

import math

import pytest

from harness.report.stats import holm, mean_ci, median_iqr, not_worse_than_best, performance_profile, ranks


def test_mean_ci_uses_students_t():
    # values 1..5: mean 3, sample sd sqrt(2.5), sem sqrt(0.5); t(0.975, 4) = 2.7764451
    mean, low, high = mean_ci([1, 2, 3, 4, 5])
    assert mean == 3.0
    assert high - mean == pytest.approx(2.7764451 * math.sqrt(0.5), rel=1e-6)
    assert mean - low == pytest.approx(high - mean)
    assert mean_ci([7.0]) == (7.0, 7.0, 7.0)


def test_median_and_interquartile_range():
    assert median_iqr([1, 2, 3, 4, 5]) == (3.0, 2.0, 4.0)
    assert median_iqr([1, 2, 3, 4]) == (2.5, 1.75, 3.25)


def test_holm_correction_by_hand():
    # sorted: a 0.01 (x3 = 0.03), c 0.03 (x2 = 0.06), b 0.04 (x1 = 0.04 -> kept monotone at 0.06)
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03})
    assert adjusted == pytest.approx({"a": 0.03, "c": 0.06, "b": 0.06})
    assert holm({"x": 0.6, "y": 0.7}) == pytest.approx({"x": 1.0, "y": 1.0})


def test_best_arm_and_arms_not_significantly_worse():
    scores = {"additive": [30.1, 30.4, 29.9, 30.3, 30.2], "dot": [30.0, 30.5, 29.8, 30.2, 30.1],
              "none": [20.1, 19.8, 20.4, 20.0, 19.9]}
    best, adjusted, kept = not_worse_than_best(scores, maximize=True)
    assert best == "additive"
    # none is below additive in all 25 pairs: exact one-sided p = 1/252, Holm x2
    assert adjusted["none"] == pytest.approx(2 / 252)
    assert kept == {"additive", "dot"}
    best_min, _, kept_min = not_worse_than_best({"a": [0.40, 0.41, 0.39], "b": [0.50, 0.52, 0.49]}, maximize=False)
    assert best_min == "a" and kept_min == {"a", "b"}  # 3 seeds: smallest p is 0.05, never below


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
