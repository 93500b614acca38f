"""Create or resume a study, run its trials to the target count, then evaluate the best on the test split.

Flow of :func:`run_study`:

1. Everything that can be checked before touching the storage is checked: the spec, the task, the data
   (loaded once per process), the storage URL, and what the data fixes (a fixed warmup longer than the
   training). A bad input leaves the storage as it was.
2. The study is created, or loaded if it exists; a stored spec that differs from the given one (apart
   from run control: ``n_trials``, ``timeout``, ``threads``, ``[run]``) is a :class:`SpecMismatchError`.
3. Trials run until the study holds ``n_trials`` finished (complete or pruned) trials, or ``timeout``
   seconds pass; rerunning the same command resumes. With ``workers > 1`` that many processes share the
   storage (each an Optuna worker with its own sampler seed and a share of the torch threads); they may
   finish up to ``workers - 1`` trials beyond the target.
4. The task's trivial baselines are fitted (their settings chosen on validation) and scored once on test.
   The best trial's configuration (chosen on validation) is retrained with its seed and evaluated once on
   the test split; with ``[study] test = "best-per-family"`` so is the best trial of every model family.
   Metrics, outputs and the task's examples are stored on the study. The test split never drives the search.

Faults: RDB storages record a heartbeat of every running trial; a trial whose process died (SIGKILL,
power loss) is marked failed after the grace period and re-queued by the next trial that starts
(Optuna's ``RetryFailedTrialCallback``). SIGINT and SIGTERM mark the running trial failed with the reason
``interrupted`` and end the process with 130 / 143; the same command resumes. A trial that raises is
marked failed with the error stored (``fail_reason``) and the study goes on, unless the same error ends
``max_repeated_failures`` trials in a row: then the study stops with that error.

Stored on the study (user attributes): ``spec``, ``spec_identity``, ``task``, ``dataset``, ``metric``,
``environment``, ``sampler``, ``pruner``, ``data``, ``search_space``, ``baselines``, ``test_result``,
``family_results`` (with ``[study] test = "best-per-family"``), and the task's examples of the best model
(``attention_example``, ``forecast_example``, ...); as system attributes, the test references and the test
outputs of every evaluation (:mod:`harness.outputs`), from which ``harness rescore`` recomputes the metrics.
Stored on each trial: ``config``, ``seed``, ``threads``, ``worker``, ``param_count``, ``history``
(per-epoch metrics), ``lr_per_step``, ``best_epoch``, ``seconds``, ``pruned_reason`` when pruned and
``fail_reason`` when failed.
"""

from __future__ import annotations

import datetime as dt
import math
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import __version__
from harness.errors import BadInputError, DataError, HarnessError, InvalidConfigError, SpecError, SpecMismatchError
from harness.spec import StudySpec, build_space, dataset_options, parse_spec, resolve_threads
from harness.storage import display_url, open_storage, put_series, storage_url

if TYPE_CHECKING:
    import optuna

    from harness.task import Task

FINISHED_STATES = ("COMPLETE", "PRUNED")
#: Sampler seeds of parallel workers differ by multiples of this prime.
WORKER_SEED_STRIDE = 7_919
_DATA_CACHE: dict[str, Any] = {}


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM; handled like Ctrl+C (the trial is failed, the run stops)."""


class TrialError(Exception):
    """A trial raised; the trial is failed with the error stored and the study goes on."""


class RepeatedFailures(HarnessError):
    """The same error ended several trials in a row, so the study stopped instead of burning its budget."""


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


# -- data -----------------------------------------------------------------------------------------
def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """``data_dir`` if given, else ``$HARNESS_DATA_DIR``, else ``./data``."""
    import os

    return Path(data_dir or os.environ.get("HARNESS_DATA_DIR") or "data")


def load_data(spec: StudySpec, data_dir: Path) -> tuple[Task, Any]:
    """Instantiate the task and prepare its data (cached per process for identical inputs).

    Raises:
        DataError: the data is missing or malformed.
    """
    task_cls = spec.task_class()
    info = task_cls.datasets()[spec.dataset.name]
    options = dataset_options(spec)
    where = data_dir if info.needs_data_dir else None
    if where is not None and not where.is_dir():
        raise DataError(
            f"data directory '{where}' does not exist (dataset {info.name}); pass --data-dir DIR or set "
            f"HARNESS_DATA_DIR, or fetch it with `harness download {info.name} --data-dir DIR`"
        )
    key = repr((spec.study.task, spec.dataset.name, options.model_dump(), str(where), spec.to_budget(), spec.study.seed))
    task = task_cls()
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()
        _DATA_CACHE[key] = task.prepare(spec.dataset.name, options, where, spec.to_budget(), spec.study.seed)
    return task, _DATA_CACHE[key]


def preflight(spec: StudySpec, task: Task, data: Any) -> None:
    """Checks that need the data, done before the storage is touched.

    Raises:
        SpecError: every parameter is fixed while several trials are asked for; or a fixed warmup is not
            shorter than the training (fixed batch size and accumulation).
    """
    from harness.schedules import Horizon, warmup_steps
    from harness.training import steps_per_epoch

    space = build_space(spec)
    if not space.searches_anything() and spec.study.n_trials > 1 and spec.sampler.name != "grid":
        raise SpecError(f"{spec.name}: the search space is empty (every parameter is fixed) but n_trials = "
                        f"{spec.study.n_trials}; list values or give a range in [search], or set n_trials = 1")
    fixed = {name: _fixed(space, name) for name in ("warmup_steps", "batch_size", "grad_accum_steps")}
    if None in fixed.values():
        return
    n = task.train_size(data)
    horizon = Horizon(steps_per_epoch(math.ceil(n / fixed["batch_size"]), fixed["grad_accum_steps"]), spec.budget.max_epochs)
    try:
        warmup_steps({"warmup_steps": fixed["warmup_steps"]}, horizon)
    except InvalidConfigError as exc:
        raise SpecError(f"{spec.name}: [search] warmup_steps: {exc}") from None


def _fixed(space, name: str) -> Any:
    param = space.params.get(name)
    if param is None:
        return None
    domain = space.domain(param)
    if domain is None:
        return param.default
    return (domain.choices[0] if domain.choices is not None else domain.low) if domain.fixed else None


# -- the study ------------------------------------------------------------------------------------
def _build_sampler_and_pruner(spec: StudySpec, space, n_existing: int, worker: int = 0, parallel: bool = False):
    from harness.strategies import build_pruner, build_sampler

    base = spec.sampler.seed if spec.sampler.seed is not None else spec.study.seed
    grid = space.grid() if spec.sampler.name == "grid" else None
    options = dict(spec.sampler.options)
    if parallel and spec.sampler.name == "tpe":
        # TPE in parallel workers: running trials count as if they had the worst value so far (Optuna's
        # constant liar), so concurrent workers do not all sample next to the same good point. Optuna 5 does
        # this by default; said here so that a spec cannot lose it by accident on older versions.
        options.setdefault("constant_liar", True)
    try:
        # A resumed run shifts the seed, so a seeded sampler does not replay the first run's proposals;
        # parallel workers shift it further, so they do not propose the same configurations.
        sampler = build_sampler(spec.sampler.name, base + n_existing + WORKER_SEED_STRIDE * worker, options, grid)
        pruner = build_pruner(spec.pruner.name, spec.budget.max_epochs, spec.pruner.options)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"[sampler]/[pruner] options rejected by Optuna: {exc}") from None
    return sampler, pruner


def _identity_diff(stored: dict[str, Any], given: dict[str, Any], prefix: str = "") -> str | None:
    for key in sorted(set(stored) | set(given)):
        a, b = stored.get(key), given.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            diff = _identity_diff(a, b, f"{prefix}{key}.")
            if diff:
                return diff
        elif a != b:
            return f"{prefix}{key}: stored {a!r}, given {b!r}"
    return None


def _storage(spec: StudySpec, storage: str | None, write: bool = True):
    run = spec.run
    return open_storage(storage, write=write, heartbeat=(run.heartbeat_interval, run.grace_period, run.max_retries))


def open_study(spec: StudySpec, storage: str | None, *, create: bool, worker: int = 0,
               parallel: bool = False) -> tuple[optuna.Study, bool]:
    """Load the study named in ``spec``, or create it (``create``); check the stored spec matches.

    ``parallel``: the study is opened by one of several workers (TPE then uses the constant liar).

    Returns:
        ``(study, created)``.

    Raises:
        SpecMismatchError: the stored spec differs from ``spec``.
        StorageError: the storage cannot be opened.
    """
    import optuna

    shown = display_url(storage_url(storage))
    rdb = _storage(spec, storage)
    names = {s.study_name for s in rdb.get_all_studies()}
    space = build_space(spec)
    if spec.name in names:
        study = optuna.load_study(study_name=spec.name, storage=rdb)
        stored = study.user_attrs.get("spec_identity")
        diff = _identity_diff(stored or {}, spec.identity())
        if stored is None or diff:
            raise SpecMismatchError(
                f"study '{spec.name}' exists in {shown} with a different spec ({diff or 'not a harness study'}); "
                "use another --study-name, or restore the original spec"
            )
        sampler, pruner = _build_sampler_and_pruner(spec, space, len(study.trials), worker, parallel)
        return optuna.load_study(study_name=spec.name, storage=rdb, sampler=sampler, pruner=pruner), False
    if not create:
        raise BadInputError(f"no study '{spec.name}' in {shown}")
    sampler, pruner = _build_sampler_and_pruner(spec, space, 0, worker)
    study = optuna.create_study(study_name=spec.name, storage=rdb, sampler=sampler, pruner=pruner,
                                direction=spec.direction)
    return study, True


def _write_metadata(study: optuna.Study, spec: StudySpec, task: Task, data: Any, threads: int, workers: int = 1) -> None:
    from harness.environment import environment
    from harness.spec import threads_source

    space = build_space(spec)
    attrs = {
        "harness_version": __version__,
        "task": spec.study.task,
        "dataset": spec.dataset.name,
        "metric": spec.metric,
        "direction": spec.direction,
        "sampler": {"name": spec.sampler.name, "seed": spec.sampler.seed if spec.sampler.seed is not None else spec.study.seed,
                    "options": spec.sampler.options},
        "pruner": {"name": spec.pruner.name, "options": spec.pruner.options},
        "budget": spec.budget.model_dump(),
        "environment": environment(threads, spec.to_placement(), threads_from=threads_source(spec, workers)),
        "data": task.describe(data),
        "search_space": space.describe(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "spec": spec.to_dict(),
        "spec_identity": spec.identity(),  # written last: its presence marks a complete harness study
    }
    for key, value in attrs.items():
        study.set_user_attr(key, value)


def _refresh_data_facts(study: optuna.Study, task: Task, data: Any) -> None:
    """On resume, rewrite the ``data`` facts when this version of the task describes the same data differently
    (new facts, a corrected published reference): they are derived from the data, which the spec identity fixes."""
    import json

    facts = json.loads(json.dumps(task.describe(data)))
    if study.user_attrs.get("data") != facts:
        study.set_user_attr("data", facts)


def finished_count(study: optuna.Study) -> int:
    """Trials that are complete or pruned."""
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


# -- one trial ------------------------------------------------------------------------------------
def make_objective(spec: StudySpec, task: Task, data: Any, threads: int, progress=None, worker: int = 0,
                   checkpoints: Path | None = None):
    """The Optuna objective: suggest a configuration, train it, store its curves, return its value.

    A trial that raises is stored with ``fail_reason`` and surfaces as :class:`TrialError` (the study
    goes on); an interruption is stored as ``interrupted`` and propagates. With ``checkpoints`` (a folder) every
    trial saves its state after each epoch, and a retry of a trial that died resumes from it (:mod:`harness.resume`);
    a retry trains with the seed of the trial it retries.
    """
    import optuna

    from harness.training import fit, seeded_model

    space = build_space(spec)
    budget = spec.to_budget()
    place = spec.to_placement()
    where = place.describe()

    def objective(trial: optuna.Trial) -> float:
        start = time.perf_counter()
        try:
            config = space.suggest(trial)
            first = first_number(trial)  # the trial that first ran this configuration (itself unless a retry)
            seed = spec.study.seed + first
            for key, value in {"config": config, "seed": seed, "threads": threads, "worker": worker, "device": where}.items():
                trial.set_user_attr(key, value)
            if progress is not None:
                progress.trial_started(trial.number, config)
            model = seeded_model(task, config, data, seed)
            result = fit(task, model, data, config, budget, metric=spec.metric, direction=spec.direction, seed=seed,
                         placement=place, trial=trial, on_epoch=progress.epoch if progress is not None else None,
                         checkpoint=checkpoints / f"{spec.name}.trial-{first}.pt" if checkpoints else None)
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
            _try_set(trial, "fail_reason", f"{type(exc).__name__}: {exc}".splitlines()[0][:500])
            _try_set(trial, "seconds", time.perf_counter() - start)
            raise TrialError(f"{type(exc).__name__}: {exc}") from exc
        store_result(trial, result, time.perf_counter() - start)
        if result.stopped:
            raise optuna.TrialPruned(result.reason)
        return result.value

    return objective


def first_number(trial: Any) -> int:
    """The number of the trial that first ran ``trial``'s configuration: the one a chain of retries started from
    (Optuna's ``RetryFailedTrialCallback`` records it), else the trial's own."""
    from harness.storage import trial_system_attrs

    retried = trial_system_attrs(trial).get("failed_trial")
    return int(retried) if retried is not None else trial.number


def checkpoint_folder(storage: str | None, artifacts: str | Path | None) -> Path:
    """Where trials keep their per-epoch checkpoints: ``checkpoints/`` in the artifact folder (default beside the
    database; :func:`harness.artifacts.default_location`)."""
    from harness.artifacts import default_location

    return (Path(artifacts) if artifacts is not None else default_location(storage_url(storage))) / "checkpoints"


def requeue_interrupted(study: optuna.Study, spec: StudySpec, checkpoints: Path) -> int:
    """Re-queue every trial that an interruption (SIGINT, SIGTERM) failed part-way and that left a checkpoint, once, with
    Optuna's ``RetryFailedTrialCallback`` (a trial killed without a word is re-queued by the heartbeat instead).

    Returns:
        How many trials were re-queued.
    """
    import optuna
    from optuna.storages import RetryFailedTrialCallback

    retried = {first_number(t) for t in study.trials if t.system_attrs.get("failed_trial") is not None}
    again = 0
    for trial in study.trials:
        first = first_number(trial)
        if (trial.state == optuna.trial.TrialState.FAIL and str(trial.user_attrs.get("fail_reason", "")).startswith("interrupted")
                and first not in retried and (checkpoints / f"{spec.name}.trial-{first}.pt").is_file()):
            RetryFailedTrialCallback(max_retry=spec.run.max_retries)(study, trial)
            retried.add(first)
            again += 1
    return again


def _try_set(trial: Any, key: str, value: Any) -> None:
    try:
        trial.set_user_attr(key, value)
    except Exception:  # noqa: BLE001 - the storage itself may be what failed
        pass


def store_result(trial: Any, result: Any, seconds: float) -> None:
    """Store a :class:`~harness.training.FitResult` on a trial's user attributes."""
    trial.set_user_attr("param_count", result.param_count)
    trial.set_user_attr("best_epoch", result.best_epoch)
    trial.set_user_attr("seconds", seconds)
    put_series(trial, "history", result.history)
    put_series(trial, "lr_per_step", result.lr_per_step)
    if result.stopped:
        trial.set_user_attr("pruned_reason", result.reason)


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


@contextmanager
def sigterm_as_interrupt():
    """Within the block, SIGTERM raises :class:`Terminated` (like Ctrl+C raises KeyboardInterrupt)."""
    def handler(signum, frame):  # noqa: ANN001 - signal's signature
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def optimize(study: optuna.Study, spec: StudySpec, task: Task, data: Any, threads: int, *, progress=None,
             worker: int = 0, checkpoints: Path | None = None) -> None:
    """Run trials until the study holds ``n_trials`` finished ones (or ``timeout`` seconds pass).

    Raises:
        RepeatedFailures: the same error ended ``[run] max_repeated_failures`` trials in a row.
        KeyboardInterrupt: SIGINT (or :class:`Terminated` for SIGTERM); the running trial is failed.
    """
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    objective = make_objective(spec, task, data, threads, progress, worker, checkpoints)
    watch = FailureWatch(spec.run.max_repeated_failures)
    callbacks = [MaxTrialsCallback(spec.study.n_trials, states=(TrialState.COMPLETE, TrialState.PRUNED)), watch]
    if progress is not None:
        callbacks.append(progress.trial_finished)
    if finished_count(study) < spec.study.n_trials:
        study.optimize(objective, timeout=spec.study.timeout, callbacks=callbacks, catch=(TrialError,))
    if watch.stopped_with is not None:
        raise RepeatedFailures(f"study '{spec.name}' stopped: {spec.run.max_repeated_failures} trials in a row failed "
                               f"with the same error: {watch.stopped_with}")


# -- the run --------------------------------------------------------------------------------------
def run_study(
    spec: StudySpec,
    *,
    storage: str | None = None,
    data_dir: str | Path | None = None,
    quiet: bool = False,
    evaluate_test: bool = True,
    workers: int = 1,
    artifacts: str | Path | None = None,
    devices: list[str] | None = None,
) -> RunSummary:
    """Run (or resume) the study described by ``spec``; see the module docstring.

    Args:
        spec: Validated spec (apply command-line overrides with :meth:`StudySpec.with_overrides`).
        storage: Storage URL (default: :func:`~harness.storage.storage_url`).
        data_dir: Where datasets that need files are found (default: :func:`resolve_data_dir`).
        quiet: No progress output.
        evaluate_test: Retrain the best configuration and evaluate it on the test split afterwards
            (the benchmark mode does its own seeded re-runs instead).
        workers: Worker processes on this machine sharing the storage (torch threads divided among them).
        artifacts: Folder of the artifact store the tested models are kept in (default: beside the database,
            :func:`harness.artifacts.default_location`).
        devices: GPU indices for the workers, one per worker in turn (:func:`harness.workers.worker_devices`);
            default with ``workers > 1`` on CUDA: every visible GPU.

    Raises:
        BadInputError: bad spec, data or storage (nothing is written to the storage).
        RepeatedFailures: trials kept failing with the same error.
        KeyboardInterrupt: SIGINT or SIGTERM (:class:`Terminated`).
    """
    import optuna
    import torch

    from harness.console import console
    from harness.progress import StudyProgress

    if workers < 1:
        raise BadInputError(f"--workers must be at least 1, got {workers}")
    started = time.perf_counter()
    spec.to_placement()  # a device that is not there, or a precision it cannot do: refused before anything runs
    if devices:
        from harness.workers import worker_devices

        worker_devices(spec, workers, devices)  # --devices that cannot be honoured: refused before anything runs
    threads = resolve_threads(spec)
    torch.set_num_threads(threads)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the progress display reports trials
    task, data = load_data(spec, resolve_data_dir(data_dir))
    preflight(spec, task, data)
    study, created = open_study(spec, storage, create=True)
    if created:
        _write_metadata(study, spec, task, data, resolve_threads(spec, workers), workers)
    else:
        _refresh_data_facts(study, task, data)
    for params in spec.enqueue:
        study.enqueue_trial(params, skip_if_exists=True)
    checkpoints = checkpoint_folder(storage, artifacts)
    requeue_interrupted(study, spec, checkpoints)
    target = spec.study.n_trials
    before = finished_count(study)
    shown = display_url(storage_url(storage))
    if not quiet:
        verb = "Created" if created else "Resuming"
        console.print(f"{verb} study '{spec.name}' in {shown}: {before} of {target} trials finished; objective "
                      f"{spec.metric} ({spec.direction}); torch threads {threads}"
                      + (f" over {workers} workers" if workers > 1 else ""), markup=False)
    with sigterm_as_interrupt():
        if before < target and workers > 1:
            from harness.workers import run_workers

            run_workers(spec, storage, data_dir, workers, threads, quiet=quiet, devices=devices, checkpoints=checkpoints)
        elif before < target:
            with StudyProgress(target, before, spec.metric, spec.budget.max_epochs) as progress:
                optimize(study, spec, task, data, threads, progress=None if quiet else progress, checkpoints=checkpoints)
        study = optuna.load_study(study_name=spec.name, storage=_storage(spec, storage, write=False))
        test = None
        if evaluate_test:
            from harness.artifacts import open_store

            store = open_store(artifacts, storage_url(storage), create=True)
            test = evaluate_best(study, spec, task, data, threads, quiet=quiet, store=store, checkpoints=checkpoints)
    best_value, best_trial = _best(study)
    return RunSummary(spec.name, shown, finished_count(study), target, finished_count(study) - before, best_value,
                      best_trial, test, time.perf_counter() - started)


def worker_main(spec_data: dict[str, Any], storage: str | None, data_dir: str | None, worker: int, threads: int,
                checkpoints: str | None = None) -> None:
    """One worker process of :func:`run_study` (``workers > 1``): its own data, sampler seed and threads."""
    import optuna
    import torch

    torch.set_num_threads(threads)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    spec = parse_spec(spec_data, source="worker")
    task, data = load_data(spec, resolve_data_dir(data_dir))
    study, _ = open_study(spec, storage, create=False, worker=worker, parallel=True)
    with sigterm_as_interrupt():
        optimize(study, spec, task, data, threads, worker=worker, checkpoints=Path(checkpoints) if checkpoints else None)


def _best(study: optuna.Study) -> tuple[float | None, int | None]:
    try:
        return study.best_value, study.best_trial.number
    except ValueError:
        return None, None


def evaluate_best(study: optuna.Study, spec: StudySpec, task: Task, data: Any, threads: int, *, quiet: bool = False,
                  store: Any = None, checkpoints: Path | None = None):
    """After the search: the trivial baselines, then the validation-best configuration (and, with ``[study] test
    = "best-per-family"``, the validation-best of every other model family), each retrained with its trial's seed
    and evaluated once on the test split. Outputs and metrics are stored on the study.

    Each step is skipped when the storage already holds its result for the current best trial, so rerunning
    the command costs nothing. Stored: ``baselines`` (see :func:`harness.baselines.record`), ``test_result``,
    ``family_results`` (family -> the same record), the test references (output ``references.test``) and every
    evaluation's test outputs (``baseline.<name>``, ``trial.<number>.test``; :mod:`harness.outputs`). Each retrained
    model is kept in ``store`` (an Optuna artifact store; :mod:`harness.artifacts`) as ``best`` or ``family.<name>``.

    Returns:
        The best trial's test metrics, or ``None`` when no trial is complete.
    """
    from harness.baselines import baseline_names
    from harness.storage import output_keys, put_output, study_system_attrs

    _, best_number = _best(study)
    if best_number is None:
        return None
    stored_outputs = set(output_keys(study_system_attrs(study)))
    if "references.test" not in stored_outputs:
        put_output(study, "references.test", task.references(data, "test"))
    stored = study.user_attrs.get("baselines")
    if stored is None or (not stored.get("rows") and baseline_names(task.name)):  # none yet, or newly registered
        store_baselines(study, task, data, spec, quiet=quiet)
    best = study.best_trial
    result = study.user_attrs.get("test_result")
    if not (result and result.get("trial") == best_number and result.get("outputs") in stored_outputs):
        result, model = evaluate_trial(study, best, spec, task, data, threads, quiet=quiet, what="best trial",
                                       checkpoints=checkpoints)
        study.set_user_attr("test_result", result)
        _keep(study, "best", store, best, task, data, model)
        with spec.to_placement().autocast():
            examples = task.examples(model, data)
        for key, example in examples.items():
            study.set_user_attr(key, {"trial": best_number, **example})
    else:
        _keep_missing(study, "best", store, best, spec, task, data, quiet=quiet)
    if spec.study.test == "best-per-family":
        evaluate_families(study, spec, task, data, threads, result, quiet=quiet, store=store, checkpoints=checkpoints)
    attention_fallback(study, spec, task, data, quiet=quiet)
    return result["metrics"]


def store_baselines(owner: Any, task: Task, data: Any, spec: StudySpec, *, quiet: bool = False, prefix: str = "",
                    attr: str = "baselines") -> dict[str, Any]:
    """Run the task's baselines (:func:`harness.baselines.run_baselines`) and store their record (attribute
    ``attr``) and test outputs (``<prefix>baseline.<name>``) on ``owner`` (a study)."""
    from harness.baselines import record, run_baselines
    from harness.console import console
    from harness.storage import put_output

    results = run_baselines(task, data, metric=spec.metric, direction=spec.direction, seed=spec.study.seed)
    for r in results:
        if r.outputs is not None:
            put_output(owner, f"{prefix}baseline.{r.name}", r.outputs)
    summary = record(results, spec.metric, spec.direction, f"{prefix}baseline.{{name}}")
    owner.set_user_attr(attr, summary)
    if not quiet and results:
        shown = "; ".join(f"{r.name} {r.test.get(spec.metric, math.nan):.4g}" if r.error is None else f"{r.name}: {r.error}"
                          for r in results)
        console.print(f"Baselines (test {spec.metric}; strongest on validation: {summary['strongest']}): {shown}",
                      markup=False)
    return summary


def evaluate_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial, spec: StudySpec, task: Task, data: Any, threads: int,
                   *, quiet: bool = False, what: str = "trial", checkpoints: Path | None = None):
    """Retrain ``trial``'s configuration with its seed, evaluate the checkpoint of its best validation epoch once
    on test, store the outputs (``trial.<number>.test``) on the study.

    Returns:
        ``(record, model)``: the JSON-able record (trial, family, metrics, epochs, validation values, seconds,
        threads, outputs key) and the retrained model.
    """
    from harness.console import console
    from harness.storage import put_output

    config = trial.user_attrs["config"]
    if not quiet:
        console.print(f"Evaluating {what} {trial.number} ({config.get('model', '?')}) on the test split (retraining its "
                      f"configuration, seed {trial.user_attrs['seed']})", markup=False)
    start = time.perf_counter()
    model, result = retrain(task, data, config, spec, seed=trial.user_attrs["seed"],
                            checkpoint=checkpoints / f"{spec.name}.test-{trial.number}.pt" if checkpoints else None)
    metrics, outputs = evaluate_on(model, task, data, "test", spec.to_placement())
    key = f"trial.{trial.number}.test"
    put_output(study, key, outputs)
    record = {
        "trial": trial.number,
        "family": config.get("model"),
        "metrics": {k: _json_float(v) for k, v in metrics.items()},
        "best_epoch": result.best_epoch,
        "valid_value_search": trial.value,
        "valid_value_retrained": _json_float(result.value),
        "seconds": time.perf_counter() - start,
        "threads": threads,
        "device": spec.to_placement().describe(),
        "outputs": key,
    }
    if not quiet:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
        console.print(f"Test split, {what} {trial.number}: {shown}", markup=False)
    return record, model


def evaluate_families(study: optuna.Study, spec: StudySpec, task: Task, data: Any, threads: int, best_result: dict[str, Any],
                      *, quiet: bool = False, store: Any = None, checkpoints: Path | None = None) -> None:
    """Test the validation-best complete trial of every model family (``config["model"]``); the overall best's
    record is reused for its family. Stored as ``family_results`` (family -> record)."""
    import optuna

    from harness.storage import output_keys, study_system_attrs

    stored = dict(study.user_attrs.get("family_results") or {})
    outputs = set(output_keys(study_system_attrs(study)))
    sign = -1.0 if spec.direction == "maximize" else 1.0
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE and "config" in t.user_attrs
                and t.value is not None and math.isfinite(t.value)]
    families = sorted({t.user_attrs["config"].get("model") for t in complete}, key=str)
    for family in families:
        members = [t for t in complete if t.user_attrs["config"].get("model") == family]
        best = min(members, key=lambda t: (sign * t.value, t.number))
        if best.number == best_result["trial"]:
            stored[str(family)] = best_result
        elif not (stored.get(str(family), {}).get("trial") == best.number and stored[str(family)].get("outputs") in outputs):
            stored[str(family)], model = evaluate_trial(study, best, spec, task, data, threads, quiet=quiet,
                                                        what=f"best {family} trial", checkpoints=checkpoints)
            _keep(study, f"family.{family}", store, best, task, data, model)
        else:
            _keep_missing(study, f"family.{family}", store, best, spec, task, data, quiet=quiet)
        study.set_user_attr("family_results", stored)


def attention_fallback(study: optuna.Study, spec: StudySpec, task: Task, data: Any, *, quiet: bool = False) -> None:
    """When the best trial's model has no attention (DLinear, an RNN without attention), retrain the best
    complete trial whose model has attention and store its attention example, so the report still shows
    what attention learned. Whether a model has attention is read from an untrained instance's examples
    (one forward pass), not from a list of names. Skipped when an attention example is already stored.
    """
    import optuna

    from harness.console import console

    best_number = study.user_attrs.get("test_result", {}).get("trial")
    current = study.user_attrs.get("attention_example")
    if current and (current.get("trial") == best_number or current.get("fallback")):
        return
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE and t.number != best_number
                and "config" in t.user_attrs and t.value is not None and math.isfinite(t.value)]
    for trial in sorted(complete, key=lambda t: t.value, reverse=spec.direction == "maximize"):
        if "attention_example" not in task.examples(task.build_model(trial.user_attrs["config"], data), data):
            continue
        if not quiet:
            console.print(f"The best trial's model has no attention; retraining trial {trial.number}, the best complete "
                          "trial with attention, for the report's attention example", markup=False)
        model, _ = retrain(task, data, trial.user_attrs["config"], spec, seed=trial.user_attrs["seed"])
        with spec.to_placement().autocast():
            example = task.examples(model, data)["attention_example"]
        why = (f"the best trial's model has no attention, so this is trial {trial.number}, the best complete trial "
               "with attention, retrained with its seed")
        example["description"] = f"{example.get('description') or 'attention weights'} ({why})"
        study.set_user_attr("attention_example", {"trial": trial.number, "fallback": True, **example})
        return


def _keep(study: optuna.Study, key: str, store: Any, trial: Any, task: Task, data: Any, model: Any) -> None:
    """Keep a tested model as an artifact (:func:`harness.artifacts.keep`) when a store is given."""
    if store is None:
        return
    from harness.artifacts import keep

    keep(study, key, store=store, trial_number=trial.number, task=task, data=data, model=model,
         config=trial.user_attrs["config"], value=trial.value)


def _keep_missing(study: optuna.Study, key: str, store: Any, trial: Any, spec: StudySpec, task: Task, data: Any,
                  *, quiet: bool) -> None:
    """A study tested before it kept models (or stopped in between): retrain ``trial`` with its seed, without another
    test evaluation, and keep the model as ``key``."""
    from harness.artifacts import KEPT

    current = study.user_attrs.get(KEPT + key)
    if store is None or not task.keeps_models() or (current and current.get("trial") == trial.number):
        return
    if not quiet:
        from harness.console import console

        console.print(f"Keeping the model of trial {trial.number} ({key}): retraining it with its seed", markup=False)
    model, _ = retrain(task, data, trial.user_attrs["config"], spec, seed=trial.user_attrs["seed"])
    _keep(study, key, store, trial, task, data, model)


def retrain(task: Task, data: Any, config: dict[str, Any], spec: StudySpec, *, seed: int, checkpoint: Path | None = None):
    """Train ``config`` again with ``seed`` on the spec's placement and return ``(model, result)``: the model holds
    the weights of its best validation epoch (a :class:`~harness.training.FitResult` without them has none).
    ``checkpoint``: resume from, and save after every epoch to, this file (:mod:`harness.resume`)."""
    from harness.training import fit, seeded_model

    model = seeded_model(task, config, data, seed)
    result = fit(task, model, data, config, spec.to_budget(), metric=spec.metric, direction=spec.direction, seed=seed,
                 placement=spec.to_placement(), keep_best_state=True, checkpoint=checkpoint)
    if result.best_state is not None:
        model.load_state_dict(result.best_state)
    return model, result


def evaluate_on(model: Any, task: Task, data: Any, split: str, place: Any) -> tuple[dict[str, float], Any]:
    """``task.evaluate_outputs`` on ``split`` under the placement's autocast: ``(metrics, outputs)``."""
    with place.autocast():
        return task.evaluate_outputs(model, data, split)


def _json_float(value: float) -> float | None:
    return value if math.isfinite(value) else None
