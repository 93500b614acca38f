"""Create or resume a study, run its trials to the target count, then evaluate the best on the test split.

Flow of :func:`run_study`:

1. Everything that can be checked before touching the storage is checked: the spec, the task, the data
   (loaded once per process), the storage URL, and what the data fixes (a fixed warmup longer than the
   training). A bad input leaves the storage as it was.
2. The study is created, or loaded if it exists; a stored spec that differs from the given one (apart
   from run control: ``n_trials``, ``timeout``, ``threads``, ``[run]``) is a :class:`SpecMismatchError`.
3. Trials run until the study holds ``n_trials`` finished (complete or pruned) trials, or ``timeout``
   seconds pass; rerunning the same command resumes. With ``workers > 1`` that many processes share the
   storage (each an Optuna worker with its own sampler seed and a share of the torch threads); they may
   finish up to ``workers - 1`` trials beyond the target.
4. The task's trivial baselines are fitted (their settings chosen on validation) and scored once on test.
   The best trial's configuration (chosen on validation) is retrained with its seed and evaluated once on
   the test split; with ``[study] test = "best-per-family"`` so is the best trial of every model family.
   Metrics, outputs and the task's examples are stored on the study. The test split never drives the search.

Faults: RDB storages record a heartbeat of every running trial; a trial whose process died (SIGKILL,
power loss) is marked failed after the grace period and re-queued by the next trial that starts
(Optuna's ``RetryHeartbeatStaleTrialCallback``). SIGINT and SIGTERM mark the running trial failed with the reason
``interrupted`` and end the process with 130 / 143; the same command resumes. A trial that raises is
marked failed with the error stored (``fail_reason``) and the study goes on, unless the same error ends
``max_repeated_failures`` trials in a row: then the study stops with that error.

Modules, one job each: :mod:`~harness.study.inputs` (the data, loaded once, and the checks before the storage
is touched), :mod:`~harness.study.plan` (the spec resolved once into the :class:`Plan` every step carries),
:mod:`~harness.study.opening` (create, or load with the identity check; sampler and pruner),
:mod:`~harness.study.metadata`, :mod:`~harness.study.objective` (one trial), :mod:`~harness.study.optimize`
(trials to the target, failures, interruptions, re-queueing), :mod:`~harness.study.evaluate` (baselines and the
retrain-and-test step shared with :mod:`harness.benchmark`), :mod:`~harness.study.weights` (the best trials'
weights kept for the test) and :mod:`~harness.study.run` (:func:`run_study` itself; several workers start through
:mod:`harness.launchers`).

Stored on the study (user attributes): ``spec``, ``spec_identity``, ``task``, ``dataset``, ``metric``,
``environment``, ``sampler``, ``pruner``, ``data``, ``search_space``, ``search_domains`` (the resolved domains, reused
on resume), ``baselines``, ``test_result``,
``family_results`` (with ``[study] test = "best-per-family"``), and the task's examples of the best model
(``attention_example``, ``forecast_example``, ...); as system attributes, the test references and the test
outputs of every evaluation (:mod:`harness.outputs`), from which ``harness rescore`` recomputes the metrics; and, for
optuna-dashboard, the objective's name (``set_metric_names``) and the study's summary as its note.
Stored on each trial: ``config``, ``seed``, ``threads``, ``worker``, ``param_count``, ``history``
(per-epoch metrics), ``lr_per_step``, ``best_epoch``, ``seconds``, ``pruned_reason`` when pruned and
``fail_reason`` when failed.
"""

from harness.study.evaluate import (
    Tested,
    attention_fallback,
    evaluate_best,
    evaluate_on,
    evaluate_trial,
    retrain,
    retrain_and_test,
    store_baselines,
)
from harness.study.inputs import load_data, preflight, resolve_data_dir
from harness.study.objective import Terminated, TrialError, first_number, make_objective, store_result
from harness.study.opening import finished_count, open_study
from harness.study.optimize import RepeatedFailures, checkpoint_folder, interrupt_signals, optimize, requeue_interrupted
from harness.study.plan import Plan
from harness.study.run import RunSummary, run_study, worker_main

__all__ = [
    "Plan", "RunSummary", "RepeatedFailures", "Terminated", "TrialError", "Tested",
    "run_study", "worker_main", "load_data", "preflight", "resolve_data_dir", "open_study", "finished_count",
    "make_objective", "first_number", "store_result", "optimize", "checkpoint_folder", "requeue_interrupted",
    "interrupt_signals",
    "evaluate_best", "evaluate_trial", "retrain", "retrain_and_test", "evaluate_on", "store_baselines",
    "attention_fallback",
]
