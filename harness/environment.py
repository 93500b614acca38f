"""Where a study ran: versions, git commit, CPU and threads. Stored with the study for reproducibility."""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = ("harness", "torch", "optuna", "sacrebleu", "sentencepiece", "numpy", "sqlalchemy")


def package_version(name: str) -> str | None:
    """Installed version of a distribution, or ``None``."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def cpu_model() -> str:
    """The CPU model name (from ``/proc/cpuinfo`` on Linux), else ``platform.processor()``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit(path: Path | None = None) -> str | None:
    """The commit checked out at ``path`` (default: the working directory), ``+dirty`` if modified; ``None`` outside
    a git checkout. Asked once per folder and process (two ``git`` subprocesses): the code a process runs is what it
    imported, whatever the checkout becomes later, and the study's environment, each worker's objective and each
    seeded re-run of a benchmark all record it."""
    return _git_commit((path or Path.cwd()).resolve())


@functools.cache
def _git_commit(cwd: Path) -> str | None:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=5)
        return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment(threads: int, placement: Any = None, *, threads_from: str | None = None) -> dict[str, Any]:
    """JSON-able description of this machine and software, for the study's metadata.

    Args:
        threads: Torch threads of each trial.
        placement: The :class:`~harness.device.Placement` trials train on (device, precision, compile); its
            record and the GPUs this process sees (count, names, CUDA and cuDNN versions) are included.
        threads_from: Where ``threads`` came from, in words (the spec, or the cores available).
    """
    import os

    from harness import SET_OMP_WAIT_POLICY
    from harness.spec import available_cores

    record = {
        "python": platform.python_version(),
        "packages": {name: package_version(name) for name in PACKAGES},
        "git_commit": git_commit(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_cores_available": available_cores(),
        "torch_threads": threads,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "omp_wait_policy_from": "harness (passive unless set)" if SET_OMP_WAIT_POLICY else "the environment",
    }
    if threads_from:
        record["torch_threads_from"] = threads_from
    if placement is not None:
        from harness.device import gpu_environment

        record.update(placement.describe())
        record.update(gpu_environment())
    return record
