"""The Python API a notebook uses: a spec as a dict, Optuna callbacks, per-epoch hooks, the objective on its own."""

from __future__ import annotations

import optuna
import pytest

import harness
from harness import api
from harness.errors import BadInputError
from harness.study import RunSummary

SPEC = {
    "study": {"name": "api", "task": "translation", "metric": "chrf", "n_trials": 2, "seed": 0},
    "dataset": {"name": "numbers-en-de", "train_size": 200, "valid_size": 30, "test_size": 30, "max_number": 999,
                "vocab_size": 64},
    "budget": {"max_epochs": 2, "threads": 1},
    "sampler": {"name": "random", "seed": 0},
    "search": {"model": "rnn", "attention": ["dot", "additive"], "schedule": "constant", "hidden_size": 16,
               "embedding_size": 8, "layers": 1},
}


def test_run_study_takes_a_dict_callbacks_and_an_epoch_hook(tmp_path):
    finished, epochs = [], []
    summary = api.run_study(SPEC, storage=f"sqlite:///{tmp_path / 'a.db'}", quiet=True,
                            callbacks=[lambda study, trial: finished.append((trial.number, trial.state.name))],
                            on_epoch=lambda trial, epoch, metrics: epochs.append((trial.number, epoch, metrics["chrf"])))
    assert isinstance(summary, RunSummary) and summary.finished == 2 and summary.test_metrics is not None
    assert finished == [(0, "COMPLETE"), (1, "COMPLETE")]
    assert [(n, e) for n, e, _ in epochs] == [(0, 1), (0, 2), (1, 1), (1, 2)]
    study = optuna.load_study(study_name="api", storage=f"sqlite:///{tmp_path / 'a.db'}")
    best = {n: max(c for m, _, c in epochs if m == n) for n in (0, 1)}  # a trial's value is its best epoch's
    assert [round(best[t.number], 6) for t in study.trials] == [round(t.value, 6) for t in study.trials]


def test_objective_runs_in_the_users_own_study():
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1))
    seen = []
    study.optimize(harness.objective(SPEC, on_epoch=lambda trial, epoch, metrics: seen.append(epoch)), n_trials=2)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert {t.user_attrs["config"]["attention"] for t in study.trials} <= {"dot", "additive"}
    assert all(0.0 <= t.value <= 100.0 for t in study.trials) and seen == [1, 2, 1, 2]


def test_hooks_with_several_workers_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(BadInputError, match="callbacks and on_epoch run in this process"):
        api.run_study(SPEC, storage=f"sqlite:///{tmp_path / 'w.db'}", quiet=True, workers=2, callbacks=[print])
    assert not (tmp_path / "w.db").exists()
