"""Random against length-bucketed training batches for translation, at equal epochs and at equal CPU time.

Settles the translation task's default ``[dataset] batches``. On Multi30k de->en (``--train-size`` training pairs,
the full 1,014-sentence validation split), each model trains with ``random`` batches for ``--epochs`` epochs and
with ``bucketed`` batches (:class:`harness_tasks.translation.task.BucketBatches`) for ``--bucketed-epochs`` epochs,
from the same seeded initial weights, for every seed; constant learning rate (Adam), so an epoch's training does
not depend on how many epochs follow and one bucketed run gives both comparisons:

- **equal epochs**: validation BLEU and chrF after ``--epochs`` epochs of each;
- **equal CPU time**: the best validation score each reaches within the training CPU seconds the random run took
  for its ``--epochs`` epochs (validation time excluded from both clocks).

Time is the process's CPU time (``time.process_time``) at one torch thread, so a busy machine slows both arms
alike. Each run is appended to ``--out`` (JSON lines) as it ends and skipped when found there, so the script
resumes; ``--summarise`` prints the tables from that file and appends them to RESULTS.md.

    python benchmarks/batching.py --data-dir ../shared/data --models rnn --seeds 0 1 2 --out batching.jsonl
    python benchmarks/batching.py --out batching.jsonl --summarise
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import statistics
import time
from pathlib import Path

#: The two configurations compared (each trains with a constant learning rate).
MODELS = {
    "rnn": {"model": "rnn", "attention": "additive", "cell": "gru", "hidden_size": 256, "embedding_size": 128,
            "dropout": 0.2, "lr": 1e-3},
    "transformer": {"model": "transformer", "transformer_layers": 2, "hidden_size": 256, "heads": 8, "norm": "pre",
                    "dropout": 0.1, "lr": 5e-4},
}
NAMES = {"rnn": "GRU + additive attention (hidden 256)", "transformer": "Transformer 2+2 layers, d 256, 8 heads, pre-norm"}


def spec_for(model: str, train_size: int, epochs: int, batches: str) -> dict:
    return {"study": {"name": "batching", "task": "translation", "metric": "bleu", "seed": 0},
            "dataset": {"name": "multi30k", "source_lang": "de", "target_lang": "en", "vocab_size": 8000,
                        "max_len": 48, "batches": batches},
            "budget": {"max_epochs": epochs, "max_train_examples": train_size, "threads": 1},
            "search": {**MODELS[model], "schedule": "constant", "batch_size": 64}}


def padding(task, data, batch_size: int, seed: int) -> dict[str, float]:
    """Padding fraction of source and target positions over one epoch of the task's batches."""
    import torch

    parts = task.train_data(data, batch_size, torch.Generator().manual_seed(seed))
    src_real = src_all = tgt_real = tgt_all = 0
    for batch in parts.batch_sampler:
        S = [len(data.train[i][0]) for i in batch]
        T = [len(data.train[i][1]) + 1 for i in batch]
        src_real, src_all = src_real + sum(S), src_all + max(S) * len(S)
        tgt_real, tgt_all = tgt_real + sum(T), tgt_all + max(T) * len(T)
    return {"source_padding": 1 - src_real / src_all, "target_padding": 1 - tgt_real / tgt_all}


def run(model: str, batches: str, epochs: int, seed: int, args) -> dict:
    import optuna
    import torch

    from harness.spec import build_space, parse_spec
    from harness.study import load_data
    from harness.task import Budget
    from harness.training import fit, seeded_model

    spec = parse_spec(spec_for(model, args.train_size, epochs, batches))
    task, data = load_data(spec, Path(args.data_dir))  # [dataset] batches picks the arm's batches
    config = build_space(spec).suggest(optuna.trial.FixedTrial({}))
    evaluation = {"cpu": 0.0}

    class Timed(type(task)):  # the validation's CPU time, taken off the training clock
        def evaluate(self, *a, **k):
            start = time.process_time()
            out = super().evaluate(*a, **k)
            evaluation["cpu"] += time.process_time() - start
            return out

    timed = Timed()
    rows = []
    start = time.process_time()
    wall = time.perf_counter()

    def on_epoch(epoch, row):
        rows.append({"epoch": epoch, "train_cpu": time.process_time() - start - evaluation["cpu"],
                     "valid_cpu": evaluation["cpu"], "wall": time.perf_counter() - wall,
                     "bleu": row["bleu"], "chrf": row["chrf"], "loss": row["loss"], "train_loss": row["train_loss"]})
        print(f"  {model} {batches} seed {seed} epoch {epoch}: train {rows[-1]['train_cpu']:.0f} s, "
              f"valid BLEU {row['bleu']:.2f} chrF {row['chrf']:.2f}", flush=True)

    net = seeded_model(timed, config, data, seed)
    fit(timed, net, data, config, Budget(epochs, args.train_size), metric="bleu", direction="maximize", seed=seed,
        on_epoch=on_epoch)
    return {"model": model, "batches": batches, "seed": seed, "epochs": epochs, "train_size": args.train_size,
            "threads": torch.get_num_threads(), "config": config, "rows": rows, **padding(task, data, 64, seed)}


def _row(lines: list[str], name: str, a: list[float], b: list[float], fmt: str = "{:.2f}") -> None:
    """One table row: both arms' means and the paired difference with its 95% t interval."""
    from harness.report.stats import mean_ci

    d = [y - x for x, y in zip(a, b)]
    m, lo, hi = mean_ci(d)
    ci = f"{m:+.2f} [{lo:+.2f}, {hi:+.2f}]" if len(d) > 1 else f"{m:+.2f}"
    lines.append(f"| {name} | {fmt.format(statistics.mean(a))} | {fmt.format(statistics.mean(b))} | {ci} |")


def _best_within(run: dict, budget: float, metric: str) -> float:
    """The best validation ``metric`` of a run's epochs that ended within ``budget`` training CPU seconds (+2%)."""
    return max((x[metric] for x in run["rows"] if x["train_cpu"] <= budget * 1.02), default=math.nan)


def summarise(results: list[dict], epochs: int) -> list[str]:
    lines = []
    for model in MODELS:
        runs = {(r["batches"], r["seed"]): r for r in results if r["model"] == model}
        seeds = sorted({s for b, s in runs if ("random", s) in runs and ("bucketed", s) in runs})
        if not seeds:
            continue
        rnd = [runs["random", s] for s in seeds]
        bkt = [runs["bucketed", s] for s in seeds]
        E = min(len(r["rows"]) for r in rnd)
        lines += [f"### {NAMES[model]}", "",
                  f"Multi30k de->en, {rnd[0]['train_size']:,} training pairs, batch 64, constant lr "
                  f"{rnd[0]['config']['lr']:g} (Adam), {len(seeds)} seeds ({', '.join(map(str, seeds))}), one torch "
                  f"thread, fp32; validation: all 1,014 sentences, greedy decoding.", ""]
        per = lambda rs, f: [f(r) for r in rs]
        per_epoch = lambda r: r["rows"][-1]["train_cpu"] / len(r["rows"])
        lines += ["| measure | random | bucketed | bucketed - random, mean [95% CI] (paired by seed) |",
                  "| --- | --- | --- | --- |"]

        row = functools.partial(_row, lines)
        row("target positions that are padding", per(rnd, lambda r: 100 * r["target_padding"]),
            per(bkt, lambda r: 100 * r["target_padding"]), "{:.1f}%")
        row("source positions that are padding", per(rnd, lambda r: 100 * r["source_padding"]),
            per(bkt, lambda r: 100 * r["source_padding"]), "{:.1f}%")
        row("training CPU seconds per epoch", per(rnd, per_epoch), per(bkt, per_epoch), "{:.0f}")
        for metric in ("bleu", "chrf"):
            row(f"validation {metric} after {E} epochs (equal epochs)", [r["rows"][E - 1][metric] for r in rnd],
                [r["rows"][E - 1][metric] for r in bkt])
        for metric in ("bleu", "chrf"):
            row(f"best validation {metric} within the random run's training CPU time (equal time)",
                [max(x[metric] for x in r["rows"][:E]) for r in rnd],
                [_best_within(b, r["rows"][E - 1]["train_cpu"], metric) for r, b in zip(rnd, bkt)])
        epochs_in_time = [sum(x["train_cpu"] <= r["rows"][E - 1]["train_cpu"] * 1.02 for x in b["rows"])
                          for r, b in zip(rnd, bkt)]
        lines += ["", f"Within the random run's time the bucketed run trained {', '.join(map(str, epochs_in_time))} "
                      f"epochs (seeds {', '.join(map(str, seeds))}).", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--train-size", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--bucketed-epochs", type=int, default=9)
    parser.add_argument("--out", default="benchmarks/batching.jsonl")
    parser.add_argument("--summarise", action="store_true")
    parser.add_argument("--quick", action="store_true", help="one seed, 1,000 pairs, 1 and 2 epochs (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.train_size, args.epochs, args.bucketed_epochs = [0], 1000, 1, 2
    out = Path(args.out)
    results = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    if args.summarise:
        from _common import record

        record("Translation batches: random against length-bucketed (equal epochs, equal CPU time)",
               summarise(results, args.epochs), threads=1)
        return
    import torch

    torch.set_num_threads(1)
    done = {(r["model"], r["batches"], r["seed"]) for r in results}
    for seed in args.seeds:
        for model in args.models:
            for batches, epochs in (("random", args.epochs), ("bucketed", args.bucketed_epochs)):
                if (model, batches, seed) in done:
                    continue
                result = run(model, batches, epochs, seed, args)
                with out.open("a") as fh:
                    fh.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
