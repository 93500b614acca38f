"""Read a study from the storage into plain data, and its trials into a pandas DataFrame.

Reads, and never writes: the study's user attributes (``spec``, ``data``, ``environment``,
``test_result``, ``attention_example``, ...) and every trial's state, value, params, distributions,
intermediate values and user attributes (``config``, ``history``, ``lr_per_step``, ``seconds``, ...;
series through :func:`harness.storage.get_series`, since long ones are split over several attributes).

Nothing here imports PyTorch or a task: a report is rebuilt from the database alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.errors import StorageError, did_you_mean
from harness.report.rdb import read_trials
from harness.storage import display_url, get_series, open_storage, storage_url

if TYPE_CHECKING:
    import optuna
    import pandas as pd

#: Trial states in the order every table lists them.
STATE_ORDER = ("complete", "pruned", "fail", "running", "waiting")
#: Long per-trial series the report draws for a few trials only: left in the storage by the bulk read
#: (at 10,000 trials parsing them all would take seconds) and read per trial by :meth:`StudyData.series`.
LEFT_IN_STORAGE = ("lr_per_step",)
#: The derived factor that merges the RNN's attention type and the model family.
FAMILY = "attention / model"


@dataclass
class TrialRecord:
    """One trial as the report sees it.

    ``objective`` is the value a table shows: the final value of a complete trial, the last reported
    intermediate value (at ``last_epoch``) of a pruned one, ``None`` otherwise.
    """

    number: int
    state: str
    value: float | None
    objective: float | None
    last_epoch: int | None
    params: dict[str, Any]
    config: dict[str, Any]
    family: str | None
    best_epoch: int | None
    seconds: float | None
    param_count: int | None
    seed: int | None
    threads: int | None
    history: list[dict[str, Any]]
    pruned_reason: str | None
    fail_reason: str | None = None
    retry_of: int | None = None
    """The trial this one retries (re-queued after an interruption or a dead worker), if any."""
    last_value: float | None = None
    """The last reported validation value (at ``last_epoch``), whatever the state."""
    git_commit: str | None = None
    """The git commit the trial ran (``None``: not in a git checkout, or stored before trials recorded it)."""


@dataclass
class StudyData:
    """Everything a report shows, as read from the storage.

    Attributes:
        name: Study name.
        storage: The storage URL, password hidden.
        direction: ``"maximize"`` or ``"minimize"``.
        metric: The objective's metric name (``"?"`` when the study has no ``metric`` attribute).
        attrs: The study's user attributes.
        trials: One record per trial, by trial number.
        frozen: Optuna's frozen trials, by trial number (for the importance evaluators), without the
            attributes of :data:`LEFT_IN_STORAGE` (read one trial at a time with :meth:`series`).
        searched: Names of the searched parameters (a distribution with more than one value in some
            trial), in search-space order.
    """

    name: str
    storage: str
    direction: str
    metric: str
    attrs: dict[str, Any]
    trials: list[TrialRecord]
    frozen: list[optuna.trial.FrozenTrial] = field(repr=False)
    searched: list[str]
    storage_backend: Any = field(default=None, repr=False, compare=False)

    def series(self, number: int, key: str) -> list[Any]:
        """The series ``key`` of trial ``number`` (one of :data:`LEFT_IN_STORAGE`), read from the storage
        now; ``[]`` when the trial has none."""
        trial = next((f for f in self.frozen if f.number == number), None)
        if trial is None or self.storage_backend is None:
            return []
        return list(get_series(self.storage_backend.get_trial(trial._trial_id).user_attrs, key) or [])

    @property
    def maximize(self) -> bool:
        """Whether larger objective values are better."""
        return self.direction == "maximize"

    def complete(self) -> list[TrialRecord]:
        """The complete trials that have a finite value."""
        return [t for t in self.trials if t.state == "complete" and _finite(t.value)]

    def best(self) -> TrialRecord | None:
        """The best complete trial (lowest number among ties), or ``None``."""
        done = self.complete()
        if not done:
            return None
        sign = -1.0 if self.maximize else 1.0
        return min(done, key=lambda t: (sign * t.value, t.number))


def find_study(study_name: str, storage: str | None = None) -> optuna.Study:
    """Load ``study_name`` from the storage.

    Raises:
        StorageError: no storage, or no such study (the message lists the studies there, with close matches).
    """
    import optuna

    url = storage_url(storage)
    rdb = open_storage(url, write=False)
    names = sorted(s.study_name for s in rdb.get_all_studies())
    if study_name not in names:
        hint = did_you_mean(study_name, names)
        listing = ", ".join(names) if names else "(none)"
        raise StorageError(f"no study '{study_name}' in {display_url(url)}" + (f" ({hint})" if hint else "")
                           + f"; studies there: {listing}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=study_name, storage=rdb)


def load_study_data(study_name: str, storage: str | None = None) -> StudyData:
    """Read a study and all its trials from the storage.

    Args:
        study_name: Name of the study.
        storage: SQLAlchemy URL; default ``$HARNESS_STORAGE`` or ``sqlite:///harness.db``.

    Returns:
        :class:`StudyData`.

    Raises:
        StorageError: no storage (from :func:`harness.storage.open_storage`), or no such study (the
            message lists the studies there, with close matches).
    """
    url = storage_url(storage)
    study = find_study(study_name, storage)
    if len(study.directions) != 1:
        raise StorageError(f"study '{study_name}' in {display_url(url)} has {len(study.directions)} objectives; "
                           "the report handles single-objective studies only")
    attrs = dict(study.user_attrs)
    frozen = read_trials(study, without=LEFT_IN_STORAGE)
    return StudyData(
        name=study_name,
        storage=display_url(url),
        direction=study.direction.name.lower(),
        metric=str(attrs.get("metric", "?")),
        attrs=attrs,
        trials=[_record(t) for t in frozen],
        frozen=frozen,
        searched=_searched(frozen, attrs.get("search_space") or []),
        storage_backend=study._storage,
    )


def family_of(config: dict[str, Any]) -> str | None:
    """The ``attention / model`` factor: ``config["attention"]`` for the RNN family, else the model name."""
    if "attention" in config:  # only the RNN family has an attention parameter
        return str(config["attention"])
    return None if config.get("model") is None else str(config["model"])


def trials_frame(data: StudyData) -> pd.DataFrame:
    """One row per trial, by number.

    Columns: ``number``, ``state``, ``value`` (complete trials), ``objective`` (see
    :class:`TrialRecord`), ``last_epoch``, ``best_epoch``, ``seconds``, ``param_count``, the
    ``attention / model`` factor, then one column per parameter (the union over trials, search-space
    order; missing where a trial has no such parameter).
    """
    import pandas as pd

    params = _param_order(data)
    rows = []
    for t in data.trials:
        row = {"number": t.number, "state": t.state, "value": t.value, "objective": t.objective,
               "last_epoch": t.last_epoch, "best_epoch": t.best_epoch, "seconds": t.seconds,
               "param_count": t.param_count, FAMILY: t.family}
        for name in params:
            row[f"param:{name}"] = t.params.get(name)
        rows.append(row)
    columns = ["number", "state", "value", "objective", "last_epoch", "best_epoch", "seconds", "param_count",
               FAMILY] + [f"param:{n}" for n in params]
    return pd.DataFrame(rows, columns=columns)


def _param_order(data: StudyData) -> list[str]:
    seen: list[str] = list(data.searched)
    for t in data.trials:
        for name in t.params:
            if name not in seen:
                seen.append(name)
    return seen


def _record(trial: optuna.trial.FrozenTrial) -> TrialRecord:
    attrs = trial.user_attrs
    state = trial.state.name.lower()
    value = trial.value if state == "complete" else None
    steps = sorted(k for k, v in trial.intermediate_values.items() if _finite(v))
    last_epoch = steps[-1] if steps else None
    if state == "complete":
        objective = value if _finite(value) else None
    elif state == "pruned" and last_epoch is not None:
        objective = float(trial.intermediate_values[last_epoch])
    else:
        objective = None
    config = dict(attrs.get("config") or trial.params)
    return TrialRecord(
        number=trial.number,
        state=state,
        value=value,
        objective=objective,
        last_epoch=last_epoch,
        params=dict(trial.params),
        config=config,
        family=family_of(config),
        best_epoch=attrs.get("best_epoch"),
        seconds=attrs.get("seconds"),
        param_count=attrs.get("param_count"),
        seed=attrs.get("seed"),
        threads=attrs.get("threads"),
        history=list(get_series(attrs, "history") or []),
        pruned_reason=attrs.get("pruned_reason"),
        fail_reason=attrs.get("fail_reason") if state == "fail" else None,  # a retry inherits its predecessor's
        retry_of=(trial.system_attrs.get("retry_history") or [None])[-1],
        last_value=None if last_epoch is None else float(trial.intermediate_values[last_epoch]),
        git_commit=attrs.get("git_commit"),
    )


def _searched(trials: list[optuna.trial.FrozenTrial], space: list[dict[str, Any]]) -> list[str]:
    """Parameters whose distribution offers more than one value in at least one trial."""
    names: list[str] = []
    for trial in trials:
        for name, dist in trial.distributions.items():
            if name not in names and not _single(dist):
                names.append(name)
    order = {row.get("name"): i for i, row in enumerate(space) if isinstance(row, dict)}
    return sorted(names, key=lambda n: (order.get(n, len(order)), names.index(n)))


def _single(dist: Any) -> bool:
    from optuna.distributions import CategoricalDistribution

    if isinstance(dist, CategoricalDistribution):
        return len(dist.choices) <= 1
    return getattr(dist, "low", None) == getattr(dist, "high", object())


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
