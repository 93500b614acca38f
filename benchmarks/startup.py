"""Start-up time of the command line: `harness --help` and `harness list` (goal: under 1 second).

Each command runs in a fresh process; the median of 7 runs is reported, with whether PyTorch was imported.

    python benchmarks/startup.py [--repeats 7] [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from _common import median, record


def wall(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness", *args], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="2 runs of each command: checks the script runs")
    args = parser.parse_args()
    if args.quick:
        args.repeats = 2
    code = "import sys; from harness import api; api.catalogue(); print('torch' in sys.modules)"
    torch_loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    rows = []
    for command in (["--help"], ["list"]):
        times = [wall(command) for _ in range(args.repeats)]
        rows.append(f"| `harness {' '.join(command)}` | {median(times):.3f} | {min(times):.3f} | "
                    f"{'yes' if median(times) < 1.0 else 'no'} |")
    record("Start-up", ["| command | median s | min s | under 1 s |", "| --- | --- | --- | --- |", *rows, "",
                        f"PyTorch imported by `harness list`: {torch_loaded}."])


if __name__ == "__main__":
    main()
