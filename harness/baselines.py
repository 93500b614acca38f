"""Trivial baselines: what the simplest predictors of a task score (a constant output, a copy of the input, a
closed-form linear map of the look-back window), trained in seconds and searched over nothing but their own settings.

A result is evidence only beside the strongest trivial predictor of its task on the same splits,
preprocessing and metric (copy the source, emit the most frequent training target, repeat the last value
of the look-back window, ...). Each task registers its baselines in :data:`harness.registry.BASELINES`
under ``<task>.<name>`` (entry-point group ``harness.baselines``). :func:`run_baselines` runs every
baseline of a task the way a model is run: fitted on the training split, its own settings (a ridge
strength, a candidate sentence) chosen on the validation split, the strongest baseline chosen on the
validation objective, and the test split scored once, with the task's :meth:`~harness.task.Task.score`
on outputs of the same kind as the task's :meth:`~harness.task.Task.predict`, so they are stored and
rescored like a model's.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from harness.task import Task


class Baseline(ABC):
    """A trivial predictor of one task.

    Class attributes:
        task: Name of the task it serves.
        name: Short name; the registry key is ``<task>.<name>``.
        summary: One line for ``harness list baselines`` and the reports.
    """

    task: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]

    def skip_reason(self, data: Any) -> str | None:
        """Why this baseline does not apply to ``data`` (e.g. a season longer than the look-back), else ``None``."""
        return None

    @abstractmethod
    def fit(self, task: Task, data: Any, *, metric: str, direction: str, seed: int) -> dict[str, Any]:
        """Fit on the training split; settings are chosen on the validation split by ``metric``.

        Returns:
            The fitted settings shown in reports (JSON-able, short: a chosen sentence, a ridge strength).
        """

    @abstractmethod
    def predict(self, task: Task, data: Any, split: Literal["valid", "test"]) -> Any:
        """Outputs on every example of ``split``, of the same kind as ``task.predict`` returns."""


@dataclass
class BaselineResult:
    """One baseline's run: settings, validation and test metrics (``{}`` when it failed), test outputs."""

    key: str
    name: str
    summary: str
    settings: dict[str, Any] = field(default_factory=dict)
    valid: dict[str, float] = field(default_factory=dict)
    test: dict[str, float] = field(default_factory=dict)
    outputs: Any = None
    seconds: float = 0.0
    error: str | None = None


def baseline_names(task_name: str) -> list[str]:
    """Registry keys of the baselines of ``task_name``, in registration order (imports none of them)."""
    from harness.registry import BASELINES

    return BASELINES.names(f"{task_name}.*")


def run_baselines(task: Task, data: Any, *, metric: str, direction: str, seed: int) -> list[BaselineResult]:
    """Run every registered baseline of ``task`` on ``data``: fit, score validation, score test once.

    A baseline that does not apply or raises is kept with its reason in ``error`` (never dropped).

    Returns:
        One :class:`BaselineResult` per registered baseline, in registration order.
    """
    from harness.registry import BASELINES

    results = []
    valid_refs = task.references(data, "valid")
    test_refs = task.references(data, "test")
    for key in baseline_names(task.name):
        cls = BASELINES.get(key)
        result = BaselineResult(key, cls.name, cls.summary)
        start = time.perf_counter()
        baseline = cls()
        try:
            reason = baseline.skip_reason(data)
            if reason is not None:
                result.error = f"not applicable: {reason}"
            else:
                result.settings = baseline.fit(task, data, metric=metric, direction=direction, seed=seed)
                result.valid = _finite(task.score(valid_refs, baseline.predict(task, data, "valid")))
                result.outputs = baseline.predict(task, data, "test")
                result.test = _finite(task.score(test_refs, result.outputs))
        except Exception as exc:  # noqa: BLE001 - a failing baseline is listed with its reason, the run goes on
            result.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            result.valid, result.test, result.outputs = {}, {}, None
        result.seconds = time.perf_counter() - start
        results.append(result)
    return results


def strongest(results: list[BaselineResult], metric: str, direction: str) -> BaselineResult | None:
    """The baseline with the best validation ``metric`` (ties: registration order), ``None`` if none ran."""
    ran = [r for r in results if r.error is None and _is_number(r.valid.get(metric))]
    if not ran:
        return None
    sign = -1.0 if direction == "maximize" else 1.0
    return min(ran, key=lambda r: sign * r.valid[metric])


def record(results: list[BaselineResult], metric: str, direction: str, output_key: str) -> dict[str, Any]:
    """The JSON-able summary stored on the study (``baselines``): every row, the strongest, how it was chosen.

    Args:
        output_key: Pattern of the stored outputs' keys, with ``{name}`` for the baseline's short name.
    """
    best = strongest(results, metric, direction)
    return {
        "metric": metric, "direction": direction, "chosen_on": "validation",
        "strongest": best.name if best is not None else None,
        "rows": [{"key": r.key, "name": r.name, "summary": r.summary, "settings": r.settings, "valid": r.valid,
                  "test": r.test, "seconds": round(r.seconds, 3), "error": r.error,
                  "outputs": output_key.format(name=r.name) if r.outputs is not None else None} for r in results],
    }


def _finite(metrics: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if _is_number(v)}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# -- shared by baselines that emit one constant output for every input -------------------------------
def by_frequency(items: list[str]) -> list[tuple[str, int]]:
    """Distinct items with their counts, the most frequent first, ties in order of first occurrence."""
    from collections import Counter

    return Counter(items).most_common()  # Counter keeps first-occurrence order and most_common sorts stably


def candidate_pool(distinct: list[str], limit: int, frequent: int, seed: int) -> list[str]:
    """``distinct`` (most frequent first) if it holds at most ``limit`` items, else its ``frequent`` first items
    plus a sample of the others drawn with ``numpy.random.default_rng(seed)``, ``limit`` in all, in order."""
    import numpy as np

    if len(distinct) <= limit:
        return list(distinct)
    rest = np.random.default_rng(seed).choice(len(distinct) - frequent, limit - frequent, replace=False)
    return distinct[:frequent] + [distinct[frequent + i] for i in np.sort(rest)]


def objective(task: Task, metric: str, direction: str, fallback: str) -> tuple[str, str, str]:
    """``(metric, direction, note)`` to choose a baseline's settings by: the study's objective, or ``fallback``
    when the objective needs a model (a teacher-forced loss)."""
    if metric in task.model_metrics or metric not in task.metrics:
        return fallback, task.metrics[fallback], f"valid {fallback} ({metric} needs a model's probabilities)"
    return metric, direction, f"valid {metric}"


def choose_constant(task: Task, refs: dict[str, Any], candidates: list[str], metric: str, direction: str, seed: int, *,
                    output: str, budget: int, keep: int) -> tuple[int, float, str]:
    """The candidate that scores best on ``refs`` by ``metric`` when emitted for every example (``task.score_one``
    of ``{output: [candidate] * n}``).

    When scoring every candidate on every example would exceed ``budget`` example scorings, each candidate is
    first scored on a seeded subsample of ``budget // len(candidates)`` examples (at least 32; every list of
    ``refs`` with one item per example is subsampled alike) and the ``keep`` best of that screen are scored on
    all of ``refs``.

    Returns:
        ``(index, value on all of refs, how it was screened)``; ties go to the earlier candidate.
    """
    import numpy as np

    sign = 1.0 if direction == "maximize" else -1.0
    n = len(refs["references"])
    pool: list[int] = list(range(len(candidates)))
    how = f"every candidate on all {n} validation examples"
    if len(candidates) * n > budget:
        m = min(n, max(32, budget // len(candidates)))
        index = np.sort(np.random.default_rng(seed).choice(n, m, replace=False))
        small = {k: [v[i] for i in index] if isinstance(v, list) and len(v) == n else v for k, v in refs.items()}
        screen = [sign * task.score_one(small, {output: [c] * m}, metric) for c in candidates]
        pool = sorted(sorted(range(len(candidates)), key=lambda i: -screen[i])[:keep])
        how = f"every candidate on {m} seeded validation examples, the best {len(pool)} on all {n}"
    best, best_value = -1, -math.inf
    for i in pool:
        value = sign * task.score_one(refs, {output: [candidates[i]] * n}, metric)
        if value > best_value:
            best, best_value = i, value
    return best, sign * best_value, how


class ConstantOutput(Baseline):
    """A baseline that emits one training output (a sentence, a caption) for every input.

    Class attributes:
        output: The key of the task's outputs that holds one string per example (``hypotheses``, ``captions``).
        setting: The name of the chosen string in the settings (``sentence``, ``caption``).
    """

    output: ClassVar[str]
    setting: ClassVar[str]

    @abstractmethod
    def training_items(self, data: Any) -> list[str]:
        """The training outputs the models learn from, in training order (one per training example)."""

    @abstractmethod
    def count(self, data: Any, split: Literal["valid", "test"]) -> int:
        """Examples in ``split``."""

    def predict(self, task: Task, data: Any, split: Literal["valid", "test"]) -> dict[str, list[str]]:
        return {self.output: [self.value] * self.count(data, split)}

    def _items(self, data: Any) -> list[str]:
        items = self.training_items(data)
        if not items:
            raise ValueError("no training examples")
        return items


class MostFrequentOutput(ConstantOutput):
    """The most frequent training output for every input (ties: the first in training order): the
    majority-class predictor of sequence prediction."""

    def fit(self, task: Task, data: Any, *, metric: str, direction: str, seed: int) -> dict[str, Any]:
        items = self._items(data)
        self.value, count = by_frequency(items)[0]
        return {self.setting: self.value, "count": count, "training_examples": len(items)}


class BestOutput(ConstantOutput):
    """The training output that scores best on the validation split by the study's objective when emitted for
    every input: the best a predictor ignoring its input can do among the candidates.

    Candidates: every distinct training output up to ``limit``, else the ``frequent`` most frequent plus a seeded
    sample (:func:`candidate_pool`); scored with :func:`choose_constant` (screened on a validation subsample
    beyond ``budget`` example scorings, the ``keep`` best scored on all). An objective that needs a model
    (the loss) is replaced by ``fallback``, and the settings say so.
    """

    limit: ClassVar[int]
    frequent: ClassVar[int]
    budget: ClassVar[int]
    keep: ClassVar[int]
    fallback: ClassVar[str]

    def fit(self, task: Task, data: Any, *, metric: str, direction: str, seed: int) -> dict[str, Any]:
        distinct = [item for item, _ in by_frequency(self._items(data))]
        candidates = candidate_pool(distinct, self.limit, self.frequent, seed)
        metric, direction, chosen_by = objective(task, metric, direction, self.fallback)
        best, value, how = choose_constant(task, task.references(data, "valid"), candidates, metric, direction, seed,
                                           output=self.output, budget=self.budget, keep=self.keep)
        self.value = candidates[best]
        return {self.setting: self.value, "candidates": len(candidates), "distinct": len(distinct),
                "chosen_by": chosen_by, f"valid_{metric}": round(float(value), 4), "scored": how}
