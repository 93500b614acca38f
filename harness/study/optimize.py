"""Run trials until the study holds its target of finished ones: the failure watch, SIGTERM as an interrupt,
and the re-queueing of trials an interruption stopped part-way."""

from __future__ import annotations

import signal
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.study.objective import TrialError, make_objective, raise_terminated
from harness.study.opening import finished_count

if TYPE_CHECKING:
    import optuna

    from harness.study.plan import Plan


class RepeatedFailures(HarnessError):
    """The same error ended several trials in a row, so the study stopped instead of burning its budget."""


class FailureWatch:
    """Optuna callback: stops the study when the same error ended ``limit`` trials in a row."""

    def __init__(self, limit: int):
        self.limit = limit
        self.reasons: list[str] = []
        self.stopped_with: str | None = None

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state.name != "FAIL":
            self.reasons.clear()
            return
        self.reasons.append(str(trial.user_attrs.get("fail_reason", "unknown error")))
        last = self.reasons[-self.limit:]
        if len(last) == self.limit and len(set(last)) == 1:
            self.stopped_with = last[0]
            study.stop()


class TargetReached:
    """Optuna callback: stops this process's trials once the study holds ``target`` finished (complete or pruned)
    trials, or once the trials running elsewhere would bring it there.

    Optuna's ``MaxTrialsCallback`` counts finished trials only, so with several workers each one that finishes a
    trial while another's last trial still runs starts one more: the study ends up to ``workers - 1`` trials past
    its target, trained for nothing. Counting the running trials stops such a worker instead; if a trial it counted
    on fails, the worker that ran it finds the target unreached and goes on. (Two workers deciding in the same
    instant can still both start one more.)
    """

    def __init__(self, target: int):
        self.target = target

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        from optuna.trial import TrialState

        states = [t.state for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                                             TrialState.RUNNING))]
        finished = sum(s != TrialState.RUNNING for s in states)
        if finished >= self.target or len(states) >= self.target:
            study.stop()


class TailThreads:
    """``on_epoch`` hook of a local worker: once it runs the study's last trial alone, it takes ``threads`` torch
    threads (every worker's share of the machine) for the trial's remaining epochs.

    Without it a study's tail wastes the cores of the workers that have stopped: with 2 workers of 1 thread each,
    the last trial trains on 1 of the 2 cores. "Alone" means no other trial of the study is running and the running
    and finished trials already make the target (so no worker will start another). Checked after every epoch (one
    storage read). The trial records the change as ``tail_threads`` (``{"from_epoch": e, "threads": n}``);
    its numbers may differ in the last float digits from a run with a fixed thread count (reductions split
    differently), as they do between any two thread counts.
    """

    def __init__(self, target: int, threads: int):
        self.target = target
        self.threads = threads

    def __call__(self, trial: optuna.Trial, epoch: int, metrics: dict[str, float]) -> None:
        import torch
        from optuna.trial import TrialState

        if torch.get_num_threads() >= self.threads:
            return
        states = [t.state for t in trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                                                   TrialState.RUNNING))]
        running = sum(s == TrialState.RUNNING for s in states)
        if running <= 1 and len(states) >= self.target:
            torch.set_num_threads(self.threads)
            trial.set_user_attr("tail_threads", {"from_epoch": epoch + 1, "threads": self.threads})


@contextmanager
def interrupt_signals():
    """Within the block, SIGINT raises ``KeyboardInterrupt`` and SIGTERM raises
    :class:`~harness.study.objective.Terminated`, whatever the process inherited; the previous handlers come back
    afterwards.

    Deliberately so for SIGINT: a shell without job control (a script's ``harness run-study ... &``, ``make test &``)
    starts background commands with SIGINT ignored, and Python then installs no handler, so ``kill -INT`` would be
    ignored and the study would go on unseen. Either signal marks the running trial failed and ends the run (exit
    130 / 143); the same command resumes it. A study that must outlive its terminal's Ctrl+C runs in a session of
    its own (``setsid harness run-study ...``).
    """
    try:
        previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
                    signal.SIGTERM: signal.signal(signal.SIGTERM, raise_terminated)}
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def optimize(study: optuna.Study, plan: Plan, *, progress: Any = None, worker: int = 0, callbacks: Any = (),
             on_epoch: Any = None) -> None:
    """Run trials until the study holds ``n_trials`` finished ones (or ``timeout`` seconds pass).

    ``callbacks``: further Optuna callbacks ``(study, frozen_trial)``, called after each trial; ``on_epoch``: a hook
    ``(trial, epoch, metrics)`` after every epoch (:func:`~harness.study.objective.make_objective`).

    Raises:
        RepeatedFailures: the same error ended ``[run] max_repeated_failures`` trials in a row.
        KeyboardInterrupt: SIGINT (or :class:`~harness.study.objective.Terminated` for SIGTERM); the running trial is
            failed.
    """
    from harness.trackers import Trackers

    spec = plan.spec
    trackers = Trackers.build(spec.run.trackers, spec.name, spec.run.tracking_dir)
    hooks = [h for h in (on_epoch, trackers.epoch if trackers.trackers else None) if h is not None]
    objective = make_objective(plan, progress, worker, _chain(hooks))
    watch = FailureWatch(spec.run.max_repeated_failures)
    everything = [TargetReached(spec.study.n_trials), watch]
    if progress is not None:
        everything.append(progress.trial_finished)
    if trackers.trackers:
        everything.append(trackers)
    everything.extend(callbacks or ())
    try:
        if finished_count(study) < spec.study.n_trials:
            study.optimize(objective, timeout=spec.study.timeout, callbacks=everything, catch=(TrialError,))
    finally:
        trackers.close()
    if watch.stopped_with is not None:
        raise RepeatedFailures(f"study '{spec.name}' stopped: {spec.run.max_repeated_failures} trials in a row failed "
                               f"with the same error: {watch.stopped_with}")


def _chain(hooks: list[Any]):
    """One ``on_epoch`` hook calling each of ``hooks`` in turn (``None`` for none)."""
    if not hooks:
        return None
    if len(hooks) == 1:
        return hooks[0]

    def hook(trial: Any, epoch: int, metrics: dict[str, float]) -> None:
        for h in hooks:
            h(trial, epoch, metrics)

    return hook


def checkpoint_folder(storage: str | None, artifacts: str | Path | None) -> Path:
    """Where trials keep their per-epoch checkpoints: ``checkpoints/`` in the artifact folder (default beside the
    database; :func:`harness.artifacts.default_location`)."""
    from harness.artifacts import default_location
    from harness.storage import storage_url

    return (Path(artifacts) if artifacts is not None else default_location(storage_url(storage))) / "checkpoints"


def requeue_interrupted(study: optuna.Study) -> int:
    """Re-queue every trial that an interruption (SIGINT, SIGTERM) failed part-way, with Optuna's
    ``RetryHeartbeatStaleTrialCallback`` (a trial killed without a word is re-queued by the heartbeat instead).

    Each interrupted trial is re-queued once: a trial already in a retry's ``retry_history`` has its retry. A retry
    that is itself interrupted is re-queued in turn, however often: a study run in stretches (one per working
    session, say) interrupts its long trials every time, and an interruption is not a fault of the trial, so
    ``[run] max_retries`` (the retries of trials whose process died) does not limit it. The retry resumes from the
    checkpoint of the configuration when there is one (:mod:`harness.resume`), and otherwise trains from epoch 1 with the
    same seed: the database may have moved to a machine without the artifact folder, and dropping the trial would leave
    its configuration, chosen by the sampler or enqueued by the spec, untried.

    Returns:
        How many trials were re-queued.
    """
    import warnings

    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    retried = {n for t in study.trials for n in (t.system_attrs.get("retry_history") or ())}
    again = 0
    for trial in study.trials:
        if (trial.state == optuna.trial.TrialState.FAIL and str(trial.user_attrs.get("fail_reason", "")).startswith("interrupted")
                and trial.number not in retried):
            with warnings.catch_warnings():  # "experimental" in Optuna: not the user's concern
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                RetryHeartbeatStaleTrialCallback(max_retry=None)(study, trial)
            retried.add(trial.number)
            again += 1
    return again
