"""Shared helpers of the benchmark scripts: the machine, timing, interleaving, and RESULTS.md.

Every script prints its numbers and appends a section to ``benchmarks/RESULTS.md`` with the command that
produced them, the CPU model and the torch thread count. Ratios are measured in one process run,
interleaved (A, B, A, B, ...), as the median of at least 5 repetitions.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine(threads: int | None = None) -> str:
    """One line: CPU model, cores, torch threads, Python and torch versions."""
    from harness.environment import cpu_model, package_version

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    line = f"{cpu_model()}, {cores} cores"
    if threads is not None:
        line += f", torch threads {threads}"
    return f"{line}; Python {platform.python_version()}, torch {package_version('torch')}, optuna {package_version('optuna')}"


def interleaved(functions: dict[str, Callable[[], float | None]], repeats: int) -> dict[str, list[float]]:
    """Call each function in turn, ``repeats`` rounds (A, B, A, B, ...); a function returns its own
    measured seconds, or ``None`` to be timed around the call."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            start = time.perf_counter()
            measured = fn()
            times[name].append(measured if measured is not None else time.perf_counter() - start)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def record(title: str, lines: list[str], threads: int | None = None) -> None:
    """Print ``lines`` and append them to RESULTS.md under ``title`` with the command and the machine."""
    command = "python " + " ".join([Path(sys.argv[0]).as_posix().split("/work/main/")[-1], *sys.argv[1:]])
    block = [f"## {title}", "", f"- command: `{command}`", f"- machine: {machine(threads)}",
             f"- date: {dt.date.today().isoformat()}", "", *lines, ""]
    text = "\n".join(block)
    print(text)
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nWritten by the scripts in `benchmarks/` (`make bench`); "
                           "newest sections last.\n\n")
    with RESULTS.open("a") as fh:
        fh.write(text + "\n")
