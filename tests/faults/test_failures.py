"""A trial that raises is failed with its error stored and the study goes on; the same error ending
several trials in a row stops the study with that error.

The task is a real one registered for the test: linear regression on scikit-learn's diabetes data whose
training step refuses learning rates its solver cannot handle (as a real solver rejects a setting).
"""

from __future__ import annotations

import pytest
import torch
from pydantic import BaseModel, ConfigDict
from sklearn.datasets import load_diabetes

from harness.data import Batched, as_is
from harness.registry import TASKS
from harness.spec import parse_spec
from harness.study import RepeatedFailures, run_study
from harness.task import DatasetInfo, Task, TrainData
from tests.conftest import ValidOnlyRegression


class _Model(torch.nn.Linear):
    """A linear model that knows the learning rate it is trained with."""

    lr_in_use = 0.0


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FragileRegression(ValidOnlyRegression, Task):
    """Linear regression whose training step raises above a learning rate of 0.05."""

    name, summary, default_metric, model_families = "fragile-regression", "linear regression", "mse", ()
    metrics = {"mse": "minimize", "loss": "minimize"}

    @classmethod
    def datasets(cls):
        return {"diabetes": DatasetInfo("diabetes", "scikit-learn diabetes", NoOptions, lambda o, d: None, False)}

    @classmethod
    def space(cls):
        return []

    def prepare(self, dataset, options, data_dir, budget, seed):
        X, y = load_diabetes(return_X_y=True)
        X = torch.tensor((X - X.mean(0)) / X.std(0), dtype=torch.float32)
        y = torch.tensor((y - y.mean()) / y.std(), dtype=torch.float32)
        return {"train": (X[:342], y[:342]), "valid": (X[342:], y[342:])}

    def train_size(self, data):
        return 342

    def describe(self, data):
        return {}

    def build_model(self, config, data):
        model = _Model(10, 1)
        model.lr_in_use = config["lr"]
        return model

    def train_data(self, data, batch_size, generator):
        X, y = data["train"]
        in_order = [list(range(i, min(i + batch_size, 342))) for i in range(0, 342, batch_size)]
        return TrainData(Batched(342, lambda idx: (X[idx], y[idx], generator)), in_order, as_is)

    def loss(self, model, batch):
        X, y, _ = batch
        if model.lr_in_use > 0.05:
            raise FloatingPointError("solver diverged: learning rate above 0.05")
        return torch.nn.functional.mse_loss(model(X).squeeze(-1), y), len(y)



@pytest.fixture(autouse=True, scope="module")
def registered():
    if "fragile-regression" not in TASKS:
        TASKS.register("fragile-regression", FragileRegression)


def spec(name, lr, n_trials, max_repeated_failures=3):
    return parse_spec({"study": {"name": name, "task": "fragile-regression", "n_trials": n_trials},
                       "dataset": {"name": "diabetes"}, "budget": {"max_epochs": 2, "threads": 1},
                       "sampler": {"name": "random", "seed": 1},
                       "search": {"lr": lr, "schedule": "constant", "batch_size": 64},
                       "run": {"max_repeated_failures": max_repeated_failures}})


def test_failed_trials_store_their_error_and_the_study_goes_on(tmp_path):
    url = f"sqlite:///{tmp_path / 'f.db'}"
    summary = run_study(spec("mixed", [0.01, 0.2], 6, max_repeated_failures=20), storage=url, quiet=True)
    import optuna

    study = optuna.load_study(study_name="mixed", storage=url)
    failed = [t for t in study.trials if t.state.name == "FAIL"]
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert summary.finished == 6 and len(complete) == 6
    assert failed and all(t.params["lr"] == 0.2 for t in failed)
    assert {t.user_attrs["fail_reason"] for t in failed} == {"FloatingPointError: solver diverged: learning rate above 0.05"}
    assert all(t.params["lr"] == 0.01 for t in complete)


def test_the_same_error_three_times_in_a_row_stops_the_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'g.db'}"
    with pytest.raises(RepeatedFailures, match="3 trials in a row failed with the same error: FloatingPointError: "
                                               "solver diverged: learning rate above 0.05"):
        run_study(spec("broken", {"low": 0.1, "high": 0.2}, 2), storage=url, quiet=True)
    import optuna

    trials = optuna.load_study(study_name="broken", storage=url).trials
    assert len(trials) == 3 and all(t.state.name == "FAIL" for t in trials)


def test_repeated_failures_end_the_command_with_their_own_line_and_exit_1(tmp_path, capsys):
    """Through the command line: exit 1 with the study's reason on one line, not "unexpected failure"."""
    from harness.cli import main

    path = tmp_path / "broken.toml"
    path.write_text('[study]\nname = "broken-cli"\ntask = "fragile-regression"\nn_trials = 2\n\n[dataset]\nname = "diabetes"\n\n'
                    '[budget]\nmax_epochs = 2\nthreads = 1\n\n[sampler]\nname = "random"\nseed = 1\n\n'
                    '[search]\nlr = { low = 0.1, high = 0.2 }\nschedule = "constant"\nbatch_size = 64\n')
    code = main(["run-study", str(path), "--storage", f"sqlite:///{tmp_path / 'c.db'}", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "error: study 'broken-cli' stopped: 3 trials in a row failed with the same error: FloatingPointError" in err
    assert "unexpected failure" not in err and "Traceback" not in err
