"""Trivial translation baselines: outputs that use nothing of the source-target relation.

Every baseline emits ``{"hypotheses": [str per example]}``, the kind :meth:`TranslationTask.predict` returns,
so :meth:`TranslationTask.score` scores it like a model (BLEU, lowercased BLEU, chrF, exact match on detokenised
text). "Training targets" are the raw target sentences of the pairs the models train on
(``TranslationData.train_targets``: the budget's subset, after the ``max_len`` filter, in training order).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np

from harness.baselines import Baseline, BestOutput, ConstantOutput, MostFrequentOutput

#: Distinct training targets ``best_target`` tries: all of them up to this many, else ...
MAX_CANDIDATES = 500
#: ... the this-many most frequent, then a seeded sample of the others up to :data:`MAX_CANDIDATES`.
TOP_FREQUENT = 200
#: Candidate x sentence scorings spent on the full validation split; above it, a seeded validation subsample
#: screens the candidates and only the :data:`SCREEN_KEEP` best are scored on the whole split.
SCORING_BUDGET = 24_000
SCREEN_KEEP = 12


def _targets(data: Any) -> list[str]:
    targets = list(getattr(data, "train_targets", None) or [])
    if len(targets) != len(data.train):
        raise ValueError(f"{len(targets)} raw training targets for {len(data.train)} training pairs; "
                         "the prepared data must keep TranslationData.train_targets")
    return targets


def _part(data: Any, split: str):
    return data.valid if split == "valid" else data.test


class CopySource(Baseline):
    """The source sentence itself as the translation.

    Predicts each example's raw source text unchanged; nothing is fitted. Scores what the two languages share
    (names, numbers, punctuation, cognates): the usual "copy" lower bound of MT. Metrics in the task's units
    (sacrebleu BLEU and chrF, 0-100).
    """

    task: ClassVar[str] = "translation"
    name: ClassVar[str] = "copy_source"
    summary: ClassVar[str] = "the source sentence copied as the translation"

    def fit(self, task, data, *, metric: str, direction: str, seed: int) -> dict[str, Any]:
        c = data.corpus
        return {"hypothesis": "the raw source sentence", "direction": f"{c.source_lang}->{c.target_lang}"}

    def predict(self, task, data, split: Literal["valid", "test"]) -> dict[str, list[str]]:
        return {"hypotheses": [e.source for e in _part(data, split).examples]}


class _TargetOutput:
    """What the constant-output translation baselines share: training targets in, hypotheses out."""

    task: ClassVar[str] = "translation"
    output: ClassVar[str] = "hypotheses"
    setting: ClassVar[str] = "sentence"

    def training_items(self, data: Any) -> list[str]:
        return _targets(data)

    def count(self, data: Any, split: Literal["valid", "test"]) -> int:
        return len(_part(data, split).examples)


class MostFrequentTarget(_TargetOutput, MostFrequentOutput):
    """The most frequent training target sentence, for every input.

    Counts the raw target sentences of the training pairs (``TranslationData.train_targets``); ties go to the
    first in training order. The majority-class predictor of sequence prediction. Metrics in the task's units.
    """

    name: ClassVar[str] = "most_frequent_target"
    summary: ClassVar[str] = "the most frequent training target sentence, for every input"


class RandomTarget(_TargetOutput, ConstantOutput):
    """One training target sentence drawn at random, for every input.

    The draw is uniform over the training pairs (so a frequent sentence is likelier) with
    ``numpy.random.default_rng(seed).integers(len(train))``; nothing is chosen on validation. Metrics in the
    task's units.
    """

    name: ClassVar[str] = "random_target"
    summary: ClassVar[str] = "one random training target sentence (seeded), for every input"

    def fit(self, task, data, *, metric: str, direction: str, seed: int) -> dict[str, Any]:
        targets = self._items(data)
        index = int(np.random.default_rng(seed).integers(len(targets)))
        self.value = targets[index]
        return {"sentence": self.value, "seed": seed, "train_index": index}


class BestTarget(_TargetOutput, BestOutput):
    """The single training target sentence that scores best on the validation split, for every input.

    Candidates: every distinct training target when there are at most 500; otherwise the 200 most frequent
    (ties by first occurrence) plus a sample of the others drawn with ``numpy.random.default_rng(seed)``, 500
    distinct in all. Each candidate, emitted for every validation example, is scored with
    :meth:`TranslationTask.score` by the study's objective ``metric`` (``loss`` and ``ppl`` need a model's
    probabilities: chrF is used instead, and the settings say so). Scoring 500 candidates on all of Multi30k's
    1,014 validation sentences would take minutes, so beyond 24,000 candidate x sentence scorings each
    candidate is screened on a seeded validation subsample (48 sentences for 500 candidates) and the best 12
    are scored on the whole split (:func:`harness.baselines.choose_constant`); ties go to the more frequent
    candidate. The best constant output: an upper bound on what ignoring the input can score. Metrics in the
    task's units.
    """

    name: ClassVar[str] = "best_target"
    summary: ClassVar[str] = "the training target sentence that scores best on validation, for every input"
    limit, frequent, budget, keep, fallback = MAX_CANDIDATES, TOP_FREQUENT, SCORING_BUDGET, SCREEN_KEEP, "chrf"
