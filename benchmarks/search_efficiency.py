"""Search efficiency on ETTh1: how much compute each sampler/pruner pair needs to find a good model.

Four strategies search the same small space on ETTh1 (multivariate, look-back 96, horizon 96, standard
borders, a seeded subset of the training windows, small models, short budgets):

- ``random``: random search, no pruning;
- ``tpe``: TPE (Bergstra et al. 2011), no pruning;
- ``tpe+median``: TPE with the median stopping rule (Golovin et al. 2017);
- ``tpe+hyperband``: TPE with Hyperband (Li et al. 2018), epochs as the resource.

Each runs ``--repetitions`` times (sampler seeds 0..R-1) through the harness's own ``run_study`` into a
fresh SQLite file. Compute is counted in training epochs actually run (the intermediate values a trial
reported), so pruned trials count what they consumed. Printed and recorded: best validation MSE against
consumed epochs (mean ± standard error over repetitions), and the epochs each strategy needs to reach
random search's final best (the median over random's repetitions), as a fraction of random's.
Goal: TPE with Hyperband needs at most one third of random search's compute.

    python benchmarks/search_efficiency.py --data-dir ../shared/data [--repetitions 5] [--trials 30]
                                           [--threads 2] [--quick]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import optuna
from _common import record

from harness.spec import parse_spec
from harness.storage import open_storage
from harness.study import run_study

STRATEGIES = {
    "random": ({"name": "random"}, {"name": "none"}),
    "tpe": ({"name": "tpe", "n_startup_trials": 8}, {"name": "none"}),
    "tpe+median": ({"name": "tpe", "n_startup_trials": 8}, {"name": "median", "n_startup_trials": 5, "n_warmup_steps": 1}),
    "tpe+hyperband": ({"name": "tpe", "n_startup_trials": 8}, {"name": "hyperband", "min_resource": 1, "reduction_factor": 3}),
}


def make_spec(strategy: str, repetition: int, args: argparse.Namespace):
    sampler, pruner = STRATEGIES[strategy]
    return parse_spec({
        "study": {"name": f"search-{strategy.replace('+', '-')}-{repetition}", "task": "forecasting", "metric": "mse",
                  "n_trials": args.trials, "seed": repetition},
        "dataset": {"name": "ett", "features": "M", "lookback": 96, "horizon": 96},
        "budget": {"max_epochs": args.epochs, "max_train_examples": args.train_examples,
                   "max_valid_examples": args.valid_examples, "threads": args.threads},
        "sampler": {**sampler, "seed": repetition},
        "pruner": pruner,
        "search": {
            "model": ["dlinear", "attention_pooling", "transformer_forecaster"],
            "self_attention": "multihead", "patch_len": 16, "hidden_size": [16, 32],
            "kernel": [13, 25], "batch_size": 64,
            "schedule": ["constant", "cosine", "exponential", "warmup_cosine"],
            "lr": {"low": 1e-5, "high": 1e-1, "log": True},
        },
    })


def trace(storage_url: str, name: str) -> list[tuple[int, float]]:
    """(cumulative epochs, best-so-far validation MSE) after each trial, in trial order."""
    study = optuna.load_study(study_name=name, storage=open_storage(storage_url, write=False))
    epochs, best, points = 0, math.inf, []
    for trial in sorted(study.trials, key=lambda t: t.number):
        epochs += len(trial.intermediate_values)
        if trial.state == optuna.trial.TrialState.COMPLETE and trial.value is not None:
            best = min(best, trial.value)
        points.append((epochs, best))
    return points


def best_at(points: list[tuple[int, float]], epochs: int) -> float:
    best = math.inf
    for used, value in points:
        if used > epochs:
            break
        best = value
    return best


def epochs_to_reach(points: list[tuple[int, float]], target: float) -> float:
    for used, value in points:
        if value <= target:
            return used
    return math.inf


def mean_se(values: list[float]) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) < len(values) or not finite:
        return "n/a" if not finite else f"{statistics.mean(finite):.4f} ({len(values) - len(finite)} without a result)"
    se = statistics.stdev(finite) / math.sqrt(len(finite)) if len(finite) > 1 else 0.0
    return f"{statistics.mean(finite):.4f} ± {se:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None, help="folder holding ett/ (default: $HARNESS_DATA_DIR or ./data)")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--train-examples", type=int, default=2000)
    parser.add_argument("--valid-examples", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="2 repetitions of 6 trials, 3 epochs: checks the script runs")
    args = parser.parse_args()
    if args.quick:
        args.repetitions, args.trials, args.epochs, args.train_examples, args.valid_examples = 2, 6, 3, 300, 200

    folder = Path(tempfile.mkdtemp(prefix="harness-search-"))
    traces: dict[str, list[list[tuple[int, float]]]] = {name: [] for name in STRATEGIES}
    seconds: dict[str, float] = dict.fromkeys(STRATEGIES, 0.0)
    for repetition in range(args.repetitions):  # interleaved: every strategy once per repetition
        for strategy in STRATEGIES:
            spec = make_spec(strategy, repetition, args)
            url = f"sqlite:///{folder}/{strategy}-{repetition}.db"
            start = time.perf_counter()
            run_study(spec, storage=url, data_dir=args.data_dir, quiet=True, evaluate_test=False)
            seconds[strategy] += time.perf_counter() - start
            traces[strategy].append(trace(url, spec.name))
            print(f"repetition {repetition} {strategy}: best {traces[strategy][-1][-1][1]:.4f} after "
                  f"{traces[strategy][-1][-1][0]} epochs, {time.perf_counter() - start:.0f} s", flush=True)

    target = statistics.median(points[-1][1] for points in traces["random"])
    random_epochs = statistics.median(epochs_to_reach(points, target) for points in traces["random"])
    budget = max(points[-1][0] for runs in traces.values() for points in runs)
    checkpoints = sorted({max(1, round(budget * f)) for f in (0.1, 0.25, 0.5, 0.75, 1.0)})
    lines = [
        f"ETTh1 M, L=96, H=96; {args.train_examples} training windows (seeded subset), {args.valid_examples} "
        f"validation windows; models DLinear / attention pooling / Transformer (patch 16); up to {args.epochs} "
        f"epochs per trial; {args.trials} trials per search; {args.repetitions} repetitions (sampler seeds "
        f"0..{args.repetitions - 1}), interleaved. Compute = training epochs run (pruned trials count what they used).",
        "",
        "Best validation MSE (mean ± s.e. over repetitions) after a number of consumed epochs:",
        "",
        "| strategy | " + " | ".join(f"{c} epochs" for c in checkpoints) + " | epochs used | wall s |",
        "|---" * (len(checkpoints) + 3) + "|",
    ]
    for strategy, runs in traces.items():
        cells = [mean_se([best_at(points, c) for points in runs]) for c in checkpoints]
        used = statistics.mean(points[-1][0] for points in runs)
        lines.append(f"| {strategy} | " + " | ".join(cells) + f" | {used:.0f} | {seconds[strategy]:.0f} |")
    lines += ["", f"Target: random search's final best (median over repetitions) = {target:.4f}; random needs "
              f"{random_epochs:.0f} epochs (median) to reach it.", "",
              "| strategy | epochs to reach the target (median) | reached in | fraction of random's |", "|---|---|---|---|"]
    for strategy, runs in traces.items():
        reach = [epochs_to_reach(points, target) for points in runs]
        med = statistics.median(reach)
        reached = sum(math.isfinite(r) for r in reach)
        fraction = f"{med / random_epochs:.2f}" if math.isfinite(med) and random_epochs else "not reached"
        lines.append(f"| {strategy} | {med:.0f} | {reached}/{len(runs)} | {fraction} |"
                     if math.isfinite(med) else f"| {strategy} | not reached | {reached}/{len(runs)} | {fraction} |")
    lines.append("\nGoal: tpe+hyperband at most 0.33 of random's compute.")
    record("Search efficiency on ETTh1", lines, threads=args.threads)


if __name__ == "__main__":
    main()
