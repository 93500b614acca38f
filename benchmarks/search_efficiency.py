"""Search efficiency: how much compute each sampler/pruner pair needs to find a good model.

Five strategies search the same space of each problem (small models, short budgets):

- ``random``: random search, no pruning;
- ``independent``: independent TPE (Bergstra et al. 2011), no pruning;
- ``tpe+hyperband``: the harness's previous choice, Optuna's TPE defaults (multivariate for one objective since
  Optuna 5, not grouped) with Hyperband (Li et al. 2018), first rung 1 epoch, reduction factor 3;
- ``default``: the harness's defaults, multivariate grouped TPE (Falkner et al. 2018) with Hyperband at the
  budget-derived rungs (:mod:`harness.strategies`);
- ``mv+halving``: multivariate grouped TPE with asynchronous successive halving (Li et al. 2020), same rungs.

Problems, both with conditional spaces where a bad learning rate or model wastes whole trials:

- ``etth1``: ETTh1 multivariate, look-back 96, horizon 96, a seeded subset of the training windows; DLinear,
  attention pooling or a patched Transformer; 4 schedules; validation MSE (minimised);
- ``numbers``: the embedded numbers-en-de corpus (English number words -> German); the GRU encoder-decoder with
  one of 7 attention types, or a 1+1-layer Transformer; 5 schedules; validation chrF (maximised); 24 trials of up
  to 6 epochs (an epoch costs about 4x an ETTh1 one here).

Each strategy runs ``--repetitions`` times (sampler seeds 0..R-1) through the harness's own ``run_study`` into a
fresh SQLite file, one worker, interleaved. Compute is counted in training epochs actually run (the intermediate
values a trial reported), so pruned trials count what they consumed, and the count does not depend on the
machine's load. Printed and recorded per problem: the best validation value against consumed epochs (mean ± s.e.
over repetitions), and the epochs each strategy needs to reach random search's final best (the median over
random's repetitions): median, mean ± s.e. (a repetition that never reaches it counts its whole compute, so that
mean is a lower bound, marked ≥), how many repetitions reached it, and the ratio to random's.
Goal: the defaults need at most one third of random search's compute.

    python benchmarks/search_efficiency.py --data-dir ../shared/data [--problem etth1|numbers|all]
                                           [--strategies random,default,...] [--repetitions 5] [--trials N]
                                           [--epochs N] [--threads 1] [--quick]
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

_INDEPENDENT = {"name": "tpe", "n_startup_trials": 8, "multivariate": False, "group": False}
_OPTUNA_TPE = {"name": "tpe", "n_startup_trials": 8, "multivariate": None, "group": False}
_DEFAULT_TPE = {"name": "tpe", "n_startup_trials": 8}
STRATEGIES = {
    "random": ({"name": "random"}, {"name": "none"}),
    "independent": (_INDEPENDENT, {"name": "none"}),
    "tpe+hyperband": (_OPTUNA_TPE, {"name": "hyperband", "min_resource": 1, "reduction_factor": 3}),
    "default": (_DEFAULT_TPE, {"name": "hyperband"}),
    "mv+halving": (_DEFAULT_TPE, {"name": "successive-halving"}),
}

PROBLEMS = {
    "etth1": {
        "title": "ETTh1",
        "study": {"task": "forecasting", "metric": "mse"},
        "dataset": {"name": "ett", "features": "M", "lookback": 96, "horizon": 96},
        "examples": (2000, 1000),
        "trials": 30, "epochs": 9,
        "search": {
            "model": ["dlinear", "attention_pooling", "transformer_forecaster"],
            "self_attention": "multihead", "patch_len": 16, "hidden_size": [16, 32],
            "kernel": [13, 25], "batch_size": 64,
            "schedule": ["constant", "cosine", "exponential", "warmup_cosine"],
            "lr": {"low": 1e-5, "high": 1e-1, "log": True},
        },
        "describe": "ETTh1 M, L=96, H=96; {train} training windows (seeded subset), {valid} validation windows; "
                    "DLinear / attention pooling / Transformer (patch 16); validation MSE",
    },
    "numbers": {
        "title": "numbers-en-de",
        "study": {"task": "translation", "metric": "chrf"},
        "dataset": {"name": "numbers-en-de", "train_size": 1000, "valid_size": 200, "test_size": 200,
                    "max_number": 999_999_999, "vocab_size": 200},
        "examples": (None, None),
        "trials": 24, "epochs": 6,
        "search": {
            "model": ["rnn", "transformer"],
            "attention": ["none", "dot", "general", "location", "additive", "scaled_dot", "multihead"],
            "schedule": ["constant", "cosine", "warmup_cosine", "inverse_sqrt", "one_cycle"],
            "lr": {"low": 1e-5, "high": 3e-2, "log": True},
            "hidden_size": 64, "embedding_size": 64, "layers": 1, "transformer_layers": 1, "heads": 4,
        },
        "describe": "numbers-en-de (embedded), 1000 training pairs, 200 validation pairs; GRU encoder-decoder (hidden 64) "
                    "with 7 attention types or a 1+1-layer Transformer; validation chrF",
    },
}


def make_spec(problem: str, strategy: str, repetition: int, args: argparse.Namespace):
    sampler, pruner = STRATEGIES[strategy]
    setting = PROBLEMS[problem]
    train, valid = setting["examples"]
    budget = {"max_epochs": args.epochs or setting["epochs"], "threads": args.threads}
    if train is not None:
        budget.update(max_train_examples=args.train_examples or train, max_valid_examples=args.valid_examples or valid)
    return parse_spec({
        "study": {"name": f"search-{problem}-{strategy.replace('+', '-')}-{repetition}", **setting["study"],
                  "n_trials": args.trials or setting["trials"], "seed": repetition},
        "dataset": setting["dataset"],
        "budget": budget,
        "sampler": {**sampler, "seed": repetition},
        "pruner": pruner,
        "search": setting["search"],
    })


def trace(storage_url: str, name: str, sign: float) -> list[tuple[int, float]]:
    """(cumulative epochs, best-so-far validation value x ``sign``, so that lower is better) after each trial."""
    study = optuna.load_study(study_name=name, storage=open_storage(storage_url, write=False))
    epochs, best, points = 0, math.inf, []
    for trial in sorted(study.trials, key=lambda t: t.number):
        epochs += len(trial.intermediate_values)
        if trial.state == optuna.trial.TrialState.COMPLETE and trial.value is not None:
            best = min(best, sign * trial.value)
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


def mean_se(values: list[float], sign: float = 1.0, digits: int = 4) -> str:
    finite = [sign * v for v in values if math.isfinite(v)]
    if not finite:
        return "n/a"
    se = statistics.stdev(finite) / math.sqrt(len(finite)) if len(finite) > 1 else 0.0
    text = f"{statistics.mean(finite):.{digits}f} ± {se:.{digits}f}"
    return text if len(finite) == len(values) else f"{text} ({len(values) - len(finite)} without a result)"


def run_problem(problem: str, args: argparse.Namespace, folder: Path) -> None:
    setting = PROBLEMS[problem]
    sign = 1.0 if setting["study"]["metric"] in ("mse", "mae") else -1.0
    traces: dict[str, list[list[tuple[int, float]]]] = {name: [] for name in args.strategies}
    seconds: dict[str, float] = dict.fromkeys(args.strategies, 0.0)
    for repetition in range(args.repetitions):  # interleaved: every strategy once per repetition
        for strategy in args.strategies:
            spec = make_spec(problem, strategy, repetition, args)
            url = f"sqlite:///{folder}/{problem}-{strategy}-{repetition}.db"
            start = time.perf_counter()
            run_study(spec, storage=url, data_dir=args.data_dir, quiet=True, evaluate_test=False)
            seconds[strategy] += time.perf_counter() - start
            traces[strategy].append(trace(url, spec.name, sign))
            print(f"{problem} repetition {repetition} {strategy}: best {sign * traces[strategy][-1][-1][1]:.4f} after "
                  f"{traces[strategy][-1][-1][0]} epochs, {time.perf_counter() - start:.0f} s", flush=True)

    metric = setting["study"]["metric"]
    target = statistics.median(points[-1][1] for points in traces["random"])
    budget = max(points[-1][0] for runs in traces.values() for points in runs)
    checkpoints = sorted({max(1, round(budget * f)) for f in (0.1, 0.25, 0.5, 0.75, 1.0)})
    train, valid = setting["examples"]
    describe = setting["describe"].format(train=args.train_examples or train, valid=args.valid_examples or valid)
    lines = [
        f"{describe}; up to {args.epochs or setting['epochs']} epochs per trial; {args.trials or setting['trials']} "
        "trials per search, one worker; "
        f"{args.repetitions} repetitions (sampler seeds 0..{args.repetitions - 1}), interleaved. Compute = training "
        "epochs run (pruned trials count what they used). TPE: 8 random start-up trials.",
        "",
        f"Best validation {metric} (mean ± s.e. over repetitions) after a number of consumed epochs:",
        "",
        "| strategy | " + " | ".join(f"{c} epochs" for c in checkpoints) + " | epochs used | wall s |",
        "|---" * (len(checkpoints) + 3) + "|",
    ]
    for strategy, runs in traces.items():
        cells = [mean_se([best_at(points, c) for points in runs], sign) for c in checkpoints]
        used = statistics.mean(points[-1][0] for points in runs)
        lines.append(f"| {strategy} | " + " | ".join(cells) + f" | {used:.0f} | {seconds[strategy]:.0f} |")
    reach = {strategy: [epochs_to_reach(points, target) for points in runs] for strategy, runs in traces.items()}
    bounded = {strategy: [r if math.isfinite(r) else points[-1][0] for r, points in zip(values, traces[strategy])]
               for strategy, values in reach.items()}
    random_median = statistics.median(reach["random"])
    random_mean = statistics.mean(bounded["random"])
    lines += ["", f"Target: random search's final best (median over repetitions) = {sign * target:.4f} {metric}.", "",
              "| strategy | epochs to the target, median | mean ± s.e. | reached in | median / random's | mean / random's |",
              "|---|---|---|---|---|---|"]
    for strategy, values in reach.items():
        med = statistics.median(values)
        mean = statistics.mean(bounded[strategy])
        se = statistics.stdev(bounded[strategy]) / math.sqrt(len(values)) if len(values) > 1 else 0.0
        bound = "≥ " if any(not math.isfinite(v) for v in values) else ""
        reached = sum(math.isfinite(v) for v in values)
        ratio = f"{med / random_median:.2f}" if math.isfinite(med) and math.isfinite(random_median) else "not reached"
        lines.append(f"| {strategy} | {med:.0f} | {bound}{mean:.0f} ± {se:.0f} | {reached}/{len(values)} | {ratio} | "
                     f"{bound}{mean / random_mean:.2f} |".replace("| inf |", "| not reached |"))
    lines.append("\nGoal: the defaults at most 0.33 of random's compute.")
    record(f"Search efficiency on {setting['title']}", lines, threads=args.threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None, help="folder holding ett/ (default: $HARNESS_DATA_DIR or ./data)")
    parser.add_argument("--problem", choices=[*PROBLEMS, "all"], default="all")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--strategies", default=",".join(STRATEGIES), help="comma-separated, from: " + ", ".join(STRATEGIES))
    parser.add_argument("--trials", type=int, default=None, help="trials per search (default: ETTh1 30, numbers 24)")
    parser.add_argument("--epochs", type=int, default=None, help="max epochs per trial (default: ETTh1 9, numbers 6)")
    parser.add_argument("--train-examples", type=int, default=None, help="ETTh1 training windows (default 2000)")
    parser.add_argument("--valid-examples", type=int, default=None, help="ETTh1 validation windows (default 1000)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="2 repetitions of 6 trials, 3 epochs: checks the script runs")
    args = parser.parse_args()
    if args.quick:
        args.repetitions, args.trials, args.epochs, args.train_examples, args.valid_examples = 2, 6, 3, 300, 200
    args.strategies = [name.strip() for name in args.strategies.split(",")]
    unknown = [name for name in args.strategies if name not in STRATEGIES]
    if unknown or "random" not in args.strategies:
        parser.error(f"--strategies: {', '.join(unknown) or 'random is missing'} (accepted: {', '.join(STRATEGIES)}; "
                     "random is the reference)")
    folder = Path(tempfile.mkdtemp(prefix="harness-search-"))
    for problem in PROBLEMS if args.problem == "all" else [args.problem]:
        run_problem(problem, args, folder)


if __name__ == "__main__":
    main()
