"""All trials of a study in an RDB storage, read with six plain SQL queries.

Optuna's ``RDBStorage.get_all_trials`` builds an ORM object for every row of every trial table (a trial
of the harness has about fifteen: parameters, values, intermediate values, user attributes), which takes
most of a report's time at 10,000 trials. The report only reads, so this module selects the same tables
with SQLAlchemy Core (rows as tuples, no identity map) and builds the same ``FrozenTrial`` objects, the
way Optuna's ``_build_frozen_trial_from_trial_model`` does. It reads Optuna's table definitions
(``optuna.storages._rdb.models``, versioned by Optuna's alembic migrations), so the equality with
``get_all_trials`` is pinned by a test, and :func:`read_trials` falls back to Optuna's own reader
whenever the storage is not an RDB storage or the fast path fails.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial


def read_trials(study: optuna.Study, *, without: tuple[str, ...] = ()) -> list[FrozenTrial]:
    """Every trial of ``study`` (any state), by number; the same objects ``study.get_trials()`` gives.

    Fast for :class:`optuna.storages.RDBStorage`; other storages (journal file, gRPC proxy) are read
    through Optuna's API.

    Args:
        without: user attributes left out, with every ``key.<anything>`` (the parts ``key.parts``,
            ``key.0``, ``key.1``... of :func:`harness.storage.put_series`): long series a report needs
            for a few trials only, read later with ``study._storage.get_trial``.
    """
    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    storage = study._storage
    rdb = getattr(storage, "_backend", storage)  # Optuna wraps RDB storages in a cache
    if isinstance(rdb, optuna.storages.RDBStorage):
        try:
            trials = _rdb_trials(rdb, study._study_id, without)
        except (SQLAlchemyError, ImportError, AttributeError, KeyError, ValueError):
            trials = None  # an Optuna whose schema this module does not know: its own reader is right
        if trials is not None:
            return trials
    trials = sorted(study.get_trials(deepcopy=bool(without)), key=lambda t: t.number)  # copies: edited below
    for t in trials if without else []:
        t.user_attrs = {k: v for k, v in t.user_attrs.items() if not _left_out(k, without)}
    return trials


def _left_out(attr: str, without: tuple[str, ...]) -> bool:
    """``attr`` is ``key`` or ``key.<anything>`` for a key in ``without``: :func:`harness.storage.put_series`
    owns the names under ``key.`` (``key.parts``, ``key.0``...). The SQL filter below uses the same rule."""
    return any(attr == key or attr.startswith(f"{key}.") for key in without)


def _rdb_trials(storage: optuna.storages.RDBStorage, study_id: int, without: tuple[str, ...]) -> list[FrozenTrial]:
    from optuna.distributions import json_to_distribution
    from optuna.storages._rdb import models
    from optuna.trial import FrozenTrial
    from sqlalchemy import or_, select

    T = models.TrialModel
    ids = select(T.trial_id).where(T.study_id == study_id).scalar_subquery()

    def rows(*columns: Any, order: Any, where: Any = None) -> list[Any]:
        table = columns[0].class_
        query = select(*columns).where(table.trial_id.in_(ids))
        if where is not None:
            query = query.where(where)
        query = query.order_by(order)
        return conn.execute(query).all()

    params: dict[int, dict[str, Any]] = defaultdict(dict)
    dists: dict[int, dict[str, Any]] = defaultdict(dict)
    values: dict[int, dict[int, float]] = defaultdict(dict)
    steps: dict[int, dict[int, float]] = defaultdict(dict)
    user: dict[int, dict[str, Any]] = defaultdict(dict)
    system: dict[int, dict[str, Any]] = defaultdict(dict)
    parsed: dict[str, Any] = {}
    with storage.engine.connect() as conn:
        trials = conn.execute(select(T.trial_id, T.number, T.state, T._datetime_start_utc, T._datetime_complete_utc)
                              .where(T.study_id == study_id).order_by(T.trial_id)).all()
        P = models.TrialParamModel
        for trial_id, name, value, text in rows(P.trial_id, P.param_name, P.param_value, P.distribution_json, order=P.param_id):
            dist = parsed.get(text) or parsed.setdefault(text, json_to_distribution(text))
            params[trial_id][name] = dist.to_external_repr(value)
            dists[trial_id][name] = dist
        V = models.TrialValueModel
        for trial_id, objective, value, kind in rows(V.trial_id, V.objective, V.value, V.value_type, order=V.trial_value_id):
            values[trial_id][objective] = V.stored_repr_to_value(value, kind)
        I = models.TrialIntermediateValueModel  # noqa: E741 - the model's initial, as V, P
        for trial_id, step, value, kind in rows(I.trial_id, I.step, I.intermediate_value, I.intermediate_value_type,
                                                order=I.trial_intermediate_value_id):
            steps[trial_id][step] = I.stored_repr_to_intermediate_value(value, kind)
        S = models.TrialSystemAttributeModel
        for trial_id, key, text in rows(S.trial_id, S.key, S.value_json, order=S.trial_system_attribute_id):
            system[trial_id][key] = json.loads(text)
        U = models.TrialUserAttributeModel
        # the left-out series are filtered in SQL (the rule of _left_out), so they are neither sent nor parsed
        keep = ~or_(*[or_(U.key == k, U.key.startswith(f"{k}.", autoescape=True)) for k in without]) if without else None
        for trial_id, key, text in rows(U.trial_id, U.key, U.value_json, order=U.trial_user_attribute_id, where=keep):
            user[trial_id][key] = json.loads(text)
    out = [
        FrozenTrial(
            number=number, state=state, value=None,
            values=[v for _, v in sorted(values[trial_id].items())] if trial_id in values else None,
            datetime_start=_local(start), datetime_complete=_local(complete),
            params=params[trial_id], distributions=dists[trial_id], user_attrs=user[trial_id],
            system_attrs=system[trial_id], intermediate_values=steps[trial_id], trial_id=trial_id,
        )
        for trial_id, number, state, start, complete in trials
    ]
    return sorted(out, key=lambda t: t.number)


def _local(utc: dt.datetime | None) -> dt.datetime | None:
    """Naive UTC as stored -> naive local time, as Optuna's ``TrialModel.datetime_start`` gives it."""
    return None if utc is None else utc.replace(tzinfo=dt.timezone.utc).astimezone().replace(tzinfo=None)
