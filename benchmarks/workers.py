"""Trials per hour with 1 and 2 local worker processes (`harness run-study --workers N`).

A fixed small spec (the embedded vega-temps series, a Transformer forecaster of fixed size, the learning
rate and schedule searched, random sampler, no pruning, so every trial trains the same number of
epochs) runs as a real `harness run-study` subprocess into a fresh SQLite file, with ``--workers 1``
(one process, 2 torch threads) and ``--workers 2`` (two processes, 1 torch thread each: the harness
divides the threads), interleaved, ``--repeats`` times. Trials per hour are counted from the storage,
from the first trial's start to the last trial's end, so process start-up and the final test
evaluation are not counted. Goal: 2 workers at least 1.8x the trials per hour of 1 worker on 2 cores.

    python benchmarks/workers.py [--repeats 5] [--trials 8] [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
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
threads = 2

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


def trials_per_hour(folder: Path, workers: int, run: int, args: argparse.Namespace) -> float:
    spec = folder / "workers.toml"
    spec.write_text(SPEC.format(trials=args.trials, epochs=args.epochs, train=args.train_examples))
    url = f"sqlite:///{folder}/run-{run}-{workers}.db"
    subprocess.run([sys.executable, "-m", "harness", "run-study", str(spec), "--storage", url, "--workers", str(workers),
                    "--quiet"], check=True, capture_output=True)
    study = optuna.load_study(study_name="workers", storage=open_storage(url))
    finished = [t for t in study.trials if t.state.is_finished()]
    if len(finished) != args.trials:
        raise RuntimeError(f"{len(finished)} finished trials, expected {args.trials}")
    span = max(t.datetime_complete for t in finished) - min(t.datetime_start for t in finished)
    return len(finished) / span.total_seconds() * 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-examples", type=int, default=3000)
    parser.add_argument("--quick", action="store_true", help="1 repetition of 2 one-epoch trials: checks the script runs")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.trials, args.epochs, args.train_examples = 1, 2, 1, 300
    folder = Path(tempfile.mkdtemp(prefix="harness-workers-bench-"))
    rates: dict[int, list[float]] = {1: [], 2: []}
    for run in range(args.repeats):
        for workers in (1, 2):
            rates[workers].append(trials_per_hour(folder, workers, run, args))
            print(f"run {run}, {workers} worker(s): {rates[workers][-1]:.0f} trials/hour", flush=True)
    ratios = [b / a for a, b in zip(rates[1], rates[2])]
    lines = [f"`harness run-study --workers N` on the embedded vega-temps series: Transformer forecaster (patch 16, "
             f"hidden 64), {args.trials} trials of {args.epochs} epochs on {args.train_examples} training windows, random "
             f"sampler, no pruning; SQLite (WAL). 1 worker = 1 process with 2 torch threads; 2 workers = 2 processes "
             f"with 1 thread each. Trials per hour from the first trial's start to the last one's end; median of "
             f"{args.repeats} interleaved runs.", "",
             "| workers | trials/hour (median) | runs |", "|---|---|---|"]
    for workers, values in rates.items():
        lines.append(f"| {workers} | {median(values):.0f} | {', '.join(f'{v:.0f}' for v in values)} |")
    lines += ["", f"Speed-up of 2 workers over 1 (median of the per-run ratios): {median(ratios):.2f}x "
              f"(runs: {', '.join(f'{r:.2f}' for r in ratios)}). Goal: at least 1.8x."]
    record("Local worker processes: trials per hour", lines, threads=2)


if __name__ == "__main__":
    main()
