"""Experiment trackers: a study's trials mirrored into MLflow or TensorBoard as they run.

``[run] trackers = ["mlflow", "tensorboard"]`` (or ``--tracker NAME``, repeatable) attaches them; ``[run]
tracking_dir`` (default ``runs``) is where they write: a local MLflow store ``<tracking_dir>/mlflow.db`` (SQLite:
MLflow 3 keeps its file store in maintenance mode; ``mlflow ui --backend-store-uri sqlite:///runs/mlflow.db`` shows
it), or the ``MLFLOW_TRACKING_URI`` the user set (a server), and TensorBoard event files in
``<tracking_dir>/tensorboard/<study>/trial-<n>`` (``tensorboard --logdir runs/tensorboard``).
What is recorded:

- MLflow (the tracker's own client API, ``mlflow.MlflowClient``): one experiment per study, one parent run for the
  study (found again by its tag when the study resumes) and a child run per trial (``mlflow.parentRunId``), with the
  trial's whole configuration as params, every epoch's validation metrics and training loss as metrics (``step`` =
  epoch), the objective value, and the trial's end state (FINISHED for complete or pruned, FAILED, KILLED).
- TensorBoard (``torch.utils.tensorboard.SummaryWriter``): per trial, every epoch's metrics as scalars
  (``global_step`` = epoch) and the configuration as text.

Trackers observe; the study's storage stays the record reports are made from. Each tracker is a registered
component (:data:`harness.registry.TRACKERS`, entry-point group ``harness.trackers``) with three hooks:
:meth:`Tracker.epoch` after every epoch, :meth:`Tracker.trial_finished` after every trial, :meth:`Tracker.close` at
the end of the run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.registry import TRACKERS

if TYPE_CHECKING:
    import optuna


class Tracker:
    """Receives a study's progress. Subclasses override what they record.

    Args:
        study_name: The study.
        directory: ``[run] tracking_dir``, where the tracker writes.
    """

    #: The module the tracker imports, and the package that installs it (checked before a study starts).
    requires: tuple[str, str] | None = None

    def __init__(self, study_name: str, directory: Path):
        self.study_name = study_name
        self.directory = directory

    def epoch(self, trial: optuna.Trial, epoch: int, metrics: dict[str, float]) -> None:
        """After every epoch (``epoch`` from 1) of a running trial, with that epoch's metrics."""

    def trial_finished(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """After every trial (an Optuna callback), whatever its state."""

    def close(self) -> None:
        """At the end of the run (also after an interruption)."""


class MLflowTracker(Tracker):
    """MLflow: a parent run per study, a child run per trial with params, per-epoch metrics and the final value."""

    requires = ("mlflow", "mlflow-skinny")

    def __init__(self, study_name: str, directory: Path):
        super().__init__(study_name, directory)
        from mlflow import MlflowClient

        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:  # a local store; MLflow 3 keeps its file store in maintenance mode, so a SQLite file
            directory.mkdir(parents=True, exist_ok=True)
            uri = f"sqlite:///{(directory / 'mlflow.db').resolve()}"
        self.client = MlflowClient(tracking_uri=uri)
        experiment = self.client.get_experiment_by_name(study_name)
        if experiment is None:
            try:
                self.experiment_id = self.client.create_experiment(study_name)
            except Exception:  # noqa: BLE001 - another worker created it first
                self.experiment_id = self.client.get_experiment_by_name(study_name).experiment_id
        else:
            self.experiment_id = experiment.experiment_id
        found = self.client.search_runs([self.experiment_id], filter_string="tags.`harness.role` = 'study'", max_results=1)
        self.parent = found[0].info.run_id if found else self.client.create_run(
            self.experiment_id, run_name=study_name, tags={"harness.role": "study", "harness.study": study_name}).info.run_id
        self.runs: dict[int, str] = {}

    def _run(self, trial: Any) -> str:
        if trial.number not in self.runs:
            run = self.client.create_run(self.experiment_id, run_name=f"trial {trial.number}",
                                         tags={"mlflow.parentRunId": self.parent, "harness.role": "trial",
                                               "harness.trial": str(trial.number)})
            self.runs[trial.number] = run.info.run_id
            config = trial.user_attrs.get("config") or {}
            for key, value in config.items():
                self.client.log_param(run.info.run_id, key, value)
        return self.runs[trial.number]

    def epoch(self, trial, epoch, metrics) -> None:
        run = self._run(trial)
        for key, value in metrics.items():
            if isinstance(value, int | float) and key != "epoch":
                self.client.log_metric(run, key, float(value), step=epoch)

    def trial_finished(self, study, trial) -> None:
        run = self._run(trial)
        if trial.value is not None:
            self.client.log_metric(run, "objective", float(trial.value))
        status = {"COMPLETE": "FINISHED", "PRUNED": "FINISHED", "FAIL": "FAILED"}.get(trial.state.name, "KILLED")
        self.client.set_tag(run, "harness.state", trial.state.name.lower())
        self.client.set_terminated(run, status=status)
        self.runs.pop(trial.number, None)

    def close(self) -> None:
        for run in self.runs.values():  # trials an interruption left open
            self.client.set_terminated(run, status="KILLED")
        self.runs.clear()
        self.client.set_terminated(self.parent, status="FINISHED")  # until the study resumes


class TensorBoardTracker(Tracker):
    """TensorBoard: per trial an event file with every epoch's metrics as scalars and the configuration as text."""

    requires = ("tensorboard", "tensorboard")

    def __init__(self, study_name: str, directory: Path):
        super().__init__(study_name, directory)
        self.writers: dict[int, Any] = {}

    def _writer(self, trial: Any):
        if trial.number not in self.writers:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(log_dir=str(self.directory / "tensorboard" / self.study_name / f"trial-{trial.number}"))
            writer.add_text("config", json.dumps(trial.user_attrs.get("config") or {}, indent=1, default=str))
            self.writers[trial.number] = writer
        return self.writers[trial.number]

    def epoch(self, trial, epoch, metrics) -> None:
        writer = self._writer(trial)
        for key, value in metrics.items():
            if isinstance(value, int | float) and key != "epoch":
                writer.add_scalar(key, float(value), global_step=epoch)
        writer.flush()

    def trial_finished(self, study, trial) -> None:
        writer = self.writers.pop(trial.number, None)
        if writer is not None:
            writer.close()

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
        self.writers.clear()


class Trackers:
    """The trackers of a run, driven together: :meth:`epoch` is an ``on_epoch`` hook, :meth:`__call__` an Optuna
    callback, :meth:`close` ends them. A tracker that raises (a tracking server gone, a full disk) is reported once
    and dropped: the study goes on, and the storage keeps the record."""

    def __init__(self, trackers: list[Tracker]):
        self.trackers = trackers

    def _each(self, call) -> None:
        for tracker in list(self.trackers):
            try:
                call(tracker)
            except Exception as exc:  # noqa: BLE001 - a tracker never stops the study
                from harness.console import warn

                warn(f"tracker {type(tracker).__name__} failed and is switched off for this run: "
                     f"{type(exc).__name__}: {exc}")
                self.trackers.remove(tracker)

    @staticmethod
    def check(names: list[str]) -> None:
        """Refuse, before anything runs, a tracker whose package is not installed.

        Raises:
            BadInputError: naming the tracker and the package to install.
        """
        import importlib.util

        from harness.errors import BadInputError

        for name in names:
            requires = TRACKERS.get(name).requires
            if requires is not None and importlib.util.find_spec(requires[0]) is None:
                raise BadInputError(f"tracker '{name}' needs the package {requires[1]}, which is not installed; "
                                    f"pip install {requires[1]}")

    @classmethod
    def build(cls, names: list[str], study_name: str, directory: str | Path) -> Trackers:
        """The trackers ``names`` for ``study_name`` writing under ``directory`` (:meth:`check` first)."""
        cls.check(names)
        return cls([TRACKERS.get(name)(study_name, Path(directory)) for name in names])

    def epoch(self, trial: Any, epoch: int, metrics: dict[str, float]) -> None:
        self._each(lambda t: t.epoch(trial, epoch, metrics))

    def __call__(self, study: Any, trial: Any) -> None:
        self._each(lambda t: t.trial_finished(study, trial))

    def close(self) -> None:
        self._each(lambda t: t.close())
