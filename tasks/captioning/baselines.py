"""Trivial captioning baselines: one training caption for every image, whatever the image shows.

Every baseline emits ``{"captions": [str per image]}``, the kind :meth:`CaptioningTask.predict` returns, so
:meth:`CaptioningTask.score` scores it like a model (BLEU-1..4 and exact match). Captions are tokenised like
the references (lowercased 13a words, ``" ".join(tokenize(c))``). "Training captions" are those of the
(image, caption) pairs the models train on (``data.train.pairs``, the budget's subset), each taken from
``data.train.references`` (see :func:`training_captions`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from harness.baselines import BestOutput, MostFrequentOutput

#: Distinct training captions ``best_caption`` tries: all of them up to this many, else ...
MAX_CANDIDATES = 2000
#: ... the this-many most frequent, then a seeded sample of the others up to :data:`MAX_CANDIDATES`.
TOP_FREQUENT = 1000
#: Candidate x image scorings spent on the full validation split; above it, a seeded validation subsample
#: screens the candidates and only the :data:`SCREEN_KEEP` best are scored on the whole split.
SCORING_BUDGET = 64_000
SCREEN_KEEP = 16


def training_captions(data: Any) -> list[str]:
    """The tokenised reference of every training pair, in pair order.

    ``data.train.pairs`` holds ``(image, ids)`` with ids the vocabulary encoding of a caption cut to
    ``max_len - 1`` words, a subsequence (the budget's subset) of every image's captions in order, empty
    encodings left out. Walking both in order, each pair is matched to the first remaining caption of its
    image with that encoding; the caption's text is its full tokenised reference (not cut, no ``<unk>``).
    """
    part, vocab = data.train, data.vocab
    flat = [(i, k) for i, refs in enumerate(part.references) for k in range(len(refs))]
    out, j = [], 0
    for image, ids in part.pairs:
        while j < len(flat):
            i, k = flat[j]
            j += 1
            ref = part.references[i][k]
            if i == image and [vocab.id(w) for w in ref.split()][: data.max_len - 1] == list(ids):
                out.append(ref)
                break
        else:
            raise ValueError("the training pairs do not follow the training references; cannot recover the captions")
    return out


def _count(data: Any, split: str) -> int:
    return len((data.valid if split == "valid" else data.test).references)


def constant(caption: str, n: int) -> dict[str, list[str]]:
    """The same caption for ``n`` images."""
    return {"captions": [caption] * n}


class _CaptionOutput:
    """What the captioning baselines share: training captions in, captions out."""

    task: ClassVar[str] = "captioning"
    output: ClassVar[str] = "captions"
    setting: ClassVar[str] = "caption"

    def training_items(self, data: Any) -> list[str]:
        return training_captions(data)

    def count(self, data: Any, split: Literal["valid", "test"]) -> int:
        return len((data.valid if split == "valid" else data.test).references)


class BestCaption(_CaptionOutput, BestOutput):
    """The single training caption that scores best on the validation split, for every image.

    Candidates: every distinct training caption (tokenised like the references) when there are at most 2,000;
    otherwise the 1,000 most frequent (ties by first occurrence) plus a sample of the others drawn with
    ``numpy.random.default_rng(seed)``, 2,000 distinct in all. Each candidate, emitted for every validation
    image, is scored with :meth:`CaptioningTask.score` by the study's objective ``metric`` (``loss`` needs a
    model's probabilities: BLEU-4 is used instead, and the settings say so). Beyond 64,000 candidate x image
    scorings each candidate is screened on a seeded validation subsample and the best 16 are scored on the
    whole split (:func:`harness.baselines.choose_constant`); ties go to the more frequent candidate. The best
    caption that ignores the image; BLEU in sacrebleu's 0-100 units.
    """

    name: ClassVar[str] = "best_caption"
    summary: ClassVar[str] = "the training caption that scores best on validation, for every image"
    limit, frequent, budget, keep, fallback = MAX_CANDIDATES, TOP_FREQUENT, SCORING_BUDGET, SCREEN_KEEP, "bleu4"


class MostFrequentCaption(_CaptionOutput, MostFrequentOutput):
    """The most frequent training caption (tokenised like the references), for every image.

    Counts the captions of the training pairs; ties go to the first in training order. The majority-class
    predictor of captioning. BLEU in sacrebleu's 0-100 units.
    """

    name: ClassVar[str] = "most_frequent_caption"
    summary: ClassVar[str] = "the most frequent training caption, for every image"
