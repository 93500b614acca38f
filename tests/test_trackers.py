"""Experiment trackers, read back: a local MLflow store (mlflow-skinny; a SQLite file, since MLflow 3 keeps its file
store in maintenance mode) and TensorBoard event files."""

from __future__ import annotations

import pytest

from harness.errors import BadInputError
from tests.conftest import harness_cli, write_tiny_spec


def test_trials_are_mirrored_into_mlflow_and_tensorboard(tmp_path):
    from mlflow import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    spec = write_tiny_spec(tmp_path, name="tracked", n_trials=2)
    runs = tmp_path / "runs"
    proc = harness_cli("run-study", str(spec), "--storage", f"sqlite:///{tmp_path / 't.db'}", "--tracker", "mlflow",
                       "--tracker", "tensorboard", "--set", f'run.tracking_dir="{runs}"', cwd=tmp_path,
                       env={"MLFLOW_TRACKING_URI": ""})
    assert proc.returncode == 0, proc.stderr

    client = MlflowClient(tracking_uri=f"sqlite:///{runs / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tracked")
    found = client.search_runs([experiment.experiment_id])
    parents = [r for r in found if r.data.tags.get("harness.role") == "study"]
    children = sorted((r for r in found if r.data.tags.get("harness.role") == "trial"), key=lambda r: r.info.run_name)
    assert len(parents) == 1 and [r.info.run_name for r in children] == ["trial 0", "trial 1"]
    assert parents[0].info.status == "FINISHED"
    for run in children:
        assert run.data.tags["mlflow.parentRunId"] == parents[0].info.run_id and run.info.status == "FINISHED"
        assert {"model", "schedule", "lr", "hidden_size"} <= set(run.data.params)
        assert [m.step for m in client.get_metric_history(run.info.run_id, "chrf")] == [1, 2]
        assert "objective" in run.data.metrics

    for number in (0, 1):
        events = EventAccumulator(str(runs / "tensorboard" / "tracked" / f"trial-{number}"))
        events.Reload()
        assert [e.step for e in events.Scalars("chrf")] == [1, 2]
        assert "train_loss" in events.Tags()["scalars"] or "loss" in events.Tags()["scalars"]


def test_an_unknown_or_missing_tracker_is_bad_input(tmp_path, monkeypatch):
    spec = write_tiny_spec(tmp_path, name="untracked", n_trials=1)
    proc = harness_cli("run-study", str(spec), "--storage", f"sqlite:///{tmp_path / 'u.db'}", "--tracker", "mlflw",
                       cwd=tmp_path)
    assert proc.returncode == 2 and "unknown tracker 'mlflw' (did you mean 'mlflow'?)" in proc.stderr
    assert not (tmp_path / "u.db").exists()

    from harness.registry import TRACKERS
    from harness.trackers import Tracker, Trackers

    class Needy(Tracker):
        """A tracker whose package is not installed."""

        requires = ("harness_no_such_tracker_package", "harness-no-such-tracker")

    monkeypatch.setattr(TRACKERS, "_entries", dict(TRACKERS._entries))  # the registration ends with the test
    TRACKERS.register("needy", Needy)
    with pytest.raises(BadInputError, match="tracker 'needy' needs the package harness-no-such-tracker"):
        Trackers.check(["needy"])
