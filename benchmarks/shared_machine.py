"""Training steps alone and beside a busy process, with a spinning and the passive OpenMP wait policy.

On a shared machine another process keeping a core busy used to slow a 2-thread training step 3-4x: OpenMP's
idle threads spin for the core the other process holds. The harness sets ``OMP_WAIT_POLICY=PASSIVE`` (before
PyTorch loads) unless the user set a policy. This script measures, in fresh subprocesses (the policy is read
once, when PyTorch loads OpenMP), the median time of a GRU encoder-decoder training step (the translation
task's RNN with dot attention, numbers-en-de, batch 64) in four set-ups, interleaved ``--repeats`` times:
alone or beside one busy process (a pure-Python loop), with a spinning (``ACTIVE``) or the passive policy.
Torch threads: ``--threads`` (default 2, the cores of the reference machine). Goal: beside a busy process at
most 1.3x the time alone (not 3-30x). Run it on an otherwise idle machine.

    python benchmarks/shared_machine.py [--repeats 5] [--steps 40] [--threads 2] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import median, record

REPO = Path(__file__).resolve().parents[1]

STEP = """
import json, sys, time, torch
import harness  # sets OMP_WAIT_POLICY=PASSIVE unless the environment has a policy
from harness.spec import build_space, parse_spec
from harness.study import load_data, resolve_data_dir
from harness.training import build_optimizer, seeded_model
import optuna
torch.set_num_threads(int(sys.argv[1]))
steps = int(sys.argv[2])
spec = parse_spec({"study": {"name": "t", "task": "translation"},
                   "dataset": {"name": "numbers-en-de", "train_size": 2000, "vocab_size": 200},
                   "search": {"model": "rnn", "attention": "dot", "schedule": "constant", "lr": 1e-3,
                              "hidden_size": 128, "batch_size": 64}}, source="bench")
task, data = load_data(spec, resolve_data_dir(None))
config = build_space(spec).suggest(optuna.create_study(sampler=optuna.samplers.RandomSampler(0)).ask())
model = seeded_model(task, config, data, 0)
optimizer = build_optimizer(model, config)
from harness.data import train_loader
batches = list(train_loader(task, data, 64, torch.Generator().manual_seed(0)))
times = []
for i in range(steps + 5):
    batch = batches[i % len(batches)]
    start = time.perf_counter()
    loss, _ = task.loss(model, batch)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    if i >= 5:  # warm-up steps are not counted
        times.append(time.perf_counter() - start)
times.sort()
print(json.dumps({"median_ms": 1000 * times[len(times) // 2], "policy": __import__("os").environ.get("OMP_WAIT_POLICY")}))
"""

BUSY = "import time\nend = time.time() + 3600\nwhile time.time() < end:\n    pass\n"


def step_ms(threads: int, steps: int, policy: str | None, busy: bool) -> float:
    """Median training-step time (ms) of a fresh subprocess, optionally beside a busy process."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    env["PYTHONPATH"] = str(REPO)
    hog = subprocess.Popen([sys.executable, "-c", BUSY]) if busy else None
    try:
        if hog is not None:
            time.sleep(0.5)
        proc = subprocess.run([sys.executable, "-c", STEP, str(threads), str(steps)], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=900)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    if proc.returncode != 0:
        raise SystemExit(f"the training subprocess failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["median_ms"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40, help="measured training steps per subprocess")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the training process")
    parser.add_argument("--quick", action="store_true", help="1 repeat of 8 steps: check that it runs")
    args = parser.parse_args()
    repeats, steps = (1, 8) if args.quick else (args.repeats, args.steps)
    # The spinning case is started with OMP_WAIT_POLICY=ACTIVE: with no policy at all the harness import would set
    # PASSIVE, and ACTIVE is what lets idle OpenMP threads spin (libgomp spins for a while by default).
    setups = {("default", False): ("ACTIVE", False), ("default", True): ("ACTIVE", True),
              ("passive", False): ("PASSIVE", False), ("passive", True): ("PASSIVE", True)}
    times: dict[tuple[str, bool], list[float]] = {k: [] for k in setups}
    for _ in range(repeats):
        for key, (policy, busy) in setups.items():
            times[key].append(step_ms(args.threads, steps, policy, busy))
    rows = ["| OMP_WAIT_POLICY | alone: ms per step | beside a busy process: ms per step | ratio |", "| --- | --- | --- | --- |"]
    for policy in ("default", "passive"):
        alone, busy = median(times[(policy, False)]), median(times[(policy, True)])
        label = "ACTIVE (spinning, what a default libgomp may do)" if policy == "default" else "PASSIVE (the harness default)"
        rows.append(f"| {label} | {alone:.1f} | {busy:.1f} | {busy / alone:.2f}x |")
    lines = [f"GRU encoder-decoder with dot attention (hidden 128), numbers-en-de, batch 64; median of {steps} steps per "
             f"subprocess, median over {repeats} interleaved repeats; goal: beside a busy process <= 1.3x alone.", "",
             *rows]
    record("Training steps beside a busy process", lines, threads=args.threads)


if __name__ == "__main__":
    main()
