"""Paired bootstrap over test examples: is one tested model better than another on *this* test set?

Koehn, 2004, "Statistical Significance Tests for Machine Translation Evaluation", EMNLP: draw the test examples with
replacement ``resamples`` times, score both models' outputs on each draw with the task's own corpus-level metric
(BLEU and chrF are not means over sentences), and read the difference's
percentile interval and the share of draws on which its sign flips. The draws are paired: both models are scored on
the same examples each time. This measures the uncertainty of the test sample, for fixed trained models; it says
nothing about seeds (a benchmark's seeded re-runs do).

Each model's per-example sufficient statistics are extracted once (:meth:`~harness.task.Task.example_statistics`:
n-gram matches and lengths for BLEU and chrF) and a draw sums resampled rows
(:meth:`~harness.task.Task.score_statistics`), as ``sacrebleu.significance`` does; a task whose metric does not
decompose so gets ``None``.
"""

from __future__ import annotations

from typing import Any


def paired_bootstrap(task: Any, references: Any, outputs: Any, other: Any, metric: str, *, resamples: int = 1000,
                     seed: int = 0, level: float = 0.95) -> dict[str, Any] | None:
    """The test-set difference ``metric(outputs) - metric(other)`` with its paired bootstrap interval and p-value.

    Args:
        task: The task class (its ``example_statistics`` and ``score_statistics``).
        references: The stored test references; outputs, other: two models' stored test outputs on them.
        metric: One of the task's output metrics (not a model metric such as the loss).
        resamples: Bootstrap draws (the smallest two-sided p attainable is ``2 / (resamples + 1)``).
        seed: Seeds the draws (``numpy.random.default_rng``), so the interval is reproducible.
        level: Coverage of the percentile interval.

    Returns:
        ``{"metric", "difference", "low", "high", "p", "resamples", "seed", "level", "examples", "min_p"}``, with ``p``
        two-sided: ``2 * min(#(d <= 0) + 1, #(d >= 0) + 1) / (resamples + 1)``, at most 1 (Davison & Hinkley 1997,
        eq. 4.11); or ``None`` when the task's metric has no per-example statistics.

    Raises:
        ValueError: ``resamples < 1``, or outputs and references that do not match.
    """
    import numpy as np

    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    a = task.example_statistics(references, outputs, metric)
    b = task.example_statistics(references, other, metric)
    if a is None or b is None:
        return None
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) != len(b) or not len(a):
        raise ValueError(f"{len(a)} and {len(b)} examples: the two outputs must cover the same test examples")
    n = len(a)
    score = lambda rows: task.score_statistics(references, rows.sum(axis=0), metric)  # noqa: E731
    difference = score(a) - score(b)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        index = rng.integers(0, n, n)
        draws.append(score(a[index]) - score(b[index]))
    d = np.asarray(draws)
    tail = (1.0 - level) / 2.0
    p = min(1.0, 2.0 * min(int((d <= 0).sum()) + 1, int((d >= 0).sum()) + 1) / (resamples + 1))
    return {"metric": metric, "difference": float(difference), "low": float(np.quantile(d, tail)),
            "high": float(np.quantile(d, 1.0 - tail)), "p": p, "min_p": 2.0 / (resamples + 1), "resamples": resamples,
            "seed": seed, "level": level, "examples": n}


def sacrebleu_statistics(metric: Any, hypotheses: list[str], streams: list[list[str | None]]) -> Any:
    """``(n, k)`` per-sentence statistics of a sacrebleu metric object (``BLEU``, ``CHRF``) against reference streams,
    as ``sacrebleu.significance`` extracts them (``Metric._extract_corpus_statistics``)."""
    import numpy as np

    return np.asarray(metric._extract_corpus_statistics(hypotheses, streams), dtype=np.float64)


def sacrebleu_score(metric: Any, totals: Any) -> float:
    """The corpus score of a sacrebleu metric object from summed statistics (``Metric._compute_score_from_stats``, as
    ``sacrebleu.significance`` computes it)."""
    return float(metric._compute_score_from_stats(list(totals)).score)
