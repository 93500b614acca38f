"""The trained model kept: weights, configuration and the task's preprocessing state, as Optuna artifacts.

After a study's test evaluation the retrained best configuration (and, with ``test = "best-per-family"``, the
best of every model family) is saved as one checkpoint file, and a benchmark keeps the best seed of every arm.
The checkpoint is a :func:`torch.save` dict that :func:`torch.load` reads back with ``weights_only=True``::

    {"format": 1, "task": "translation", "config": {...}, "state_dict": {...},   # weights, on the CPU
     "inference": {...},                  # the task's preprocessing state (SentencePiece models, vocabulary, scaler)
     "study": "multi30k-attention", "key": "best", "trial": 7, "harness_version": "0.1.0"}

It is uploaded with :func:`optuna.artifacts.upload_artifact` to an artifact store (by default a
:class:`~optuna.artifacts.FileSystemArtifactStore` beside the database: ``reports/x.db`` keeps its files in
``reports/x.artifacts/``), attached to the study (the trial it came from has finished by then, or, for a
benchmark's seed run, is created only afterwards), and the study's user attribute ``kept.<key>`` (key ``best``,
``family.<name>`` or ``<problem>.<arm slug>``) records its artifact id and trial. ``harness predict`` and
``optuna-dashboard`` read them from there.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import BadInputError, StorageError

if TYPE_CHECKING:
    import optuna
    from torch import nn

    from harness.task import Task

#: Checkpoint layout version.
FORMAT = 1
#: Prefix of the study user attributes that record kept models: ``kept.<key>`` (one attribute per key, so processes
#: sharing a benchmark never overwrite each other's records).
KEPT = "kept."


def kept_models(study: optuna.Study) -> dict[str, dict[str, Any]]:
    """The study's kept models: key -> record (artifact id, trial, family, validation value, bytes)."""
    return {k[len(KEPT):]: v for k, v in study.user_attrs.items() if k.startswith(KEPT)}


def default_location(storage: str) -> Path:
    """Where the artifacts of ``storage`` (a full URL) go by default: ``<db>.artifacts`` beside a SQLite or journal
    file (``reports/x.db`` -> ``reports/x.artifacts``), else ``./artifacts``."""
    from harness.storage import journal_path, sqlite_path

    path = journal_path(storage) or sqlite_path(storage)
    return path.with_suffix(".artifacts") if path is not None else Path("artifacts")


def open_store(location: str | Path | None, storage: str, *, create: bool):
    """A :class:`~optuna.artifacts.FileSystemArtifactStore` at ``location`` (default: :func:`default_location`).

    Raises:
        StorageError: the folder does not exist and ``create`` is false, or it is not a writable folder.
    """
    from optuna.artifacts import FileSystemArtifactStore

    path = Path(location) if location is not None else default_location(storage)
    if path.exists() and not path.is_dir():
        raise StorageError(f"artifact store '{path}' is a file, not a folder; pass --artifacts DIR")
    if not path.exists():
        if not create:
            raise StorageError(f"no artifact store at '{path}'; pass --artifacts DIR (the folder the study kept its models in)")
        try:
            path.mkdir(parents=True, exist_ok=True)  # another process on the same storage may create it first
        except OSError as exc:
            raise StorageError(f"cannot create the artifact store '{path}': {exc.strerror}") from None
    return FileSystemArtifactStore(str(path.resolve()))  # absolute and normalised ('//tmp' -> '/tmp'), as Optuna checks


def keep(study: optuna.Study, key: str, *, store: Any, trial_number: int | None, task: Task, data: Any,
         model: nn.Module, config: dict[str, Any], value: float | None = None) -> dict[str, Any] | None:
    """Save ``model`` as a checkpoint artifact of the study and record it under ``key`` (:func:`record`); nothing for
    a task that cannot predict with a kept model (:meth:`~harness.task.Task.keeps_models`).

    Args:
        study: The study the artifact is attached to and whose ``kept.<key>`` attribute records it.
        key: ``best``, ``family.<name>`` or ``<problem>.<arm slug>``.
        store: An Optuna artifact store.
        trial_number: The trial the model belongs to; ``None`` when it is not known yet (a benchmark saves a seed
            run's model before it creates the run's trial, then calls :func:`record`).
        task, data: The task and its prepared data (for :meth:`~harness.task.Task.inference_state`).
        model: The trained model (any device; saved on the CPU).
        config: The trial's configuration.
        value: The model's validation objective (recorded; a benchmark keeps the best seed of each arm by it).

    Returns:
        The record: artifact id, trial number, family, validation value, file size in bytes; ``None`` when the
        task keeps no models.
    """
    from optuna.artifacts import upload_artifact

    from harness import __version__
    from harness.resume import serialized

    if not task.keeps_models():
        return None
    checkpoint = {"format": FORMAT, "task": task.name, "config": config, "study": study.study_name, "key": key,
                  "trial": trial_number, "harness_version": __version__, "inference": task.inference_state(data),
                  "state_dict": {k: v.detach().to("cpu") for k, v in model.state_dict().items()}}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{study.study_name}.{key}.pt"
        path.write_bytes(serialized(checkpoint))  # a full disk: an OSError naming the file
        size = path.stat().st_size
        artifact_id = upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=study,
                                      mimetype="application/x-pytorch")
    kept = {"artifact_id": artifact_id, "trial": trial_number, "family": config.get("model"), "value": value,
            "bytes": size}
    if trial_number is not None:
        record(study, key, kept, store)
    return kept


def record(study: optuna.Study, key: str, kept: dict[str, Any], store: Any) -> None:
    """Record ``kept`` (from :func:`keep`) as the study's model ``key``; the file of the model it replaces is removed."""
    previous = study.user_attrs.get(KEPT + key)
    study.set_user_attr(KEPT + key, kept)
    if previous and previous.get("artifact_id") != kept["artifact_id"]:
        try:
            store.remove(previous["artifact_id"])  # a better seed, or a better best trial, replaced it
        except Exception:  # noqa: BLE001 - a file already gone is not worth failing a run for
            pass


def load(study: optuna.Study, store: Any, key: str = "best") -> dict[str, Any]:
    """The checkpoint kept under ``key``, read with ``torch.load(..., weights_only=True)``.

    Raises:
        BadInputError: the study kept no model under ``key`` (the accepted keys are listed), or the file is missing.
    """
    import torch
    from optuna.artifacts import download_artifact
    from optuna.artifacts.exceptions import ArtifactNotFound

    from harness.errors import hint_suffix

    kept = kept_models(study)
    if key not in kept:
        if not kept:
            raise BadInputError(f"study '{study.study_name}' kept no model (it has no test evaluation yet, or was run by "
                                "a harness version that did not keep models); run `harness run-study` again to finish it")
        raise BadInputError(f"study '{study.study_name}' kept no model '{key}'{hint_suffix(key, kept)}; kept: "
                            + ", ".join(sorted(kept)))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.pt"
        try:
            download_artifact(artifact_store=store, artifact_id=kept[key]["artifact_id"], file_path=str(path))
        except ArtifactNotFound:
            raise BadInputError(f"the artifact store has no file for model '{key}' of study '{study.study_name}' "
                                f"(artifact {kept[key]['artifact_id']}); pass --artifacts DIR") from None
        return torch.load(path, map_location="cpu", weights_only=True)


def restore(checkpoint: dict[str, Any], device: Any = None) -> tuple[Task, Any, nn.Module]:
    """``(task, data, model)`` from a checkpoint: the task's preprocessing state, and the model rebuilt from its
    configuration with the kept weights, in evaluation mode on ``device`` (default the CPU)."""
    from harness.registry import TASKS

    if checkpoint.get("format") != FORMAT:
        raise BadInputError(f"checkpoint format {checkpoint.get('format')!r} is not {FORMAT}; use the harness version that "
                            f"wrote it ({checkpoint.get('harness_version')})")
    task = TASKS.get(checkpoint["task"])()
    data = task.from_inference_state(checkpoint["inference"])
    model = task.build_model(task.restored_config(checkpoint["config"]), data)
    model.load_state_dict(checkpoint["state_dict"])
    if device is not None:
        model.to(device)
    return task, data, model.eval()
