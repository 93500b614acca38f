"""The forecasting task end to end: a tiny real study through the CLI, its report, and the task's pieces."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
import torch
from harness_tasks.forecasting.task import ForecastingTask

from harness.spec import parse_spec
from harness.study import load_data
from harness.task import Budget
from tests.conftest import harness_cli

TINY = """\
[study]
name = "fc-tiny"
task = "forecasting"
n_trials = 4
seed = 0

[dataset]
name = "vega-temps"
features = "MS"
lookback = 24
horizon = 6

[budget]
max_epochs = 2
max_train_examples = 400
threads = 1

[sampler]
name = "random"
seed = 0

[search]
model = ["rnn_forecaster", "transformer_forecaster", "attention_pooling", "dlinear"]
attention = ["additive"]
patch_len = [8]
schedule = ["constant"]
hidden_size = 16
heads = 2

[[enqueue]]
model = "rnn_forecaster"
[[enqueue]]
model = "transformer_forecaster"
[[enqueue]]
model = "attention_pooling"
[[enqueue]]
model = "dlinear"
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forecast")
    (folder / "fc.toml").write_text(TINY)
    url = f"sqlite:///{folder / 'f.db'}"
    proc = harness_cli("run-study", "fc.toml", "--storage", url, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return {"folder": folder, "url": url}


def test_every_family_trains_and_is_stored(tiny):
    study = optuna.load_study(study_name="fc-tiny", storage=tiny["url"])
    assert sorted(t.params["model"] for t in study.trials) == [
        "attention_pooling", "dlinear", "rnn_forecaster", "transformer_forecaster"]
    for trial in study.trials:
        assert trial.state.name == "COMPLETE"
        history = trial.user_attrs["history"]
        assert {"mse", "mae", "mse_orig", "mae_orig", "loss"} <= set(history[0])
        assert history[0]["mse"] == history[0]["loss"]
    data = study.user_attrs["data"]
    assert data["input_columns"] == ["seattle", "san_francisco"] and data["output_columns"] == ["san_francisco"]
    assert data["train_windows"] == 400  # the fidelity subset
    test = study.user_attrs["test_result"]["metrics"]
    scale = data["scaler_scale"][1]
    assert test["mse_orig"] == pytest.approx(test["mse"] * scale**2, rel=1e-4)  # one output channel: exact rescaling


def test_report_draws_forecasts_and_attention(tiny):
    out = tiny["folder"] / "reports" / "fc-tiny.md"
    proc = harness_cli("report", "fc-tiny", "--storage", tiny["url"], "--out", str(out), cwd=tiny["folder"])
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "### Forecast against actual" in text and "fc-tiny/forecast.png" in text
    study = optuna.load_study(study_name="fc-tiny", storage=tiny["url"])
    example = study.user_attrs["forecast_example"]
    assert example["channel"] == "san_francisco" and len(example["windows"]) == 3
    assert all(len(w["history"]) == 24 and len(w["actual"]) == len(w["forecast"]) == 6 for w in example["windows"])
    # Drawn even when DLinear (no attention) wins: then from the best complete trial with attention, retrained.
    assert (out.parent / "fc-tiny" / "attention.png").read_bytes()[:4] == b"\x89PNG"
    attention = study.user_attrs["attention_example"]
    best = study.best_trial
    if best.params["model"] == "dlinear":
        assert attention["fallback"] and attention["trial"] != best.number
        assert study.trials[attention["trial"]].params["model"] != "dlinear"
        assert f"trial {attention['trial']}, the best complete trial with attention" in text
    else:
        assert attention["trial"] == best.number and "fallback" not in attention


def ett_spec(**dataset):
    return parse_spec({"study": {"name": "e", "task": "forecasting"},
                       "dataset": {"name": "ett", **dataset}, "budget": {"max_epochs": 1}})


def test_etth1_prepared_with_the_standard_protocol_and_published_numbers(data_dir):
    task, prepared = load_data(ett_spec(), data_dir)
    facts = task.describe(prepared)
    assert facts["borders"] == {"train": [0, 8640], "valid": [8544, 11520], "test": [11424, 14400]}
    assert (facts["train_windows"], facts["valid_windows"], facts["test_windows"]) == (8449, 2785, 2785)
    rows = {r["model"].split()[0]: (r["mse"], r["mae"]) for r in facts["published"]["rows"]}
    assert rows["DLinear"] == (0.386, 0.400) and rows["Informer"] == (0.865, 0.713)
    assert "published" not in task.describe(load_data(ett_spec(horizon=192), data_dir)[1])


@pytest.mark.parametrize("features,n_out", [("M", 7), ("S", 1), ("MS", 1)])
def test_every_family_builds_for_every_setting(features, n_out, data_dir):
    task, prepared = load_data(ett_spec(features=features, lookback=48, horizon=12), data_dir)
    x, y = prepared.data.windows(prepared.train[:4])
    assert y.shape == (4, 12, n_out)
    base = {"attention": "dot", "cell": "gru", "input_feeding": True, "layers": 1, "self_attention": "scaled_dot",
            "patch_len": 8, "transformer_layers": 1, "heads": 1, "hidden_size": 8, "dropout": 0.0, "revin": True, "kernel": 25}
    for family in ForecastingTask.model_families:
        model = task.build_model({**base, "model": family}, prepared)
        assert model(x).shape == (4, 12, n_out)


def test_evaluation_uses_every_window_and_matches_numpy(data_dir):
    task, prepared = load_data(ett_spec(lookback=96, horizon=96), data_dir)
    torch.manual_seed(0)
    model = task.build_model({"model": "dlinear", "kernel": 25}, prepared)
    metrics = task.evaluate(model, prepared, "test")
    pred, true = task.predict_windows(model, prepared, prepared.test)
    assert pred.shape == (2785, 96, 7)
    assert metrics["mse"] == pytest.approx(float(np.mean((pred - true) ** 2)), rel=1e-6)
    assert metrics["mae"] == pytest.approx(float(np.mean(np.abs(pred - true))), rel=1e-6)
    assert math.isfinite(metrics["mse_orig"]) and metrics["mse_orig"] > metrics["mse"]


def test_fidelity_subsets_are_seeded_and_fixed(data_dir):
    spec = ett_spec()
    a = ForecastingTask().prepare("ett", _options(spec), data_dir, Budget(1, 1000, 500), seed=3)
    b = ForecastingTask().prepare("ett", _options(spec), data_dir, Budget(1, 1000, 500), seed=3)
    assert len(a.train) == 1000 and len(a.valid) == 500 and len(a.test) == 2785
    assert np.array_equal(a.train, b.train) and np.all(np.diff(a.train) > 0)


def _options(spec):
    from harness.spec import dataset_options

    return dataset_options(spec)


def test_attention_example_falls_back_to_the_best_trial_with_attention_that_kept_its_weights(tiny, tmp_path):
    """With no attention example stored (as after a DLinear win), the best other complete trial whose model has
    attention and whose best-epoch weights are on disk gives the example, marked as a fallback; nothing is trained,
    so without such weights there is no example."""
    import shutil

    import tomllib

    from harness import resume
    from harness.study import Plan, attention_fallback, retrain, weights

    shutil.copy(tiny["folder"] / "f.db", tmp_path / "f.db")
    url = f"sqlite:///{tmp_path / 'f.db'}"
    study = optuna.load_study(study_name="fc-tiny", storage=url)
    study.set_user_attr("attention_example", None)
    spec = parse_spec(tomllib.loads(TINY))
    task, data = load_data(spec, None)
    plan = Plan.resolve(spec, task, data, threads=1, checkpoints=tmp_path / "checkpoints", trial_weights=True)
    attention_fallback(study, plan, quiet=True)  # the run cleared its weights files: nothing to show, nothing trained
    assert optuna.load_study(study_name="fc-tiny", storage=url).user_attrs["attention_example"] is None
    others = sorted((t for t in study.trials if t.number != study.best_trial.number and t.params["model"] != "dlinear"),
                    key=lambda t: t.value)
    for trial in others[:2]:  # the best-epoch weights two trials kept, as the objective saves them
        model, _ = retrain(plan, trial.user_attrs["config"], seed=trial.user_attrs["seed"])
        resume.save(weights.path(plan, trial.number), {
            "study": plan.name, "trial": trial.number, "config": trial.user_attrs["config"],
            "seed": trial.user_attrs["seed"], "state_dict": model.state_dict()})
    attention_fallback(study, plan, quiet=True)
    study = optuna.load_study(study_name="fc-tiny", storage=url)
    example = study.user_attrs["attention_example"]
    assert example["fallback"] is True and example["trial"] == others[0].number
    assert "the best complete trial with attention among those that kept their best-epoch weights" in example["description"]
    assert all(math.isclose(sum(row), 1.0, abs_tol=1e-2) for row in example["weights"])  # a softmax over the look-back
    attention_fallback(study, Plan.resolve(spec, task, data, threads=1), quiet=True)  # idempotent: a stored fallback is kept
    assert optuna.load_study(study_name="fc-tiny", storage=url).user_attrs["attention_example"] == example
