"""Trials per hour with 1 and 2 local worker processes (`harness run-study --workers N`).

A fixed small spec (the embedded vega-temps series, a Transformer forecaster of fixed size, the learning
rate and schedule searched, random sampler, no pruning, so every trial trains the same number of
epochs) runs as a real `harness run-study` subprocess into a fresh SQLite file in three set-ups,
interleaved, ``--repeats`` times: ``--workers 1`` with 1 torch thread (one core's worth of work),
``--workers 1`` with 2 threads (intra-op parallelism over both cores), and ``--workers 2`` (two processes,
1 torch thread each: the harness divides the spec's 2 threads). Trials per hour are counted from the storage,
from the first trial's start to the last trial's end, so process start-up and the final test
evaluation are not counted (with 2 workers the study may finish one trial beyond its target: both
workers can start a trial when one is missing; every finished trial counts). The steady state is counted apart
from the tail (a worker that has finished idles while the last trial runs): each worker's trials from its first
one's start to its last one's start, summed over the workers. Goal: 2 workers at
least 1.8x the trials per hour of 1 worker on 2 cores. Both ratios are reported: against 1 worker with 1
thread (how well the workers scale out) and against 1 worker with 2 threads (what a user gains over
giving one process both cores, which depends on how well the model uses a second thread).

    python benchmarks/workers.py [--repeats 5] [--trials 32] [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import optuna
from _common import median, record

from harness.storage import open_storage

SPEC = """
[study]
name = "workers"
task = "forecasting"
metric = "mse"
n_trials = {trials}
seed = 0

[dataset]
name = "vega-temps"
lookback = 96
horizon = 24

[budget]
max_epochs = {epochs}
max_train_examples = {train}
threads = {threads}

[sampler]
name = "random"

[pruner]
name = "none"

[search]
model = "transformer_forecaster"
self_attention = "multihead"
patch_len = 16
hidden_size = 64
batch_size = 64
schedule = ["constant", "cosine", "warmup_cosine"]
lr = {{ low = 1e-4, high = 1e-2, log = true }}
"""


#: (label, workers, torch threads in the spec); the harness divides the threads between the workers
SETUPS = [("1 worker, 1 thread", 1, 1), ("1 worker, 2 threads", 1, 2), ("2 workers, 1 thread each", 2, 2)]


def trials_per_hour(folder: Path, workers: int, threads: int, run: int, args: argparse.Namespace) -> Rate:
    spec = folder / f"workers-{threads}.toml"
    spec.write_text(SPEC.format(trials=args.trials, epochs=args.epochs, train=args.train_examples, threads=threads))
    url = f"sqlite:///{folder}/run-{run}-{workers}-{threads}.db"
    subprocess.run([sys.executable, "-m", "harness", "run-study", str(spec), "--storage", url, "--workers", str(workers),
                    "--quiet"], check=True, capture_output=True)
    study = optuna.load_study(study_name="workers", storage=open_storage(url))
    finished = [t for t in study.trials if t.state.is_finished()]
    # workers that start their last trial together may finish up to workers - 1 trials beyond the target;
    # the rate counts every finished trial over the span they took
    if not args.trials <= len(finished) < args.trials + workers:
        raise RuntimeError(f"{len(finished)} finished trials, expected {args.trials} to {args.trials + workers - 1}")
    start = min(t.datetime_start for t in finished)
    end = max(t.datetime_complete for t in finished)
    # steady state, each worker from its first trial's start to its last one's start (trials and the gaps between
    # them, no tail), summed over the workers; the tail: from the first worker's end to the last one's
    by_worker: dict[int, list] = {}
    for t in finished:
        by_worker.setdefault(t.user_attrs.get("worker", 0), []).append(t)
    steady = sum((len(ts) - 1) / max((max(t.datetime_start for t in ts) - min(t.datetime_start for t in ts)).total_seconds(),
                                     1e-9) * 3600 for ts in by_worker.values() if len(ts) > 1)
    first_done = min(max(t.datetime_complete for t in ts) for ts in by_worker.values())
    return Rate(len(finished) / (end - start).total_seconds() * 3600, steady, (end - first_done).total_seconds())


@dataclass
class Rate:
    """One run: trials/hour over the whole span and over the steady state, and the tail's seconds."""

    overall: float
    steady: float
    tail: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-examples", type=int, default=3000)
    parser.add_argument("--quick", action="store_true", help="1 repetition of 4 one-epoch trials: checks the script runs")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.trials, args.epochs, args.train_examples = 1, 4, 1, 300
    folder = Path(tempfile.mkdtemp(prefix="harness-workers-bench-"))
    rates: dict[str, list[Rate]] = {label: [] for label, _, _ in SETUPS}
    for run in range(args.repeats):
        for label, workers, threads in SETUPS:
            rates[label].append(trials_per_hour(folder, workers, threads, run, args))
            r = rates[label][-1]
            print(f"run {run}, {label}: {r.overall:.0f} trials/hour, steady {r.steady:.0f}, tail {r.tail:.0f} s", flush=True)
    two = rates[SETUPS[2][0]]
    lines = [f"`harness run-study --workers N` on the embedded vega-temps series: Transformer forecaster (patch 16, "
             f"hidden 64), {args.trials} trials of {args.epochs} epochs on {args.train_examples} training windows, random "
             f"sampler, no pruning; SQLite (WAL). Trials per hour from the first trial's start to the last one's end "
             "(overall), and in the steady state: each worker's trials from its first one's start to its last one's "
             "start (no tail), summed over the workers; the tail is from the first worker's end to the last one's; "
             f"median of {args.repeats} interleaved runs.", "",
             "| set-up | trials/hour overall (median) | steady state (median) | tail s (median) | overall, runs |",
             "|---|---|---|---|---|"]
    for label, values in rates.items():
        lines.append(f"| {label} | {median([v.overall for v in values]):.0f} | {median([v.steady for v in values]):.0f} | "
                     f"{median([v.tail for v in values]):.0f} | {', '.join(f'{v.overall:.0f}' for v in values)} |")
    lines.append("")
    for label, _, _ in SETUPS[:2]:
        for kind in ("overall", "steady"):
            ratios = [getattr(b, kind) / getattr(a, kind) for a, b in zip(rates[label], two)]
            lines.append(f"- 2 workers over {label}, {kind}: {median(ratios):.2f}x (median of the per-run ratios; runs: "
                         f"{', '.join(f'{r:.2f}' for r in ratios)}).")
    lines.append("\nGoal: at least 1.8x with 2 workers.")
    record("Local worker processes: trials per hour", lines, threads=2)


if __name__ == "__main__":
    main()
