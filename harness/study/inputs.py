"""The data of a study, loaded once per process, and the checks that need it before the storage is touched."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import DataError, InvalidConfigError, SpecError
from harness.spec import StudySpec, dataset_options

if TYPE_CHECKING:
    from harness.space import SearchSpace
    from harness.study.plan import Plan
    from harness.task import Task

_DATA_CACHE: dict[str, Any] = {}


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """``data_dir`` if given, else ``$HARNESS_DATA_DIR``, else ``./data``."""
    return Path(data_dir or os.environ.get("HARNESS_DATA_DIR") or "data")


def load_data(spec: StudySpec, data_dir: Path | None) -> tuple[Task, Any]:
    """Instantiate the task and prepare its data (cached per process for identical inputs).

    Raises:
        DataError: the data is missing or malformed.
    """
    task_cls = spec.task_class()
    info = task_cls.datasets()[spec.dataset.name]
    options = dataset_options(spec)
    where = data_dir if info.needs_data_dir else None
    absolute = any(isinstance(v, str) and Path(v).is_absolute() for v in options.model_dump().values())
    if where is not None and not where.is_dir() and not absolute:  # absolute file options need no data directory
        raise DataError(
            f"data directory '{where}' {'is a file' if where.exists() else 'does not exist'} (dataset {info.name}); "
            "pass --data-dir DIR or set "
            f"HARNESS_DATA_DIR, or fetch it with `harness download {info.name} --data-dir DIR`"
        )
    key = repr((spec.study.task, spec.dataset.name, options.model_dump(), str(where), spec.to_budget(), spec.study.seed))
    task = task_cls()
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()
        _DATA_CACHE[key] = task.prepare(spec.dataset.name, options, where, spec.to_budget(), spec.study.seed)
    return task, _DATA_CACHE[key]


def preflight(plan: Plan) -> None:
    """Checks that need the data, done before the storage is touched.

    Raises:
        SpecError: every parameter is fixed while several trials are asked for; a fixed warmup is not shorter than
            the training (fixed batch size and accumulation); or no configuration the search space allows can be
            built (:func:`check_configurations`).
    """
    from harness.schedules import Horizon, warmup_steps
    from harness.training import steps_per_epoch

    spec, space = plan.spec, plan.space
    if not space.searches_anything() and spec.study.n_trials > 1 and spec.sampler.name != "grid":
        raise SpecError(f"{spec.name}: the search space is empty (every parameter is fixed) but n_trials = "
                        f"{spec.study.n_trials}; list values or give a range in [search], or set n_trials = 1")
    check_configurations(plan)
    fixed = {name: _fixed(space, name) for name in ("warmup_steps", "batch_size", "grad_accum_steps")}
    if None in fixed.values():
        return
    n = plan.task.train_size(plan.data)
    horizon = Horizon(steps_per_epoch(math.ceil(n / fixed["batch_size"]), fixed["grad_accum_steps"]), spec.budget.max_epochs)
    try:
        warmup_steps({"warmup_steps": fixed["warmup_steps"]}, horizon)
    except InvalidConfigError as exc:
        raise SpecError(f"{spec.name}: [search] warmup_steps: {exc}") from None


#: Configurations :func:`check_configurations` draws from the search space.
CONFIGURATION_DRAWS = 32


def check_configurations(plan: Plan, draws: int = CONFIGURATION_DRAWS) -> None:
    """Refuse a search space that allows no configuration its model families can build (the fixed heads do not
    divide the fixed hidden size, say): ``draws`` configurations drawn at random (seeded, in memory; nothing is
    stored or trained) are checked by the task (:meth:`harness.task.Task.check_config`: by default their model
    families, :meth:`harness.family.Family.check`); the first that passes ends the check. A space where some
    configurations are invalid is accepted, and those trials are pruned with their reason.

    Raises:
        SpecError: every draw failed; the message is the first draw's reason.
    """
    import optuna

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=plan.spec.study.seed))
    reasons: list[str] = []
    for _ in range(draws):
        try:
            config = plan.space.suggest(study.ask())
            plan.task.check_config(config, plan.data)
            return
        except InvalidConfigError as exc:
            reasons.append(str(exc))
    every = "" if len(set(reasons)) == 1 else f" (and every other of {draws} configurations drawn at random)"
    raise SpecError(f"{plan.spec.name}: [search]: no configuration can be built: {reasons[0]}{every}; change the "
                    "fixed values or widen the search")


def _fixed(space: SearchSpace, name: str) -> Any:
    param = space.params.get(name)
    if param is None:
        return None
    domain = space.domain(param)
    if domain is None:
        return param.default
    return (domain.choices[0] if domain.choices is not None else domain.low) if domain.fixed else None
