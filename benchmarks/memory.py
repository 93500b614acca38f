"""Peak memory and time of validating the ETTh1 forecaster with additive attention: in blocks of queries against one piece.

Bahdanau's additive score builds ``tanh(W_q s + W_k h)`` for every query-key pair, ``(B, 96, 96, hidden)`` for a
batch of ``B`` windows of ETTh1 (L = H = 96). The harness computes it a block of queries at a time
(``harness.attention.additive.BLOCK_ELEMENTS``); this script validates the same model on the same windows with the
blocks and with one piece (the block set larger than any batch), alternating, and records the peak resident memory
above the process's memory before each validation (Linux ``VmHWM``, reset through ``/proc/self/clear_refs``) and
the seconds it took. fp32, the torch threads given.

    python benchmarks/memory.py [--data-dir ../shared/data] [--threads 1] [--quick]
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path


def status(field: str) -> int:
    """A ``/proc/self/status`` field in bytes (``VmRSS``, ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def peak_above_start(run) -> tuple[float, float]:
    """``(peak resident bytes above the memory at the start, seconds)`` of ``run()``."""
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) restarts from the current resident size
    start, began = status("VmRSS"), time.perf_counter()
    run()
    return status("VmHWM") - start, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="hidden 64 only, one repeat")
    args = parser.parse_args()
    import torch
    from _common import median, record

    from harness.attention import additive
    from harness.spec import parse_spec
    from harness.study import load_data

    torch.set_num_threads(args.threads)
    spec = parse_spec({"study": {"name": "m", "task": "forecasting", "metric": "mse"},
                       "dataset": {"name": "ett", "features": "M", "lookback": 96, "horizon": 96}})
    task, data = load_data(spec, Path(args.data_dir))
    blocked = additive.BLOCK_ELEMENTS
    lines = [f"ETTh1 M, L = H = 96, validation split ({len(data.valid):,} windows, evaluation batches of 512), "
             f"rnn_forecaster with additive attention, fp32; peak resident memory above the start of the validation, "
             f"median of {1 if args.quick else args.repeats}:", "",
             "| hidden | one piece: peak MB | blocks: peak MB | one piece: s | blocks: s |", "| --- | --- | --- | --- | --- |"]
    for hidden in (64,) if args.quick else (64, 128):
        torch.manual_seed(0)
        model = task.build_model({"model": "rnn_forecaster", "attention": "additive", "cell": "gru", "hidden_size": hidden,
                                  "dropout": 0.0, "heads": 1, "layers": 1, "input_feeding": False, "revin": True}, data)
        results: dict[str, list[tuple[float, float]]] = {"one piece": [], "blocks": []}
        for _ in range(1 if args.quick else args.repeats):
            for name, elements in (("one piece", 2**62), ("blocks", blocked)):
                additive.BLOCK_ELEMENTS = elements
                results[name].append(peak_above_start(functools.partial(task.evaluate, model, data, "valid")))
        additive.BLOCK_ELEMENTS = blocked
        mb = {n: median([p for p, _ in r]) / 2**20 for n, r in results.items()}
        s = {n: median([t for _, t in r]) for n, r in results.items()}
        lines.append(f"| {hidden} | {mb['one piece']:,.0f} | {mb['blocks']:,.0f} | {s['one piece']:.2f} | {s['blocks']:.2f} |")
    record("Forecaster validation memory: additive attention in blocks of queries", lines, threads=args.threads)


if __name__ == "__main__":
    main()
