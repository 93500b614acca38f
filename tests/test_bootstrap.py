"""The paired bootstrap over test examples (harness.bootstrap) with the translation task's real sacrebleu scores."""

from __future__ import annotations

import pytest
from harness_tasks.translation.task import TranslationTask

from harness.bootstrap import paired_bootstrap
from harness.task import Task

SOURCES = [f"source {i}" for i in range(40)]
REFERENCES = {"sources": SOURCES, "references": [[f"der Hund {i} läuft über die Wiese"] for i in range(40)],
              "bleu_tokenize": "13a"}
PERFECT = {"hypotheses": [r[0] for r in REFERENCES["references"]]}
HALF = {"hypotheses": [r[0] if i % 2 else "die Katze schläft" for i, r in enumerate(REFERENCES["references"])]}


@pytest.mark.parametrize("metric", ["bleu", "bleu_lc", "chrf", "exact"])
def test_summed_statistics_give_the_corpus_score(metric):
    for outputs in (PERFECT, HALF):
        rows = TranslationTask.example_statistics(REFERENCES, outputs, metric)
        assert rows.shape[0] == 40
        assert TranslationTask.score_statistics(REFERENCES, rows.sum(axis=0), metric) == pytest.approx(
            TranslationTask.score_one(REFERENCES, outputs, metric), abs=1e-9)


@pytest.mark.parametrize("metric", ["bleu1", "bleu4", "exact"])
def test_captioning_statistics_give_the_corpus_score(metric):
    from harness_tasks.captioning.task import CaptioningTask

    refs = {"image_ids": list(range(3)), "references": [["a dog runs", "a dog is running"], ["two cats sit"], ["a man"]]}
    outputs = {"captions": ["a dog runs", "two cats", "a woman walks"]}
    rows = CaptioningTask.example_statistics(refs, outputs, metric)
    assert CaptioningTask.score_statistics(refs, rows.sum(axis=0), metric) == pytest.approx(
        CaptioningTask.score_one(refs, outputs, metric), abs=1e-9)


def test_a_clearly_better_model_differs_beyond_the_interval():
    result = paired_bootstrap(TranslationTask, REFERENCES, PERFECT, HALF, "chrf", resamples=200, seed=0)
    expected = TranslationTask.score_one(REFERENCES, PERFECT, "chrf") - TranslationTask.score_one(REFERENCES, HALF, "chrf")
    assert result["difference"] == pytest.approx(expected)
    assert 0 < result["low"] <= result["difference"] <= result["high"]
    assert result["p"] == pytest.approx(2 / 201) == result["min_p"] and result["examples"] == 40
    assert result["p"] < 0.05  # and the interval excludes zero (above)
    assert paired_bootstrap(TranslationTask, REFERENCES, PERFECT, HALF, "chrf", resamples=200, seed=0) == result


def test_identical_outputs_do_not_differ():
    result = paired_bootstrap(TranslationTask, REFERENCES, HALF, HALF, "bleu", resamples=50, seed=1)
    assert result["difference"] == 0 and result["low"] == result["high"] == 0 and result["p"] == 1.0


def test_a_task_without_per_example_statistics_gets_no_bootstrap():
    class Plain(Task):  # the base class's example_statistics: None
        name = "plain"

    assert paired_bootstrap(Plain, {"references": [1, 2]}, {}, {}, "x") is None
    with pytest.raises(NotImplementedError, match="no per-example statistics"):
        Plain.score_statistics({}, [0], "x")
    with pytest.raises(ValueError, match="resamples must be >= 1"):
        paired_bootstrap(TranslationTask, REFERENCES, HALF, HALF, "bleu", resamples=0)
