"""Study specs: TOML files in ``studies/``, validated into typed objects.

A spec has these tables (unknown keys anywhere are an error)::

    [study]      name, task, metric, direction, n_trials, timeout (seconds), seed, description, test
    [dataset]    name, then the dataset's own options
    [budget]     max_epochs, max_train_examples, max_valid_examples, threads
    [sampler]    name (tpe, random, grid, qmc, cmaes, gp), seed, then the Optuna sampler's options
    [pruner]     name (none, median, successive-halving, hyperband), then the Optuna pruner's options
    [search]     parameter = value (fixed) | [choices] | { low, high, log, step } (range)
    [[enqueue]]  parameters of a trial to run first (Optuna's enqueue_trial), one table per trial

:func:`load_spec` checks the structure with pydantic, then the meaning against the registries: the
task, its dataset and options, the metric, the sampler and pruner and their options, every searched
parameter. Errors are :class:`~harness.errors.SpecError` with one line that names the file, the table,
the bad value and what is accepted.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import BadInputError, SpecError, UnknownNameError, unknown_name_message
from harness.registry import PRUNERS, SAMPLERS, TASKS
from harness.task import Budget, Task

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Open(BaseModel):
    """A table whose extra keys are options of a registered entry, checked separately."""

    model_config = ConfigDict(extra="allow", frozen=True)

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class StudySection(_Strict):
    name: str = Field(description="study name, also the report's file name")
    task: str
    metric: str | None = None
    direction: Literal["maximize", "minimize"] | None = None
    n_trials: int = Field(20, ge=1, description="finished (complete or pruned) trials to reach")
    timeout: float | None = Field(None, gt=0, description="seconds; stop starting trials after this")
    seed: int = Field(0, ge=0)
    description: str = ""
    test: Literal["best", "best-per-family", "best-per-attention"] = Field(
        "best", description="which configurations are evaluated once on test after the search: the validation-best, "
                            "or also the validation-best of every model family, or of every attention type")

    @property
    def tested_per(self) -> str:
        """The configuration key that groups the trials each of whose best is tested (``test = "best-per-..."``), and
        whose best trials keep their weights: ``model`` (the family; also for ``test = "best"``) or ``attention``."""
        return "attention" if self.test == "best-per-attention" else "model"

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not SAFE_NAME.match(value):
            raise ValueError("not a safe file name: use letters, digits, '.', '_' and '-', starting with a letter or digit")
        return value


class DatasetSection(_Open):
    name: str


#: ``[budget]`` keys that say where trials train, not what they train: run control, inherited by benchmark problems.
PLACEMENT_KEYS = ("device", "precision", "compile", "data_workers")


class BudgetSection(_Strict):
    max_epochs: int = Field(10, ge=1, le=10_000)
    max_train_examples: int | None = Field(None, ge=1)
    max_valid_examples: int | None = Field(None, ge=1)
    threads: int | None = Field(None, ge=1, le=1024,
                                description="torch threads; default: the CPU cores this process may use, divided by workers")
    device: str = Field("auto", description="auto (CUDA if available, else CPU), cpu, cuda, cuda:N or mps")
    precision: Literal["fp32", "bf16", "fp16", "auto"] = Field(
        "fp32", description="fp32, or automatic mixed precision in bf16 / fp16; auto: bf16 or fp16 on CUDA, else fp32")
    compile: bool = Field(False, description="train through torch.compile (off: compiling costs minutes per trial)")
    data_workers: int = Field(0, ge=0, le=64, description="DataLoader processes building training batches (0: none)")

    @field_validator("device")
    @classmethod
    def _device_form(cls, value: str) -> str:
        from harness.device import check_device_name

        return check_device_name(value)


class SamplerSection(_Open):
    name: str = "tpe"
    seed: int | None = Field(None, ge=0)


class PrunerSection(_Open):
    name: str = "none"


class RunSection(_Strict):
    """How trials survive faults; run control, so it may change when a study is resumed.

    Args:
        heartbeat_interval: Seconds between a running trial's heartbeats (RDB storages).
        grace_period: Seconds without a heartbeat after which a trial counts as dead: it is marked failed
            and re-queued when the next trial starts.
        max_retries: Times a dead trial is re-queued (Optuna's ``RetryHeartbeatStaleTrialCallback``).
        max_repeated_failures: Consecutive trials failing with the same error that stop the study.
        outage_patience: Seconds each storage call of a running study keeps retrying, with backoff, while the
            database server cannot be reached, before the error ends the run (:mod:`harness.outage`); 0: no retries.
        trackers: Experiment trackers the trials are mirrored into (``mlflow``, ``tensorboard``; :mod:`harness.trackers`).
        tracking_dir: Where the trackers write (a local MLflow store ``<dir>/mlflow.db``, TensorBoard events in
            ``<dir>/tensorboard``), relative to the working directory.
    """

    heartbeat_interval: int = Field(30, ge=1)
    grace_period: int = Field(120, ge=2)
    max_retries: int = Field(2, ge=0)
    max_repeated_failures: int = Field(3, ge=1)
    outage_patience: float = Field(600.0, ge=0)
    trackers: list[str] = Field(default_factory=list)
    tracking_dir: str = Field("runs", min_length=1)

    @field_validator("trackers")
    @classmethod
    def _known_trackers(cls, names: list[str]) -> list[str]:
        from harness.errors import UnknownNameError
        from harness.registry import TRACKERS

        for name in names:
            try:
                TRACKERS.check(name)
            except UnknownNameError as exc:
                raise ValueError(str(exc).strip("'\"")) from None
        return list(dict.fromkeys(names))

    @model_validator(mode="after")
    def _grace_longer_than_interval(self) -> RunSection:
        if self.grace_period <= self.heartbeat_interval:
            raise ValueError(f"grace_period must exceed heartbeat_interval, got grace_period={self.grace_period}, "
                             f"heartbeat_interval={self.heartbeat_interval}")
        return self


#: ``[launcher] time`` forms: minutes, ``H:MM:SS``, ``D-HH:MM:SS`` (or ``D-HH``), as Slurm's ``--time`` takes them.
_TIME = re.compile(r"^(?:(?P<days>\d+)-)?(?P<a>\d+)(?::(?P<b>\d+))?(?::(?P<c>\d+))?$")


def time_minutes(value: str) -> int:
    """Minutes of a Slurm ``--time`` value: ``"90"`` (minutes), ``"4:00:00"``, ``"1-12:00:00"``, ``"2-0"``, at least 1.

    Raises:
        ValueError: another form.
    """
    match = _TIME.match(value.strip())
    if not match:
        raise ValueError("not a Slurm time: use minutes, H:MM:SS or D-HH:MM:SS (e.g. 4:00:00)")
    days, a, b, c = (int(match[g]) if match[g] else None for g in ("days", "a", "b", "c"))
    if days is not None:  # D-HH[:MM[:SS]]
        seconds = days * 86400 + a * 3600 + (b or 0) * 60 + (c or 0)
    elif c is not None:  # H:MM:SS
        seconds = a * 3600 + b * 60 + c
    elif b is not None:  # MM:SS
        seconds = a * 60 + b
    else:  # minutes
        seconds = a * 60
    return max(1, -(-seconds // 60))


class LauncherSection(_Strict):
    """Where the worker processes of ``--workers N`` run (:mod:`harness.launchers`); run control, so it may change
    when a study is resumed.

    Args:
        name: ``local`` (processes on this machine, the default), ``slurm`` (a submitit job array) or ``ray`` (Ray
            tasks); ``harness list launchers``.
        gpus_per_worker: GPUs each worker asks for (Slurm ``--gpus-per-node``, Ray ``num_gpus``).
        cpus_per_worker: CPU cores each worker asks for and trains with (torch threads); default ``[budget]
            threads``, else 1.
        partition: Slurm partition.
        time: Slurm time limit of each worker job (minutes, ``H:MM:SS`` or ``D-HH:MM:SS``).
        mem_gb: Memory per worker job (Slurm), in GB.
        cluster: submitit's executor: ``auto`` (Slurm where ``srun`` exists, else local processes), ``slurm``, or
            ``local`` (the same code path as local processes, how the suite tests it).
        address: The Ray cluster to join (``auto``, ``ray://host:10001``); none: a Ray runtime on this machine.
        shared_filesystem: The SQLite or journal file of ``--storage`` is on a filesystem every worker's machine
            mounts (otherwise a launcher whose workers may run elsewhere refuses file storages).
        log_dir: Folder of the workers' logs (``<log_dir>/<study>/<job id>_0_log.out``, Slurm).
        options: Further executor parameters, passed through: submitit's (``slurm_account``, ``slurm_qos``,
            ``slurm_additional_parameters``, ...) or Ray's (``num_cpus`` of a local runtime, ``runtime_env``).
    """

    name: str = "local"
    gpus_per_worker: int = Field(0, ge=0, le=64)
    cpus_per_worker: int | None = Field(None, ge=1, le=1024)
    partition: str | None = None
    time: str | None = None
    mem_gb: float | None = Field(None, gt=0)
    cluster: Literal["auto", "slurm", "local"] = "auto"
    address: str | None = None
    shared_filesystem: bool = False
    log_dir: str = Field("runs/launcher", min_length=1)
    options: dict[str, Any] = {}

    @field_validator("time")
    @classmethod
    def _slurm_time(cls, value: str | None) -> str | None:
        if value is not None:
            time_minutes(value)
        return value

    @model_validator(mode="after")
    def _known_launcher_and_its_options(self) -> LauncherSection:
        from harness.registry import LAUNCHERS

        try:
            launcher = LAUNCHERS.get(self.name)
        except UnknownNameError as exc:
            raise ValueError(str(exc).strip("'\"")) from None
        for key, field in type(self).model_fields.items():  # given = not the default (a --set round trip sets them all)
            if key not in ("name", "log_dir", "options", *launcher.fields) and getattr(self, key) != field.default:
                accepted = ", ".join(launcher.fields) or "none"
                raise ValueError(f"{key} = {getattr(self, key)!r} is not an option of the {self.name} launcher (its "
                                 f"options: {accepted})")
        return self


class ProblemSection(_Strict):
    """A further problem (dataset and budget) of a benchmark; the spec's own ``[dataset]`` is the first."""

    name: str
    dataset: DatasetSection
    budget: BudgetSection | None = None

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        return StudySection._safe_name(value)


class BenchmarkSection(_Strict):
    """Benchmark mode: equal-budget arms over ``factors``, then each arm's best configuration re-run on seeds.

    Args:
        factors: Searched parameters whose listed values define the arms (their cartesian product).
        inner_trials: Finished trials of every arm's inner search over the remaining parameters.
        inner_seeds: Inner searches per arm, with different sampler seeds (for mean +- s.e. of best-so-far).
        seeds: Seeds the best configuration of each arm is retrained with and evaluated on test.
        target: Validation value whose first crossing gives each arm's time to target (epochs, seconds).
        test: How the report compares each arm with the validation-best arm on test, paired by seed: ``paired-t``
            (Student's paired t-test; can reach significance with few seeds) or ``wilcoxon`` (exact signed-rank;
            no normality assumption, but with n seeds its two-sided p is never below 2 / 2**n).
        problems: Further datasets (with optional budgets) on which the same arms are compared.
    """

    factors: list[str] = Field(min_length=1)
    inner_trials: int = Field(8, ge=1)
    inner_seeds: int = Field(1, ge=1, le=100)
    seeds: int = Field(5, ge=1, le=1000)
    target: float | None = None
    test: Literal["paired-t", "wilcoxon"] = "paired-t"
    problems: list[ProblemSection] = []


class StudySpec(_Strict):
    """A validated study spec. Build it with :func:`load_spec` or :func:`parse_spec`."""

    study: StudySection
    dataset: DatasetSection
    budget: BudgetSection = BudgetSection()
    sampler: SamplerSection = SamplerSection()
    pruner: PrunerSection = PrunerSection()
    search: dict[str, Any] = {}
    enqueue: list[dict[str, Any]] = []
    benchmark: BenchmarkSection | None = None
    run: RunSection = RunSection()
    launcher: LauncherSection = LauncherSection()

    @model_validator(mode="after")
    def _problems_train_where_the_spec_does(self) -> StudySpec:
        """A benchmark problem's own ``budget`` takes the spec's device, precision and compile unless it sets them."""
        if self.benchmark is None or not self.benchmark.problems:
            return self
        problems = []
        for problem in self.benchmark.problems:
            budget = problem.budget
            if budget is not None and any(k not in budget.model_fields_set for k in PLACEMENT_KEYS):
                inherited = {k: getattr(self.budget, k) for k in PLACEMENT_KEYS if k not in budget.model_fields_set}
                budget = BudgetSection(**{**budget.model_dump(exclude_unset=True), **inherited})
                problem = problem.model_copy(update={"budget": budget})
            problems.append(problem)
        object.__setattr__(self, "benchmark", self.benchmark.model_copy(update={"problems": problems}))
        return self

    @property
    def name(self) -> str:
        return self.study.name

    @property
    def metric(self) -> str:
        """The objective metric (the task's default when the spec names none)."""
        return self.study.metric or self.task_class().default_metric

    @property
    def direction(self) -> str:
        return self.study.direction or self.task_class().metrics[self.metric]

    def task_class(self) -> type[Task]:
        return TASKS.get(self.study.task)

    def to_budget(self) -> Budget:
        b = self.budget
        return Budget(b.max_epochs, b.max_train_examples, b.max_valid_examples)

    def to_placement(self):
        """The :class:`~harness.device.Placement` of ``[budget] device``, ``precision`` and ``compile``.

        Raises:
            DeviceError: the device is not available, or cannot do the precision.
        """
        from harness.device import placement

        return placement(self.budget.device, self.budget.precision, self.budget.compile, self.budget.data_workers)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data, with extra options inline (the TOML layout)."""
        return json.loads(self.model_dump_json())

    def identity(self) -> dict[str, Any]:
        """What must not change when a study is resumed: everything but run control.

        ``study.n_trials``, ``study.timeout``, ``study.description``, ``study.test`` (what is evaluated after
        the search), ``budget.threads``, ``budget.device``, ``budget.compile``, ``budget.data_workers`` and the
        ``[run]`` and ``[launcher]`` tables may change
        between runs of the same study; any other difference is a different experiment. ``budget.precision``
        counts only when it is not fp32 (mixed precision changes the numbers; studies from before the setting
        existed are fp32).
        """
        data = self.to_dict()
        for key in ("n_trials", "timeout", "description", "test"):
            data["study"].pop(key, None)
        for key in ("threads", "device", "compile", "data_workers") + (("precision",) if self.budget.precision == "fp32" else ()):
            data["budget"].pop(key, None)
        for problem in (data.get("benchmark") or {}).get("problems") or []:
            budget = problem.get("budget") or {}
            for key in ("device", "compile", "data_workers") + (("precision",) if budget.get("precision") == "fp32" else ()):
                budget.pop(key, None)  # (a problem's threads stay: benchmarks stored them before devices existed)
        data.pop("run", None)
        data.pop("launcher", None)
        return data

    def with_overrides(self, *, device: str | None = None, precision: str | None = None, **changes: Any) -> StudySpec:
        """A copy with ``study`` fields replaced (``n_trials``, ``timeout``, ``seed``, ``name``) and ``[budget]``
        ``device`` / ``precision`` (also in every benchmark problem's own budget), re-validated; ``None`` keeps a value."""
        data = self.to_dict()
        data["study"].update({k: v for k, v in changes.items() if v is not None})
        where = {k: v for k, v in (("device", device), ("precision", precision)) if v is not None}
        data["budget"].update(where)
        for problem in (data.get("benchmark") or {}).get("problems") or []:
            if problem.get("budget"):
                problem["budget"].update(where)
        return parse_spec(data, source="command line")

    def with_settings(self, settings: list[str] | None) -> StudySpec:
        """A copy with ``key.path=value`` settings applied (:func:`apply_settings`) and re-validated.

        Raises:
            SpecError: a malformed setting, or a spec the settings make invalid (naming the key).
        """
        if not settings:
            return self
        return parse_spec(apply_settings(self.to_dict(), settings), source="--set")


def apply_settings(data: dict[str, Any], settings: list[str], source: str = "--set") -> dict[str, Any]:
    """Spec data with ``key.path=value`` settings applied (``--set``), in order: ``value`` is read as a TOML value
    (``3``, ``1e-3``, ``true``, ``["dot", "additive"]``, ``{ low = 1e-4, high = 1e-2, log = true }``), or taken as a
    string when it is not TOML (``schedule=cosine``); tables on the path are created when missing. The result still
    has to pass :func:`parse_spec`, which names an unknown key.

    Raises:
        SpecError: a setting without ``=`` or with an empty key, or a path through a value that is not a table.
    """
    import copy

    out = copy.deepcopy(data)
    for setting in settings:
        key, sep, raw = setting.partition("=")
        parts = [p.strip() for p in key.strip().split(".")]
        if not sep or not all(parts):
            raise SpecError(f"{source} '{setting}': expected key.path=value, for example search.lr=1e-3 or "
                            "budget.max_epochs=3")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        table = out
        for depth, part in enumerate(parts[:-1]):
            child = table.setdefault(part, {})
            if child is None:
                child = table[part] = {}
            if not isinstance(child, dict):
                raise SpecError(f"{source} '{setting}': {'.'.join(parts[: depth + 1])} is a value ({child!r}), not a table")
            table = child
        table[parts[-1]] = value
    return out


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a TOML study spec.

    Raises:
        SpecError: the file is missing, unreadable, not TOML (with line and column), or invalid.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a directory, expected a .toml study spec") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: invalid TOML: {exc}") from None
    return parse_spec(data, source=str(path))


def parse_spec(data: dict[str, Any], source: str = "<spec>") -> StudySpec:
    """Validate spec data (as read from TOML); see :func:`load_spec`."""
    try:
        spec = StudySpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{source}: {_pydantic_message(exc)}") from None
    check_semantics(spec, source)
    return spec


def _pydantic_message(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    loc = [str(p) for p in first["loc"]]
    where = f"[{loc[0]}]" + (" " + ".".join(loc[1:]) if len(loc) > 1 else "") if loc else "spec"
    if first["type"] == "extra_forbidden":
        table, key = (loc[0], loc[-1]) if len(loc) > 1 else ("spec", loc[0])
        accepted = _accepted_keys(table)
        msg = unknown_name_message("key", key, accepted, f"in [{table}]")
    elif first["type"] == "missing":
        msg = f"{where}: missing required key"
    else:
        text = first["msg"].removeprefix("Value error, ")
        given = first.get("input")
        msg = f"{where}: {text}" + ("" if isinstance(given, dict) else f", got {given!r}")  # a whole table: the text says
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more)"
    return msg


def _accepted_keys(table: str) -> list[str]:
    models = {"study": StudySection, "budget": BudgetSection, "spec": StudySpec, "benchmark": BenchmarkSection,
              "run": RunSection}
    model = models.get(table, StudySpec)
    return list(model.model_fields)


def check_semantics(spec: StudySpec, source: str) -> None:
    """Check the spec against the registries; see :func:`load_spec`."""
    try:
        task = spec.task_class()
    except UnknownNameError as exc:
        raise SpecError(f"{source}: [study] task: {exc}") from None
    _check_dataset(spec, task, source)
    if spec.metric not in task.metrics:
        message = unknown_name_message(f"metric of task {task.name}", spec.metric, task.metrics)
        raise SpecError(f"{source}: [study] metric: {message}")
    natural = task.metrics[spec.metric]
    if spec.study.direction and spec.study.direction != natural:
        raise SpecError(f"{source}: [study] direction '{spec.study.direction}' contradicts metric "
                        f"'{spec.metric}', which is to {natural}")
    space = build_space(spec, source)
    task.check_search(space, f"{source}: [search]")
    _check_strategy(source, "sampler", spec.sampler.name, spec.sampler.options, SAMPLERS, spec.budget.max_epochs)
    _check_strategy(source, "pruner", spec.pruner.name, spec.pruner.options, PRUNERS, spec.budget.max_epochs)
    if spec.sampler.name == "grid":
        space.grid()
    for i, params in enumerate(spec.enqueue):
        for name, value in params.items():
            param = space.params.get(name)
            if param is None:
                raise SpecError(f"{source}: [[enqueue]] #{i + 1}: {unknown_name_message('parameter', name, space.params)}")
            where = f"{source}: [[enqueue]] #{i + 1}"
            value = param.check_value(value, where)
            domain = space.domain(param)
            if domain is not None and not domain.contains(value):
                raise SpecError(f"{where}: {name} = {value!r} is outside the searched domain {domain.describe()}")
    if spec.benchmark is not None:
        _check_benchmark(spec, space, source)


def _check_benchmark(spec: StudySpec, space, source: str) -> None:
    bench = spec.benchmark
    for factor in bench.factors:
        if factor not in space.params:
            raise SpecError(f"{source}: [benchmark] factors: {unknown_name_message('parameter', factor, space.params)}")
        domain = space.overrides.get(factor)
        if domain is None or domain.choices is None:
            raise SpecError(f"{source}: [benchmark] factor '{factor}' needs a list of values in [search], "
                            f"e.g. {factor} = [...]")
    if len(set(bench.factors)) != len(bench.factors):
        raise SpecError(f"{source}: [benchmark] factors list a parameter twice: {bench.factors}")
    names = [spec.dataset.name] + [p.name for p in bench.problems]
    if len(set(names)) != len(names):
        raise SpecError(f"{source}: [benchmark] problem names must be unique (the first is the dataset name "
                        f"'{spec.dataset.name}'), got {names}")
    for problem in bench.problems:
        problem_spec(spec, problem.name, source)  # validates its dataset and budget


def problems(spec: StudySpec) -> list[tuple[str, StudySpec]]:
    """The benchmark's problems as ``(name, spec)``: the spec's own dataset first, then ``[[benchmark.problems]]``."""
    out = [(spec.dataset.name, spec)]
    for problem in spec.benchmark.problems if spec.benchmark else []:
        out.append((problem.name, problem_spec(spec, problem.name)))
    return out


def problem_spec(spec: StudySpec, name: str, source: str = "<spec>") -> StudySpec:
    """The spec with the dataset (and budget) of the benchmark problem ``name``."""
    problem = next(p for p in spec.benchmark.problems if p.name == name)
    data = spec.to_dict()
    data["dataset"] = problem.dataset.model_dump()
    if problem.budget is not None:  # replaces the spec's (its device, precision and compile are inherited on parsing)
        data["budget"] = problem.budget.model_dump()
    data["benchmark"] = None
    return parse_spec(data, source=f"{source}: [[benchmark.problems]] {name}")


def _check_dataset(spec: StudySpec, task: type[Task], source: str) -> None:
    datasets = task.datasets()
    if spec.dataset.name not in datasets:
        message = unknown_name_message(f"dataset of task {task.name}", spec.dataset.name, datasets)
        raise SpecError(f"{source}: [dataset] name: {message}")
    dataset_options(spec, source)


def dataset_options(spec: StudySpec, source: str = "<spec>") -> BaseModel:
    """The ``[dataset]`` options validated by the dataset's own options model."""
    info = spec.task_class().datasets()[spec.dataset.name]
    try:
        return info.options.model_validate(spec.dataset.options)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        if first["type"] == "extra_forbidden":
            accepted = ["name", *info.options.model_fields]
            raise SpecError(f"{source}: {unknown_name_message('key', key, accepted, f'in [dataset] for {info.name}')}") from None
        text = first["msg"].removeprefix("Value error, ")
        if not key:  # a check across several options: no single key or value to name
            raise SpecError(f"{source}: [dataset]: {text}") from None
        raise SpecError(f"{source}: [dataset] {key}: {text}, got {first.get('input')!r}") from None


def build_space(spec: StudySpec, source: str = "<spec>", *, frozen: dict[str, Any] | None = None,
                frozen_complete: bool = False):
    """The :class:`~harness.space.SearchSpace` of a spec (task groups, schedules, training); ``frozen`` (parameter ->
    :class:`~harness.params.Domain`) replaces the default domains (see :class:`~harness.space.SearchSpace`)."""
    from harness.space import TRAINING_GROUP, SearchSpace, schedule_groups

    groups = [*spec.task_class().space(), *schedule_groups(), TRAINING_GROUP]
    return SearchSpace(groups, spec.search, spec.budget.max_epochs, where=f"{source}: [search]",
                       search_defaults=spec.sampler.name != "grid", frozen=frozen, frozen_complete=frozen_complete)


def _check_strategy(source: str, table: str, name: str, options: dict[str, Any], registry, max_epochs: int) -> None:
    """Unknown names and options, and option values out of range (:meth:`harness.strategies.Strategy.check`)."""
    try:
        strategy = registry.get(name)
        accepted = strategy.option_names()
    except UnknownNameError as exc:
        raise SpecError(f"{source}: [{table}] name: {exc}") from None
    for key in options:
        if key not in accepted:
            listed = ["name", *(["seed"] if table == "sampler" else []), *accepted]
            raise SpecError(f"{source}: {unknown_name_message('key', key, listed, f'in [{table}] for {name}')}")
    reserved = {} if table == "pruner" else {"seed": 0, **({"search_space": {}} if name == "grid" else {})}
    problem = strategy.check(max_epochs, options, **reserved) if hasattr(strategy, "check") else None
    if problem:
        raise SpecError(f"{source}: [{table}] {name}: {problem}")


def available_cores() -> int:
    """CPU cores this process may run on (``os.sched_getaffinity``: a container's or ``taskset``'s limit), else
    ``os.cpu_count()``."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def default_workers(spec: StudySpec) -> int:
    """Worker processes of a run that names none (``--workers``): on the CPU, one per torch thread of the run (the
    spec's ``[budget] threads``, else the cores this process may use), each with one thread, at most one per trial;
    on a GPU, one. Independent trials side by side use small CPU models' cores better than one trial's threads do
    (``benchmarks/workers.py``: 2 workers x 1 thread run 2.04x the trials per hour of 1 worker x 2 threads)."""
    if spec.to_placement().torch_device.type != "cpu":
        return 1
    return max(1, min(spec.budget.threads or available_cores(), spec.study.n_trials))


def resolve_threads(spec: StudySpec, workers: int = 1) -> int:
    """Torch threads of each of ``workers`` processes: the spec's ``[budget] threads`` (for the whole run, shared
    among the workers), else the CPU cores this process may use divided among them; at least 1."""
    total = spec.budget.threads or available_cores()
    return max(1, total // max(1, workers))


def threads_source(spec: StudySpec, workers: int = 1) -> str:
    """In words, where :func:`resolve_threads` took its number from (stored with the study)."""
    shared = f", divided among {workers} workers" if workers > 1 else ""
    if spec.budget.threads:
        return f"[budget] threads = {spec.budget.threads}{shared}"
    return f"{available_cores()} CPU cores available to the process{shared}"


__all__ = ["StudySpec", "load_spec", "parse_spec", "build_space", "dataset_options", "default_workers", "resolve_threads",
           "BadInputError"]
