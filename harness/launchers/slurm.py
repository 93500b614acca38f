"""A Slurm job array of workers, through submitit (``--launcher slurm``).

This is how most researchers with GPU clusters run Optuna: one worker per GPU as a Slurm job array against one
database every node reaches. :class:`SlurmLauncher` submits the workers with submitit's ``AutoExecutor.map_array``
(one scheduler call, ``slurm_array_parallelism`` = the number of workers), one job per worker with
``--gpus-per-worker`` GPUs, ``--cpus-per-worker`` cores (its torch threads), ``--partition``, ``--time`` and
``[launcher] mem_gb``; further submitit parameters (``slurm_account``, ``slurm_qos``,
``slurm_additional_parameters``) come from ``[launcher] options``. Each job's log is
``<log_dir>/<study>/<job id>_0_log.{out,err}`` (submitit's layout). ``[launcher] cluster = "local"`` runs the
same code path with submitit's local executor, as processes of this machine: that is how the suite tests it.

While the array runs, the submitting process prints finished trials from the storage (``harness studies`` shows the
same from anywhere). Interrupting it (Ctrl+C) cancels the array; a cancelled worker receives SIGTERM (``scancel``;
on the local cluster, through submitit's job controller, which forwards it and waits for the job to end) and fails
its running trial as ``interrupted``, so no trial stays RUNNING and the same command resumes it from its checkpoint.
A job that has not ended one minute later is killed (:meth:`SlurmLauncher.kill`). A worker killed without a word
(SIGKILL after Slurm's ``KillWait``, a lost node) leaves its trial to the heartbeat: failed and re-queued one grace
period later.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path
from typing import ClassVar

from harness.errors import BadInputError
from harness.launchers import Job, Launcher

#: The job time limit given to submitit's local executor when ``--time`` is not set (it has one, of 5 minutes).
LOCAL_TIMEOUT_MIN = 7 * 24 * 60


def _run(job: Job) -> None:
    """What each array job runs (a module-level function: submitit pickles it by reference).

    SIGTERM, which submitit's job environment ignores (it only logs it), raises
    :class:`~harness.study.objective.Terminated` from here on, as it does inside a study: a job cancelled before its
    first trial stops instead of going on to take one."""
    from harness.study.objective import raise_terminated

    signal.signal(signal.SIGTERM, raise_terminated)
    job()


class SlurmLauncher(Launcher):
    """Workers as a Slurm job array through submitit."""

    name: ClassVar[str] = "slurm"
    fields: ClassVar[tuple[str, ...]] = ("gpus_per_worker", "cpus_per_worker", "partition", "time", "mem_gb",
                                         "cluster", "shared_filesystem")
    requires: ClassVar[tuple[str, str] | None] = ("submitit", "submitit")

    @property
    def cluster(self) -> str:
        """``slurm`` or ``local``: the setting, or for ``auto`` whether ``srun`` exists here (submitit's rule)."""
        if self.section.cluster != "auto":
            return self.section.cluster
        return "slurm" if shutil.which("srun") else "local"

    @property
    def remote(self) -> bool:
        return self.cluster == "slurm"

    def check(self) -> None:
        super().check()
        if self.cluster == "slurm" and self.section.time is None:
            raise BadInputError("--launcher slurm needs --time, each worker job's time limit (e.g. 4:00:00; "
                                "submitit's default is 5 minutes, which ends a worker in its first trial)")

    def executor(self, group: str, at_once: int):
        """submitit's ``AutoExecutor`` with this launcher's parameters, logs in ``<log_dir>/<group>`` (the study or
        benchmark), ``slurm_array_parallelism = at_once``.

        Raises:
            BadInputError: submitit refuses a parameter of ``[launcher] options``.
        """
        import submitit

        from harness.spec import time_minutes

        folder = Path(self.section.log_dir).resolve() / group
        executor = submitit.AutoExecutor(folder=folder, cluster=self.cluster)
        params = {"name": f"harness-{group}", "cpus_per_task": self.worker_threads(), "slurm_array_parallelism": at_once,
                  "timeout_min": time_minutes(self.section.time) if self.section.time else LOCAL_TIMEOUT_MIN}
        if self.section.gpus_per_worker:
            params["gpus_per_node"] = self.section.gpus_per_worker
        if self.section.mem_gb is not None:
            params["mem_gb"] = self.section.mem_gb
        if self.section.partition is not None:
            params["slurm_partition"] = self.section.partition
        params.update(self.section.options)
        try:
            executor.update_parameters(**params)
        except (TypeError, ValueError, NameError) as exc:
            raise BadInputError(f"[launcher] options: submitit refuses them: {exc}") from None
        return executor

    def open(self, jobs: list[Job], at_once: int) -> None:
        self._executor = self.executor(jobs[0].group, at_once)

    def start_all(self, jobs: list[Job]) -> list:
        return self._executor.map_array(_run, jobs)  # one job array, one scheduler call

    def start(self, job: Job):
        return self._executor.submit(_run, job)

    def done(self, handle) -> bool:
        return handle.done()

    def error(self, job: Job, handle) -> tuple[str, bool] | None:
        try:
            handle.result()
        except Exception as exc:  # noqa: BLE001 - every failed job is named, with its log
            lines = [line for line in str(exc).strip().splitlines() if line.strip()]
            return f"{lines[-1] if lines else repr(exc)} (job {handle.job_id}, log {handle.paths.stderr})", False
        return None

    def cancel(self, handle) -> None:
        """SIGTERM to the job: ``scancel`` on Slurm; on the local cluster, to the job's controller process, which
        forwards it to the job and waits for it to end. (submitit's ``LocalJob.cancel`` sends the controller SIGINT,
        and the controller then SIGKILLs the job one second later: on a loaded machine, before it has stored its
        failed trial.)"""
        process = getattr(handle, "_process", None)  # submitit.local.LocalJob's controller (a subprocess.Popen)
        if process is None:
            handle.cancel(check=False)
        elif process.poll() is None:
            process.send_signal(signal.SIGTERM)

    def kill(self, handle) -> None:
        """submitit's cancel: ``scancel`` again on Slurm; on the local cluster SIGINT, then SIGKILL one second later."""
        handle.cancel(check=False)
