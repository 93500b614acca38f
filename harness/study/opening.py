"""Create a study or load it for resuming, refusing a stored spec that differs; its sampler and pruner."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.errors import BadInputError, SpecError, SpecMismatchError
from harness.spec import StudySpec
from harness.storage import display_url, open_storage, storage_url

if TYPE_CHECKING:
    import optuna

    from harness.space import SearchSpace

#: Sampler seeds of parallel workers differ by multiples of this prime.
WORKER_SEED_STRIDE = 7_919


def study_storage(spec: StudySpec, storage: str | None, write: bool = True):
    """The storage at ``storage`` with the heartbeat and the outage patience of the spec's ``[run]`` table
    (:func:`harness.storage.open_storage`)."""
    run = spec.run
    return open_storage(storage, write=write, heartbeat=(run.heartbeat_interval, run.grace_period, run.max_retries),
                        patience=run.outage_patience)


def build_sampler_and_pruner(spec: StudySpec, space: SearchSpace, n_existing: int, worker: int = 0, parallel: bool = False,
                             stored: dict[str, Any] | None = None):
    """The spec's sampler and pruner. A resumed run shifts the sampler seed by the trials the study holds, and parallel
    workers by ``WORKER_SEED_STRIDE`` each, so neither replays proposals; TPE in parallel workers uses the constant liar.
    ``stored``: the user attributes of the study being resumed, whose recorded defaults the sampler and pruner get
    (:func:`harness.strategies.stored_defaults`); ``None`` for a new study (today's defaults).

    Raises:
        SpecError: Optuna rejected the ``[sampler]`` or ``[pruner]`` options.
    """
    from harness.strategies import build_pruner, build_sampler, stored_defaults

    base = spec.sampler.seed if spec.sampler.seed is not None else spec.study.seed
    grid = space.grid() if spec.sampler.name == "grid" else None
    options = dict(spec.sampler.options)
    if parallel and spec.sampler.name == "tpe":
        # TPE in parallel workers: running trials count as if they had the worst value so far (Optuna's
        # constant liar), so concurrent workers do not all sample next to the same good point. Optuna 5 does
        # this by default; said here so that a spec cannot lose it by accident on older versions.
        options.setdefault("constant_liar", True)
    epochs = spec.budget.max_epochs
    defaults = {table: None if stored is None else stored_defaults(stored.get(table), table, name, epochs)
                for table, name in (("sampler", spec.sampler.name), ("pruner", spec.pruner.name))}
    try:
        sampler = build_sampler(spec.sampler.name, base + n_existing + WORKER_SEED_STRIDE * worker, options, grid,
                                defaults=defaults["sampler"])
        pruner = build_pruner(spec.pruner.name, epochs, spec.pruner.options, defaults=defaults["pruner"])
    except (TypeError, ValueError) as exc:
        raise SpecError(f"[sampler]/[pruner] options rejected by Optuna: {exc}") from None
    return sampler, pruner


def identity_diff(stored: dict[str, Any], given: dict[str, Any], prefix: str = "") -> str | None:
    """The first key (dotted path) whose value differs between two spec identities, as ``key: stored .., given ..``."""
    for key in sorted(set(stored) | set(given)):
        a, b = stored.get(key), given.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            diff = identity_diff(a, b, f"{prefix}{key}.")
            if diff:
                return diff
        elif a != b:
            return f"{prefix}{key}: stored {a!r}, given {b!r}"
    return None


def open_study(spec: StudySpec, space: SearchSpace, storage: str | None, *, create: bool, worker: int = 0,
               parallel: bool = False) -> tuple[optuna.Study, bool]:
    """Load the study named in ``spec``, or create it (``create``); check the stored spec matches.

    ``parallel``: the study is opened by one of several workers (TPE then uses the constant liar).

    Returns:
        ``(study, created)``.

    Raises:
        SpecMismatchError: the stored spec differs from ``spec``.
        BadInputError: no such study and ``create`` is false.
        StorageError: the storage cannot be opened.
    """
    import optuna

    shown = display_url(storage_url(storage))
    rdb = study_storage(spec, storage)
    names = {s.study_name for s in rdb.get_all_studies()}
    if spec.name in names:
        study = optuna.load_study(study_name=spec.name, storage=rdb)
        stored = study.user_attrs.get("spec_identity")
        diff = identity_diff(stored or {}, spec.identity())
        if stored is None or diff:
            raise SpecMismatchError(
                f"study '{spec.name}' exists in {shown} with a different spec ({diff or 'not a harness study'}); "
                "use another --study-name, or restore the original spec"
            )
        sampler, pruner = build_sampler_and_pruner(spec, space, len(study.trials), worker, parallel, stored=study.user_attrs)
        return optuna.load_study(study_name=spec.name, storage=rdb, sampler=sampler, pruner=pruner), False
    if not create:
        raise BadInputError(f"no study '{spec.name}' in {shown}")
    sampler, pruner = build_sampler_and_pruner(spec, space, 0, worker)
    study = optuna.create_study(study_name=spec.name, storage=rdb, sampler=sampler, pruner=pruner,
                                direction=spec.direction)
    return study, True


def stored_space(spec: StudySpec, study: optuna.Study) -> SearchSpace:
    """The search space ``study`` was created with: the domains stored at creation (``search_domains``), or, for a
    study stored before they were, the domains of its trials' parameters (Optuna's stored distributions; parameters
    no trial has suggested yet keep their current default domain). Plugins installed since then therefore do not
    change what a resumed study searches.

    Raises:
        SpecError: the ``[search]`` table does not fit the task.
    """
    from harness.space import domain_from_distribution, domain_from_json
    from harness.spec import build_space

    stored = study.user_attrs.get("search_domains")
    if stored is not None:
        return build_space(spec, frozen={name: domain_from_json(d) for name, d in stored.items()}, frozen_complete=True)
    seen = {}
    for trial in study.get_trials(deepcopy=False):
        for name, distribution in trial.distributions.items():
            seen.setdefault(name, domain_from_distribution(distribution))
    return build_space(spec, frozen=seen)


def finished_count(study: optuna.Study) -> int:
    """Trials that are complete or pruned."""
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))
