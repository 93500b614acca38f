"""Harness overhead: one trial inside the harness against the same training in a bare PyTorch loop.

The same model (an RNN encoder-decoder with additive attention), data (numbers-en-de), seed, epochs and
batches are trained (a) by the harness's trial path (``make_objective``: suggest, fit with per-epoch
evaluation, report to Optuna, store curves and the LR of every step in SQLite) and (b) by a bare loop
that only does the training steps and the same per-epoch evaluation. Both run in this process,
interleaved (A, B, A, B, ...); the ratio of medians is reported. Goal: at most 1.03.

    python benchmarks/overhead.py [--threads 2] [--repeats 5] [--train 2000] [--epochs 2] [--profile] [--quick]

With ``--profile`` one more harness trial runs under cProfile and the seconds spent in the calls only the
harness makes (Optuna ask/tell/suggest/report, user attributes, the scheduler step) are reported: the
wall-time ratio on this 2-core VM varies by several percent between runs, and the accounting separates
the harness's own cost from that noise.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import optuna
import torch
from _common import interleaved, median, record

from harness.data import train_loader
from harness.spec import parse_spec
from harness.storage import open_storage
from harness.study import Plan, load_data, make_objective
from harness.training import build_optimizer, seed_everything


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train", type=int, default=2000, help="training pairs (a longer trial: more)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--profile", action="store_true",
                        help="also account one harness trial with cProfile: seconds in the harness-only calls")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    train = 400 if args.quick else args.train
    spec = parse_spec({
        "study": {"name": "overhead", "task": "translation", "metric": "chrf", "n_trials": 1000},
        "dataset": {"name": "numbers-en-de", "train_size": train, "valid_size": 100, "test_size": 100,
                    "max_number": 999_999, "vocab_size": 100},
        "budget": {"max_epochs": args.epochs, "threads": args.threads},
        "search": {"model": "rnn", "attention": "additive", "schedule": "constant", "lr": 3e-3,
                   "hidden_size": 64, "embedding_size": 32},
    })
    task, data = load_data(spec, None)
    folder = tempfile.mkdtemp()
    study = optuna.create_study(storage=open_storage(f"sqlite:///{folder}/overhead.db", write=True), direction="maximize",
                                pruner=optuna.pruners.NopPruner())  # every harness trial trains both epochs
    objective = make_objective(Plan.resolve(spec, task, data, args.threads))
    config = None

    def harness_trial() -> None:
        nonlocal config
        trial = study.ask()
        value = objective(trial)
        study.tell(trial, value)
        config = trial.user_attrs["config"]

    harness_trial()  # warm-up, and the configuration the bare loop trains

    def bare_loop() -> None:
        seed = spec.study.seed + len(study.trials) - 1  # the seed the last harness trial used
        generator = seed_everything(seed)
        model = task.build_model(config, data)
        optimizer = build_optimizer(model, config)
        loader = train_loader(task, data, config["batch_size"], generator)
        for _ in range(spec.budget.max_epochs):
            model.train()
            for batch in loader:
                loss, _ = task.loss(model, batch)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config["grad_clip"])
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            task.evaluate(model, data, "valid")

    bare_loop()  # warm-up
    times = interleaved({"harness": harness_trial, "bare": bare_loop}, args.repeats)
    ratio = median(times["harness"]) / median(times["bare"])
    accounting = profile_harness_only(harness_trial) if args.profile else []
    record("Harness overhead", [
        f"Trial of {args.epochs} epochs on {train} numbers-en-de pairs (RNN, additive attention, hidden 64), {args.repeats} "
        "interleaved repetitions.", "",
        "| path | median s | all s |", "| --- | --- | --- |",
        f"| harness trial (suggest, fit, report, store in SQLite) | {median(times['harness']):.3f} | "
        f"{', '.join(f'{t:.2f}' for t in times['harness'])} |",
        f"| bare PyTorch loop | {median(times['bare']):.3f} | {', '.join(f'{t:.2f}' for t in times['bare'])} |", "",
        f"Ratio harness / bare: **{ratio:.3f}** (goal: at most 1.03); difference of the medians "
        f"{median(times['harness']) - median(times['bare']):.2f} s per trial.", *accounting,
    ], threads=args.threads)


#: The calls only the harness makes around the training both paths share (Optuna's API and the storage).
HARNESS_ONLY = {"ask": "optuna/study/study.py", "tell": "optuna/study/study.py", "suggest": "harness/space.py",
                "set_user_attr": "optuna/trial/_trial.py", "report": "optuna/trial/_trial.py",
                "should_prune": "optuna/trial/_trial.py", "after_optimizer_step": "harness/schedules.py"}
# (store_result is its set_user_attr calls; counting it too would count them twice)


def profile_harness_only(harness_trial) -> list[str]:
    """One harness trial under cProfile: total seconds, and seconds inside the harness-only calls."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(harness_trial)
    stats = pstats.Stats(profiler).stats  # (file, line, name) -> (calls, primitive, tottime, cumtime, callers)
    total = sum(tottime for _, _, tottime, _, _ in stats.values())
    own = {name: 0.0 for name in HARNESS_ONLY}
    for (file, _, name), (_, _, _, cumtime, _) in stats.items():
        if name in HARNESS_ONLY and file.replace("\\", "/").endswith(HARNESS_ONLY[name]):
            own[name] += cumtime
    spent = sum(own.values())
    return ["", f"Profile of one harness trial (cProfile): {total:.2f} s in all, {spent:.3f} s ({spent / total:.1%}) in the "
            "harness-only calls: " + ", ".join(f"{n} {v * 1e3:.0f} ms" for n, v in own.items()) + "."]


if __name__ == "__main__":
    started = time.perf_counter()
    main()
