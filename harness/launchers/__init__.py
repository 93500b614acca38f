"""Launchers: where the worker processes of a study run, on engines users already run.

A study with several workers is Optuna's storage-based distributed optimisation: every worker opens the same storage
and runs trials until the study holds its target of finished ones. A :class:`Launcher` only starts those workers and
waits for them (at most so many at a time: :meth:`Launcher.run`); the study itself never depends on how they
were started. Registered under ``[launcher] name``
(``harness list launchers``):

- ``local`` (:mod:`.local`): processes on this machine (``--workers N``), one GPU each with ``--devices``;
- ``slurm`` (:mod:`.slurm`): a Slurm job array through submitit, one job per worker (``cluster = "local"`` runs the
  same code path as local processes);
- ``ray`` (:mod:`.ray_core`): Ray tasks with ``num_cpus`` / ``num_gpus`` per worker, on a local Ray runtime or the
  cluster at ``--address``.

Each worker runs a :class:`WorkerJob` (any :class:`Job`: a benchmark's units are
:class:`harness.benchmark.BenchmarkJob`), a picklable description of :func:`harness.study.run.worker_main` and its
arguments (absolute paths, so a job started elsewhere finds the data, the storage file and the checkpoints). With a
launcher other than ``local`` the test evaluation after the search is one more job on the same engine (it may need
the GPU the login node does not have). While jobs run, the caller's ``poll`` is called every
:data:`POLL_SECONDS`, which prints each trial that finished.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from harness.errors import BadInputError, HarnessError

if TYPE_CHECKING:
    from harness.spec import LauncherSection

#: Seconds between two looks at running jobs (and at the storage for finished trials).
POLL_SECONDS = 2.0

#: Seconds an interrupted launcher waits for its cancelled jobs to end before it kills those still running.
CANCEL_WAIT_SECONDS = 60.0


class Job(Protocol):
    """What a launcher runs: a picklable callable with a ``label`` for messages and a ``group`` (the study or
    benchmark it belongs to: the job names and log folders)."""

    label: str
    group: str

    def __call__(self) -> None: ...


@dataclass(frozen=True)
class WorkerJob:
    """One worker of a study, as any launcher can run it: call it, in any process that can import the harness.

    Attributes:
        spec_data: The study's spec as plain data (the TOML layout).
        storage: The storage URL (a SQLite path made absolute).
        data_dir: The datasets folder (absolute), or ``None``.
        worker: The worker's index (its sampler seed offset).
        threads: Torch threads of the worker.
        checkpoints: The per-epoch checkpoint folder (absolute), or ``None``.
        trial_weights: Whether trials keep their best-epoch weights for the test evaluation.
        evaluate: Instead of trials, the test evaluation after the search (the baselines, the best configuration,
            its kept model): :func:`harness.study.run.evaluation_main`.
        artifacts: The artifact folder (absolute) of the kept models, for ``evaluate``.
        visible_devices: ``CUDA_VISIBLE_DEVICES`` for the worker (the local launcher's ``--devices``), or ``None``.
        tail_threads: Torch threads the worker takes once it runs the study's last trial alone (the local launcher:
            every worker's share of the machine; :class:`harness.study.optimize.TailThreads`), or ``None``.
    """

    spec_data: dict[str, Any]
    storage: str
    data_dir: str | None
    worker: int
    threads: int
    checkpoints: str | None = None
    trial_weights: bool = False
    evaluate: bool = False
    artifacts: str | None = None
    visible_devices: str | None = None
    tail_threads: int | None = None

    @property
    def label(self) -> str:
        return "test evaluation" if self.evaluate else f"worker {self.worker}"

    @property
    def group(self) -> str:
        return self.spec_data["study"]["name"]

    def __call__(self) -> None:
        from harness.study.run import evaluation_main, worker_main

        if self.evaluate:
            evaluation_main(self.spec_data, self.storage, self.data_dir, self.threads, self.artifacts)
        else:
            worker_main(self.spec_data, self.storage, self.data_dir, self.worker, self.threads, self.checkpoints,
                        self.trial_weights, self.tail_threads)


class Launcher(ABC):
    """Starts a study's workers on an engine and waits for them.

    Class attributes:
        name: The registry name (``[launcher] name``).
        fields: The ``[launcher]`` options it reads (others are refused when the spec is read).
        requires: The module it imports and the package that installs it, checked before anything runs.

    Args:
        section: The spec's ``[launcher]`` table.
        workers: How many workers to start.
        threads: Torch threads of the whole run (``local`` divides them among its workers).
    """

    name: ClassVar[str]
    fields: ClassVar[tuple[str, ...]] = ()
    requires: ClassVar[tuple[str, str] | None] = None

    def __init__(self, section: LauncherSection, workers: int, threads: int):
        self.section = section
        self.workers = workers
        self.threads = threads
        self.devices: list[str | None] = [None] * workers  # the GPU of each worker slot (:func:`place_on_devices`)

    def check(self) -> None:
        """Refuse, before anything runs, a launcher whose package is not installed.

        Raises:
            BadInputError: naming the package to install.
        """
        if self.requires is None:
            return
        import importlib.util

        module, package = self.requires
        if importlib.util.find_spec(module) is None:
            raise BadInputError(f"--launcher {self.name} needs {package}; pip install '{package}' "
                                f"(or 'harness[{self.name}]')")

    @property
    def remote(self) -> bool:
        """Whether workers may run on another machine (then a SQLite or journal file needs a shared filesystem)."""
        return True

    def worker_threads(self) -> int:
        """Torch threads of each worker: ``cpus_per_worker``, else ``[budget] threads``, else 1."""
        return self.section.cpus_per_worker or self.threads or 1

    def jobs(self, base: WorkerJob) -> list[WorkerJob]:
        """The workers' jobs: ``base`` with each worker's index and thread count."""
        return [replace(base, worker=k, threads=self.worker_threads()) for k in range(self.workers)]

    def run(self, jobs: list[Job], poll: Callable[[], None], at_once: int | None = None,
            then: Callable[[Job], list[Job]] | None = None) -> None:
        """Run ``jobs``, at most ``at_once`` at a time (default: all together), calling ``poll()`` every
        :data:`POLL_SECONDS` until all have ended; a job that ends makes room for the next one in the list.

        ``then(job)``, called in this process when ``job`` has ended without error, returns the jobs it unlocks (a
        benchmark arm's seeded re-runs once its inner search is done); they join the end of the queue and run
        ``at_once`` at a time with the rest. Nothing follows a job that failed. Each job runs in one of ``at_once``
        worker slots and takes that slot's GPU (:meth:`place`), so on a machine with a GPU per slot no two running jobs
        share one.

        Raises:
            HarnessError: a job failed (every failed job named, with where its log is; the other jobs still ran);
                BadInputError when every one failed on bad input.
            KeyboardInterrupt: this process was interrupted; the running jobs were cancelled first (each fails its
                running trial as ``interrupted``, so the same command resumes them; one still running
                :data:`CANCEL_WAIT_SECONDS` later is killed) and the queued ones not started.
        """
        at_once = max(1, at_once or len(jobs))
        queue = list(jobs)
        running: list[tuple[Job, Any, int]] = []  # job, handle, worker slot
        failed: list[tuple[str, str, bool]] = []
        self.open(queue, min(at_once, len(queue)))
        try:
            first, queue = [self.place(job, k) for k, job in enumerate(queue[:at_once])], queue[at_once:]
            running = [(job, handle, k) for k, (job, handle) in enumerate(zip(first, self.start_all(first)))]
            free = list(range(len(first), at_once))  # worker slots without a job
            while running:
                time.sleep(POLL_SECONDS)
                poll()
                for job, handle, slot in [r for r in running if self.done(r[1])]:
                    running.remove((job, handle, slot))
                    free.append(slot)
                    error = self.error(job, handle)
                    if error is not None:
                        failed.append((job.label, *error))
                    elif then is not None:
                        queue += then(job)
                free.sort()
                while queue and free:  # the next jobs take the free slots (and their GPUs), lowest first
                    slot = free.pop(0)
                    job = self.place(queue.pop(0), slot)
                    running.append((job, self.start(job), slot))
        except KeyboardInterrupt:
            for _, handle, _ in running:
                self.cancel(handle)
            deadline = time.monotonic() + CANCEL_WAIT_SECONDS
            while time.monotonic() < deadline and not all(self.done(h) for _, h, _ in running):
                time.sleep(0.5)
            for _, handle, _ in running:
                if not self.done(handle):
                    self.kill(handle)
            raise
        finally:
            self.close()
        poll()
        if failed:
            kind = BadInputError if all(bad for _, _, bad in failed) else HarnessError
            raise kind(failures([(label, message) for label, message, _ in failed]))

    def place(self, job: Job, slot: int) -> Job:
        """``job`` as it runs in worker slot ``slot`` (``0 .. at_once - 1``): with the slot's GPU from :attr:`devices`
        (``CUDA_VISIBLE_DEVICES``) where the job takes one and the slot has one; otherwise ``job`` unchanged."""
        gpu = self.devices[slot % len(self.devices)]
        if gpu is None or not hasattr(job, "visible_devices"):
            return job
        return replace(job, visible_devices=gpu)

    def open(self, jobs: list[Job], at_once: int) -> None:
        """Prepare the engine for ``jobs``, ``at_once`` at a time (start a runtime, create an executor)."""
        return None

    def close(self) -> None:
        """Release what :meth:`open` started."""
        return None

    def start_all(self, jobs: list[Job]) -> list[Any]:
        """Start ``jobs`` together (one scheduler call where the engine has one); their handles."""
        return [self.start(job) for job in jobs]

    @abstractmethod
    def start(self, job: Job) -> Any:
        """Start ``job``; its handle."""

    @abstractmethod
    def done(self, handle: Any) -> bool:
        """Whether the job of ``handle`` has ended (however it ended)."""

    @abstractmethod
    def error(self, job: Job, handle: Any) -> tuple[str, bool] | None:
        """``None`` for a job that succeeded, else one line of what went wrong and where its log is, and whether it
        ended on bad input."""

    @abstractmethod
    def cancel(self, handle: Any) -> None:
        """Ask the job of ``handle`` to stop (SIGTERM or the engine's cancel: it fails its trial as interrupted)."""

    def kill(self, handle: Any) -> None:
        """End the job of ``handle``, still running :data:`CANCEL_WAIT_SECONDS` after :meth:`cancel` (default: cancel
        it again); a trial it leaves RUNNING goes to the heartbeat."""
        self.cancel(handle)


def build(section: LauncherSection, workers: int, threads: int) -> Launcher:
    """The launcher of ``section`` for ``workers`` workers, its package checked.

    Raises:
        BadInputError: ``workers`` below 1, or the launcher's package is missing.
    """
    from harness.registry import LAUNCHERS

    if workers < 1:
        raise BadInputError(f"--workers must be at least 1, got {workers}")
    launcher = LAUNCHERS.get(section.name)(section, workers, threads)
    launcher.check()
    return launcher


def place_on_devices(launcher: Launcher, spec: Any, devices: list[str] | None) -> None:
    """Give each worker slot of a local launcher its GPU (:func:`harness.launchers.local.worker_devices`: ``devices`` in
    turn, by default every visible GPU when ``spec`` trains on CUDA); a job started in a slot sees only that GPU.

    Raises:
        BadInputError: ``devices`` that cannot be honoured, or ``devices`` with a launcher other than ``local`` (whose
            engine places its workers: ``--gpus-per-worker``).
    """
    if launcher.name == "local":
        from harness.launchers.local import worker_devices

        launcher.devices = worker_devices(spec, launcher.workers, devices)
    elif devices:
        raise BadInputError(f"--devices places local workers; with --launcher {launcher.name} ask for GPUs with "
                            "--gpus-per-worker")


def check_storage(launcher: Launcher, storage: str) -> None:
    """Refuse a SQLite or journal file when the launcher's workers may run on another machine, unless the spec says
    the file is on a shared filesystem.

    Raises:
        BadInputError: a file storage with a remote launcher and no ``shared_filesystem``.
    """
    from harness.storage import display_url, journal_path, sqlite_path

    path = journal_path(storage) or sqlite_path(storage)
    if path is None or not launcher.remote or launcher.section.shared_filesystem:
        return
    raise BadInputError(f"--launcher {launcher.name} may run workers on other machines, which cannot reach the file "
                        f"storage '{display_url(storage)}'; use a database server (--storage "
                        "postgresql://user@host/db) or, if every node mounts '" + str(path.parent.resolve()) + "', say "
                        "so with --shared-fs ([launcher] shared_filesystem = true)")


def failures(labels_and_errors: list[tuple[str, str]]) -> str:
    """One line naming every failed job: ``worker 0 failed: ...; worker 3 failed: ...``."""
    return "; ".join(f"{label} failed: {error}" for label, error in labels_and_errors)
