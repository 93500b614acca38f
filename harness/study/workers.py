"""Several worker processes on one machine sharing a study's storage (``harness run-study --workers N``).

Each worker is a separate process (multiprocessing's ``spawn`` start method, so no PyTorch state is
shared) that loads the data, opens the study with its own sampler seed (TPE with the constant liar), its own
GPU on CUDA (``CUDA_VISIBLE_DEVICES``, one GPU per worker in turn: ``--devices 0,1,2,3``) and ``threads // N`` torch
threads, and runs trials until the study holds the target number of finished trials; this is Optuna's
storage-based distributed optimisation, the same that runs across machines against one PostgreSQL or
MySQL URL. The parent prints each finished trial as it appears in the storage, forwards SIGINT/SIGTERM
to the workers (each fails its running trial as ``interrupted``), and reports a worker that died.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from harness.errors import EXIT_BAD_INPUT, EXIT_FAILURE, BadInputError, HarnessError
from harness.spec import StudySpec

POLL_SECONDS = 2.0


def _entry(spec_data: dict[str, Any], storage: str | None, data_dir: str | None, worker: int, threads: int,
           checkpoints: str | None = None, trial_weights: bool = False) -> None:
    """A worker's main: one line on stderr and an exit code instead of a traceback."""
    from harness.console import error
    from harness.study.run import worker_main

    try:
        worker_main(spec_data, storage, data_dir, worker, threads, checkpoints, trial_weights)
    except KeyboardInterrupt:
        sys.exit(130)
    except BadInputError as exc:
        error(f"worker {worker}: {exc}")
        sys.exit(EXIT_BAD_INPUT)
    except Exception as exc:  # noqa: BLE001 - reported as one line, exit 1
        error(f"worker {worker}: {type(exc).__name__}: {exc}")
        sys.exit(EXIT_FAILURE)


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


def run_workers(spec: StudySpec, storage: str | None, data_dir: str | Path | None, workers: int, threads: int,
                *, quiet: bool = False, devices: list[str] | None = None, checkpoints: Path | None = None,
                trial_weights: bool = False) -> None:
    """Start ``workers`` processes on the study and wait for them (``checkpoints``, ``trial_weights``: as
    :class:`~harness.study.plan.Plan` has them).

    Each worker gets its GPU (:func:`worker_devices`) through ``CUDA_VISIBLE_DEVICES``, set in its environment before
    it starts, so it is in place before the worker imports PyTorch; the worker then trains on ``cuda`` (its only GPU).

    Raises:
        KeyboardInterrupt: the parent was interrupted (the workers were stopped first).
        HarnessError: a worker failed.
    """
    import optuna

    from harness.progress import StudyProgress
    from harness.study.opening import finished_count, study_storage

    context = multiprocessing.get_context("spawn")
    per_worker = max(1, threads // workers)
    gpus = worker_devices(spec, workers, devices)
    processes = [context.Process(target=_entry, name=f"harness-worker-{k}",
                                 args=(spec.to_dict(), storage, str(data_dir) if data_dir else None, k, per_worker,
                                       str(checkpoints) if checkpoints else None, trial_weights))
                 for k in range(workers)]
    for process, gpu in zip(processes, gpus):
        with _visible_devices(gpu):  # a spawned process copies the environment when it starts
            process.start()
    study = optuna.load_study(study_name=spec.name, storage=study_storage(spec, storage, write=False))
    seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    progress = StudyProgress(spec.study.n_trials, finished_count(study), spec.metric, spec.budget.max_epochs)
    progress.live = False
    try:
        while any(p.is_alive() for p in processes):
            time.sleep(POLL_SECONDS)
            if not quiet:
                seen = _report_new(study, seen, progress)
    except KeyboardInterrupt:
        for process in processes:
            if process.is_alive():
                try:
                    os.kill(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for process in processes:
            process.join(timeout=60)
        raise
    for process in processes:
        process.join()
    if not quiet:
        _report_new(study, seen, progress)
    failed = [(p.name, p.exitcode) for p in processes if p.exitcode not in (0, None)]
    if failed:
        codes = ", ".join(f"{name} exited with {code}" for name, code in failed)
        raise (BadInputError if all(c == EXIT_BAD_INPUT for _, c in failed) else HarnessError)(f"{codes} (see above)")


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


def _report_new(study, seen: set[int], progress) -> set[int]:
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if trial.state.is_finished() and trial.number not in seen:
            seen.add(trial.number)
            progress.trial_finished(study, trial)
    return seen
