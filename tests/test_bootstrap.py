"""The paired bootstrap over test examples (harness.bootstrap) with the translation task's real sacrebleu scores."""

from __future__ import annotations

import pytest

from harness.bootstrap import paired_bootstrap, significant
from harness.task import Task
from harness_tasks.translation.task import TranslationTask

SOURCES = [f"source {i}" for i in range(40)]
REFERENCES = {"sources": SOURCES, "references": [[f"der Hund {i} läuft über die Wiese"] for i in range(40)],
              "bleu_tokenize": "13a"}
PERFECT = {"hypotheses": [r[0] for r in REFERENCES["references"]]}
HALF = {"hypotheses": [r[0] if i % 2 else "die Katze schläft" for i, r in enumerate(REFERENCES["references"])]}


def test_resampling_picks_every_per_example_list_and_keeps_the_rest():
    refs, outs = TranslationTask.resample(REFERENCES, HALF, [3, 3, 0])
    assert refs["sources"] == ["source 3", "source 3", "source 0"] and refs["bleu_tokenize"] == "13a"
    assert refs["references"] == [REFERENCES["references"][i] for i in (3, 3, 0)]
    assert outs["hypotheses"] == ["der Hund 3 läuft über die Wiese"] * 2 + ["die Katze schläft"]


def test_a_clearly_better_model_differs_beyond_the_interval():
    result = paired_bootstrap(TranslationTask, REFERENCES, PERFECT, HALF, "chrf", resamples=200, seed=0)
    expected = TranslationTask.score_one(REFERENCES, PERFECT, "chrf") - TranslationTask.score_one(REFERENCES, HALF, "chrf")
    assert result["difference"] == pytest.approx(expected)
    assert 0 < result["low"] <= result["difference"] <= result["high"]
    assert result["p"] == pytest.approx(2 / 201) == result["min_p"] and result["examples"] == 40
    assert significant(result)
    assert paired_bootstrap(TranslationTask, REFERENCES, PERFECT, HALF, "chrf", resamples=200, seed=0) == result


def test_identical_outputs_do_not_differ():
    result = paired_bootstrap(TranslationTask, REFERENCES, HALF, HALF, "bleu", resamples=50, seed=1)
    assert result["difference"] == 0 and result["low"] == result["high"] == 0 and result["p"] == 1.0
    assert not significant(result)


def test_a_task_that_cannot_resample_gets_no_bootstrap():
    class Plain(Task):  # the base class's examples_in: None
        name = "plain"

    assert Plain.examples_in({"references": [1, 2]}) is None
    assert paired_bootstrap(Plain, {"references": [1, 2]}, {}, {}, "x") is None
    with pytest.raises(NotImplementedError, match="cannot resample"):
        Plain.resample({}, {}, [0])
    with pytest.raises(ValueError, match="resamples must be >= 1"):
        paired_bootstrap(TranslationTask, REFERENCES, HALF, HALF, "bleu", resamples=0)
