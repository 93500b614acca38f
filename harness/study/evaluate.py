"""After the search: the trivial baselines, then the validation-chosen configurations tested once.

A study's best trial and the best trial of each model family are tested with the best-epoch weights the trial kept
(:mod:`harness.study.weights`, :func:`test_kept_weights`), or, without them, retrained with the trial's seed. The
retrain-and-test step (:func:`retrain_and_test`) also serves every seeded re-run of a benchmark
(:mod:`harness.benchmark`). The test split never drives a choice.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.study import weights

if TYPE_CHECKING:
    import optuna

    from harness.study.plan import Plan
    from harness.training import FitResult


class Untested(RuntimeError):
    """A retraining that was not tested: no epoch reached a finite validation value, or the test evaluation raised;
    ``fit`` holds the training's curves and ``reason`` says why, as stored with a failed run."""

    def __init__(self, reason: str, fit: FitResult):
        super().__init__(reason)
        self.reason = reason
        self.fit = fit


class NoFiniteEpoch(Untested):
    """A retraining ended without an epoch of finite validation value, so nothing was tested."""


@dataclass
class Tested:
    """A configuration retrained with a seed and evaluated once on the test split.

    Attributes:
        model: The retrained model, holding the weights of its best validation epoch.
        fit: The training's :class:`~harness.training.FitResult` (curves, best epoch, validation value).
        metrics: Test metrics (metric -> value; not finite values as they came).
        outputs: The test outputs (hypotheses, captions, forecasts) the metrics are computed from.
        seconds: Wall-clock seconds of the retraining and the test evaluation.
        device: Where it trained (:meth:`harness.device.Placement.describe`).
    """

    model: Any
    fit: FitResult
    metrics: dict[str, float]
    outputs: Any
    seconds: float
    device: str

    def valid(self, names: Any) -> dict[str, float]:
        """The validation metrics among ``names`` at the best epoch."""
        row = next((r for r in self.fit.history if r.get("epoch") == self.fit.best_epoch), {})
        return {m: v for m, v in row.items() if m in names}


def retrain(plan: Plan, config: dict[str, Any], *, seed: int, checkpoint: Path | None = None):
    """Train ``config`` again with ``seed`` on the plan's placement and return ``(model, result)``: the model holds
    the weights of its best validation epoch (a :class:`~harness.training.FitResult` without them has none).
    ``checkpoint``: resume from, and save after every epoch to, this file (:mod:`harness.resume`)."""
    from harness.training import fit, seeded_model

    spec = plan.spec
    model = seeded_model(plan.task, config, plan.data, seed)
    result = fit(plan.task, model, plan.data, config, plan.budget, metric=spec.metric, direction=spec.direction, seed=seed,
                 placement=plan.placement, keep_best_state=True, checkpoint=checkpoint)
    if result.best_state is not None:
        model.load_state_dict(result.best_state)
    return model, result


def test_kept_weights(plan: Plan, trial: optuna.trial.FrozenTrial, state: dict[str, Any]) -> Tested:
    """Evaluate the best-epoch weights ``state`` that ``trial`` kept (:mod:`harness.study.weights`) once on test: the
    trial's model is built again, the weights loaded and placed on the plan's device; nothing is trained."""
    from harness.storage import get_series
    from harness.training import FitResult, seeded_model

    start = time.perf_counter()
    config = trial.user_attrs["config"]
    model = seeded_model(plan.task, config, plan.data, trial.user_attrs["seed"])
    model.load_state_dict(state)
    model.to(plan.placement.torch_device)
    attrs = trial.user_attrs
    fit = FitResult(value=trial.value, best_epoch=attrs.get("best_epoch", 0), history=list(get_series(attrs, "history") or []),
                    param_count=attrs.get("param_count", 0), best_state=state)
    metrics, outputs = evaluate_on(plan, model, "test")
    return Tested(model, fit, metrics, outputs, time.perf_counter() - start, plan.placement.describe())


def evaluate_on(plan: Plan, model: Any, split: str) -> tuple[dict[str, float], Any]:
    """``task.evaluate_outputs`` on ``split`` under the plan's autocast: ``(metrics, outputs)``."""
    with plan.placement.autocast():
        return plan.task.evaluate_outputs(model, plan.data, split)


def retrain_and_test(plan: Plan, config: dict[str, Any], *, seed: int, checkpoint: Path | None = None,
                     require_finite: bool = False) -> Tested:
    """Retrain ``config`` with ``seed`` (:func:`retrain`) and evaluate its best validation epoch once on test.

    Raises:
        NoFiniteEpoch: ``require_finite`` and no epoch reached a finite validation value (nothing is tested).
        Untested: ``require_finite`` and the test evaluation raised (with the training's curves).
    """
    start = time.perf_counter()
    model, result = retrain(plan, config, seed=seed, checkpoint=checkpoint)
    if require_finite and (result.best_state is None or not math.isfinite(result.value)):
        raise NoFiniteEpoch(f"RuntimeError: {result.reason or 'no epoch with a finite validation value'}", result)
    try:
        metrics, outputs = evaluate_on(plan, model, "test")
    except Exception as exc:
        if not require_finite:
            raise
        raise Untested(f"{type(exc).__name__}: {exc}", result) from exc
    return Tested(model, result, metrics, outputs, time.perf_counter() - start, plan.placement.describe())


def evaluate_best(study: optuna.Study, plan: Plan, *, quiet: bool = False):
    """The trivial baselines, then the validation-best configuration (and, with ``[study] test = "best-per-family"``,
    the validation-best of every other model family), each evaluated once on the test split with the weights of its
    trial's best epoch: those the trial kept (:mod:`harness.study.weights`), else its configuration retrained with its
    seed. Outputs and metrics are stored on the study; the kept trial weights are deleted afterwards.

    Each step is skipped when the storage already holds its result for the current best trial, so rerunning
    the command costs nothing. Stored: ``baselines`` (see :func:`harness.baselines.record`), ``test_result``,
    ``family_results`` (family -> the same record), the test references (output ``references.test``) and every
    evaluation's test outputs (``baseline.<name>``, ``trial.<number>.test``; :mod:`harness.outputs`). Each tested
    model is kept in ``plan.store`` (an Optuna artifact store; :mod:`harness.artifacts`) as ``best`` or
    ``family.<name>``.

    Returns:
        The best trial's test metrics, or ``None`` when no trial is complete.
    """
    from harness.baselines import baseline_names
    from harness.storage import output_keys, put_output, study_system_attrs

    task, data = plan.task, plan.data
    _, best_number = best_of(study)
    if best_number is None:
        return None
    stored_outputs = set(output_keys(study_system_attrs(study)))
    if "references.test" not in stored_outputs:
        put_output(study, "references.test", task.references(data, "test"))
    stored = study.user_attrs.get("baselines")
    if stored is None or (not stored.get("rows") and baseline_names(task.name)):  # none yet, or newly registered
        store_baselines(study, plan, quiet=quiet)
    best = study.best_trial
    result = study.user_attrs.get("test_result")
    if not (result and result.get("trial") == best_number and result.get("outputs") in stored_outputs):
        result, model = evaluate_trial(study, best, plan, quiet=quiet, what="best trial")
        study.set_user_attr("test_result", result)
        _keep(study, "best", plan, best, model)
        with plan.placement.autocast():
            examples = task.examples(model, data)
        for key, example in examples.items():
            study.set_user_attr(key, {"trial": best_number, **example})
    else:
        _keep_missing(study, "best", plan, best, quiet=quiet)
    if plan.spec.study.test != "best":
        evaluate_families(study, plan, result, quiet=quiet)
    attention_fallback(study, plan, quiet=quiet)
    weights.clear(plan, study)
    return result["metrics"]


def store_baselines(owner: Any, plan: Plan, *, quiet: bool = False, prefix: str = "", attr: str = "baselines") -> dict[str, Any]:
    """Run the task's baselines (:func:`harness.baselines.run_baselines`) and store their record (attribute
    ``attr``) and test outputs (``<prefix>baseline.<name>``) on ``owner`` (a study)."""
    from harness.baselines import record, run_baselines
    from harness.console import console
    from harness.storage import put_output

    spec = plan.spec
    results = run_baselines(plan.task, plan.data, metric=spec.metric, direction=spec.direction, seed=spec.study.seed)
    for r in results:
        if r.outputs is not None:
            put_output(owner, f"{prefix}baseline.{r.name}", r.outputs)
    summary = record(results, spec.metric, spec.direction, f"{prefix}baseline.{{name}}")
    owner.set_user_attr(attr, summary)
    if not quiet and results:
        shown = "; ".join(f"{r.name} {r.test.get(spec.metric, math.nan):.4g}" if r.error is None else f"{r.name}: {r.error}"
                          for r in results)
        console.print(f"Baselines (test {spec.metric}; strongest on validation: {summary['strongest']}): {shown}",
                      markup=False)
    return summary


def evaluate_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial, plan: Plan, *, quiet: bool = False,
                   what: str = "trial"):
    """Evaluate the weights of ``trial``'s best validation epoch once on test and store the outputs
    (``trial.<number>.test``) on the study: the weights the trial kept (:mod:`harness.study.weights`), or, without
    them, its configuration retrained with its seed (:func:`retrain_and_test`).

    Returns:
        ``(record, model)``: the JSON-able record (trial, family, metrics, best epoch, ``weights``: ``"trial"`` or
        ``"retrained"``, validation values, seconds, threads, device, outputs key) and the tested model.
    """
    from harness.console import console
    from harness.storage import put_output

    config = trial.user_attrs["config"]
    state = weights.load(plan, trial)
    if not quiet:
        how = ("its best-epoch weights, kept by the trial" if state is not None
               else f"retraining its configuration, seed {trial.user_attrs['seed']}")
        console.print(f"Evaluating {what} {trial.number} ({config.get('model', '?')}) on the test split ({how})",
                      markup=False)
    if state is not None:
        tested = test_kept_weights(plan, trial, state)
    else:
        tested = retrain_and_test(plan, config, seed=trial.user_attrs["seed"],
                                  checkpoint=plan.checkpoint(f"test-{trial.number}"))
    key = f"trial.{trial.number}.test"
    put_output(study, key, tested.outputs)
    record = {
        "trial": trial.number,
        "family": config.get("model"),
        "metrics": {k: _json_float(v) for k, v in tested.metrics.items()},
        "best_epoch": tested.fit.best_epoch,
        "weights": "trial" if state is not None else "retrained",
        "valid_value_search": trial.value,
        "seconds": tested.seconds,
        "threads": plan.threads,
        "device": tested.device,
        "outputs": key,
    }
    if state is None:
        record["valid_value_retrained"] = _json_float(tested.fit.value)
    if not quiet:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in tested.metrics.items())
        console.print(f"Test split, {what} {trial.number}: {shown}", markup=False)
    return record, tested.model


def evaluate_families(study: optuna.Study, plan: Plan, best_result: dict[str, Any], *, quiet: bool = False) -> None:
    """Test the validation-best complete trial of every group (every model family, ``config["model"]``, or with
    ``[study] test = "best-per-attention"`` every attention type; :func:`harness.study.weights.group`); the overall
    best's record is reused for its group. Each other group's test outputs are compared with the best's by a paired
    bootstrap over the test examples (:mod:`harness.bootstrap`, where the task can resample; ``versus_best``). Stored
    as ``family_results`` (group -> record) and ``tested_per`` (the grouping key)."""
    import optuna

    from harness.storage import output_keys, study_system_attrs

    key = plan.spec.study.tested_per
    stored = dict(study.user_attrs.get("family_results") or {})
    outputs = set(output_keys(study_system_attrs(study)))
    sign = -1.0 if plan.direction == "maximize" else 1.0
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE and "config" in t.user_attrs
                and t.value is not None and math.isfinite(t.value)]
    study.set_user_attr("tested_per", key)
    groups = sorted({weights.group(t.user_attrs["config"], key) for t in complete})
    for name in groups:
        members = [t for t in complete if weights.group(t.user_attrs["config"], key) == name]
        best = min(members, key=lambda t: (sign * t.value, t.number))
        what = f"best {name} trial" if key == "model" else f"best trial with {key} {name}"
        if best.number == best_result["trial"]:
            stored[name] = best_result
        elif not (stored.get(name, {}).get("trial") == best.number and stored[name].get("outputs") in outputs):
            stored[name], model = evaluate_trial(study, best, plan, quiet=quiet, what=what)
            _keep(study, f"family.{name}", plan, best, model)
        else:
            _keep_missing(study, f"family.{name}", plan, best, quiet=quiet)
        study.set_user_attr("family_results", stored)
    _compare_with_best(study, plan, stored, best_result, quiet=quiet)


def _compare_with_best(study: optuna.Study, plan: Plan, stored: dict[str, Any], best_result: dict[str, Any], *,
                       quiet: bool) -> None:
    """Each tested group's paired bootstrap against the best trial on the test examples (stored once per pair)."""
    from harness.bootstrap import paired_bootstrap
    from harness.storage import get_output, study_system_attrs

    system = study_system_attrs(study)
    references, best_outputs = get_output(system, "references.test"), get_output(system, best_result["outputs"])
    changed = False
    for name, record in stored.items():
        done = record.get("versus_best") or {}
        if best_result["trial"] in (record.get("trial"), done.get("trial")):  # the best itself, or compared already
            continue
        outputs = get_output(system, record["outputs"])
        if references is None or outputs is None or best_outputs is None:
            continue
        result = paired_bootstrap(type(plan.task), references, outputs, best_outputs, plan.metric, seed=plan.spec.study.seed)
        if result is None:
            continue
        record["versus_best"] = {"trial": best_result["trial"], **result}
        changed = True
        if not quiet:
            from harness.console import console

            console.print(f"Test {plan.metric}, {name} (trial {record['trial']}) - best (trial {best_result['trial']}): "
                          f"{result['difference']:+.2f} [{result['low']:+.2f}, {result['high']:+.2f}], paired bootstrap "
                          f"over {result['examples']} test examples, p = {result['p']:.3g}", markup=False)
    if changed:
        study.set_user_attr("family_results", stored)


def attention_fallback(study: optuna.Study, plan: Plan, *, quiet: bool = False) -> None:
    """When the best trial's model has no attention (DLinear, an RNN without attention), store the attention example
    of the best complete trial whose model has attention among the trials that kept their best-epoch weights (the
    best of each model family, :mod:`harness.study.weights`), so the report still shows what attention learned.
    Nothing is trained: without kept weights of a model with attention the report has no attention example. Whether a
    model has attention is read from its examples, not from a list of names. Skipped when an attention example is
    already stored.
    """
    import optuna

    from harness.console import console
    from harness.training import seeded_model

    task, data = plan.task, plan.data
    best_number = study.user_attrs.get("test_result", {}).get("trial")
    current = study.user_attrs.get("attention_example")
    if current and (current.get("trial") == best_number or current.get("fallback")):
        return
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE and t.number != best_number
                and "config" in t.user_attrs and t.value is not None and math.isfinite(t.value)]
    for trial in sorted(complete, key=lambda t: t.value, reverse=plan.direction == "maximize"):
        state = weights.load(plan, trial)
        if state is None:
            continue
        model = seeded_model(task, trial.user_attrs["config"], data, trial.user_attrs["seed"])
        model.load_state_dict(state)
        model.to(plan.placement.torch_device)
        with plan.placement.autocast():
            examples = task.examples(model, data)
        if "attention_example" not in examples:
            continue
        example = examples["attention_example"]
        if not quiet:
            console.print(f"The best trial's model has no attention; the attention example is trial {trial.number}'s, "
                          "the best complete trial with attention that kept its weights", markup=False)
        why = (f"the best trial's model has no attention, so this is trial {trial.number}, the best complete trial "
               "with attention among those that kept their best-epoch weights")
        example["description"] = f"{example.get('description') or 'attention weights'} ({why})"
        study.set_user_attr("attention_example", {"trial": trial.number, "fallback": True, **example})
        return


def best_of(study: optuna.Study) -> tuple[float | None, int | None]:
    """``(best value, best trial number)``, or ``(None, None)`` when no trial is complete."""
    try:
        return study.best_value, study.best_trial.number
    except ValueError:
        return None, None


def _keep(study: optuna.Study, key: str, plan: Plan, trial: Any, model: Any) -> None:
    """Keep a tested model as an artifact (:func:`harness.artifacts.keep`) when the plan has a store."""
    if plan.store is None:
        return
    from harness.artifacts import keep

    keep(study, key, store=plan.store, trial_number=trial.number, task=plan.task, data=plan.data, model=model,
         config=trial.user_attrs["config"], value=trial.value)


def _keep_missing(study: optuna.Study, key: str, plan: Plan, trial: Any, *, quiet: bool) -> None:
    """A study tested before it kept models (or stopped in between): retrain ``trial`` with its seed, without another
    test evaluation, and keep the model as ``key``."""
    from harness.artifacts import KEPT

    current = study.user_attrs.get(KEPT + key)
    if plan.store is None or not plan.task.keeps_models() or (current and current.get("trial") == trial.number):
        return
    if not quiet:
        from harness.console import console

        console.print(f"Keeping the model of trial {trial.number} ({key}): retraining it with its seed", markup=False)
    model, _ = retrain(plan, trial.user_attrs["config"], seed=trial.user_attrs["seed"])
    _keep(study, key, plan, trial, model)


def _json_float(value: float) -> float | None:
    return value if math.isfinite(value) else None
