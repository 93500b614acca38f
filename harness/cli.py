"""The ``harness`` command line: thin typer commands over :mod:`harness.api`.

Exit codes: 0 ok; 2 bad input (one line on stderr, no traceback); 1 a run that failed on purpose (a
:class:`~harness.errors.HarnessError` such as the same error ending trials in a row: its own line) or an unexpected
failure (one line; set ``HARNESS_DEBUG=1`` for the traceback); 130 interrupted, 143 terminated.

Conventions: ``--set key.path=value`` changes the spec, ``--dry-run`` shows the resolved study, ``--json`` prints
results as JSON on stdout (progress on stderr), ``--version``; study names complete from the storage.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.console import console, error, print_json, set_json, set_quiet
from harness.errors import EXIT_BAD_INPUT, EXIT_FAILURE, BadInputError, DiskFullError, HarnessError, disk_full

#: The line for a run that stopped on a full disk.
DISK_FULL_ADVICE = ("the disk is full ({what}); free some space, or give --storage / --artifacts on another disk, and "
                    "run the same command again to resume")

app = typer.Typer(
    name="harness",
    help="Benchmark attention models and learning-rate schedules with Optuna studies.",
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from harness import __version__

        console.print(f"harness {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    """Benchmark attention models and learning-rate schedules with Optuna studies."""


def complete_study(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of study names from the storage of ``--storage`` (or ``$HARNESS_STORAGE``, or the default
    SQLite file); nothing when the storage cannot be read."""
    try:
        import optuna

        from harness.storage import open_storage

        names = optuna.get_all_study_names(open_storage(ctx.params.get("storage"), write=False))
    except Exception:  # noqa: BLE001 - completion must never fail the shell
        return []
    return sorted(n for n in names if n.startswith(incomplete))

class Interrupted(Exception):
    """A command was interrupted; carries the exit code (130 for SIGINT, 143 for SIGTERM)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def interruptible(command):
    """Let a command's interruption reach :func:`main` (typer would turn it into a bare exit 130)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from harness.study import Terminated

        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt as exc:
            raise Interrupted(143 if isinstance(exc, Terminated) else 130) from None

    return wrapper


StorageOpt = Annotated[str | None, typer.Option("--storage", help="SQLAlchemy URL [default: $HARNESS_STORAGE or sqlite:///harness.db]")]
DeviceOpt = Annotated[str | None, typer.Option(
    "--device", help="auto, cpu, cuda, cuda:N or mps; overrides [budget] device [default: the spec's, else auto]")]
ArtifactsOpt = Annotated[Path | None, typer.Option(
    "--artifacts", help="folder of the artifact store that keeps the trained models [default: <database>.artifacts beside "
                        "a SQLite file, else ./artifacts]")]
PrecisionOpt = Annotated[str | None, typer.Option(
    "--precision", help="fp32, bf16, fp16 or auto (mixed precision); overrides [budget] precision [default: fp32]")]
DevicesOpt = Annotated[str | None, typer.Option(
    "--devices", help="GPU indices for local workers, one GPU per worker in turn, e.g. 0,1,2,3 [default on CUDA: every "
                      "visible GPU]")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="change the spec: key.path=value, the value read as TOML (repeatable), e.g. --set search.lr=1e-3 "
                  "--set budget.max_epochs=3")]
DryRunOpt = Annotated[bool, typer.Option(
    "--dry-run", help="print the resolved search space, budget and device, then stop (no data, no storage)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the result as JSON on stdout (progress goes to stderr)")]
StudyArg = Annotated[str, typer.Argument(help="study name", autocompletion=complete_study)]
LauncherOpt = Annotated[str | None, typer.Option(
    "--launcher", help="where the workers run: local (processes here, the default), slurm (a submitit job array) or "
                       "ray ([launcher] name)")]
GpusOpt = Annotated[int | None, typer.Option("--gpus-per-worker", help="GPUs each worker asks for (slurm, ray)")]
CpusOpt = Annotated[int | None, typer.Option(
    "--cpus-per-worker", help="CPU cores each worker asks for and trains with (slurm, ray) [default: [budget] threads]")]
PartitionOpt = Annotated[str | None, typer.Option("--partition", help="Slurm partition")]
TimeOpt = Annotated[str | None, typer.Option("--time", help="Slurm time limit of each worker job, e.g. 4:00:00")]
AddressOpt = Annotated[str | None, typer.Option("--address", help="the Ray cluster to join: auto or ray://host:10001")]
SharedFsOpt = Annotated[bool, typer.Option(
    "--shared-fs", help="the SQLite or journal file is on a filesystem every worker's machine mounts")]


#: The launcher options of run-study and benchmark: command-line parameter -> (its ``[launcher]`` key, the option).
_LAUNCHER_OPTIONS = {"launcher": ("name", LauncherOpt), "gpus_per_worker": ("gpus_per_worker", GpusOpt),
                     "cpus_per_worker": ("cpus_per_worker", CpusOpt), "partition": ("partition", PartitionOpt),
                     "time_limit": ("time", TimeOpt), "address": ("address", AddressOpt),
                     "shared_fs": ("shared_filesystem", SharedFsOpt)}


def launcher_options(command):
    """Give ``command`` the launcher options (``--launcher``, ``--gpus-per-worker``, ...); it receives those given as
    ``launcher_settings``: ``launcher.<key>=<value>`` lines for ``--set``."""
    import inspect
    import json

    signature = inspect.signature(command, eval_str=True)
    kept = [p for p in signature.parameters.values() if p.name != "launcher_settings"]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=False if name == "shared_fs" else None,
                               annotation=option) for name, (_, option) in _LAUNCHER_OPTIONS.items()]

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        given = {key: kwargs.pop(name, None) for name, (key, _) in _LAUNCHER_OPTIONS.items()}
        if given["name"] is not None:
            from harness.errors import BadInputError, unknown_name_message
            from harness.registry import LAUNCHERS

            if given["name"] not in LAUNCHERS:
                raise BadInputError(f"--launcher: {unknown_name_message('launcher', given['name'], LAUNCHERS.names())}")
        settings = [f"launcher.{key}={json.dumps(value)}" for key, value in given.items() if value not in (None, False)]
        return command(*args, launcher_settings=settings, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=kept + added)
    return wrapper


@app.command("run-study")
@interruptible
@launcher_options
def run_study(
    spec: Annotated[Path, typer.Argument(help="study spec (TOML)")],
    storage: StorageOpt = None,
    study_name: Annotated[str | None, typer.Option("--study-name", help="override [study] name")] = None,
    n_trials: Annotated[int | None, typer.Option("--n-trials", help="finished trials to reach (not more to run)")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="stop starting trials after this many seconds")] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="datasets folder [default: $HARNESS_DATA_DIR or ./data]")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="override [study] seed")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", help="worker processes sharing the storage (where: --launcher) [default on the CPU: one per torch "
                          "thread of the run ([budget] threads, else the cores), one thread each; 1 on a GPU]")] = None,
    device: DeviceOpt = None,
    precision: PrecisionOpt = None,
    artifacts: ArtifactsOpt = None,
    devices: DevicesOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress output")] = False,
    settings: SetOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    tracker: Annotated[list[str] | None, typer.Option(
        "--tracker", help="mirror the trials into an experiment tracker: mlflow or tensorboard (repeatable; "
                          "[run] trackers)")] = None,
    launcher_settings: list[str] | None = None,
) -> None:
    """Run a study, or resume it until it holds N finished (complete or pruned) trials."""
    from dataclasses import asdict

    from harness import api

    set_quiet(quiet)
    set_json(as_json)
    if tracker:
        import json

        settings = [*(settings or []), f"run.trackers={json.dumps(tracker)}"]
    settings = [*(settings or []), *(launcher_settings or [])]
    overrides = dict(study_name=study_name, n_trials=n_trials, timeout=timeout, seed=seed, device=device,
                     precision=precision)
    if dry_run:
        _print_plan(api.plan(spec, settings=settings, workers=workers, **_renamed(overrides)), as_json)
        return
    summary = api.run_study(spec, storage=storage, data_dir=data_dir, quiet=quiet, workers=workers, artifacts=artifacts,
                            devices=_devices(devices), settings=settings,
                            **overrides)
    if as_json:
        print_json(asdict(summary))
        return
    best = "-" if summary.best_value is None else f"{summary.best_value:.4g} (trial {summary.best_trial})"
    console.print(f"Study '{summary.study_name}': {summary.finished}/{summary.target} trials finished "
                  f"({summary.ran} this run, {summary.seconds:.0f} s); best {best}. "
                  f"Next: harness report {summary.study_name}", markup=False)


@app.command("benchmark")
@interruptible
@launcher_options
def benchmark(
    spec: Annotated[Path, typer.Argument(help="study spec (TOML) with a [benchmark] table")],
    storage: StorageOpt = None,
    study_name: Annotated[str | None, typer.Option("--study-name", help="override [study] name")] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="datasets folder [default: $HARNESS_DATA_DIR or ./data]")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="override [study] seed")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress output")] = False,
    problem: Annotated[
        list[str] | None,
        typer.Option("--problem", help="run only this problem (repeatable); e.g. one problem per process on one storage"),
    ] = None,
    device: DeviceOpt = None,
    precision: PrecisionOpt = None,
    artifacts: ArtifactsOpt = None,
    settings: SetOpt = None,
    dry_run: DryRunOpt = False,
    workers: Annotated[
        int, typer.Option("--workers", help="jobs at a time: each arm's inner search, then each re-run (where: --launcher)")
    ] = 1,
    devices: DevicesOpt = None,
    launcher_settings: list[str] | None = None,
) -> None:
    """Run a benchmark: every arm tuned with the same budget, its best configuration re-run on seeds; resumable."""
    from harness import api

    set_quiet(quiet)
    settings = [*(settings or []), *(launcher_settings or [])]
    if dry_run:
        _print_plan(api.plan(spec, settings=settings, name=study_name, seed=seed, device=device, precision=precision,
                             workers=workers), False)
        return
    summary = api.benchmark(spec, storage=storage, study_name=study_name, data_dir=data_dir, seed=seed, quiet=quiet,
                              problems=problem, device=device, precision=precision, artifacts=artifacts,
                              settings=settings, workers=workers, devices=_devices(devices))
    console.print(f"Benchmark '{summary.name}': {summary.arms} arms x {summary.problems} problem(s), "
                  f"{summary.seed_runs} seeded re-runs ({summary.seed_runs_this_run} this run, {summary.seconds:.0f} s). "
                  f"Next: harness report {summary.name}", markup=False)


def _devices(devices: str | None) -> list[str] | None:
    """``--devices 0,1`` as ``["0", "1"]``."""
    return [d.strip() for d in devices.split(",")] if devices else None


def _renamed(overrides: dict) -> dict:
    """The command line's ``study_name`` as the spec's ``name``."""
    out = dict(overrides)
    out["name"] = out.pop("study_name")
    return out


def _where(device: dict) -> str:
    """``cpu, fp32`` (and ``, compiled`` / ``, 2 data workers``) from a placement's description."""
    extra = [", compiled" if device.get("compile") else "",
             f", {device['data_workers']} data workers" if device.get("data_workers") else ""]
    return f"{device.get('device')}, {device.get('precision')}" + "".join(extra)


def _print_plan(plan: dict, as_json: bool) -> None:
    """``--dry-run``: the resolved study, as JSON or as lines and a table of the search space."""
    from rich.table import Table

    if as_json:
        print_json(plan)
        return
    budget = plan["budget"]
    console.print(f"Study '{plan['study']}': task {plan['task']}, dataset {plan['dataset']}, objective {plan['metric']} "
                  f"({plan['direction']}), {plan['n_trials']} trials"
                  + (f" or {plan['timeout_seconds']:g} s" if plan["timeout_seconds"] else "") + f", seed {plan['seed']}",
                  markup=False)
    console.print(f"Budget: {budget['max_epochs']} epochs, training examples {budget['max_train_examples'] or 'all'}, "
                  f"validation examples {budget['max_valid_examples'] or 'all'}; torch threads {plan['threads']} "
                  f"({plan['threads_from']}); device {_where(plan['device'])}", markup=False)
    console.print(f"Sampler {plan['sampler']['name']} {plan['sampler']['options'] or ''}; pruner {plan['pruner']['name']} "
                  f"{plan['pruner']['options'] or ''}", markup=False)
    launcher = plan["launcher"]
    asked = {k: v for k, v in launcher.items() if k not in ("name", "workers", "log_dir", "cluster", "shared_filesystem",
                                                            "options") and v not in (None, 0)}
    console.print(f"Launcher {launcher['name']}: {launcher['workers']} worker(s)"
                  + "".join(f", {k.replace('_', ' ')} {v}" for k, v in asked.items()), markup=False)
    table = Table(title="Search space", title_justify="left")
    for column in ("parameter", "searched", "fixed value", "when", "unit"):
        table.add_column(column)
    for row in plan["search_space"]:
        table.add_row(row["name"], row["searched"] or "-", "" if row["value"] is None else str(row["value"]), row["when"],
                      row["unit"] or "")
    console.print(table)
    for k, params in enumerate(plan["enqueue"], 1):
        console.print(f"Enqueued trial {k}: {params}", markup=False)
    if "benchmark" in plan:
        b = plan["benchmark"]
        console.print(f"Benchmark: {len(b['arms'])} arms over {', '.join(b['factors'])} x problems {', '.join(b['problems'])}; "
                      f"{b['inner_trials']} inner trials per arm, {b['seeds']} seeds", markup=False)
    console.print("Dry run: nothing was trained or written.", markup=False)


@app.command("predict")
def predict(
    study: Annotated[str, typer.Argument(help="study or benchmark name", autocompletion=complete_study)],
    input: Annotated[Path, typer.Option("--input", help="translation: text, one sentence per line; forecasting: a CSV "
                                                         "window; captioning: an image, a folder of images, or a list")],
    output: Annotated[Path | None, typer.Option("--output", help="write the outputs here [default: standard output]")] = None,
    storage: StorageOpt = None,
    artifacts: ArtifactsOpt = None,
    model: Annotated[str, typer.Option("--model", help="kept model: best, family.<name>, or <problem>.<arm> of a "
                                                       "benchmark")] = "best",
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps")] = "auto",
) -> None:
    """Run a study's kept model on new inputs: translate, forecast or caption."""
    from harness import api

    text = api.predict(study, input, output=output, storage=storage, artifacts=artifacts, model=model, device=device)
    if output is None:
        sys.stdout.write(text)
    else:
        console.print(f"Wrote {output}", markup=False)


@app.command("compare")
def compare(
    studies: Annotated[list[str], typer.Argument(help="two or more study names", autocompletion=complete_study)],
    storage: StorageOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="markdown file [default: reports/compare-<studies>.md]")] = None,
) -> None:
    """Put several studies side by side: summaries, factor tables, top trials, curves."""
    from harness import api

    console.print(f"Wrote {api.compare(studies, storage=storage, out=out)}", markup=False)


@app.command("export")
def export(
    study: StudyArg,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    storage: StorageOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="file to write [default: exports/<study>.<format>]")] = None,
) -> None:
    """Write a study's trials with parameters, states, metrics and curves as CSV or Parquet."""
    from harness import api

    console.print(f"Wrote {api.export(study, fmt=fmt, storage=storage, out=out)}", markup=False)


@app.command("report")
def report(
    study: StudyArg,
    storage: StorageOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="markdown file [default: reports/<study>.md]")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a study's markdown report and its PNG plots, from the storage alone."""
    from harness import api

    path = api.report(study, storage=storage, out=out)
    if as_json:
        print_json({"study": study, "report": str(path),
                    "files": sorted(str(p) for p in (path.parent / path.stem).glob("*") if p.is_file())})
        return
    console.print(f"Wrote {path}", markup=False)


@app.command("rescore")
def rescore(
    study: Annotated[str, typer.Argument(help="study or benchmark name", autocompletion=complete_study)],
    storage: StorageOpt = None,
) -> None:
    """Recompute every stored test metric from the stored outputs (sacrebleu, numpy); exit 1 if any differs."""
    from rich.table import Table

    from harness import api

    result = api.rescore(study, storage=storage)
    table = Table(title=f"{study}: stored test metrics recomputed from the stored outputs", title_justify="left")
    for column in ("problem", "evaluation", "metric", "stored", "recomputed", "match"):
        table.add_column(column)
    for row in result.rows:
        table.add_row(row.problem or "-", row.evaluation, row.metric, _shown(row.stored), _shown(row.recomputed),
                      "yes" if row.matches else "NO")
    console.print(table)
    if result.model_only:
        console.print(f"Not recomputable from outputs (they need the model): {', '.join(result.model_only)}", markup=False)
    bad = result.mismatches
    if bad:
        error(f"{len(bad)} of {len(result.rows)} stored test metrics differ from their recomputed values")
        raise typer.Exit(EXIT_FAILURE)
    console.print(f"All {len(result.rows)} stored test metrics match their recomputed values.", markup=False)


def _shown(value: float | None) -> str:
    return "-" if value is None else f"{value:.10g}"


@app.command("studies")
def studies(storage: StorageOpt = None, as_json: JsonOpt = False) -> None:
    """List the studies in a storage: task, trials by state, best value."""
    from dataclasses import asdict

    from harness import api

    lines = api.list_studies(storage)
    if as_json:
        print_json([asdict(line) for line in lines])
        return
    if not lines:
        console.print("no studies", markup=False)
    for line in lines:
        states = ", ".join(f"{n} {s}" for s, n in sorted(line.states.items())) or "no trials"
        best = "-" if line.best_value is None else f"{line.best_value:.4g}"
        console.print(f"{line.name}  task={line.task} dataset={line.dataset}  trials: {states}  "
                      f"best {line.metric} ({line.direction}) {best}", markup=False)


@app.command("list")
def list_(
    kind: Annotated[
        str | None,
        typer.Argument(help="only this kind: tasks, datasets, models, attention, schedules, baselines, samplers, pruners, "
                            "trackers, launchers")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List registered tasks, datasets, models, attention types, schedules, baselines, samplers, pruners, trackers,
    launchers."""
    from rich.table import Table

    from harness import api
    from harness.errors import UnknownNameError

    catalogue = api.catalogue()
    if kind is not None:
        matches = [k for k in catalogue if k.startswith(kind.lower())]
        if not matches:
            raise UnknownNameError("kind", kind, [k.split()[0] for k in catalogue])
        catalogue = {k: catalogue[k] for k in matches}
    if as_json:
        print_json({kind_: [{"name": name, "summary": summary} for name, summary in rows] for kind_, rows in catalogue.items()})
        return
    for title, rows in catalogue.items():
        table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column()
        for name, summary in rows:
            table.add_row(name, summary)
        console.print(table)
        console.print()


@app.command("dashboard")
def dashboard(
    storage: StorageOpt = None,
    host: Annotated[str, typer.Option("--host", help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port to listen on")] = 8080,
    artifacts: ArtifactsOpt = None,
) -> None:
    """Serve optuna-dashboard over the storage (127.0.0.1 only unless --host says otherwise), with the kept models."""
    from harness import api
    from harness.console import warn

    api.check_address(host, port)  # a bad port or host: one line, before anything else is said
    if host not in ("127.0.0.1", "localhost", "::1"):
        warn(f"the dashboard has no authentication; listening on {host} exposes every study (and lets anyone "
             "delete them) to whoever reaches this address")
    console.print(f"optuna-dashboard on http://{host}:{port}/ (Ctrl+C to stop)", markup=False)
    api.dashboard(storage, host=host, port=port, artifacts=artifacts)


@app.command("storage-proxy")
def storage_proxy(
    storage: StorageOpt = None,
    host: Annotated[str, typer.Option("--host", help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port to listen on")] = 13000,
) -> None:
    """Serve Optuna's gRPC storage proxy in front of a database, for very many workers (grpc://HOST:PORT)."""
    from harness import api
    from harness.console import warn

    api.check_address(host, port)  # a bad port or host: one line, before anything else is said
    if host not in ("127.0.0.1", "localhost", "::1"):
        warn(f"the storage proxy has no authentication; listening on {host} lets anyone who reaches it write studies")
    console.print(f"Optuna storage proxy on grpc://{host}:{port} (Ctrl+C to stop)", markup=False)
    api.storage_proxy(storage, host=host, port=port)


@app.command("download")
def download(
    dataset: Annotated[str, typer.Argument(help="dataset name (multi30k, tatoeba)")],
    data_dir: Annotated[Path, typer.Option("--data-dir", help="folder to download into")] = Path("data"),
) -> None:
    """Download a dataset's raw files (needs a network)."""
    from harness import api

    path = api.download(dataset, data_dir)
    console.print(f"Downloaded {dataset} into {path}", markup=False)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``harness`` console script; returns the exit code."""
    try:
        return _main_body(argv)
    finally:
        set_json(False)  # --json moved normal output to stderr for this command only


def _command_line_errors() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """The exception classes of command-line errors (an unknown option, a value of the wrong type, a missing
    argument) and of an abort (Ctrl+C at a prompt): click's, and those of the click that typer 0.2x vendors,
    whose errors derive from ``typer.exceptions.TyperException``."""
    errors: list[type] = []
    aborts: list[type] = []
    try:
        import click

        errors.append(click.ClickException)
        aborts.append(click.exceptions.Abort)
    except ImportError:  # pragma: no cover - a typer without click
        pass
    from typer import exceptions

    if hasattr(exceptions, "TyperException"):
        errors.append(exceptions.TyperException)
    if hasattr(exceptions, "Abort"):
        aborts.append(exceptions.Abort)
    return tuple(errors), tuple(aborts)


def _main_body(argv: list[str] | None) -> int:
    usage_errors, aborts = _command_line_errors()
    try:  # not standalone: usage errors come here, to be said in one line
        code = app(args=argv, prog_name="harness", standalone_mode=False)
    except usage_errors as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":  # `harness` alone: its help, exit 2 as before
            console.print(ctx.get_help() if ctx is not None else str(exc), markup=False, highlight=False)
            return EXIT_BAD_INPUT
        where = ctx.command_path if ctx is not None else "harness"
        message = " ".join(exc.format_message().split())
        error(f"{message} (`{where} --help` lists what it accepts)")
        return EXIT_BAD_INPUT
    except aborts:
        error("interrupted")
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_FAILURE)
    except BadInputError as exc:
        error(str(exc))
        return EXIT_BAD_INPUT
    except Interrupted as exc:
        error(f"{'terminated' if exc.code == 143 else 'interrupted'}; the running trial was marked failed; "
              "run the same command again to resume")
        return exc.code
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except DiskFullError as exc:
        error(DISK_FULL_ADVICE.format(what=exc))
        return EXIT_FAILURE
    except HarnessError as exc:  # raised on purpose (the same error ended trials in a row): its own line, exit 1
        error(str(exc))
        return EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 1
        if os.environ.get("HARNESS_DEBUG"):
            raise
        full = disk_full(exc)
        if full is not None:  # not a bug: the environment ran out of room
            error(DISK_FULL_ADVICE.format(what=full))
            return EXIT_FAILURE
        error(f"unexpected failure: {type(exc).__name__}: {exc} (set HARNESS_DEBUG=1 for the traceback)")
        return EXIT_FAILURE
    return code if isinstance(code, int) else 0  # typer.Exit(n) comes back as n


def run() -> None:  # pragma: no cover - console script
    sys.exit(main())
