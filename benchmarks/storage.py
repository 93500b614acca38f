"""Storage and report: trials written per second on each backend, and `harness report` time by study size.

Part 1 (storage). Worker processes (1, 2 and 4) write trials into one study on SQLite (WAL, the harness's
engine options), Optuna's journal file storage, and PostgreSQL on 127.0.0.1:5432 (a scratch database,
dropped afterwards; skipped with a printed reason when the server is down). Each trial writes what a
harness trial writes, without the training: its suggested parameters, the user attributes
(configuration, seed, threads, worker), one intermediate value per epoch (``--epochs``) with the pruner's
check, and the per-epoch history and per-step learning rates as chunked series (``put_series``). Printed:
trials per second in total, and the storage overhead per trial seen by one worker (its wall time divided
by its trials). Backends and worker counts are interleaved; the median of ``--repeats`` runs is reported.

Part 2 (report). A real one-trial forecasting study on the embedded data is cloned into studies of 100,
1,000 and 10,000 trials (``Study.add_trials``, varied parameters and values), and ``harness report`` is
timed as a subprocess on each (median of ``--repeats``). Goal: at most 10 s at 10,000 trials.

    python benchmarks/storage.py [--repeats 5] [--trials 40] [--quick] [--skip-report] [--skip-storage]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
from _common import median, record

from harness.storage import open_storage, put_series

POSTGRES_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
SCRATCH_DB = "harness_storage_bench"


# -- part 1: trials written per second ---------------------------------------------------------------
def _write_trials(url: str, name: str, trials: int, epochs: int, worker: int, out: mp.Queue) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name=name, storage=open_storage(url, write=True),
                              sampler=optuna.samplers.RandomSampler(seed=worker),
                              pruner=optuna.pruners.MedianPruner(n_startup_trials=5))
    steps_per_epoch = 250

    def objective(trial: optuna.Trial) -> float:
        config = {
            "model": trial.suggest_categorical("model", ["rnn", "transformer"]),
            "attention": trial.suggest_categorical("attention", ["dot", "general", "additive"]),
            "schedule": trial.suggest_categorical("schedule", ["constant", "cosine", "warmup_cosine"]),
            "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
            "dropout": trial.suggest_float("dropout", 0.0, 0.3),
        }
        for key, value in {"config": config, "seed": trial.number, "threads": 1, "worker": worker}.items():
            trial.set_user_attr(key, value)
        history = []
        for epoch in range(epochs):
            value = 1.0 / (epoch + 1) + config["lr"]
            trial.report(value, epoch + 1)
            history.append({"epoch": epoch + 1, "train_loss": value, "valid_loss": value, "mse": value, "seconds": 1.0})
            if trial.should_prune():
                break
        trial.set_user_attr("param_count", 12345)
        trial.set_user_attr("seconds", 1.0)
        put_series(trial, "history", history)
        total = epochs * steps_per_epoch
        put_series(trial, "lr_per_step", [config["lr"] * (1 - i / total) for i in range(len(history) * steps_per_epoch)])
        return history[-1]["mse"]

    start = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    out.put(time.perf_counter() - start)


def _postgres_url() -> str | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}"')
            conn.execute(f'CREATE DATABASE "{SCRATCH_DB}"')
    except Exception as exc:  # noqa: BLE001 - a benchmark skips a missing server with the reason
        print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}")
        return None
    return f"postgresql://postgres@127.0.0.1:5432/{SCRATCH_DB}"


def _drop_postgres() -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')


def one_run(url: str, name: str, workers: int, trials: int, epochs: int) -> tuple[float, float]:
    """(total trials per second, median seconds per trial seen by a worker) for one study."""
    optuna.create_study(study_name=name, storage=open_storage(url, write=True), direction="minimize")
    context = mp.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_write_trials, args=(url, name, trials, epochs, w, queue)) for w in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    per_worker = [queue.get() for _ in processes]
    if any(p.exitcode != 0 for p in processes):
        raise RuntimeError(f"a worker failed on {url}")
    study = optuna.load_study(study_name=name, storage=open_storage(url, write=False))
    complete = sum(t.state.is_finished() for t in study.trials)
    if complete != workers * trials:
        raise RuntimeError(f"{url}: {complete} finished trials, expected {workers * trials}")
    # Throughput over the writing itself: process start-up and imports are not storage costs.
    return complete / max(per_worker), median([w / trials for w in per_worker])


def storage_part(args: argparse.Namespace, folder: Path) -> list[str]:
    backends = {"SQLite (WAL)": lambda i: f"sqlite:///{folder}/bench-{i}.db",
                "journal file": lambda i: f"journal:{folder}/bench-{i}.log"}
    postgres = _postgres_url()
    if postgres:
        backends["PostgreSQL"] = lambda i: postgres
    results: dict[tuple[str, int], list[tuple[float, float]]] = {}
    counter = 0
    for _ in range(args.repeats):
        for workers in (1, 2, 4):
            for backend, url in backends.items():
                counter += 1
                results.setdefault((backend, workers), []).append(
                    one_run(url(counter), f"bench-{counter}", workers, args.trials, args.epochs))
    if postgres:
        _drop_postgres()
    lines = [f"Each trial: 5 suggested parameters, 4 user attributes, {args.epochs} intermediate values with the "
             f"median pruner's check, history ({args.epochs} rows) and {args.epochs * 250} per-step learning rates as "
             f"chunked series; no training. {args.trials} trials per worker; median of {args.repeats} runs, "
             "backends and worker counts interleaved; one process per worker (spawn), 1 thread each.", "",
             "| backend | workers | trials/s (all workers) | storage overhead per trial (one worker) |", "|---|---|---|---|"]
    for (backend, workers), runs in sorted(results.items(), key=lambda kv: (list(backends).index(kv[0][0]), kv[0][1])):
        lines.append(f"| {backend} | {workers} | {median([r[0] for r in runs]):.1f} | "
                     f"{median([r[1] for r in runs]) * 1000:.0f} ms |")
    if not postgres:
        lines.append("\nPostgreSQL: not measured (server not reachable on 127.0.0.1:5432).")
    return lines


# -- part 2: report time by study size ---------------------------------------------------------------
def seed_study(folder: Path) -> str:
    """A real one-trial forecasting study (embedded data, 1 epoch); returns its storage URL."""
    url = f"sqlite:///{folder}/report.db"
    spec = folder / "seed.toml"
    spec.write_text("\n".join([
        '[study]', 'name = "seed"', 'task = "forecasting"', 'metric = "mse"', 'n_trials = 1',
        '[dataset]', 'name = "vega-temps"', 'lookback = 96', 'horizon = 24',
        '[budget]', 'max_epochs = 2', 'threads = 1',
        '[search]', 'model = "dlinear"', 'schedule = "cosine"', 'lr = 3e-3', '']))
    subprocess.run([sys.executable, "-m", "harness", "run-study", str(spec), "--storage", url, "--quiet"], check=True)
    return url


def clone(url: str, size: int) -> str:
    """Copy the seed study into one of ``size`` trials with varied parameters and values."""
    storage = open_storage(url, write=True)
    seed = optuna.load_study(study_name="seed", storage=storage)
    template = seed.trials[0]
    name = f"report-{size}"
    study = optuna.create_study(study_name=name, storage=storage, direction="minimize")
    for key, value in seed.user_attrs.items():
        study.set_user_attr(key, value)
    rng = random.Random(size)
    schedules = ["constant", "cosine", "warmup_cosine", "one_cycle", "plateau"]
    models = ["dlinear", "rnn_forecaster", "transformer_forecaster", "attention_pooling"]
    distributions = {"model": optuna.distributions.CategoricalDistribution(models),
                     "schedule": optuna.distributions.CategoricalDistribution(schedules),
                     "lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)}
    trials = []
    for i in range(size):
        params = {"model": rng.choice(models), "schedule": rng.choice(schedules), "lr": 10 ** rng.uniform(-4, -2)}
        value = template.value * (1 + rng.random())
        pruned = rng.random() < 0.3
        user_attrs = dict(template.user_attrs)
        user_attrs["config"] = {**template.user_attrs.get("config", {}), **params}
        user_attrs["seed"] = i
        trials.append(optuna.trial.create_trial(
            state=optuna.trial.TrialState.PRUNED if pruned else optuna.trial.TrialState.COMPLETE,
            value=None if pruned else value, params=params, distributions=distributions, user_attrs=user_attrs,
            intermediate_values={step: value * (1 + 0.1 / step) for step in template.intermediate_values}))
    study.add_trials(trials)
    return name


def report_part(args: argparse.Namespace, folder: Path) -> list[str]:
    url = seed_study(folder)
    sizes = [100, 1000] if args.quick else [100, 1000, 10000]
    names = {}
    for size in sizes:
        start = time.perf_counter()
        names[size] = clone(url, size)
        print(f"built a study of {size} trials in {time.perf_counter() - start:.1f} s", flush=True)
    times: dict[int, list[float]] = {size: [] for size in sizes}
    for _ in range(args.repeats):
        for size in sizes:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "harness", "report", names[size], "--storage", url,
                            "--out", str(folder / f"report-{size}.md")], check=True, capture_output=True)
            times[size].append(time.perf_counter() - start)
    lines = [f"`harness report` as a subprocess (process start and imports included) on a SQLite study cloned from a "
             f"real one-trial forecasting study; 30% of the trials pruned; median of {args.repeats} runs, sizes interleaved.", "",
             "| trials | report seconds (median) | min | max |", "|---|---|---|---|"]
    for size in sizes:
        lines.append(f"| {size:,} | {median(times[size]):.2f} | {min(times[size]):.2f} | {max(times[size]):.2f} |")
    lines.append("\nGoal: at most 10 s at 10,000 trials.")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=40, help="trials per worker")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="1 repetition, few trials, no 10k study: checks the script runs")
    parser.add_argument("--skip-storage", action="store_true")
    parser.add_argument("--skip-report", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.trials, args.epochs = 1, 4, 3
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    folder = Path(tempfile.mkdtemp(prefix="harness-storage-bench-"))
    try:
        if not args.skip_storage:
            record("Storage: trials written per second", storage_part(args, folder), threads=1)
        if not args.skip_report:
            record("Report time by study size", report_part(args, folder), threads=None)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
