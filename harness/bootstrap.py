"""Paired bootstrap over test examples: is one tested model better than another on *this* test set?

Koehn, 2004, "Statistical Significance Tests for Machine Translation Evaluation", EMNLP: draw the test examples with
replacement ``resamples`` times, score both models' outputs on each draw with the task's own corpus-level metric
(:meth:`~harness.task.Task.score_one`: BLEU and chrF are not means over sentences), and read the difference's
percentile interval and the share of draws on which its sign flips. The draws are paired: both models are scored on
the same examples each time. This measures the uncertainty of the test sample, for fixed trained models; it says
nothing about seeds (a benchmark's seeded re-runs do).

A task takes part by implementing :meth:`~harness.task.Task.resample` (the examples at given positions, repeats
allowed); for others :func:`paired_bootstrap` returns ``None``.
"""

from __future__ import annotations

import math
from typing import Any


def paired_bootstrap(task: Any, references: Any, outputs: Any, other: Any, metric: str, *, resamples: int = 1000,
                     seed: int = 0, level: float = 0.95) -> dict[str, Any] | None:
    """The test-set difference ``metric(outputs) - metric(other)`` with its paired bootstrap interval and p-value.

    Args:
        task: The task class (its ``score_one``, ``resample`` and ``examples_in``).
        references: The stored test references; outputs, other: two models' stored test outputs on them.
        metric: One of the task's output metrics (not a model metric such as the loss).
        resamples: Bootstrap draws (the smallest two-sided p attainable is ``2 / (resamples + 1)``).
        seed: Seeds the draws (``numpy.random.default_rng``), so the interval is reproducible.
        level: Coverage of the percentile interval.

    Returns:
        ``{"metric", "difference", "low", "high", "p", "resamples", "seed", "level", "examples", "min_p"}``, with ``p``
        two-sided: ``2 * min(#(d <= 0) + 1, #(d >= 0) + 1) / (resamples + 1)``, at most 1 (Davison & Hinkley 1997,
        eq. 4.11); or ``None`` when the task cannot resample its outputs.

    Raises:
        ValueError: ``resamples < 1``, or outputs and references that do not match.
    """
    import numpy as np

    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    n = task.examples_in(references)
    if n is None:
        return None
    difference = task.score_one(references, outputs, metric) - task.score_one(references, other, metric)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        index = rng.integers(0, n, n).tolist()
        refs, a = task.resample(references, outputs, index)
        _, b = task.resample(references, other, index)
        draws.append(task.score_one(refs, a, metric) - task.score_one(refs, b, metric))
    d = np.asarray(draws)
    tail = (1.0 - level) / 2.0
    p = min(1.0, 2.0 * min(int((d <= 0).sum()) + 1, int((d >= 0).sum()) + 1) / (resamples + 1))
    return {"metric": metric, "difference": float(difference), "low": float(np.quantile(d, tail)),
            "high": float(np.quantile(d, 1.0 - tail)), "p": p, "min_p": 2.0 / (resamples + 1), "resamples": resamples,
            "seed": seed, "level": level, "examples": n}


def significant(result: dict[str, Any] | None, alpha: float = 0.05) -> bool:
    """Whether a :func:`paired_bootstrap` result's interval excludes zero and ``p < alpha``."""
    return bool(result) and math.isfinite(result["p"]) and result["p"] < alpha and (result["low"] > 0 or result["high"] < 0)
