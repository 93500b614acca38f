"""The fit loop on a small real regression task: determinism, accumulation, per-epoch reports, NaN handling.

The task is linear regression on scikit-learn's embedded diabetes data (442 patients, 10 features),
small enough that every test trains real epochs in well under a second.
"""

from __future__ import annotations

import math

import optuna
import pytest
import torch
from sklearn.datasets import load_diabetes

from harness.data import Batched, ShuffledBatches, as_is
from harness.storage import get_series, open_storage
from harness.study import store_result
from harness.task import Budget, Task, TrainData
from harness.training import fit, seeded_model
from tests.conftest import ValidOnlyRegression

CONFIG = {"schedule": "cosine", "min_lr_ratio": 0.0, "lr": 0.05, "optimizer": "adam", "weight_decay": 0.0,
          "batch_size": 32, "grad_clip": 1.0, "grad_accum_steps": 1}


class DiabetesRegression(ValidOnlyRegression, Task):
    """A linear model of disease progression from the ten baseline variables (standardised)."""

    name, summary, default_metric, model_families = "diabetes", "linear regression", "mse", ()
    metrics = {"mse": "minimize", "loss": "minimize"}

    @classmethod
    def datasets(cls):
        return {}

    @classmethod
    def space(cls):
        return []

    def prepare(self, dataset, options, data_dir, budget, seed):
        X, y = load_diabetes(return_X_y=True)
        X = torch.tensor((X - X.mean(0)) / X.std(0), dtype=torch.float32)
        y = torch.tensor((y - y.mean()) / y.std(), dtype=torch.float32)
        return {"train": (X[:342], y[:342]), "valid": (X[342:], y[342:])}

    def describe(self, data):
        return {}

    def train_size(self, data):
        return len(data["train"][1])

    def build_model(self, config, data):
        return torch.nn.Linear(10, 1)

    def train_data(self, data, batch_size, generator):
        X, y = data["train"]
        return TrainData(Batched(len(y), lambda idx: (X[idx], y[idx])), ShuffledBatches(len(y), batch_size, generator),
                         as_is)

    def loss(self, model, batch):
        X, y = batch
        return torch.nn.functional.mse_loss(model(X).squeeze(-1), y), len(y)



@pytest.fixture
def task_and_data():
    task = DiabetesRegression()
    return task, task.prepare("diabetes", None, None, Budget(5), 0)


def run(task, data, epochs=5, seed=0, **changes):
    config = {**CONFIG, **changes}
    return fit(task, seeded_model(task, config, data, seed), data, config, Budget(epochs), metric="mse",
               direction="minimize", seed=seed)


def test_training_learns_and_records_every_epoch(task_and_data):
    result = run(*task_and_data, epochs=8)
    mses = [row["mse"] for row in result.history]
    assert [row["epoch"] for row in result.history] == list(range(1, 9))
    assert mses[-1] < mses[0] and result.value < 0.55, mses  # a linear model explains about half the variance
    assert result.value == min(mses) and result.history[result.best_epoch - 1]["mse"] == result.value
    assert result.param_count == 11
    assert all(row["seconds"] > 0 for row in result.history)
    assert len(result.lr_per_step) == 8 * math.ceil(342 / 32)
    assert result.lr_per_step[0] == pytest.approx(0.05) and result.lr_per_step[-1] < 1e-3


def test_same_seed_same_run_other_seed_other_run(task_and_data):
    a, b, c = run(*task_and_data, seed=3), run(*task_and_data, seed=3), run(*task_and_data, seed=4)
    assert a.history and [r["mse"] for r in a.history] == [r["mse"] for r in b.history]
    assert [r["mse"] for r in a.history] != [r["mse"] for r in c.history]


def test_gradient_accumulation_takes_one_step_per_group(task_and_data):
    result = run(*task_and_data, epochs=2, grad_accum_steps=4)
    assert len(result.lr_per_step) == 2 * math.ceil(math.ceil(342 / 32) / 4)


def test_nan_in_the_data_ends_the_trial_as_pruned_with_the_reason_stored(task_and_data, tmp_path):
    task, data = task_and_data
    X, y = data["train"]
    y = y.clone()
    y[100] = float("nan")  # one corrupt target
    data = {**data, "train": (X, y)}
    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path / 'nan.db'}", write=True), study_name="nan")
    trial = study.ask()
    result = fit(task, seeded_model(task, CONFIG, data, 0), data, CONFIG, Budget(3), metric="mse", direction="minimize",
                 seed=0, trial=trial)
    assert result.stopped == "non-finite loss"
    assert "non-finite training loss (nan) at optimizer step" in result.reason
    store_result(trial, result, 0.1)
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    stored = optuna.load_study(study_name="nan", storage=f"sqlite:///{tmp_path / 'nan.db'}").trials[0]
    assert stored.state == optuna.trial.TrialState.PRUNED
    assert stored.user_attrs["pruned_reason"] == result.reason
    assert get_series(stored.user_attrs, "history") == []


def test_pruner_stops_a_trial_and_it_is_reported_per_epoch(task_and_data, tmp_path):
    task, data = task_and_data
    url = f"sqlite:///{tmp_path / 'prune.db'}"
    study = optuna.create_study(storage=open_storage(url, write=True), study_name="p",
                                pruner=optuna.pruners.ThresholdPruner(upper=0.5))
    trial = study.ask()
    config = {**CONFIG, "lr": 1e-5}
    result = fit(task, seeded_model(task, config, data, 0), data, config, Budget(5), metric="mse", direction="minimize",
                 seed=0, trial=trial)
    assert result.stopped == "pruned" and result.reason == "pruned by the pruner after epoch 1"
    assert trial.storage.get_trial(trial._trial_id).intermediate_values == {1: result.history[0]["mse"]}
