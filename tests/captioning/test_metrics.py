"""The captioning metrics: BLEU-1..4 on pre-tokenised captions against every reference, and exact match."""

from __future__ import annotations

import math

import pytest
from harness_tasks.captioning.task import CaptioningTask


def test_bleu_orders_by_hand():
    refs = [["a dog runs on the grass", "a brown dog runs"], ["two children play in the snow"]]
    hyps = ["a dog runs on grass", "two children play in the snow"]
    metrics = CaptioningTask.score({"references": refs}, {"captions": hyps})
    # tokens split on spaces (tokenize="none"); matches: unigrams 5/5 + 6/6, bigrams 3/4 + 5/5,
    # trigrams 2/3 + 4/4, 4-grams 1/2 + 3/3; hypothesis 11 tokens, closest reference lengths 4 + 6 = 10 (no penalty)
    precisions = [11 / 11, 8 / 9, 6 / 7, 4 / 5]
    for n in (1, 2, 3, 4):
        expected = 100 * math.exp(sum(math.log(p) for p in precisions[:n]) / n)
        assert metrics[f"bleu{n}"] == pytest.approx(expected, abs=1e-9), n
    assert metrics["exact"] == 50.0


def test_captions_must_match_the_images():
    with pytest.raises(ValueError, match="1 captions for 2 images"):
        CaptioningTask.score({"references": [["a"], ["b"]]}, {"captions": ["a"]})
