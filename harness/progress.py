"""Progress of a study run: trials done of the target, best so far, ETA, and the running trial's epochs.

On a terminal it is a live rich display; in a pipe or a log file it prints one line per finished trial.
``--quiet`` silences both (errors still reach stderr).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from harness.console import console

if TYPE_CHECKING:
    import optuna

FINISHED = ("COMPLETE", "PRUNED")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


class StudyProgress:
    """Context manager fed by the study runner: :meth:`trial_started`, :meth:`epoch`, :meth:`trial_finished`.

    Args:
        target: Finished trials the run aims at.
        done: Finished trials already in the study.
        metric: Objective name, for display.
        max_epochs: Epochs per trial at most.
    """

    def __init__(self, target: int, done: int, metric: str, max_epochs: int):
        self.target, self.done, self.metric, self.max_epochs = target, done, metric, max_epochs
        self.live = console.is_terminal and not console.quiet
        self.started = time.monotonic()
        self.done_at_start = done
        self.best: float | None = None
        self._progress: Progress | None = None
        self._trials_task = self._epoch_task = None

    def __enter__(self) -> StudyProgress:
        if self.live:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                console=console, transient=False,
            )
            self._progress.start()
            self._trials_task = self._progress.add_task("trials", total=self.target, completed=self.done, info="")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

    def trial_started(self, number: int, config: dict[str, Any]) -> None:
        if self._progress is not None:
            if self._epoch_task is not None:
                self._progress.remove_task(self._epoch_task)
            self._epoch_task = self._progress.add_task(f"  trial {number}", total=self.max_epochs, info=_short(config))

    def epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        if self._progress is not None and self._epoch_task is not None:
            info = f"{self.metric} {_fmt(metrics.get(self.metric))}"
            self._progress.update(self._epoch_task, completed=epoch, info=info)

    def trial_finished(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state.name in FINISHED:
            self.done += 1
        try:
            self.best = study.best_value
        except ValueError:
            self.best = None
        eta = self._eta()
        if self._progress is not None:
            self._progress.update(self._trials_task, completed=self.done, info=f"best {self.metric} {_fmt(self.best)}")
            return
        state = trial.state.name.lower()
        value = _fmt(trial.value) if trial.value is not None else "-"
        seconds = (trial.datetime_complete - trial.datetime_start).total_seconds() if trial.datetime_complete else 0.0
        console.print(
            f"trial {trial.number:>3} {state:<8} {self.metric}={value:<8} best={_fmt(self.best):<8} "
            f"[{self.done}/{self.target}] {seconds:6.1f} s  eta {eta}  {_short(trial.user_attrs.get('config', {}))}",
            markup=False,
        )

    def _eta(self) -> str:
        ran = self.done - self.done_at_start
        if ran <= 0:
            return "?"
        remaining = (time.monotonic() - self.started) / ran * max(0, self.target - self.done)
        return f"{remaining / 60:.1f} min"


def _short(config: dict[str, Any]) -> str:
    keys = ("model", "attention", "schedule", "lr")
    parts = []
    for key in keys:
        if key in config:
            value = config[key]
            parts.append(f"{key}={value:.2e}" if isinstance(value, float) else f"{key}={value}")
    return " ".join(parts)
