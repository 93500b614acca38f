"""The report's fast trial reader gives exactly what Optuna's own reader gives (real SQLite and journal files).

The study holds every state and every awkward value Optuna stores specially: infinite objective values,
NaN and infinite intermediate values, categorical/int/float/log distributions, a series split over
several user attributes, system attributes, several studies in one file.
"""

from __future__ import annotations

import math

import optuna
import pytest

from harness.report.rdb import _rdb_trials, read_trials
from harness.storage import get_series, open_storage, put_series


def _fill(storage) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    other = optuna.create_study(study_name="other", storage=storage)
    other.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")

    def objective(trial: optuna.Trial) -> float:
        kind = trial.suggest_categorical("kind", ["a", "b", None])
        x = trial.suggest_float("x", 1e-4, 1.0, log=True)
        n = trial.suggest_int("n", 1, 9, step=2)
        trial.set_user_attr("config", {"kind": kind, "x": x, "n": n})
        put_series(trial, "lr_per_step", [x / (i + 1) for i in range(8000)] if trial.number == 2 else [x, x / 2])
        trial.storage.set_trial_system_attr(trial._trial_id, "note", f"t{trial.number}")
        for step, value in enumerate([1.0, math.nan, math.inf, -math.inf][: trial.number % 4 + 1]):
            trial.report(value, step)
        if trial.number == 3:
            raise optuna.TrialPruned()
        if trial.number == 4:
            raise RuntimeError("boom")
        return math.inf if trial.number == 1 else x * n

    study.optimize(objective, n_trials=7, catch=(RuntimeError,))
    study.ask()  # a running trial, no values
    return study


def _norm(trial) -> str:
    """Every field of a frozen trial, attributes and intermediate values in key order (a storage may return them
    in any order: PostgreSQL does for intermediate values), as text (so that NaN equals NaN)."""
    return repr((trial.number, trial.state, trial.values, trial.datetime_start, trial.datetime_complete, trial.params,
                 trial.distributions, sorted(trial.user_attrs.items()), sorted(trial.system_attrs.items()),
                 sorted(trial.intermediate_values.items()), trial._trial_id))


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_read_trials_equals_optunas_reader(tmp_path, kind):
    url = f"sqlite:///{tmp_path / 's.db'}" if kind == "sqlite" else f"journal:{tmp_path / 's.log'}"
    _fill(open_storage(url, write=True))
    study = optuna.load_study(study_name="s", storage=open_storage(url))
    expected = sorted(study.get_trials(deepcopy=True), key=lambda t: t.number)
    got = read_trials(study)
    assert [_norm(t) for t in got] == [_norm(t) for t in expected]
    if kind == "sqlite":  # the SQL path itself, not a silent fallback to Optuna's reader
        direct = _rdb_trials(study._storage._backend, study._study_id, ())
        assert [_norm(t) for t in direct] == [_norm(t) for t in expected]
    assert [t.state.name for t in got] == ["COMPLETE", "COMPLETE", "COMPLETE", "PRUNED", "FAIL", "COMPLETE", "COMPLETE",
                                           "RUNNING"]
    assert got[1].value == math.inf and math.isnan(got[1].intermediate_values[1])
    assert get_series(got[2].user_attrs, "lr_per_step")[-1] == pytest.approx(got[2].params["x"] / 8000)
    assert got[2].user_attrs["lr_per_step.parts"] > 1


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_read_trials_leaves_out_series_and_nothing_else(tmp_path, kind):
    url = f"sqlite:///{tmp_path / 's.db'}" if kind == "sqlite" else f"journal:{tmp_path / 's.log'}"
    _fill(open_storage(url, write=True))
    study = optuna.load_study(study_name="s", storage=open_storage(url))
    full = read_trials(study)
    lean = read_trials(study, without=("lr_per_step",))
    for a, b in zip(full, lean):
        kept = {k: v for k, v in a.user_attrs.items() if not k.startswith("lr_per_step")}
        assert b.user_attrs == kept and ("config" in b.user_attrs or b.state.name == "RUNNING")
        assert repr((b.params, b.values, b.intermediate_values, b.system_attrs)) == repr(
            (a.params, a.values, a.intermediate_values, a.system_attrs))
    assert get_series(read_trials(study)[2].user_attrs, "lr_per_step") is not None  # the storage's copy is untouched
