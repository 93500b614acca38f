"""The Python API behind the command line; notebooks call the same functions.

    from harness import api
    summary = api.run_study("studies/quickstart.toml")
    api.report("quickstart")                       # -> reports/quickstart.md
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import BadInputError, UnknownNameError
from harness.registry import (
    ATTENTION,
    BASELINES,
    DATASETS,
    LAUNCHERS,
    MODELS,
    PRUNERS,
    SAMPLERS,
    SCHEDULES,
    TASKS,
    TRACKERS,
)
from harness.spec import StudySpec, load_spec
from harness.storage import open_storage

if TYPE_CHECKING:
    from harness.benchmark import BenchmarkSummary
    from harness.study import RunSummary


def run_study(
    spec: str | Path | dict | StudySpec,
    *,
    storage: str | None = None,
    study_name: str | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    data_dir: str | Path | None = None,
    seed: int | None = None,
    quiet: bool = False,
    workers: int | None = None,
    device: str | None = None,
    precision: str | None = None,
    artifacts: str | Path | None = None,
    devices: list[str] | None = None,
    settings: list[str] | None = None,
    callbacks: list[Callable[[Any, Any], None]] | None = None,
    on_epoch: Callable[[Any, int, dict[str, float]], None] | None = None,
) -> RunSummary:
    """Run or resume a study until it holds ``n_trials`` finished trials; see :func:`harness.study.run_study`.

    Args:
        spec: Path of a TOML spec, spec data as a dict (the TOML layout), or a validated :class:`StudySpec`.
        storage: SQLAlchemy URL; default ``$HARNESS_STORAGE`` or ``sqlite:///harness.db``.
        study_name, n_trials, timeout (seconds), seed: Override the spec's ``[study]`` values.
        data_dir: Folder with the datasets that need files; default ``$HARNESS_DATA_DIR`` or ``./data``.
        quiet: No progress output.
        workers: Worker processes on this machine sharing the storage; default on the CPU one per torch thread of the
            run (``[budget] threads``, else the cores), each with one thread (1 with ``callbacks`` or ``on_epoch``).
        device, precision: Override ``[budget] device`` / ``precision`` (see :mod:`harness.device`).
        artifacts: Folder of the artifact store the tested models are kept in (default: beside the database).
        devices: GPU indices, one per worker in turn (``["0", "1"]``); default on CUDA: every visible GPU.
        settings: ``key.path=value`` changes to the spec (``--set``; :func:`harness.spec.apply_settings`), applied
            before the other overrides.
        callbacks: Optuna callbacks ``(study, frozen_trial)``, called after each trial (``workers = 1`` only).
        on_epoch: A hook ``(trial, epoch, metrics)`` called after every epoch of every trial, with the Optuna trial,
            the epoch (from 1) and that epoch's validation metrics and training loss (``workers = 1`` only).

    Returns:
        :class:`harness.study.RunSummary`.

    Raises:
        BadInputError: bad spec, data, storage, device or precision; nothing is written to the storage.
    """
    from harness.study import run_study as _run

    spec = resolve_spec(spec, settings, name=study_name, n_trials=n_trials, timeout=timeout, seed=seed, device=device,
                        precision=precision)
    return _run(spec, storage=storage, data_dir=data_dir, quiet=quiet, workers=workers, artifacts=artifacts,
                devices=devices, callbacks=callbacks, on_epoch=on_epoch)


def benchmark(
    spec: str | Path | dict | StudySpec,
    *,
    storage: str | None = None,
    study_name: str | None = None,
    data_dir: str | Path | None = None,
    seed: int | None = None,
    quiet: bool = False,
    problems: list[str] | None = None,
    device: str | None = None,
    precision: str | None = None,
    artifacts: str | Path | None = None,
    settings: list[str] | None = None,
    workers: int = 1,
    devices: list[str] | None = None,
) -> BenchmarkSummary:
    """Run or resume a benchmark (equal-budget arms, seeded re-runs); see :mod:`harness.benchmark`.

    ``workers`` jobs run at a time (each arm's inner search, then each of its seeded re-runs), on the spec's
    ``[launcher]`` (local processes by default);
    ``problems`` runs only the named problems (for example one per process or machine on a shared storage);
    ``device`` and ``precision`` override ``[budget]`` (and every problem's own budget); ``artifacts`` is the folder
    that keeps each arm's best seed (default: beside the database); ``settings`` are ``key.path=value`` changes to the
    spec (``--set``); ``devices`` are GPU indices for the local workers, one per worker in turn (default on CUDA: every
    visible GPU).

    Returns:
        :class:`harness.benchmark.BenchmarkSummary`.

    Raises:
        BadInputError: bad spec (including one without ``[benchmark]``), data or storage.
    """
    from harness.benchmark import run_benchmark

    spec = resolve_spec(spec, settings, name=study_name, seed=seed, device=device, precision=precision)
    return run_benchmark(spec, storage=storage, data_dir=data_dir, quiet=quiet, only=problems, artifacts=artifacts,
                         workers=workers, devices=devices)


def objective(
    spec: str | Path | dict | StudySpec,
    *,
    data_dir: str | Path | None = None,
    settings: list[str] | None = None,
    threads: int | None = None,
    on_epoch: Callable[[Any, int, dict[str, float]], None] | None = None,
) -> Callable[[Any], float]:
    """The harness's Optuna objective for ``spec``, for calling ``study.optimize`` yourself (your own study, sampler,
    storage and callbacks): each call suggests a configuration from the spec's search space, trains it on the
    spec's data and budget, stores its curves on the trial and returns the validation objective; a pruned trial
    raises ``optuna.TrialPruned``. The data is loaded once, here.

    Create the study with the spec's direction (``load_spec(path).direction``)::

        import optuna, harness
        study = optuna.create_study(direction="maximize")
        study.optimize(harness.objective("studies/quickstart.toml"), n_trials=4)

    Args:
        threads: Torch threads (default: the spec's, else the cores available); set for the whole process.
        on_epoch: A hook ``(trial, epoch, metrics)`` after every epoch.

    A trial whose training raises is stored with ``fail_reason`` and the error surfaces as
    :class:`harness.study.TrialError`; pass ``catch=(TrialError,)`` to ``study.optimize`` to go on after it.

    Raises:
        BadInputError: a bad spec, data, device or precision.
    """
    import torch

    from harness.spec import resolve_threads
    from harness.study import Plan, load_data, make_objective, preflight, resolve_data_dir

    spec = resolve_spec(spec, settings)
    threads = threads or resolve_threads(spec)
    torch.set_num_threads(threads)
    task, data = load_data(spec, resolve_data_dir(data_dir))
    plan = Plan.resolve(spec, task, data, threads)
    preflight(plan)
    return make_objective(plan, on_epoch=on_epoch)


def resolve_spec(spec: str | Path | dict | StudySpec, settings: list[str] | None = None, **overrides) -> StudySpec:
    """A validated spec from a path, spec data (a dict, as read from TOML) or a :class:`StudySpec`, with ``settings``
    (``key.path=value``, :func:`harness.spec.apply_settings`) and then the command line's overrides (``name``,
    ``n_trials``, ``timeout``, ``seed``, ``device``, ``precision``; ``None`` keeps a value) applied.

    Raises:
        SpecError: the spec is missing or invalid, or a setting makes it invalid.
    """
    from harness.spec import parse_spec

    if isinstance(spec, dict):
        spec = parse_spec(spec, source="<dict>")
    elif not isinstance(spec, StudySpec):
        spec = load_spec(spec)
    return spec.with_settings(settings).with_overrides(**overrides)


def plan(spec: str | Path | dict | StudySpec, *, settings: list[str] | None = None, workers: int | None = None,
         **overrides) -> dict:
    """What ``run-study`` or ``benchmark`` would do, resolved without loading data or touching a storage
    (``--dry-run``): the study, objective, budget, threads, device, sampler, pruner, every parameter's domain (searched,
    or its fixed value, and when it is active), enqueued trials, and a benchmark's arms and problems.

    Raises:
        SpecError: an invalid spec or setting; DeviceError: a device that is not there.
    """
    from harness.spec import build_space, default_workers, problems, resolve_threads, threads_source

    spec = resolve_spec(spec, settings, **overrides)
    if workers is None:
        workers = 1 if spec.benchmark is not None else default_workers(spec)
    out = {
        "study": spec.name, "task": spec.study.task, "dataset": spec.dataset.name, "metric": spec.metric,
        "direction": spec.direction, "n_trials": spec.study.n_trials, "timeout_seconds": spec.study.timeout,
        "seed": spec.study.seed, "budget": spec.budget.model_dump(),
        "threads": resolve_threads(spec, workers), "threads_from": threads_source(spec, workers),
        "device": spec.to_placement().describe(),
        "sampler": {"name": spec.sampler.name, "options": spec.sampler.options},
        "pruner": {"name": spec.pruner.name, "options": spec.pruner.options},
        "search_space": build_space(spec).describe(), "enqueue": list(spec.enqueue),
        "launcher": {"workers": workers, **spec.launcher.model_dump()},
    }
    if spec.benchmark is not None:
        from harness.benchmark import arms

        out["benchmark"] = {"factors": spec.benchmark.factors, "arms": [a.values for a in arms(spec)],
                            "problems": [name for name, _ in problems(spec)], "inner_trials": spec.benchmark.inner_trials,
                            "seeds": spec.benchmark.seeds}
    return out


def predict(
    study_name: str,
    input: str | Path,
    *,
    output: str | Path | None = None,
    storage: str | None = None,
    artifacts: str | Path | None = None,
    model: str = "best",
    device: str = "auto",
) -> str:
    """Run a study's kept model (:mod:`harness.artifacts`) on new inputs: translate lines, forecast from a CSV
    window, caption image files (what each task reads: ``Task.input_kind``).

    Args:
        study_name: The study (or benchmark) that kept the model.
        input: The input file.
        output: Write the outputs here (created or replaced); default: return them only.
        storage: SQLAlchemy URL of the study's storage.
        artifacts: The artifact store's folder (default: beside the database).
        model: Which kept model: ``best``, ``family.<name>``, or a benchmark's ``<problem>.<arm slug>``.
        device: Where to run it (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``).

    Returns:
        The outputs, as the text of an output file.

    Raises:
        StorageError: no such storage, study or artifact store.
        BadInputError: no such kept model, a device that is not there, or an unreadable input file.
    """
    from harness.artifacts import load, open_store, restore
    from harness.device import check_device_name, evaluating, resolve_device
    from harness.report.load import find_study
    from harness.storage import storage_url

    try:
        check_device_name(device)
    except ValueError as exc:
        raise BadInputError(f"--device {device!r}: {exc}") from None
    where = resolve_device(device)
    study = find_study(study_name, storage)
    store = open_store(artifacts, storage_url(storage), create=False)
    task, data, net = restore(load(study, store, model), where)
    with evaluating(net):
        text = task.predict_inputs(net, data, Path(input))
    if output is not None:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BadInputError(f"cannot write --output '{output}': {exc.strerror}") from None
    return text


def compare(studies: list[str], *, storage: str | None = None, out: str | Path | None = None) -> Path:
    """Write a markdown comparison of several studies (default ``reports/compare-<a>-<b>.md``).

    Raises:
        StorageError: no storage, or one of the studies does not exist.
        BadInputError: fewer than two studies.
    """
    from harness.report.compare import write_compare_report

    if len(studies) < 2:
        raise BadInputError(f"compare needs at least two studies, got {len(studies)}")
    path = Path(out) if out else Path("reports") / ("compare-" + "-".join(studies) + ".md")
    return write_compare_report(studies, storage, path)


def export(study_name: str, *, fmt: str = "csv", storage: str | None = None, out: str | Path | None = None) -> Path:
    """Write a study's trials (parameters, states, metrics, curves) as CSV or Parquet (default
    ``exports/<study>.<fmt>``).

    Raises:
        StorageError: no storage or no such study.
        BadInputError: unknown format, or Parquet without pyarrow.
    """
    from harness.report.export import export_study
    from harness.report.load import find_study

    study = find_study(study_name, storage)
    path = Path(out) if out else Path("exports") / f"{study_name}.{fmt}"
    return export_study(study, fmt, path)


def report(study_name: str, *, storage: str | None = None, out: str | Path | None = None) -> Path:
    """Write the markdown report of a study (and its PNG plots beside it) from the storage alone.

    Returns:
        The markdown file written (default ``reports/<study>.md``).

    Raises:
        StorageError: no storage, or no such study (the message lists the studies there).
    """
    from harness.report import write_report

    return write_report(study_name, storage=storage, out=Path(out) if out else None)


def rescore(study_name: str, *, storage: str | None = None):
    """Recompute every stored test metric of a study or benchmark from its stored outputs (no model, no data).

    Returns:
        :class:`harness.rescore.RescoreResult`: per evaluation and metric, the stored and the recomputed value.

    Raises:
        StorageError: no storage, or no such study.
        BadInputError: the study holds no stored test outputs.
    """
    from harness.rescore import rescore as _rescore

    return _rescore(study_name, storage)


@dataclass
class StudyLine:
    """One study of a storage, for ``harness studies``."""

    name: str
    task: str
    dataset: str
    metric: str
    direction: str
    states: dict[str, int]
    best_value: float | None


def list_studies(storage: str | None = None) -> list[StudyLine]:
    """Every study in a storage, with its trials by state and its best value."""
    import optuna

    rdb = open_storage(storage, write=False)
    lines = []
    for summary in optuna.get_all_study_summaries(rdb, include_best_trial=True):
        study_id = rdb.get_study_id_from_name(summary.study_name)
        states: dict[str, int] = {}
        for trial in rdb.get_all_trials(study_id, deepcopy=False):
            states[trial.state.name.lower()] = states.get(trial.state.name.lower(), 0) + 1
        attrs = summary.user_attrs
        best = summary.best_trial.value if summary.best_trial is not None else None
        lines.append(StudyLine(summary.study_name, attrs.get("task", "?"), attrs.get("dataset", "?"),
                               attrs.get("metric", "?"), summary.direction.name.lower(), states, best))
    return lines


def catalogue() -> dict[str, list[tuple[str, str]]]:
    """Everything registered: ``{kind: [(name, summary), ...]}`` for tasks, datasets, models, ...

    Imports no PyTorch.
    """
    out: dict[str, list[tuple[str, str]]] = {}
    out["tasks"] = [(n, TASKS.get(n).summary) for n in TASKS.names()]
    out["datasets"] = []
    for t in TASKS.names():  # datasets a task defines in code, then the registered ones (summaries read from source)
        own = TASKS.get(t).built_in_datasets()
        out["datasets"] += [(f"{t}/{d}", info.summary) for d, info in own.items()]
        registered = {key.split(".", 1)[1]: key for key in DATASETS.names(f"{t}.*")}
        out["datasets"] += [(f"{t}/{d}", DATASETS.summary(key)) for d, key in registered.items() if d not in own]
    out["models"] = [(n.replace(".", "/", 1), MODELS.summary(n)) for n in MODELS.names()]  # task/family
    out["attention types"] = [(n, ATTENTION.summary(n)) for n in ATTENTION.names()]
    schedules = []
    for name in SCHEDULES.names():
        if not SCHEDULES.loaded(name):  # a plugin's: its summary from its source, the plugin not imported
            schedules.append((name, SCHEDULES.summary(name)))
            continue
        s = SCHEDULES.get(name)
        params = ", ".join(p.name for p in s.params)
        schedules.append((name, f"{s.summary} [per {s.interval}{'; ' + params if params else ''}]"))
    out["schedules"] = schedules
    out["baselines"] = [(n, BASELINES.summary(n)) for n in BASELINES.names()]
    out["samplers"] = [(n, SAMPLERS.summary(n)) for n in SAMPLERS.names()]
    out["pruners"] = [(n, PRUNERS.summary(n)) for n in PRUNERS.names()]
    out["trackers"] = [(n, TRACKERS.summary(n)) for n in TRACKERS.names()]
    out["launchers"] = [(n, LAUNCHERS.summary(n)) for n in LAUNCHERS.names()]
    return out


def check_address(host: str, port: int) -> None:
    """Raise :class:`BadInputError` if ``port`` is not a TCP port (1-65535) or ``host`` is not an address of this
    machine (whether the port is free is :func:`check_port_free`'s question)."""
    if not 1 <= port <= 65535:
        raise BadInputError(f"--port {port} is not a TCP port; accepted: 1-65535")
    _bind(host, 0)


def check_port_free(host: str, port: int) -> None:
    """Raise :class:`BadInputError` if :func:`check_address` fails or ``host:port`` is already taken."""
    check_address(host, port)
    _bind(host, port)


def _bind(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
                raise BadInputError(f"--host '{host}' is not an address of this machine ({exc.strerror}); pass "
                                    "another --host, e.g. 127.0.0.1") from None
            raise BadInputError(f"cannot listen on {host}:{port} ({exc.strerror}); pass another --port") from None


def dashboard(storage: str | None = None, host: str = "127.0.0.1", port: int = 8080,
              artifacts: str | Path | None = None) -> None:
    """Serve optuna-dashboard over the storage until interrupted, with the artifact store of the kept models
    (``artifacts``, default beside the database) when it exists, so the dashboard lists and serves them.

    Raises:
        StorageError: no such storage, or an ``artifacts`` folder that does not exist.
        BadInputError: the port is not in 1-65535 or is taken.
    """
    import optuna_dashboard

    from harness.artifacts import default_location, open_store
    from harness.storage import storage_url

    check_port_free(host, port)
    rdb = open_storage(storage, write=False)
    url = storage_url(storage)
    store = open_store(artifacts, url, create=False) if artifacts or default_location(url).is_dir() else None
    optuna_dashboard.run_server(rdb, host=host, port=port, artifact_store=store)


def storage_proxy(storage: str | None = None, host: str = "127.0.0.1", port: int = 13000) -> None:
    """Serve Optuna's gRPC storage proxy in front of ``storage`` until interrupted.

    Raises:
        StorageError: the storage cannot be opened.
        BadInputError: the port is not in 1-65535 or is taken, or grpcio is not installed.
    """
    import optuna

    check_port_free(host, port)  # before the storage: a bad port creates no database file
    rdb = open_storage(storage, write=True)
    try:
        optuna.storages.run_grpc_proxy_server(rdb, host=host, port=port)
    except ImportError as exc:
        raise BadInputError(f"the storage proxy needs grpcio ({exc.name}); pip install grpcio") from None


def download(dataset: str, data_dir: str | Path) -> Path:
    """Download a dataset's raw files into ``data_dir`` (needs a network).

    Raises:
        UnknownNameError: no task has such a dataset, or it is embedded and needs no download.
    """
    found = {}
    for task in TASKS.names():
        for name, info in TASKS.get(task).datasets().items():
            if info.download is not None:
                found[name] = info
    if dataset not in found:
        raise UnknownNameError("downloadable dataset", dataset, found)
    path = Path(data_dir)
    path.mkdir(parents=True, exist_ok=True)
    found[dataset].download(path)
    return path


__all__ = ["run_study", "benchmark", "report", "compare", "export", "list_studies", "catalogue", "dashboard", "download",
           "StudyLine"]
