"""Workers as Ray tasks (``--launcher ray``), on a local Ray runtime or the cluster at ``--address``.

Each worker is one Ray core task (``ray.remote``) asking for ``num_cpus = --cpus-per-worker`` and ``num_gpus =
--gpus-per-worker``, as Ray Tune's ``tune.with_resources`` places a trial: Ray starts it where those resources are
free and sets ``CUDA_VISIBLE_DEVICES`` to its GPUs. Without ``--address`` a Ray runtime starts on this machine
(``[launcher] options = { num_cpus = 2 }`` caps it, as the suite does) and stops afterwards; with ``--address auto``
or ``ray://host:10001`` the workers join that cluster, whose nodes must be able to import the harness (install it
there, or give ``[launcher] options = { runtime_env = {...} }``). Workers' output reaches this terminal through
Ray's log forwarding. Interrupting this process cancels the tasks (each fails its running trial as ``interrupted``).
"""

from __future__ import annotations

import logging
import os
from typing import ClassVar

from harness.errors import BadInputError
from harness.launchers import Job, Launcher

#: ``ray.init`` arguments ``[launcher] options`` may set; the rest are ``.options()`` of each task.
_INIT_OPTIONS = ("num_cpus", "num_gpus", "runtime_env", "namespace", "object_store_memory")


def _run(job: Job) -> None:
    """What each Ray task runs (module level: Ray pickles it by reference)."""
    job()


class RayLauncher(Launcher):
    """Workers as Ray core tasks with ``num_cpus`` / ``num_gpus`` each."""

    name: ClassVar[str] = "ray"
    fields: ClassVar[tuple[str, ...]] = ("gpus_per_worker", "cpus_per_worker", "address", "shared_filesystem")
    requires: ClassVar[tuple[str, str] | None] = ("ray", "ray")

    @property
    def remote(self) -> bool:
        return self.section.address is not None

    def open(self, jobs: list[Job], at_once: int) -> None:
        import ray

        options = dict(self.section.options)
        init = {k: options.pop(k) for k in list(options) if k in _INIT_OPTIONS}
        self._started = not ray.is_initialized()
        if self._started and self.section.address is None:
            # Ray starts its workers at nice 15, so beside anything else that runs on this machine they get almost no
            # CPU (measured: a one-thread matmul loop 25x slower beside two busy processes); a runtime started here
            # for the study runs them at normal priority unless the environment says otherwise
            os.environ.setdefault("RAY_worker_niceness", "0")
        if self._started:
            try:
                ray.init(address=self.section.address, include_dashboard=False, logging_level=logging.ERROR, **init)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise BadInputError(f"--launcher ray: cannot start or join Ray at {self.section.address or 'this machine'}: "
                                    f"{str(exc).strip().splitlines()[0]}") from None
        self._task = ray.remote(_run)
        self._resources = {"num_cpus": self.worker_threads(), "num_gpus": self.section.gpus_per_worker,
                           "max_retries": 0, **options}

    def close(self) -> None:
        import ray

        if getattr(self, "_started", False):
            ray.shutdown()

    def start(self, job: Job):
        return self._task.options(name=f"harness-{job.label.replace(' ', '-')}", **self._resources).remote(job)

    def done(self, handle) -> bool:
        import ray

        ready, _ = ray.wait([handle], timeout=0)
        return bool(ready)

    def error(self, job: Job, handle) -> tuple[str, bool] | None:
        import ray

        try:
            ray.get(handle)
        except Exception as exc:  # noqa: BLE001 - every failed task is named
            lines = [line for line in str(exc).strip().splitlines() if line.strip()]
            return lines[-1] if lines else repr(exc), False
        return None

    def cancel(self, handle) -> None:
        import ray

        ray.cancel(handle)  # a KeyboardInterrupt in the task: its running trial is failed as interrupted

    def kill(self, handle) -> None:
        """``ray.cancel(force=True)``: the task's worker process is killed."""
        import ray

        ray.cancel(handle, force=True)
