"""What a study stores about itself when it is created: the spec and its identity, the machine, the data, the space."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from harness import __version__

if TYPE_CHECKING:
    import optuna

    from harness.study.plan import Plan
    from harness.task import Task


def write_metadata(study: optuna.Study, plan: Plan, workers: int = 1) -> None:
    """Store the study's user attributes: version, task, dataset, metric and direction, sampler, pruner, budget,
    environment (with the threads of each of ``workers`` processes), data facts, search space, creation time, the
    spec, and last the spec identity, whose presence marks a complete harness study."""
    from harness.environment import environment
    from harness.spec import resolve_threads, threads_source

    spec = plan.spec
    attrs = {
        "harness_version": __version__,
        "task": spec.study.task,
        "dataset": spec.dataset.name,
        "metric": spec.metric,
        "direction": spec.direction,
        "sampler": {"name": spec.sampler.name, "seed": spec.sampler.seed if spec.sampler.seed is not None else spec.study.seed,
                    "options": spec.sampler.options},
        "pruner": {"name": spec.pruner.name, "options": spec.pruner.options},
        "budget": spec.budget.model_dump(),
        "environment": environment(resolve_threads(spec, workers), plan.placement, threads_from=threads_source(spec, workers)),
        "data": plan.task.describe(plan.data),
        "search_space": plan.space.describe(),
        "search_domains": plan.space.frozen_domains(),  # reused on resume (harness.study.opening.stored_space)
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "spec": spec.to_dict(),
        "spec_identity": spec.identity(),  # written last: its presence marks a complete harness study
    }
    for key, value in attrs.items():
        study.set_user_attr(key, value)


def refresh_data_facts(study: optuna.Study, task: Task, data: Any) -> None:
    """On resume, rewrite the ``data`` facts when this version of the task describes the same data differently
    (new facts, a corrected published reference): they are derived from the data, which the spec identity fixes."""
    facts = json.loads(json.dumps(task.describe(data)))
    if study.user_attrs.get("data") != facts:
        study.set_user_attr("data", facts)
