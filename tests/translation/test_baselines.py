"""The translation baselines on the embedded numbers-en-de corpus: each runs like a model and is checkable by hand."""

from __future__ import annotations

import pytest
from harness_tasks.translation import baselines as tb

from harness.baselines import baseline_names, by_frequency, run_baselines
from harness.spec import parse_spec
from harness.study import load_data

NAMES = ["best_target", "copy_source", "most_frequent_target", "random_target"]


def numbers(**dataset):
    spec = parse_spec({"study": {"name": "tb", "task": "translation", "metric": "chrf", "seed": 0},
                       "dataset": {"name": "numbers-en-de", "train_size": 120, "valid_size": 40, "test_size": 40,
                                   "max_number": 999, "vocab_size": 64, **dataset},
                       "budget": {"max_epochs": 1}})
    return load_data(spec, None)


@pytest.fixture(scope="module")
def ran():
    task, data = numbers()
    results = run_baselines(task, data, metric="chrf", direction="maximize", seed=0)
    return task, data, {r.name: r for r in results}


def test_every_baseline_runs_and_is_scored_like_a_model(ran):
    task, data, results = ran
    assert sorted(baseline_names("translation")) == [f"translation.{n}" for n in NAMES]
    assert sorted(results) == NAMES
    for r in results.values():
        assert r.error is None, r.error
        assert set(r.valid) == set(r.test) == {"bleu", "bleu_lc", "chrf", "exact"}
        assert len(r.outputs["hypotheses"]) == 40
        assert r.test == task.score(task.references(data, "test"), r.outputs)  # stored outputs rescore exactly


def test_copy_source_emits_the_sources(ran):
    task, data, results = ran
    assert results["copy_source"].outputs["hypotheses"] == task.references(data, "test")["sources"]
    assert results["copy_source"].outputs["hypotheses"][0] == data.test.examples[0].source


def test_training_targets_are_the_raw_targets_of_the_training_pairs():
    task, data = numbers(max_len=6)  # drops the long German numbers
    assert 0 < len(data.train) < 120 and data.dropped == 120 - len(data.train)
    assert len(data.train_targets) == len(data.train)
    assert [data.tgt_tok.decode(t) for _, t in data.train] == data.train_targets
    assert set(data.train_targets) <= {t for _, t in data.corpus.train}


def test_most_frequent_breaks_ties_by_training_order(ran):
    _, data, results = ran
    assert by_frequency(["b", "a", "c", "a", "c"]) == [("a", 2), ("c", 2), ("b", 1)]
    # every number is drawn once, so every target occurs once and the first training target wins
    assert results["most_frequent_target"].settings == {"sentence": data.train_targets[0], "count": 1, "training_examples": 120}
    assert set(results["most_frequent_target"].outputs["hypotheses"]) == {data.train_targets[0]}


def test_random_target_is_one_training_sentence_that_changes_with_the_seed(ran):
    task, data, results = ran
    hyps = results["random_target"].outputs["hypotheses"]
    assert len(set(hyps)) == 1 and hyps[0] in data.train_targets
    settings = results["random_target"].settings
    assert data.train_targets[settings["train_index"]] == hyps[0] == settings["sentence"]
    again = tb.RandomTarget().fit(task, data, metric="chrf", direction="maximize", seed=0)
    other = tb.RandomTarget().fit(task, data, metric="chrf", direction="maximize", seed=1)
    assert again["sentence"] == hyps[0] and other["sentence"] != hyps[0]


def test_best_target_beats_the_other_constant_outputs_on_validation(ran):
    _, data, results = ran
    best = results["best_target"]
    assert best.settings["candidates"] == best.settings["distinct"] == 120  # all of them (<= 500)
    assert best.settings["chosen_by"] == "valid chrf"
    assert best.settings["valid_chrf"] == pytest.approx(best.valid["chrf"], abs=1e-4)
    assert set(best.outputs["hypotheses"]) == {best.settings["sentence"]} and best.settings["sentence"] in data.train_targets
    for other in ("most_frequent_target", "random_target"):
        assert best.valid["chrf"] >= results[other].valid["chrf"]


def test_best_target_falls_back_to_chrf_for_model_metrics(ran):
    task, data, results = ran
    settings = tb.BestTarget().fit(task, data, metric="loss", direction="minimize", seed=0)
    assert settings["chosen_by"].startswith("valid chrf") and "loss" in settings["chosen_by"]
    assert settings["sentence"] == results["best_target"].settings["sentence"]  # chrF maximised, not minimised


def test_best_target_screens_on_a_validation_subsample_beyond_the_budget(ran, monkeypatch):
    task, data, _ = ran
    monkeypatch.setattr(tb.BestTarget, "budget", 1000)
    baseline = tb.BestTarget()
    settings = baseline.fit(task, data, metric="bleu", direction="maximize", seed=0)
    assert settings["scored"] == f"every candidate on 32 seeded validation examples, the best {tb.SCREEN_KEEP} on all 40"
    valid = task.score(task.references(data, "valid"), baseline.predict(task, data, "valid"))
    assert settings["valid_bleu"] == pytest.approx(valid["bleu"], abs=1e-4)
