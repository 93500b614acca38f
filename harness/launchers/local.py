"""Worker processes on this machine (``harness run-study --workers N``, ``[launcher] name = "local"``, the default).

Each worker is a separate process (multiprocessing's ``spawn`` start method, so no PyTorch state is shared) that loads
the data, opens the study with its own sampler seed (TPE with the constant liar), its own GPU on CUDA
(``CUDA_VISIBLE_DEVICES``, one GPU per worker in turn: ``--devices 0,1,2,3``) and ``threads // N`` torch threads, and
runs trials until the study holds the target number of finished trials (a worker left alone with the last trial takes
every worker's threads for its remaining epochs: :class:`~harness.study.optimize.TailThreads`); this is Optuna's
storage-based distributed
optimisation, the same that runs across machines against one PostgreSQL or MySQL URL. The parent forwards
SIGINT/SIGTERM to the workers as SIGTERM (each fails its running trial as ``interrupted``) and reports a worker that
died.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from harness.errors import EXIT_BAD_INPUT, EXIT_FAILURE, BadInputError
from harness.launchers import Job, Launcher, WorkerJob

if TYPE_CHECKING:
    from harness.spec import StudySpec


def _entry(job: Job) -> None:
    """A worker process's main: one line on stderr and an exit code instead of a traceback."""
    from harness.console import error

    try:
        job()
    except KeyboardInterrupt:
        sys.exit(130)
    except BadInputError as exc:
        error(f"{job.label}: {exc}")
        sys.exit(EXIT_BAD_INPUT)
    except Exception as exc:  # noqa: BLE001 - reported as one line, exit 1
        error(f"{job.label}: {type(exc).__name__}: {exc}")
        sys.exit(EXIT_FAILURE)


class LocalLauncher(Launcher):
    """Worker processes on this machine, ``threads // workers`` torch threads each."""

    name: ClassVar[str] = "local"
    fields: ClassVar[tuple[str, ...]] = ()

    @property
    def remote(self) -> bool:
        return False

    def worker_threads(self) -> int:
        return max(1, (self.threads or 1) // self.workers)

    def jobs(self, base: WorkerJob) -> list[WorkerJob]:
        """The workers' jobs; each may take all ``threads`` when it is left alone with the study's last trial."""
        tail = self.threads if (self.threads or 1) > self.worker_threads() else None
        return [replace(job, tail_threads=tail) for job in super().jobs(base)]

    def open(self, jobs: list[Job], at_once: int) -> None:
        self._context = multiprocessing.get_context("spawn")

    def start(self, job: Job) -> multiprocessing.process.BaseProcess:
        process = self._context.Process(target=_entry, args=(job,), name=f"harness-{job.label.replace(' ', '-')}")
        with _visible_devices(getattr(job, "visible_devices", None)):  # a spawned process copies the environment
            process.start()
        return process

    def done(self, handle) -> bool:
        if handle.is_alive():
            return False
        handle.join()
        return True

    def error(self, job: Job, handle) -> tuple[str, bool] | None:
        if handle.exitcode == 0:
            return None
        return f"exited with {handle.exitcode} (see above)", handle.exitcode == EXIT_BAD_INPUT

    def cancel(self, handle) -> None:
        if handle.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(handle.pid, signal.SIGTERM)

    def kill(self, handle) -> None:
        """SIGKILL (``multiprocessing.Process.kill``)."""
        if handle.is_alive():
            handle.kill()


def worker_devices(spec: StudySpec, workers: int, devices: list[str] | None) -> list[str | None]:
    """The GPU each worker sees (its ``CUDA_VISIBLE_DEVICES``), ``None`` for none: ``devices`` in turn (worker k gets
    ``devices[k % len(devices)]``), by default every visible GPU when the study trains on CUDA, else none.

    Raises:
        BadInputError: ``--devices`` with a single worker, with a device other than ``auto`` or ``cuda``, or with an
            entry that is not a GPU index.
    """
    if devices:
        if workers < 2:
            raise BadInputError(f"--devices {','.join(devices)} gives each of several --workers its own GPU; with one "
                                "worker use --device cuda:N")
        if spec.budget.device not in ("auto", "cuda"):
            raise BadInputError(f"--devices needs device 'auto' or 'cuda' (each worker sees one GPU as cuda), got "
                                f"'{spec.budget.device}'")
        bad = [d for d in devices if not d.isdigit()]
        if bad:
            raise BadInputError(f"--devices takes GPU indices such as 0,1,2,3, got '{bad[0]}'")
        return [devices[k % len(devices)] for k in range(workers)]
    if workers < 2 or spec.budget.device in ("cpu", "mps"):
        return [None] * workers
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return [str(k % count) for k in range(workers)] if count else [None] * workers


@contextlib.contextmanager
def _visible_devices(gpu: str | None):
    """``CUDA_VISIBLE_DEVICES=gpu`` in this process's environment for the block (unchanged for ``None``)."""
    if gpu is None:
        yield
        return
    before = os.environ.get("CUDA_VISIBLE_DEVICES")
    os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = before
