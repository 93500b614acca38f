"""One trial: suggest a configuration, train it, store its curves on the trial, return its validation value."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from harness.errors import BadInputError, DiskFullError, InvalidConfigError, disk_full
from harness.storage import put_series
from harness.study import weights

if TYPE_CHECKING:
    import optuna

    from harness.study.plan import Plan


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM; handled like Ctrl+C (the trial is failed, the run stops)."""


def raise_terminated(signum, frame) -> None:  # noqa: ANN001 - signal's signature
    """A SIGTERM handler: raises :class:`Terminated`."""
    raise Terminated()


class TrialError(Exception):
    """A trial raised; the trial is failed with the error stored and the study goes on."""


def make_objective(plan: Plan, progress: Any = None, worker: int = 0, on_epoch: Any = None):
    """The Optuna objective: suggest a configuration, train it, store its curves, return its value.

    A trial that raises is stored with ``fail_reason`` and surfaces as :class:`TrialError` (the study
    goes on); an interruption is stored as ``interrupted`` and propagates, and so is a full disk
    (:class:`~harness.errors.DiskFullError`: the run stops, the trial resumes from its checkpoint on the next run).
    With ``plan.checkpoints`` every trial saves its state after each epoch, and a retry of a trial that died resumes
    from it (:mod:`harness.resume`);
    a retry trains with the seed of the trial it retries. With ``plan.trial_weights`` the best complete trial of each
    model family keeps its best-epoch weights for the test evaluation (:mod:`harness.study.weights`).

    Stored on each trial: ``config``, ``seed``, ``threads``, ``worker``, ``device``, ``git_commit`` (the code it ran,
    :func:`harness.environment.git_commit`: a study resumed later may run on other code), ``param_count``, ``history``
    (per-epoch metrics), ``lr_per_step``, ``best_epoch``, ``seconds``, ``pruned_reason`` when pruned and
    ``fail_reason`` when failed.

    ``on_epoch``: a hook called after every epoch of every trial with ``(trial, epoch, metrics)`` (the Optuna trial,
    the epoch from 1, the epoch's validation metrics and training loss as a dict); what it raises fails the trial.
    """
    import optuna

    from harness.environment import git_commit
    from harness.training import fit, seeded_model

    spec, task, data = plan.spec, plan.task, plan.data
    where = plan.placement.describe()
    commit = git_commit()

    def objective(trial: optuna.Trial) -> float:
        start = time.perf_counter()
        try:
            config = plan.space.suggest(trial)
            first = first_number(trial)  # the trial that first ran this configuration (itself unless a retry)
            seed = spec.study.seed + first
            for key, value in {"config": config, "seed": seed, "threads": plan.threads, "worker": worker,
                               "device": where, "git_commit": commit}.items():
                trial.set_user_attr(key, value)
            if progress is not None:
                progress.trial_started(trial.number, config)
            model = seeded_model(task, config, data, seed)
            result = fit(task, model, data, config, plan.budget, metric=spec.metric, direction=spec.direction, seed=seed,
                         placement=plan.placement, trial=trial, on_epoch=_epoch_hooks(progress, on_epoch, trial),
                         keep_best_state=plan.trial_weights, checkpoint=plan.checkpoint(f"trial-{first}"))
        except InvalidConfigError as exc:
            trial.set_user_attr("pruned_reason", f"invalid configuration: {exc}")
            trial.set_user_attr("seconds", time.perf_counter() - start)
            raise optuna.TrialPruned(str(exc)) from None
        except KeyboardInterrupt as exc:
            reason = "interrupted (SIGTERM)" if isinstance(exc, Terminated) else "interrupted (SIGINT)"
            _try_set(trial, "fail_reason", reason)
            raise
        except (BadInputError, optuna.TrialPruned):
            raise
        except Exception as exc:  # noqa: BLE001 - stored on the trial; the study goes on
            full = disk_full(exc)
            if full is not None:  # not the trial's fault: it resumes from its checkpoint once there is room
                _try_set(trial, "fail_reason", f"interrupted (disk full: {full})"[:500])
                raise DiskFullError(full) from exc
            _try_set(trial, "fail_reason", f"{type(exc).__name__}: {exc}".splitlines()[0][:500])
            _try_set(trial, "seconds", time.perf_counter() - start)
            raise TrialError(f"{type(exc).__name__}: {exc}") from exc
        store_result(trial, result, time.perf_counter() - start)
        if result.stopped:
            raise optuna.TrialPruned(result.reason)
        weights.save_if_best(plan, trial, config, seed, result)
        return result.value

    return objective


def _epoch_hooks(progress: Any, on_epoch: Any, trial: Any):
    """The ``(epoch, metrics)`` callback of :func:`~harness.training.fit`: the progress display, then the user's hook."""
    if progress is None and on_epoch is None:
        return None

    def hook(epoch: int, metrics: dict[str, float]) -> None:
        if progress is not None:
            progress.epoch(epoch, metrics)
        if on_epoch is not None:
            on_epoch(trial, epoch, dict(metrics))

    return hook


def first_number(trial: Any) -> int:
    """The number of the trial that first ran ``trial``'s configuration: the one a chain of retries started from
    (Optuna's ``RetryHeartbeatStaleTrialCallback`` records it), else the trial's own."""
    from harness.storage import trial_system_attrs

    retried = trial_system_attrs(trial).get("failed_trial")
    return int(retried) if retried is not None else trial.number


def store_result(trial: Any, result: Any, seconds: float) -> None:
    """Store a :class:`~harness.training.FitResult` on a trial's user attributes."""
    trial.set_user_attr("param_count", result.param_count)
    trial.set_user_attr("best_epoch", result.best_epoch)
    trial.set_user_attr("seconds", seconds)
    put_series(trial, "history", result.history)
    put_series(trial, "lr_per_step", result.lr_per_step)
    if result.stopped:
        trial.set_user_attr("pruned_reason", result.reason)


def _try_set(trial: Any, key: str, value: Any) -> None:
    try:
        trial.set_user_attr(key, value)
    except Exception:  # noqa: BLE001 - the storage itself may be what failed
        pass
