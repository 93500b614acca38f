"""Benchmark mode: equal-budget arms, each arm's best configuration re-run on several seeds.

One Optuna study that searches attention type and schedule as categorical parameters finds the best
configuration, but it cannot say whether one attention type beats another: the sampler gives arms
unequal budgets, and one lucky seed decides. Benchmarks people trust (DeepOBS, Schneider et al. 2019;
AlgoPerf, Dahl et al. 2023) tune every arm with the same budget and re-run each arm's best setting over
several seeds. This module does that:

1. The arms are the cartesian product of the values ``[search]`` lists for each of ``[benchmark] factors``.
2. Every arm gets its own inner study, ``<benchmark>.<problem>.<arm>`` (``.r<k>`` for further inner
   seeds), searching the remaining parameters with the same sampler, pruner, fidelity and number of
   trials (``inner_trials``).
3. The best configuration of each arm (on the validation split) is retrained with ``seeds`` seeds,
   ``study seed + 1000 + k``, the same for every arm (a paired design: the same data order, and the same
   initial weights wherever the arms' architectures agree). Each re-run keeps the checkpoint of its best
   validation epoch and evaluates it once on the test split; it is a trial of the parent study
   ``<benchmark>``: its value is the validation objective, and its user attributes hold the arm, seed,
   curves, validation and test metrics; its test outputs are stored with it (:mod:`harness.outputs`).
   A re-run that fails is kept as a failed trial with its reason.
4. Once per problem, the task's trivial baselines are run on the same data (``baselines.<problem>``), and
   the problem's test references are stored, so ``harness rescore`` recomputes every test metric.

Everything lives in the storage, and each step skips what is already there, so an interrupted benchmark
resumes where it stopped. With ``workers > 1`` (or a launcher other than ``local``) the work is split into
:class:`BenchmarkJob` s of the launcher, ``workers`` at a time, after this process has stored every problem's baselines
and inner-study names: each arm's inner search is one job, and once it is done each of the arm's seeded re-runs is a job
of its own, so the re-runs of one arm run side by side (4 arms x 5 seeds keep up to 20 workers busy). Jobs
share nothing but the storage, and every re-run has its fixed seed, so the results are those of one process.

The parent records the names of every arm's inner studies (``inner.<problem>``);
the report (``harness report <benchmark>``) reads them from there: the best arm is chosen on validation and
the others are compared with it on test, paired by seed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import SpecError, SpecMismatchError, hint_suffix
from harness.spec import StudySpec, parse_spec, problems, resolve_threads, threads_source
from harness.storage import check_url, display_url, open_storage, put_series, storage_url

if TYPE_CHECKING:
    import optuna

    from harness.study import Plan

#: Seed of re-run ``k`` of every arm: the same seeds for every arm.
SEED_OFFSET = 1_000


@dataclass(frozen=True)
class Arm:
    """One combination of factor values."""

    values: dict[str, Any]

    @property
    def label(self) -> str:
        """``attention=dot, schedule=cosine``."""
        return ", ".join(f"{k}={v}" for k, v in self.values.items())

    @property
    def slug(self) -> str:
        """A safe study-name part: the values joined by ``-`` (``dot-cosine``)."""
        return "-".join(str(v).replace(".", "p") for v in self.values.values())


@dataclass
class BenchmarkSummary:
    """What :func:`run_benchmark` did."""

    name: str
    storage: str
    arms: int
    problems: int
    inner_trials: int
    seed_runs: int
    seed_runs_this_run: int
    seconds: float


def arms(spec: StudySpec) -> list[Arm]:
    """The cartesian product of the listed values of the benchmark's factors, in the order listed."""
    factors = spec.benchmark.factors
    lists = [spec.search[f] if isinstance(spec.search[f], list) else [spec.search[f]] for f in factors]
    return [Arm(dict(zip(factors, combo))) for combo in itertools.product(*lists)]


def arm_spec(spec: StudySpec, problem: StudySpec, name: str, arm: Arm, repeat: int) -> StudySpec:
    """The inner study of ``arm`` on the problem ``name`` (whose spec is ``problem``): the factors fixed,
    ``inner_trials`` trials, no enqueued trials (they may contradict the arm), the sampler seed shifted for
    further inner repeats (the data, its fidelity subset and the trial seeds stay those of every arm)."""
    data = problem.to_dict()
    data["benchmark"] = None
    data["launcher"] = {}  # an inner study runs where its arm's job runs
    data["enqueue"] = []
    data["search"] = {**data["search"], **arm.values}
    data["study"]["name"] = f"{spec.name}.{name}.{arm.slug}" + (f".r{repeat}" if repeat else "")
    data["study"]["n_trials"] = spec.benchmark.inner_trials
    data["study"]["timeout"] = None
    base = problem.sampler.seed if problem.sampler.seed is not None else problem.study.seed
    data["sampler"]["seed"] = base + 100_003 * repeat
    return parse_spec(data, source=f"benchmark arm {arm.label}")


def _parent(spec: StudySpec, storage: str | None) -> optuna.Study:
    """Create or load the parent study; refuse a stored benchmark spec that differs."""
    import optuna

    rdb = open_storage(storage, write=True)
    names = {s.study_name for s in rdb.get_all_studies()}
    identity = spec.identity()
    if spec.name in names:
        study = optuna.load_study(study_name=spec.name, storage=rdb)
        stored = _stored_identity(study)
        if stored is None:  # its creator died before writing the attributes: adopt the study
            return _describe(study, spec)
        if stored != identity:
            raise SpecMismatchError(f"study '{spec.name}' exists in {display_url(storage_url(storage))} with a different spec; "
                                    "use another --study-name, or restore the original spec")
        return study
    # load_if_exists: another process running other problems of this benchmark may create it first;
    # both then write the same attributes
    study = optuna.create_study(study_name=spec.name, storage=rdb, direction=spec.direction, load_if_exists=True)
    return _describe(study, spec)


def _stored_identity(study: optuna.Study, wait: float = 30.0) -> str | None:
    """The parent's stored spec identity; a process that has just created the study (running other problems
    of the benchmark) writes it a moment later, so wait up to ``wait`` seconds for it."""
    deadline = time.monotonic() + wait
    while (stored := study.user_attrs.get("spec_identity")) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    return stored


def _describe(study: optuna.Study, spec: StudySpec) -> optuna.Study:
    """Write the parent's attributes (two processes that create it together write the same values)."""
    from harness.environment import environment

    attrs = {
        "benchmark": True, "task": spec.study.task, "dataset": spec.dataset.name, "metric": spec.metric,
        "direction": spec.direction, "factors": spec.benchmark.factors,
        "arms": [a.values for a in arms(spec)], "problems": [name for name, _ in problems(spec)],
        "environment": environment(resolve_threads(spec), spec.to_placement(), threads_from=threads_source(spec)),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "spec": spec.to_dict(), "spec_identity": spec.identity(),
    }
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    return study


def run_benchmark(
    spec: StudySpec, *, storage: str | None = None, data_dir: str | Path | None = None, quiet: bool = False,
    only: list[str] | None = None, artifacts: str | Path | None = None, workers: int = 1,
    devices: list[str] | None = None,
) -> BenchmarkSummary:
    """Run (or resume) a benchmark; see the module docstring.

    Args:
        only: run just these problems (names as ``problems`` lists them; the spec's own dataset is the
            first). Problems of one benchmark share nothing but the parent study, so separate processes
            (or machines on one storage) may each run some of them; the report reads them all.
        artifacts: Folder of the artifact store that keeps each arm's best seed (default: beside the database;
            :mod:`harness.artifacts`).
        workers: How many jobs run at a time (an arm's inner search, or one seeded re-run; :class:`BenchmarkJob`), on
            the spec's launcher (``[launcher]``, local processes by default); 1 with the local launcher runs everything
            in this process.
        devices: GPU indices of the local launcher's worker slots, one per slot in turn (``["0", "1"]``): a job sees only
            the GPU of the slot it runs in (:func:`harness.launchers.place_on_devices`); default on CUDA with
            ``workers > 1``: every visible GPU.

    Raises:
        SpecError: the spec has no ``[benchmark]`` table, or ``only`` names a problem the spec does not have.
        BadInputError: bad spec, data or storage.
    """
    import torch

    from harness import launchers
    from harness.artifacts import open_store
    from harness.study import checkpoint_folder, interrupt_signals, load_data, resolve_data_dir

    if spec.benchmark is None:
        raise SpecError(f"spec '{spec.name}' has no [benchmark] table; use `harness run-study` for a single study")
    selected = _select(spec, only)
    started = time.perf_counter()
    check_url(storage_url(storage), write=True)  # a malformed storage URL: refused before any data is read
    for _, problem in selected:  # a device that is not there, or a precision it cannot do: refused first
        problem.to_placement()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the benchmark prints its own progress lines
    threads = resolve_threads(spec)
    launcher = launchers.build(spec.launcher, workers, threads)  # a missing package: refused before anything runs
    launchers.check_storage(launcher, storage_url(storage))
    launchers.place_on_devices(launcher, spec, devices)  # --devices that cannot be honoured: refused first
    torch.set_num_threads(threads)
    for _, problem in selected:  # every dataset is checked before anything is written
        load_data(problem, resolve_data_dir(data_dir))
    parent = _parent(spec, storage)
    store = open_store(artifacts, storage_url(storage), create=True)
    checkpoints = checkpoint_folder(storage, artifacts)
    done = _done(parent)
    before = len(done)
    with interrupt_signals():  # SIGINT / SIGTERM end the run deliberately, whatever was inherited
        if launcher.name == "local" and workers == 1:
            _run_problems(spec, selected, parent, storage, data_dir, artifacts, store, checkpoints, threads, done, quiet)
        else:
            _run_in_parallel(spec, selected, parent, storage, data_dir, artifacts, store, checkpoints, threads, done,
                             quiet, launcher)
        done = _done(parent)
    return BenchmarkSummary(spec.name, display_url(storage_url(storage)), len(arms(spec)), len(problems(spec)),
                            spec.benchmark.inner_trials, len(done), len(done) - before, time.perf_counter() - started)


def _run_problems(spec: StudySpec, selected: list[tuple[str, StudySpec]], parent, storage: str | None, data_dir,
                  artifacts, store, checkpoints: Path, threads: int, done: set, quiet: bool) -> None:
    """Each selected problem in turn, in this process: its baselines, then each arm (:func:`_run_arm`)."""
    for name, problem in selected:
        plan = _problem_plan(problem, data_dir, threads, checkpoints, store)
        _prepare_problem(spec, parent, name, problem, plan, quiet)
        for arm in arms(spec):
            _run_arm(spec, name, problem, arm, plan, parent, storage, data_dir, artifacts, done, quiet)


def _run_in_parallel(spec: StudySpec, selected: list[tuple[str, StudySpec]], parent, storage: str | None, data_dir,
                     artifacts, store, checkpoints: Path, threads: int, done: set, quiet: bool, launcher) -> None:
    """Every problem's baselines here, then the jobs of ``launcher``, ``launcher.workers`` at a time: the inner search
    of each (problem, arm) that lacks a seeded re-run (resumed; nothing to do when it is finished), and, as each ends,
    one job per re-run its arm still lacks. Jobs share nothing but the storage (each writes its own inner study, its
    own re-run, and replaces the arm's kept model only under a lock when its seed is better), so they need no other
    coordination."""
    from harness.artifacts import default_location
    from harness.console import console
    from harness.storage import absolute_url
    from harness.study import resolve_data_dir

    url = absolute_url(storage_url(storage))
    folder = Path(artifacts) if artifacts is not None else default_location(storage_url(storage))
    jobs = []
    for name, problem in selected:
        plan = _problem_plan(problem, data_dir, threads, checkpoints, store)
        _prepare_problem(spec, parent, name, problem, plan, quiet)
        jobs += [BenchmarkJob(spec.to_dict(), name, arm.values, url, str(resolve_data_dir(data_dir).resolve()),
                              str(folder.resolve()), str(checkpoints.resolve()), launcher.worker_threads(), quiet)
                 for arm in arms(spec) if _missing_seeds(spec, name, arm, done)]
    if not jobs:
        return
    if not quiet:
        runs = sum(len(_missing_seeds(spec, job.problem, Arm(job.arm), done)) for job in jobs)
        console.print(f"{len(jobs)} arm(s) to run: their inner searches, then {runs} seeded re-run(s), each a job, "
                      f"{launcher.workers} at a time ({launcher.name}, {launcher.worker_threads()} torch thread(s) each)",
                      markup=False)

    def then(job: BenchmarkJob) -> list[BenchmarkJob]:
        """The seeded re-runs an inner-search job unlocks (those the storage does not hold yet)."""
        if job.seed is not None:
            return []
        return [replace(job, seed=k) for k in _missing_seeds(spec, job.problem, Arm(job.arm), _done(parent))]

    launcher.run(jobs, lambda: None, at_once=launcher.workers, then=then)


def _missing_seeds(spec: StudySpec, name: str, arm: Arm, done: set) -> list[int]:
    """The seed indices of ``arm`` on problem ``name`` without a complete re-run in ``done``."""
    return [k for k in range(spec.benchmark.seeds) if (name, arm.slug, k) not in done]


def _problem_plan(problem: StudySpec, data_dir, threads: int, checkpoints: Path, store) -> Plan:
    from harness.study import Plan, load_data, resolve_data_dir

    task, data = load_data(problem, resolve_data_dir(data_dir))
    return Plan.resolve(problem, task, data, threads, checkpoints=checkpoints, store=store)


def _prepare_problem(spec: StudySpec, parent, name: str, problem: StudySpec, plan: Plan, quiet: bool) -> None:
    """The problem's references and baselines (:func:`_problem_outputs`), and the names of every arm's inner studies
    (``inner.<problem>``, which the report reads), all written before any arm runs."""
    _problem_outputs(parent, name, plan, quiet=quiet)
    inner_names: dict[str, list[str]] = dict(parent.user_attrs.get(f"inner.{name}") or {})
    before = {k: list(v) for k, v in inner_names.items()}
    for arm in arms(spec):
        for repeat in range(spec.benchmark.inner_seeds):
            inner = arm_spec(spec, problem, name, arm, repeat).name
            if inner not in inner_names.setdefault(arm.label, []):
                inner_names[arm.label].append(inner)
    if inner_names != before:
        parent.set_user_attr(f"inner.{name}", inner_names)


def _run_arm(spec: StudySpec, name: str, problem: StudySpec, arm: Arm, plan: Plan, parent, storage: str | None,
             data_dir, artifacts, done: set, quiet: bool) -> None:
    """One arm on one problem: its inner searches (:func:`_inner_search`), then its seeded re-runs that ``done`` does
    not hold yet (:func:`_seed_runs`)."""
    best = _inner_search(spec, name, problem, arm, storage, data_dir, artifacts, quiet)
    _seed_runs(spec, name, arm, plan, parent, best, range(spec.benchmark.seeds), done, quiet)


def _inner_search(spec: StudySpec, name: str, problem: StudySpec, arm: Arm, storage: str | None, data_dir, artifacts,
                  quiet: bool) -> InnerBest | None:
    """Run (or resume) the arm's inner searches (``inner_seeds`` of them, each to ``inner_trials``); the best trial over
    them (:func:`_inner_best`)."""
    from harness.console import console
    from harness.study import run_study

    for repeat in range(spec.benchmark.inner_seeds):
        inner = arm_spec(spec, problem, name, arm, repeat)
        if not quiet:
            console.print(f"[{name}] arm {arm.label}: inner search {inner.name} ({spec.benchmark.inner_trials} trials)",
                          markup=False)
        run_study(inner, storage=storage, data_dir=data_dir, quiet=True, evaluate_test=False, artifacts=artifacts)
    return _inner_best(spec, name, problem, arm, storage)


def _inner_best(spec: StudySpec, name: str, problem: StudySpec, arm: Arm, storage: str | None) -> InnerBest | None:
    """The best trial (on validation) over the arm's stored inner searches; ``None`` when none has a complete trial."""
    best = None
    for repeat in range(spec.benchmark.inner_seeds):
        best = _better(best, _best_trial(arm_spec(spec, problem, name, arm, repeat), storage), spec.direction)
    return best


def _seed_runs(spec: StudySpec, name: str, arm: Arm, plan: Plan, parent, best: InnerBest | None, seeds, done: set,
               quiet: bool) -> None:
    """The seeded re-runs ``seeds`` of ``best`` that ``done`` does not hold yet (each finished one is added); none when
    every inner trial was pruned or failed (the report lists the arm and its inner trials)."""
    from harness.console import console

    if best is None:
        return
    for k in seeds:
        if (name, arm.slug, k) in done:
            continue
        trial = _seed_run(parent, plan, name, arm, best, k)
        if trial.state.name == "COMPLETE":
            done.add((name, arm.slug, k))
        if not quiet:
            a = trial.user_attrs
            shown = (f"validation {spec.metric} {trial.value:.4g}, test {a['test'][spec.metric]:.4g}"
                     if trial.state.name == "COMPLETE" else f"failed: {a.get('fail_reason')}")
            console.print(f"[{name}] arm {arm.label}: seed {k} -> {shown}", markup=False)


@dataclass(frozen=True)
class BenchmarkJob:
    """Part of one arm of one problem as a launcher runs it (``harness benchmark --workers N``), in a process of its
    own, against the storage every job reaches (picklable; paths absolute): the arm's inner search
    (:func:`_inner_search`; ``seed`` is ``None``), or its seeded re-run ``seed`` of the best inner trial stored
    (:func:`_seed_runs`), which the benchmark starts only once the inner search has ended.

    Attributes:
        spec_data: The benchmark's spec as plain data.
        problem: The problem's name (as ``problems`` lists it).
        arm: The arm's factor values.
        storage: The storage URL.
        data_dir: The datasets folder.
        artifacts: The artifact folder that keeps the arm's best seed.
        checkpoints: The checkpoint folder of the re-runs.
        threads: Torch threads of the job (its inner studies, or its re-run).
        quiet: No progress lines.
        visible_devices: ``CUDA_VISIBLE_DEVICES`` of the job, or ``None``.
        seed: The seed index of the re-run this job is, or ``None`` for the arm's inner search.
    """

    spec_data: dict[str, Any]
    problem: str
    arm: dict[str, Any]
    storage: str
    data_dir: str | None
    artifacts: str
    checkpoints: str
    threads: int
    quiet: bool = False
    visible_devices: str | None = None
    seed: int | None = None

    @property
    def label(self) -> str:
        what = "inner search" if self.seed is None else f"seed {self.seed}"
        return f"[{self.problem}] arm {Arm(self.arm).label}: {what}"

    @property
    def group(self) -> str:
        return self.spec_data["study"]["name"]

    def __call__(self) -> None:
        import optuna
        import torch

        from harness.artifacts import open_store

        torch.set_num_threads(self.threads)
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        spec = parse_spec({**self.spec_data, "launcher": {}}, source="benchmark job")
        problem = dict(problems(spec))[self.problem]
        problem = parse_spec({**problem.to_dict(), "budget": {**problem.to_dict()["budget"], "threads": self.threads}},
                             source="benchmark job")
        arm = Arm(self.arm)
        if self.seed is None:
            _inner_search(spec, self.problem, problem, arm, self.storage, self.data_dir, self.artifacts, self.quiet)
            return
        parent = optuna.load_study(study_name=spec.name, storage=open_storage(self.storage, write=True))
        store = open_store(self.artifacts, self.storage, create=True)
        plan = _problem_plan(problem, self.data_dir, self.threads, Path(self.checkpoints), store)
        best = _inner_best(spec, self.problem, problem, arm, self.storage)
        _seed_runs(spec, self.problem, arm, plan, parent, best, [self.seed], _done(parent), self.quiet)


def _problem_outputs(parent, name: str, plan: Plan, *, quiet: bool) -> None:
    """Once per problem: the test references (output ``<problem>.references.test``) and the trivial baselines
    (attribute ``baselines.<problem>``, outputs ``<problem>.baseline.<name>``) on the parent study."""
    from harness.storage import output_keys, put_output, study_system_attrs
    from harness.study import store_baselines

    if f"{name}.references.test" not in output_keys(study_system_attrs(parent)):
        put_output(parent, f"{name}.references.test", plan.task.references(plan.data, "test"))
    if f"baselines.{name}" not in parent.user_attrs:
        if not quiet:
            from harness.console import console

            console.print(f"[{name}] trivial baselines", markup=False)
        store_baselines(parent, plan, quiet=quiet, prefix=f"{name}.", attr=f"baselines.{name}")


def _select(spec: StudySpec, only: list[str] | None) -> list[tuple[str, StudySpec]]:
    """The problems to run: all of them, or those named in ``only`` (in the spec's order)."""
    every = problems(spec)
    if not only:
        return every
    names = [name for name, _ in every]
    for name in only:
        if name not in names:
            raise SpecError(f"benchmark '{spec.name}' has no problem '{name}'{hint_suffix(name, names)}; "
                            f"its problems: {', '.join(names)}")
    return [(name, problem) for name, problem in every if name in only]


def _done(parent: optuna.Study) -> set[tuple[str, str, int]]:
    return {(t.user_attrs["problem"], t.user_attrs["arm_slug"], t.user_attrs["seed_index"])
            for t in parent.trials if t.state.name == "COMPLETE"}


def _best_trial(inner: StudySpec, storage: str | None):
    import optuna

    study = optuna.load_study(study_name=inner.name, storage=open_storage(storage, write=False))
    try:
        return InnerBest(study.best_trial, inner.name)
    except ValueError:
        return None


@dataclass(frozen=True)
class InnerBest:
    """The best trial of an arm's inner study, and that study's name."""

    trial: Any
    study: str


def _better(a: InnerBest | None, b: InnerBest | None, direction: str) -> InnerBest | None:
    if a is None:
        return b
    if b is None:
        return a
    return b if (b.trial.value > a.trial.value if direction == "maximize" else b.trial.value < a.trial.value) else a


def _seed_run(parent, plan: Plan, name: str, arm: Arm, inner: InnerBest, k: int):
    """Retrain ``inner``'s configuration with seed ``k``, keep the checkpoint of its best validation epoch, evaluate
    it once on test (:func:`harness.study.retrain_and_test`, the step that tests a study's best trial), and store the
    run as a parent trial: validation value (the trial's value), validation and test metrics, test outputs (output
    ``test`` of the trial), and the git commit it ran (``git_commit``: a benchmark resumed later may run on other
    code). A run that raises or ends without a finite validation value is a failed trial with its reason
    (``fail_reason``); rerunning the benchmark retries it. The arm's best seed so far (on validation) is kept in
    ``plan.store`` as ``<problem>.<arm slug>`` (:mod:`harness.artifacts`); its checkpoint
    (``<benchmark>.<problem>.<arm slug>.seed-<k>.pt``) lets a re-run killed part-way resume from its last epoch
    (:mod:`harness.resume`)."""
    from optuna.trial import TrialState

    from harness.environment import git_commit
    from harness.storage import PendingTrial, put_output
    from harness.study.evaluate import Untested, retrain_and_test

    config = inner.trial.user_attrs["config"]
    seed = plan.spec.study.seed + SEED_OFFSET + k
    start = time.perf_counter()
    attrs: dict[str, Any] = {"problem": name, "arm": arm.values, "arm_label": arm.label, "arm_slug": arm.slug,
                             "seed_index": k, "seed": seed, "config": config, "inner_trial": inner.trial.number,
                             "inner_study": inner.study, "threads": plan.threads, "git_commit": git_commit()}
    tested, fit = None, None
    try:  # the parent trial is created only afterwards, so a killed process leaves no running trial behind
        tested = retrain_and_test(plan, config, seed=seed, checkpoint=plan.checkpoint(f"{name}.{arm.slug}.seed-{k}"),
                                  require_finite=True)
        fit = tested.fit
    except Untested as exc:  # trained, but not tested (no finite validation value, or the test raised): with its curves
        attrs["fail_reason"] = exc.reason.splitlines()[0][:500]
        fit = exc.fit
    except Exception as exc:  # noqa: BLE001 - a failed re-run is stored with its reason and listed by the report
        attrs["fail_reason"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
    attrs["seconds"] = time.perf_counter() - start
    if fit is not None:
        attrs.update(best_epoch=fit.best_epoch, param_count=fit.param_count, device=plan.placement.describe())
    if tested is not None:
        attrs.update(valid=tested.valid(plan.task.metrics),
                     test={m: (v if math.isfinite(v) else None) for m, v in tested.metrics.items()})
    trial = PendingTrial(dict(attrs))  # stored finished, in one write: a killed process leaves no running trial
    if fit is not None:
        put_series(trial, "history", fit.history)
    if "fail_reason" in attrs:
        return trial.add_to(parent, TrialState.FAIL)
    put_output(trial, "test", tested.outputs)
    done = trial.add_to(parent, TrialState.COMPLETE, tested.fit.value)
    _keep_if_best_seed(parent, plan, f"{name}.{arm.slug}", tested.model, config, tested.fit.value, done.number)
    return done


def _keep_if_best_seed(parent, plan: Plan, key: str, model, config, value: float, trial_number: int) -> None:
    """Keep the model of a finished seed run as the arm's model ``key`` (:func:`harness.artifacts.keep`, which removes
    the file of the model it replaces) when it beats the arm's kept seed on validation.

    Re-runs of one arm may finish side by side (``--workers``): each reads the kept record and replaces it under a file
    lock (``<checkpoints>/<benchmark>.<key>.keep.lock``; :class:`filelock.FileLock`), so a better seed is never replaced
    by a worse one that read the record before it was written. A process killed between storing its run and keeping
    its model leaves the arm's previous model kept."""
    import contextlib

    from filelock import FileLock

    from harness.artifacts import KEPT, keep

    if plan.store is None:
        return
    lock: contextlib.AbstractContextManager = contextlib.nullcontext()
    if plan.checkpoints is not None:
        plan.checkpoints.mkdir(parents=True, exist_ok=True)
        lock = FileLock(plan.checkpoints / f"{plan.spec.name}.{key}.keep.lock")
    with lock:
        current = parent.user_attrs.get(KEPT + key)
        previous = None if current is None else current.get("value")
        if previous is None or (value > previous if plan.direction == "maximize" else value < previous):
            keep(parent, key, store=plan.store, trial_number=trial_number, task=plan.task, data=plan.data, model=model,
                 config=config, value=value)
