"""The translation metrics: sacrebleu corpus BLEU, lowercased BLEU and chrF on known hypotheses."""

from __future__ import annotations

import math

import pytest
from harness_tasks.translation.task import TranslationTask

# sacrebleu's README example: three sentences, two references each
HYPOTHESES = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
REFERENCES = [["The dog bit the man.", "The dog had bit the man."], ["It was not unexpected.", "No one was surprised."],
              ["The man bit him first.", "The man had bitten the dog."]]


def score(hyps, refs, tokenize="13a"):
    return TranslationTask.score({"references": refs, "bleu_tokenize": tokenize}, {"hypotheses": hyps})


def test_bleu_by_hand_on_sacrebleus_example():
    # 13a tokens: matched n-grams 14/17, 7/14, 5/11, 3/8; hypothesis 17 tokens, closest reference lengths 18
    precisions = [14 / 17, 7 / 14, 5 / 11, 3 / 8]
    brevity = math.exp(1 - 18 / 17)
    expected = 100 * brevity * math.exp(sum(math.log(p) for p in precisions) / 4)
    metrics = score(HYPOTHESES, REFERENCES)
    assert metrics["bleu"] == pytest.approx(expected, abs=1e-9)
    assert round(metrics["bleu"], 2) == 48.53
    assert metrics["exact"] == pytest.approx(100 / 3)  # the first hypothesis equals a reference


def test_chrf_and_lowercasing_against_sacrebleu_directly():
    import sacrebleu

    streams = [[r[k] for r in REFERENCES] for k in range(2)]
    metrics = score(HYPOTHESES, REFERENCES)
    assert metrics["chrf"] == pytest.approx(sacrebleu.corpus_chrf(HYPOTHESES, streams).score, abs=1e-12)
    upper = [h.upper() for h in HYPOTHESES]
    assert score(upper, REFERENCES)["bleu"] < 5.0  # BLEU is case-sensitive (only "." and "," still match) ...
    assert score(upper, REFERENCES)["bleu_lc"] == pytest.approx(metrics["bleu"], abs=1e-9)  # ... bleu_lc is not


def test_examples_with_fewer_references_and_mismatched_lengths():
    refs = [["ein Hund"], ["zwei Katzen", "zwei Kater"]]
    perfect = score(["ein Hund", "zwei Kater"], refs, tokenize="char")
    assert perfect["bleu"] == pytest.approx(100.0) and perfect["chrf"] == pytest.approx(100.0) and perfect["exact"] == 100.0
    with pytest.raises(ValueError, match="1 hypotheses for 2 examples"):
        score(["ein Hund"], refs)
