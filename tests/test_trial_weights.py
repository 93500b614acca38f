"""Trial weights (harness.study.weights): the best complete trial of each model family keeps its best-epoch weights,
the test evaluation loads them instead of retraining, and the result equals a retraining with the trial's seed."""

from __future__ import annotations

import optuna
import pytest

from harness import api
from harness.spec import parse_spec
from harness.storage import get_output, study_system_attrs
from harness.study import Plan, load_data, resolve_data_dir, retrain_and_test
from tests.conftest import TINY_SPEC


def test_the_kept_weights_give_the_test_metrics_and_outputs_of_a_retraining(tiny_study):
    study = optuna.load_study(study_name="tiny", storage=tiny_study["storage"])
    result = study.user_attrs["test_result"]
    assert result["weights"] == "trial"
    spec = parse_spec(study.user_attrs["spec"], source="stored")
    task, data = load_data(spec, resolve_data_dir(None))
    plan = Plan.resolve(spec, task, data, threads=1)
    best = study.best_trial
    retrained = retrain_and_test(plan, best.user_attrs["config"], seed=best.user_attrs["seed"])
    assert retrained.fit.value == pytest.approx(best.value, abs=1e-9)
    assert retrained.fit.best_epoch == result["best_epoch"]
    assert retrained.metrics == pytest.approx(result["metrics"], abs=1e-9)
    assert retrained.outputs == get_output(study_system_attrs(study), result["outputs"])


def _spec(tmp_path, **study):
    import tomllib

    data = tomllib.loads(TINY_SPEC.format(name="fam", n_trials=6))
    data["study"].update(study)
    return data


def test_each_family_keeps_only_its_best_trial_and_every_family_is_tested_from_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    folder = tmp_path / "w.artifacts" / "checkpoints"
    seen = []

    def after_trial(study, frozen):  # Optuna's callback, after each trial is told
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        best = {}
        for t in complete:
            family = t.user_attrs["config"]["model"]
            best[family] = max(best.get(family, t.value), t.value)
        tied = [t.number for t in complete if t.value == best[t.user_attrs["config"]["model"]]]  # ties keep their files
        kept = sorted(int(p.name.split(".trial-")[1].split(".")[0]) for p in folder.glob("fam.trial-*.weights.pt"))
        seen.append((kept, sorted(tied)))

    api.run_study(_spec(tmp_path, test="best-per-family"), storage=url, quiet=True, callbacks=[after_trial])
    assert len(seen) == 6
    for kept, expected in seen:
        assert kept == expected  # one file per family: the family's best complete trial
    study = optuna.load_study(study_name="fam", storage=url)
    families = study.user_attrs["family_results"]
    assert set(families) == {"rnn", "transformer"}
    assert all(r["weights"] == "trial" for r in families.values())
    assert not list(folder.glob("*.weights.pt"))  # deleted once tested and kept


def test_without_the_file_the_test_evaluation_retrains_with_the_trials_seed(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    spec = _spec(tmp_path)
    spec["study"]["n_trials"] = 2
    api.run_study(spec, storage=url, quiet=True)
    study = optuna.load_study(study_name="fam", storage=url)
    kept = study.user_attrs["test_result"]
    # A second study, same trials, whose weights files are gone before the test (a study from before trials kept
    # weights): the evaluation retrains and finds the same validation value and the same test metrics.
    other = f"sqlite:///{tmp_path / 'o.db'}"
    optuna.copy_study(from_study_name="fam", from_storage=url, to_storage=other)
    copy = optuna.load_study(study_name="fam", storage=other)
    for key in ("test_result", "family_results"):
        copy.set_user_attr(key, None)
    api.run_study(spec, storage=other, quiet=True)
    retrained = optuna.load_study(study_name="fam", storage=other).user_attrs["test_result"]
    assert retrained["weights"] == "retrained" and retrained["trial"] == kept["trial"]
    assert retrained["valid_value_retrained"] == pytest.approx(kept["valid_value_search"], abs=1e-9)
    assert retrained["metrics"] == pytest.approx(kept["metrics"], abs=1e-9)


def test_a_trial_that_ties_the_best_keeps_its_file_beside_the_earlier_one(tmp_path):
    """Ties follow Optuna's best_trial: whichever tied trial it names has its own weights, so nothing is retrained."""
    import torch

    from harness.study import weights
    from harness.training import FitResult

    spec = parse_spec(_spec(tmp_path), source="<dict>")
    plan = Plan(spec, None, None, None, spec.to_budget(), spec.to_placement(), 1, tmp_path, trial_weights=True)
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 't.db'}", study_name="fam", direction="maximize")

    def finish(value: float) -> int:
        trial = study.ask()
        config = {"model": "rnn", "lr": 0.001}
        trial.set_user_attr("config", config)
        trial.set_user_attr("seed", trial.number)
        state = {"w": torch.full((2,), float(trial.number))}
        assert weights.save_if_best(plan, trial, config, trial.number, FitResult(value=value, best_epoch=1, best_state=state))
        study.tell(trial, value)
        return trial.number

    first, tied = finish(90.0), finish(90.0)
    assert weights.path(plan, first).exists() and weights.path(plan, tied).exists()
    best = study.best_trial
    assert best.value == 90.0 and weights.load(plan, best)["w"][0] == best.number  # its own weights
    better = finish(95.0)
    assert not weights.path(plan, first).exists() and not weights.path(plan, tied).exists()
    assert weights.path(plan, better).exists()
