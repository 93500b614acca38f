"""The ``harness`` command line: thin typer commands over :mod:`harness.api`.

Exit codes: 0 ok; 2 bad input (one line on stderr, no traceback); 1 unexpected failure (one line; set
``HARNESS_DEBUG=1`` for the traceback); 130 interrupted.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.console import console, error, set_quiet
from harness.errors import EXIT_BAD_INPUT, EXIT_FAILURE, BadInputError

app = typer.Typer(
    name="harness",
    help="Benchmark attention models and learning-rate schedules with Optuna studies.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

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


@app.command("run-study")
@interruptible
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
    workers: Annotated[int, typer.Option("--workers", help="worker processes on this machine sharing the storage")] = 1,
    device: DeviceOpt = None,
    precision: PrecisionOpt = None,
    artifacts: ArtifactsOpt = None,
    devices: Annotated[str | None, typer.Option(
        "--devices", help="GPU indices for the workers, one GPU per worker in turn, e.g. 0,1,2,3 [default on CUDA: "
                          "every visible GPU]")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress output")] = False,
) -> None:
    """Run a study, or resume it until it holds N finished (complete or pruned) trials."""
    from harness import api

    set_quiet(quiet)
    summary = api.run_study(spec, storage=storage, study_name=study_name, n_trials=n_trials, timeout=timeout,
                            data_dir=data_dir, seed=seed, quiet=quiet, workers=workers, device=device,
                            precision=precision, artifacts=artifacts,
                            devices=[d.strip() for d in devices.split(",")] if devices else None)
    best = "-" if summary.best_value is None else f"{summary.best_value:.4g} (trial {summary.best_trial})"
    console.print(f"Study '{summary.study_name}': {summary.finished}/{summary.target} trials finished "
                  f"({summary.ran} this run, {summary.seconds:.0f} s); best {best}. "
                  f"Next: harness report {summary.study_name}", markup=False)


@app.command("benchmark")
@interruptible
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
) -> None:
    """Run a benchmark: every arm tuned with the same budget, its best configuration re-run on seeds; resumable."""
    from harness import api

    set_quiet(quiet)
    summary = api.benchmark(spec, storage=storage, study_name=study_name, data_dir=data_dir, seed=seed, quiet=quiet,
                              problems=problem, device=device, precision=precision, artifacts=artifacts)
    console.print(f"Benchmark '{summary.name}': {summary.arms} arms x {summary.problems} problem(s), "
                  f"{summary.seed_runs} seeded re-runs ({summary.seed_runs_this_run} this run, {summary.seconds:.0f} s). "
                  f"Next: harness report {summary.name}", markup=False)


@app.command("predict")
def predict(
    study: Annotated[str, typer.Argument(help="study or benchmark name")],
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
    studies: Annotated[list[str], typer.Argument(help="two or more study names")],
    storage: StorageOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="markdown file [default: reports/compare-<studies>.md]")] = None,
) -> None:
    """Put several studies side by side: summaries, factor tables, top trials, curves."""
    from harness import api

    console.print(f"Wrote {api.compare(studies, storage=storage, out=out)}", markup=False)


@app.command("export")
def export(
    study: Annotated[str, typer.Argument(help="study name")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    storage: StorageOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="file to write [default: exports/<study>.<format>]")] = None,
) -> None:
    """Write a study's trials with parameters, states, metrics and curves as CSV or Parquet."""
    from harness import api

    console.print(f"Wrote {api.export(study, fmt=fmt, storage=storage, out=out)}", markup=False)


@app.command("report")
def report(
    study: Annotated[str, typer.Argument(help="study name")],
    storage: StorageOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="markdown file [default: reports/<study>.md]")] = None,
) -> None:
    """Write a study's markdown report and its PNG plots, from the storage alone."""
    from harness import api

    path = api.report(study, storage=storage, out=out)
    console.print(f"Wrote {path}", markup=False)


@app.command("rescore")
def rescore(
    study: Annotated[str, typer.Argument(help="study or benchmark name")],
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
def studies(storage: StorageOpt = None) -> None:
    """List the studies in a storage: task, trials by state, best value."""
    from harness import api

    lines = api.list_studies(storage)
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
        typer.Argument(help="only this kind: tasks, datasets, models, attention, schedules, baselines, samplers, pruners")
    ] = None,
) -> None:
    """List registered tasks, datasets, models, attention types, schedules, baselines, samplers and pruners."""
    from rich.table import Table

    from harness import api
    from harness.errors import UnknownNameError

    catalogue = api.catalogue()
    if kind is not None:
        matches = [k for k in catalogue if k.startswith(kind.lower())]
        if not matches:
            raise UnknownNameError("kind", kind, [k.split()[0] for k in catalogue])
        catalogue = {k: catalogue[k] for k in matches}
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
        app(args=argv, prog_name="harness")  # usage errors: typer prints them and exits with 2
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
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 1
        if os.environ.get("HARNESS_DEBUG"):
            raise
        error(f"unexpected failure: {type(exc).__name__}: {exc} (set HARNESS_DEBUG=1 for the traceback)")
        return EXIT_FAILURE
    return 0


def run() -> None:  # pragma: no cover - console script
    sys.exit(main())
