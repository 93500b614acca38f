"""Published numbers beside a study's own only where the setting matches (a real SQLite study's attributes)."""

from __future__ import annotations

import optuna
import pytest
from harness_tasks.translation.task import MULTI30K_DE_EN

from harness.report.load import load_study_data
from harness.report.tables import published_differences, published_table


@pytest.fixture
def study_with(tmp_path):
    def make(train_pairs: int, epochs: int):
        url = f"sqlite:///{tmp_path / f'p{train_pairs}-{epochs}.db'}"
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(study_name="m", storage=url, direction="maximize")
        trial = optuna.trial.create_trial(value=30.0, params={}, distributions={},
                                          user_attrs={"config": {"model": "transformer"}, "seed": 1})
        study.add_trial(trial)
        metrics = {"bleu": 35.0, "bleu_lc": 36.9}
        study.set_user_attr("metric", "bleu")
        study.set_user_attr("data", {"train_pairs": train_pairs, "published": MULTI30K_DE_EN})
        study.set_user_attr("spec", {"budget": {"max_epochs": epochs}})
        study.set_user_attr("test_result", {"trial": 0, "family": "transformer", "metrics": metrics})
        study.set_user_attr("family_results", {"transformer": {"trial": 0, "metrics": metrics},
                                               "rnn": {"trial": 0, "metrics": {"bleu": 27.0, "bleu_lc": 28.1}}})
        return load_study_data("m", url)

    return make


def test_same_setting_puts_each_family_beside_its_published_row_in_the_published_metric(study_with):
    data = study_with(train_pairs=28_996, epochs=10)
    assert published_differences(data) == []
    rows = published_table(data).values.tolist()
    # this study's bleu column holds its lowercased BLEU (the published setting lowercases)
    assert rows[0] == ["this study: best configuration (trial 0), test", "36.90", "rerun here"]
    assert ["this study: best rnn (trial 0), test", "28.10", "rerun here"] in rows
    assert ["this study: best transformer (trial 0), test", "36.90", "rerun here"] in rows
    assert ["GRU encoder-decoder + Bahdanau attention", "28.30", "published figures, not reruns"] in rows


def test_another_setting_shows_the_published_rows_only_with_the_differences(study_with):
    data = study_with(train_pairs=9_997, epochs=6)
    assert published_differences(data) == ["train pairs 9997 here, 28,500 or more published", "6 epochs here, 10 published"]
    rows = published_table(data).values.tolist()
    assert [r[0] for r in rows] == ["GRU encoder-decoder + Bahdanau attention", "Transformer, 3+3 layers, d=256"]


def test_a_published_configuration_is_compared_with_the_tested_one(tmp_path):
    """Show, Attend and Tell used an ImageNet-pretrained VGG: the difference names the encoder the tested trial used."""
    from harness_tasks.captioning.task import SHOW_ATTEND_TELL_FLICKR8K

    url = f"sqlite:///{tmp_path / 'c.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="c", storage=url, direction="maximize")
    for value, encoder in ((12.0, "cnn"), (16.0, "efficientnet_lite0")):
        study.add_trial(optuna.trial.create_trial(value=value, params={}, distributions={},
                                                  user_attrs={"config": {"encoder": encoder}, "seed": 0}))
    study.set_user_attr("metric", "bleu4")
    study.set_user_attr("data", {"train_images": 6000, "published": SHOW_ATTEND_TELL_FLICKR8K})
    assert published_differences(load_study_data("c", url)) == [
        "encoder efficientnet_lite0 here, an ImageNet-pretrained VGG (Simonyan & Zisserman 2015), 14 x 14 regions published"]
    study.set_user_attr("test_result", {"trial": 0, "metrics": {"bleu4": 10.0}})  # the tested trial decides
    assert published_differences(load_study_data("c", url))[0].startswith("encoder cnn here")
