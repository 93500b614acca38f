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
    """Store the study's user attributes: version, task, dataset, metric and direction, sampler, pruner (each with the
    defaults it was created with, which a resumed run reuses), budget,
    environment (with the threads of each of ``workers`` processes), data facts, search space, creation time, the
    spec, and last the spec identity, whose presence marks a complete harness study."""
    from harness.environment import environment
    from harness.spec import resolve_threads, threads_source
    from harness.strategies import strategy_defaults

    spec = plan.spec
    epochs = spec.budget.max_epochs
    attrs = {
        "harness_version": __version__,
        "task": spec.study.task,
        "dataset": spec.dataset.name,
        "metric": spec.metric,
        "direction": spec.direction,
        "sampler": {"name": spec.sampler.name, "seed": spec.sampler.seed if spec.sampler.seed is not None else spec.study.seed,
                    "options": spec.sampler.options, "defaults": strategy_defaults("sampler", spec.sampler.name, epochs)},
        "pruner": {"name": spec.pruner.name, "options": spec.pruner.options,
                   "defaults": strategy_defaults("pruner", spec.pruner.name, epochs)},
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
    name_the_metric(study, spec.metric)


def name_the_metric(study: optuna.Study, metric: str) -> None:
    """Name the study's objective (``study.set_metric_names``), so optuna-dashboard shows ``chrf`` rather than
    "Objective 0"; a study that already has a name keeps it."""
    import warnings

    if study.metric_names is None:
        with warnings.catch_warnings():  # Optuna marks set_metric_names experimental
            warnings.simplefilter("ignore")
            study.set_metric_names([metric])


def dashboard_note(study: optuna.Study, plan: Plan, test: dict | None) -> None:
    """Write the study's summary as its optuna-dashboard note: what it searched, the best trial on validation, its
    test metrics beside the strongest trivial baseline, and the command that writes the full report."""
    from optuna_dashboard import save_note

    spec = plan.spec
    lines = [f"# {spec.name}", "", spec.study.description or "", "",
             f"Task {spec.study.task}, dataset {spec.dataset.name}; objective: validation {spec.metric} ({spec.direction})."]
    try:
        best = study.best_trial
        lines.append(f"Best trial {best.number}: validation {spec.metric} {best.value:.4g} "
                     f"({best.user_attrs.get('config', {}).get('model', '?')}).")
    except ValueError:
        lines.append("No complete trial yet.")
    if test:
        lines.append("Test split, best configuration: "
                     + ", ".join(f"{k} {v:.4g}" for k, v in test.items() if isinstance(v, int | float)) + ".")
    baselines = study.user_attrs.get("baselines") or {}
    strongest = next((r for r in baselines.get("rows", []) if r.get("name") == baselines.get("strongest")), None)
    if strongest and (strongest.get("test") or {}).get(spec.metric) is not None:
        lines.append(f"Strongest trivial baseline (chosen on validation): {strongest['name']}, test {spec.metric} "
                     f"{strongest['test'][spec.metric]:.4g}.")
    lines += ["", f"Full report: `harness report {spec.name}`."]
    save_note(study, "\n".join(lines))


def refresh_data_facts(study: optuna.Study, task: Task, data: Any) -> None:
    """On resume, rewrite the ``data`` facts when this version of the task describes the same data differently
    (new facts, a corrected published reference): they are derived from the data, which the spec identity fixes."""
    facts = json.loads(json.dumps(task.describe(data)))
    if study.user_attrs.get("data") != facts:
        study.set_user_attr("data", facts)
