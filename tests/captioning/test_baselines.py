"""The captioning baselines on the embedded digits dataset: one training caption for every image, scored like a model."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest
from harness_tasks.captioning import baselines as cb
from harness_tasks.captioning.vocab import Vocabulary

from harness.baselines import baseline_names, run_baselines
from harness.spec import parse_spec
from harness.study import load_data

NAMES = ["best_caption", "most_frequent_caption"]


def digits(**budget):
    spec = parse_spec({"study": {"name": "cb", "task": "captioning", "metric": "bleu4"},
                       "dataset": {"name": "digits", "train_size": 300, "valid_size": 40, "test_size": 40, "min_count": 1},
                       "budget": {"max_epochs": 1, **budget}})
    return load_data(spec, None)


@pytest.fixture(scope="module")
def ran():
    task, data = digits()
    return task, data, {r.name: r for r in run_baselines(task, data, metric="bleu4", direction="maximize", seed=0)}


def test_every_baseline_runs_and_is_scored_like_a_model(ran):
    task, data, results = ran
    assert sorted(baseline_names("captioning")) == [f"captioning.{n}" for n in NAMES]
    assert sorted(results) == NAMES
    for r in results.values():
        assert r.error is None, r.error
        assert set(r.valid) == set(r.test) == {"bleu1", "bleu2", "bleu3", "bleu4", "exact"}
        assert len(r.outputs["captions"]) == 40 and len(set(r.outputs["captions"])) == 1
        assert r.test == task.score(task.references(data, "test"), r.outputs)


def test_most_frequent_caption_counts_the_training_captions(ran):
    _, data, results = ran
    captions = [data.train.references[i][0] for i, _ in data.train.pairs]  # digits: one caption per image
    top = max(Counter(captions).values())
    first = next(c for c in captions if captions.count(c) == top)
    assert results["most_frequent_caption"].settings == {"caption": first, "count": top, "training_examples": 300}
    assert results["most_frequent_caption"].outputs["captions"][0] == first


def test_best_caption_beats_the_most_frequent_on_validation(ran):
    _, data, results = ran
    best = results["best_caption"]
    assert best.settings["candidates"] == best.settings["distinct"] == len(set(cb.training_captions(data)))
    assert best.settings["chosen_by"] == "valid bleu4"
    assert best.valid["bleu4"] == pytest.approx(best.settings["valid_bleu4"], abs=1e-4)
    assert best.valid["bleu4"] >= results["most_frequent_caption"].valid["bleu4"]
    assert best.settings["caption"] in cb.training_captions(data)


def test_best_caption_falls_back_to_bleu4_for_the_loss(ran):
    task, data, results = ran
    settings = cb.BestCaption().fit(task, data, metric="loss", direction="minimize", seed=0)
    assert settings["chosen_by"].startswith("valid bleu4") and settings["caption"] == results["best_caption"].settings["caption"]


def test_training_captions_follow_the_budget_subset():
    task, data = digits(max_train_examples=50)
    captions = cb.training_captions(data)
    assert len(captions) == len(data.train.pairs) == 50
    assert captions == [data.train.references[i][0] for i, _ in data.train.pairs]


def test_training_captions_match_each_pair_to_its_own_caption():
    vocab = Vocabulary(["a", "dog", "cat", "runs"])
    refs = [["a dog runs", "a cat"], ["a dog", "zebra runs"]]
    # pairs keep (image, caption) (0, 1), (1, 0), (1, 1): "zebra" is unknown, and max_len 3 cuts to 2 words
    pairs = [(0, [vocab.id("a"), vocab.id("cat")]), (1, [vocab.id("a"), vocab.id("dog")]), (1, [1, vocab.id("runs")])]
    data = SimpleNamespace(train=SimpleNamespace(references=refs, pairs=pairs), vocab=vocab, max_len=3)
    assert cb.training_captions(data) == ["a cat", "a dog", "zebra runs"]
