"""The best trial of each tested group keeps its best-epoch weights, so its test evaluation trains nothing again.

A trial of ``harness run-study`` that completes saves the weights of its best validation epoch to
``<checkpoints>/<study>.trial-<n>.weights.pt`` (beside the per-epoch checkpoints of :mod:`harness.resume`) when it
is at least as good as every complete trial of its group so far, and deletes the files of the group's trials it
beats. A group is a model family (``config["model"]``), or an attention type with ``[study] test =
"best-per-attention"`` (:func:`group`). A trial that ties the best keeps its file beside the earlier one, so
whichever of the tied trials Optuna's ``best_trial`` names is tested with its own weights. So the folder holds about
one file per group (more while trials tie, or for a moment while two workers finish at once); each is a
:func:`torch.save` dict of CPU tensors (a 3+3-layer Transformer with d 256 and 8,000-token vocabularies: about 47 MB).

The test evaluation (:func:`harness.study.evaluate.evaluate_trial`) loads the tested trial's file instead of
training its configuration a second time with the trial's seed; training is reproducible on the CPU (the same
seed, data order and threads give the same weights; the suite checks that both paths give the same test metrics),
so the retraining only repeated the trial at its cost. The report's attention example, when the best model has no
attention, comes from these files too (:func:`harness.study.evaluate.attention_fallback`). Without the file (a
study from before this, a trial run by ``harness.objective`` in the user's own Optuna loop, a file removed) the test
evaluation retrains as before. The files are deleted once the test evaluation is done (:func:`clear`); a tested model
is kept as an artifact (:mod:`harness.artifacts`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    import torch

    from harness.study.plan import Plan
    from harness.training import FitResult

def group(config: dict[str, Any], key: str) -> str:
    """The tested group of a configuration: its value of ``key`` (``model`` or ``attention``), or its model family
    where it has no such value (a Transformer has no ``attention`` parameter)."""
    return str(config.get(key, config.get("model")))


def path(plan: Plan, number: int) -> Path | None:
    """The weights file of trial ``number``, or ``None`` when the plan keeps no trial weights."""
    if not plan.trial_weights or plan.checkpoints is None:
        return None
    return plan.checkpoints / f"{plan.name}.trial-{number}.weights.pt"


def save_if_best(plan: Plan, trial: optuna.Trial, config: dict[str, Any], seed: int, result: FitResult) -> bool:
    """Save ``result.best_state`` as trial ``trial``'s weights when it is at least as good as every complete trial of
    its group (:func:`group`) in the storage, and delete the files of the trials of its group it strictly beats (a
    tied trial's file stays: Optuna's ``best_trial`` may name either).

    Args:
        plan: The run's plan (:attr:`~harness.study.plan.Plan.trial_weights` on, a checkpoint folder).
        trial: The running trial (not yet told complete).
        config: Its configuration; seed: its seed; result: its finished (not stopped) training.

    Returns:
        Whether a file was written.
    """
    import optuna

    from harness import resume

    target = path(plan, trial.number)
    if target is None or result.best_state is None or result.stopped or not math.isfinite(result.value):
        return False
    key = plan.spec.study.tested_per
    rivals = _complete(trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)), key,
                       group(config, key))
    beats = (lambda a, b: a >= b) if plan.direction == "maximize" else (lambda a, b: a <= b)
    if any(not beats(result.value, t.value) for t in rivals):
        return False
    resume.save(target, {"study": plan.name, "trial": trial.number, "config": config, "seed": seed,
                         "value": result.value, "best_epoch": result.best_epoch, "state_dict": result.best_state})
    for rival in rivals:
        if rival.value != result.value:
            discard(plan, rival.number)
    return True


def load(plan: Plan, trial: optuna.trial.FrozenTrial) -> dict[str, torch.Tensor] | None:
    """The best-epoch weights ``trial`` saved, or ``None`` when there is no file, or one of another trial, study,
    configuration or seed (then the caller retrains)."""
    from harness import resume

    target = path(plan, trial.number)
    saved = resume.load(target) if target is not None else None
    if saved is None:
        return None
    same = (saved.get("study") == plan.name and saved.get("trial") == trial.number
            and saved.get("config") == trial.user_attrs.get("config") and saved.get("seed") == trial.user_attrs.get("seed"))
    return saved["state_dict"] if same else None


def discard(plan: Plan, number: int) -> None:
    """Delete trial ``number``'s weights file (nothing if there is none)."""
    from harness import resume

    resume.remove(path(plan, number))


def clear(plan: Plan, study: optuna.Study) -> None:
    """After the test evaluation: delete the weights files of every trial that is not running (the tested ones are
    kept as artifacts by then; a trial still running elsewhere may be about to save its own)."""
    import optuna

    running = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
    for trial in study.get_trials(deepcopy=False):
        if trial.state not in running:
            discard(plan, trial.number)


def _complete(trials: list[optuna.trial.FrozenTrial], key: str, value: str) -> list[optuna.trial.FrozenTrial]:
    """The complete trials of group ``value`` (by ``key``) with a finite value."""
    return [t for t in trials if t.value is not None and math.isfinite(t.value)
            and group(t.user_attrs.get("config") or {}, key) == value]
