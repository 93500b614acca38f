"""``harness run-study``: create or resume a study, run its trials to the target count, then test the best."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import BadInputError
from harness.spec import StudySpec, default_workers, parse_spec, resolve_threads
from harness.storage import absolute_url, check_url, display_url, storage_url
from harness.study.evaluate import best_of, evaluate_best
from harness.study.inputs import load_data, preflight, resolve_data_dir
from harness.study.metadata import dashboard_note, name_the_metric, refresh_data_facts, write_metadata
from harness.study.opening import finished_count, open_study, stored_space, study_storage
from harness.study.optimize import TailThreads, checkpoint_folder, interrupt_signals, optimize, requeue_interrupted
from harness.study.plan import Plan

if TYPE_CHECKING:
    import optuna


@dataclass
class RunSummary:
    """What :func:`run_study` did."""

    study_name: str
    storage: str
    finished: int
    target: int
    ran: int
    best_value: float | None
    best_trial: int | None
    test_metrics: dict[str, float] | None
    seconds: float


def run_study(
    spec: StudySpec,
    *,
    storage: str | None = None,
    data_dir: str | Path | None = None,
    quiet: bool = False,
    evaluate_test: bool = True,
    workers: int | None = None,
    artifacts: str | Path | None = None,
    devices: list[str] | None = None,
    callbacks: list[Any] | None = None,
    on_epoch: Any = None,
) -> RunSummary:
    """Run (or resume) the study described by ``spec``; see :mod:`harness.study`.

    Args:
        spec: Validated spec (apply command-line overrides with :meth:`StudySpec.with_overrides`).
        storage: Storage URL (default: :func:`~harness.storage.storage_url`).
        data_dir: Where datasets that need files are found (default: :func:`~harness.study.inputs.resolve_data_dir`).
        quiet: No progress output.
        evaluate_test: Evaluate the best configuration on the test split afterwards, from the best-epoch weights
            its trial kept (:mod:`harness.study.weights`; else retrained with its seed); the benchmark mode does its
            own seeded re-runs instead, and its inner trials keep no weights.
        workers: Worker processes on this machine sharing the storage (torch threads divided among them); ``None``:
            :func:`~harness.spec.default_workers` (one per core, one thread each, on the CPU), or 1 with ``callbacks``
            or ``on_epoch``.
        artifacts: Folder of the artifact store the tested models are kept in (default: beside the database,
            :func:`harness.artifacts.default_location`).
        devices: GPU indices for the workers, one per worker in turn (:func:`harness.launchers.local.worker_devices`);
            default with ``workers > 1`` on CUDA: every visible GPU.
        callbacks: Optuna callbacks ``(study, frozen_trial)`` called after each trial of this process.
        on_epoch: A hook ``(trial, epoch, metrics)`` called after every epoch of every trial of this process.

    Raises:
        BadInputError: bad spec, data or storage (nothing is written to the storage).
        RepeatedFailures: trials kept failing with the same error.
        KeyboardInterrupt: SIGINT or SIGTERM (:class:`~harness.study.objective.Terminated`).
    """
    import optuna
    import torch

    from harness import launchers
    from harness.console import console
    from harness.progress import StudyProgress

    if workers is None:
        workers = 1 if callbacks or on_epoch is not None else default_workers(spec)
    if workers > 1 and (callbacks or on_epoch is not None):
        raise BadInputError(f"callbacks and on_epoch run in this process, but workers = {workers} trains in worker "
                            "processes; use workers = 1, or attach them in each worker (harness.objective)")
    started = time.perf_counter()
    url = storage_url(storage)
    check_url(url, write=True)  # a malformed storage URL: refused before anything runs
    spec.to_placement()  # a device that is not there, or a precision it cannot do: refused before anything runs
    threads = resolve_threads(spec)
    launcher = launchers.build(spec.launcher, workers, threads)  # a missing package: refused before anything runs
    launchers.check_storage(launcher, url)
    launchers.place_on_devices(launcher, spec, devices)  # --devices that cannot be honoured: refused first
    from harness.trackers import Trackers

    Trackers.check(spec.run.trackers)  # a tracker whose package is missing: refused before anything runs
    torch.set_num_threads(threads)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the progress display reports trials
    task, data = load_data(spec, resolve_data_dir(data_dir))
    plan = Plan.resolve(spec, task, data, threads, checkpoints=checkpoint_folder(storage, artifacts),
                        trial_weights=evaluate_test)
    preflight(plan)
    study, created = open_study(spec, plan.space, storage, create=True)
    if created:
        write_metadata(study, plan, workers)
    else:
        refresh_data_facts(study, task, data)
        name_the_metric(study, spec.metric)
        plan = _resume_space(study, plan, quiet)
    for params in spec.enqueue:
        study.enqueue_trial(params, skip_if_exists=True)
    requeue_interrupted(study)
    target = spec.study.n_trials
    before = finished_count(study)
    shown = display_url(url)
    in_process = launcher.name == "local" and workers == 1
    if not quiet:
        verb = "Created" if created else "Resuming"
        where = "" if in_process else f" over {workers} workers" + ("" if launcher.name == "local" else f" ({launcher.name})")
        console.print(f"{verb} study '{spec.name}' in {shown}: {before} of {target} trials finished; objective "
                      f"{spec.metric} ({spec.direction}); torch threads {launcher.worker_threads()}{where}", markup=False)
    job = launchers.WorkerJob(spec.to_dict(), absolute_url(url), str(resolve_data_dir(data_dir).resolve()), 0, threads,
                              str(plan.checkpoints.resolve()) if plan.checkpoints else None, plan.trial_weights)
    with interrupt_signals():
        if before < target and not in_process:
            launcher.run(launcher.jobs(job), _trial_printer(spec, storage, quiet))  # worker k in slot k: its GPU
        elif before < target:
            with StudyProgress(target, before, spec.metric, spec.budget.max_epochs) as progress:
                optimize(study, plan, progress=None if quiet else progress, callbacks=callbacks, on_epoch=on_epoch)
        study = optuna.load_study(study_name=spec.name, storage=study_storage(spec, storage, write=False))
        test = None
        if evaluate_test and launcher.name != "local":  # on the engine's machines (the GPU), as one more job
            from harness.artifacts import default_location

            folder = Path(artifacts) if artifacts is not None else default_location(url)
            launcher.run([replace(job, evaluate=True, artifacts=str(folder.resolve()), threads=launcher.worker_threads())],
                         lambda: None)
            study = optuna.load_study(study_name=spec.name, storage=study_storage(spec, storage, write=False))
            result = study.user_attrs.get("test_result")
            test = result.get("metrics") if result else None
        elif evaluate_test:
            from harness.artifacts import open_store

            plan = replace(plan, store=open_store(artifacts, url, create=True))
            test = evaluate_best(study, plan, quiet=quiet)
            dashboard_note(study, plan, test)
    best_value, best_trial = best_of(study)
    return RunSummary(spec.name, shown, finished_count(study), target, finished_count(study) - before, best_value,
                      best_trial, test, time.perf_counter() - started)


def _trial_printer(spec: StudySpec, storage: str | None, quiet: bool):
    """A ``poll`` for a launcher: prints every trial that finished since the last call, read from the storage."""
    import optuna

    from harness.progress import StudyProgress
    from harness.study.opening import finished_count

    if quiet:
        return lambda: None
    study = optuna.load_study(study_name=spec.name, storage=study_storage(spec, storage, write=False))
    seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    progress = StudyProgress(spec.study.n_trials, finished_count(study), spec.metric, spec.budget.max_epochs)
    progress.live = False

    def poll() -> None:
        for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
            if trial.state.is_finished() and trial.number not in seen:
                seen.add(trial.number)
                progress.trial_finished(study, trial)

    return poll


def _resume_space(study: optuna.Study, plan: Plan, quiet: bool) -> Plan:
    """The plan with the search space the study was created with (:func:`~harness.study.opening.stored_space`); says
    which parameters the installed registries would now search differently."""
    space = stored_space(plan.spec, study)
    changed = space.differences(plan.space)
    if changed and not quiet:
        from harness.console import console

        console.print("Resuming with the search space stored when the study was created (stored / what the installed "
                      "components would give now): " + "; ".join(changed), markup=False)
    return replace(plan, space=space)


def evaluation_main(spec_data: dict[str, Any], storage: str, data_dir: str | None, threads: int,
                    artifacts: str | None) -> None:
    """The test evaluation of a study whose workers a launcher ran (:class:`harness.launchers.WorkerJob` with
    ``evaluate``): :func:`run_study` in this process, which finds the target reached and evaluates."""
    spec = parse_spec({**spec_data, "launcher": {}}, source="worker")
    spec = parse_spec({**spec.to_dict(), "budget": {**spec.to_dict()["budget"], "threads": threads}}, source="worker")
    run_study(spec, storage=storage, data_dir=data_dir, quiet=True, artifacts=artifacts)


def worker_main(spec_data: dict[str, Any], storage: str | None, data_dir: str | None, worker: int, threads: int,
                checkpoints: str | None = None, trial_weights: bool = False, tail_threads: int | None = None) -> None:
    """One worker of :func:`run_study` started by a launcher (``workers > 1``, or a launcher other than ``local``):
    its own data, sampler seed and threads; ``tail_threads``: the threads it takes once it runs the study's last trial
    alone (:class:`~harness.study.optimize.TailThreads`)."""
    import optuna
    import torch

    torch.set_num_threads(threads)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    spec = parse_spec(spec_data, source="worker")
    task, data = load_data(spec, resolve_data_dir(data_dir))
    plan = Plan.resolve(spec, task, data, threads, checkpoints=Path(checkpoints) if checkpoints else None,
                        trial_weights=trial_weights)
    study, _ = open_study(spec, plan.space, storage, create=False, worker=worker, parallel=True)
    plan = replace(plan, space=stored_space(spec, study))
    tail = TailThreads(spec.study.n_trials, tail_threads) if tail_threads and tail_threads > threads else None
    with interrupt_signals():
        optimize(study, plan, worker=worker, on_epoch=tail)
