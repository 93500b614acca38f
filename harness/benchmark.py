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
3. The best configuration of each arm is retrained with ``seeds`` seeds and evaluated once on the test
   split; each run is a trial of the parent study ``<benchmark>``, with the arm, seed, curves and test
   metrics as user attributes.

Everything lives in the storage, and each step skips what is already there, so an interrupted benchmark
resumes where it stopped. The report (``harness report <benchmark>``) reads the parent study and the arm
studies.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import SpecError, SpecMismatchError, hint_suffix
from harness.spec import StudySpec, parse_spec, problems, resolve_threads
from harness.storage import display_url, open_storage, put_series, storage_url

if TYPE_CHECKING:
    import optuna

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
        "environment": environment(resolve_threads(spec)),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "spec": spec.to_dict(), "spec_identity": spec.identity(),
    }
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    return study


def run_benchmark(
    spec: StudySpec, *, storage: str | None = None, data_dir: str | Path | None = None, quiet: bool = False,
    only: list[str] | None = None,
) -> BenchmarkSummary:
    """Run (or resume) a benchmark; see the module docstring.

    Args:
        only: run just these problems (names as ``problems`` lists them; the spec's own dataset is the
            first). Problems of one benchmark share nothing but the parent study, so separate processes
            (or machines on one storage) may each run some of them; the report reads them all.

    Raises:
        SpecError: the spec has no ``[benchmark]`` table, or ``only`` names a problem the spec does not have.
        BadInputError: bad spec, data or storage.
    """
    import torch

    from harness.console import console
    from harness.study import load_data, resolve_data_dir, run_study

    if spec.benchmark is None:
        raise SpecError(f"spec '{spec.name}' has no [benchmark] table; use `harness run-study` for a single study")
    selected = _select(spec, only)
    started = time.perf_counter()
    threads = resolve_threads(spec)
    torch.set_num_threads(threads)
    for _, problem in selected:  # every dataset is checked before anything is written
        load_data(problem, resolve_data_dir(data_dir))
    parent = _parent(spec, storage)
    done = _done(parent)
    before = len(done)
    bench = spec.benchmark
    all_arms = arms(spec)
    for name, problem in selected:
        task, data = load_data(problem, resolve_data_dir(data_dir))
        for arm in all_arms:
            best = None
            for repeat in range(bench.inner_seeds):
                inner = arm_spec(spec, problem, name, arm, repeat)
                if not quiet:
                    console.print(f"[{name}] arm {arm.label}: inner search {inner.name} "
                                  f"({bench.inner_trials} trials)", markup=False)
                run_study(inner, storage=storage, data_dir=data_dir, quiet=True, evaluate_test=False)
                best = _better(best, _best_trial(inner, storage), spec.direction)
            if best is None:
                continue  # every inner trial was pruned or failed: the arm has no configuration to re-run
            for k in range(bench.seeds):
                if (name, arm.slug, k) in done:
                    continue
                _seed_run(parent, task, data, problem, name, arm, best, k, threads)
                done.add((name, arm.slug, k))
                if not quiet:
                    last = parent.trials[-1]
                    console.print(f"[{name}] arm {arm.label}: seed {k} -> validation {spec.metric} {last.value:.4g}, "
                                  f"test {last.user_attrs['test'][spec.metric]:.4g}", markup=False)
    return BenchmarkSummary(spec.name, display_url(storage_url(storage)), len(all_arms), len(problems(spec)), bench.inner_trials,
                            len(done), len(done) - before, time.perf_counter() - started)


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
        return study.best_trial
    except ValueError:
        return None


def _better(a, b, direction: str):
    if a is None:
        return b
    if b is None:
        return a
    return b if (b.value > a.value if direction == "maximize" else b.value < a.value) else a


def _seed_run(parent, task, data, problem: StudySpec, name: str, arm: Arm, best, k: int, threads: int) -> None:
    """Retrain ``best``'s configuration with seed ``k``, evaluate on test, store it as a parent trial."""
    from optuna.trial import TrialState

    from harness.training import fit

    config = best.user_attrs["config"]
    seed = problem.study.seed + SEED_OFFSET + k
    start = time.perf_counter()
    result = fit(task, data, config, problem.to_budget(), metric=problem.metric, direction=problem.direction,
                 seed=seed, keep_best_state=True)
    test = {}
    if result.best_state is not None:
        model = task.build_model(config, data)
        model.load_state_dict(result.best_state)
        test = {m: (v if math.isfinite(v) else None) for m, v in task.evaluate(model, data, "test").items()}
    trial = parent.ask()
    attrs = {"problem": name, "arm": arm.values, "arm_label": arm.label, "arm_slug": arm.slug, "seed_index": k,
             "seed": seed, "config": config, "inner_trial": best.number, "test": test, "best_epoch": result.best_epoch,
             "param_count": result.param_count, "threads": threads, "seconds": time.perf_counter() - start}
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    put_series(trial, "history", result.history)
    if math.isfinite(result.value):
        parent.tell(trial, result.value)
    else:
        parent.tell(trial, state=TrialState.FAIL)
