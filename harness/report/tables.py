"""The report's tables, as pandas DataFrames of formatted strings, and the parameter importances.

Reads only a :class:`~harness.report.load.StudyData`; writes nothing. Every table has a fixed row and
column order (trial number, then names in sorted or stored order), so a storage gives the same tables
every time.

Number format: an objective or metric whose observed values exceed 1 in magnitude (BLEU, chrF, loss,
perplexity) is shown with 2 decimals, otherwise (exact match, a ratio) with 4 significant digits.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.report.load import FAMILY, STATE_ORDER, StudyData, TrialRecord

if TYPE_CHECKING:
    import pandas as pd

DASH = "–"
#: Factors with their own table when searched (besides ``attention / model``), in this order.
FACTORS = ("schedule", "model", "optimizer", "cell")
#: History keys that are not validation metrics.
NOT_METRICS = ("epoch", "seconds")


# -- formatting ----------------------------------------------------------------------------------
def number_format(values: Iterable[Any]) -> Callable[[Any], str]:
    """A formatter for one quantity: 2 decimals if any observed value reaches 10 in magnitude (BLEU, chrF,
    seconds), else 4 significant digits (MSE 0.6511, loss 2.345), so that close values stay distinguishable."""
    big = any(_finite(v) and abs(v) >= 10 for v in values)

    def fmt(value: Any) -> str:
        if not _finite(value):
            return DASH if value is None else str(value)
        return f"{value:.2f}" if big else f"{value:.4g}"

    return fmt


def fmt_param(value: Any) -> str:
    """A parameter value: floats with 4 significant digits, booleans in TOML spelling, ``–`` for missing."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def fmt_seconds(seconds: float | None) -> str:
    """Seconds with one decimal (``–`` for missing)."""
    return DASH if not _finite(seconds) else f"{seconds:.1f}"


def objective_format(data: StudyData) -> Callable[[Any], str]:
    """The formatter of the objective, from every trial's value and intermediate values."""
    values: list[Any] = [t.objective for t in data.trials]
    for t in data.trials:
        values.extend(h.get(data.metric) for h in t.history)
    return number_format(values)


def metric_formats(data: StudyData) -> dict[str, Callable[[Any], str]]:
    """One formatter per history or test metric, from every value observed for it."""
    seen: dict[str, list[Any]] = {}
    for t in data.trials:
        for row in t.history:
            for key, value in row.items():
                seen.setdefault(key, []).append(value)
    test = (data.attrs.get("test_result") or {}).get("metrics") or {}
    for key, value in test.items():
        seen.setdefault(key, []).append(value)
    return {key: number_format(values) for key, values in seen.items()}


def states_line(data: StudyData) -> str:
    """``"16 trials: 10 complete, 6 pruned"`` (states in :data:`STATE_ORDER`, absent ones omitted)."""
    counts = state_counts(data)
    parts = [f"{counts[s]} {s}" for s in STATE_ORDER if counts.get(s)]
    parts += [f"{n} {s}" for s, n in sorted(counts.items()) if s not in STATE_ORDER]
    total = len(data.trials)
    return f"{total} trial{'s' if total != 1 else ''}" + (": " + ", ".join(parts) if parts else "")


def state_counts(data: StudyData) -> dict[str, int]:
    """Trials by state name (lower case)."""
    counts: dict[str, int] = {}
    for t in data.trials:
        counts[t.state] = counts.get(t.state, 0) + 1
    return counts


# -- summary -------------------------------------------------------------------------------------
def summary_table(data: StudyData) -> pd.DataFrame:
    """Two columns, ``item`` and ``value``: task, dataset and its facts, budget, sampler, pruner, trials,
    compute time, threads, created."""
    import pandas as pd

    a = data.attrs
    rows: list[tuple[str, str]] = [("task", str(a.get("task", DASH))), ("dataset", str(a.get("dataset", DASH)))]
    spec_dataset = {k: v for k, v in ((a.get("spec") or {}).get("dataset") or {}).items() if k != "name"}
    if spec_dataset:
        rows.append(("dataset options", ", ".join(f"{k}={fmt_param(v)}" for k, v in spec_dataset.items())))
    for key, value in (a.get("data") or {}).items():
        if key != "published":  # shown in its own table beside the test result
            rows.append((f"data: {key.replace('_', ' ')}", _fact(key, value)))
    budget = a.get("budget") or {}
    rows.append(("budget", f"max epochs {budget.get('max_epochs', DASH)}; "
                           f"training examples {_all(budget.get('max_train_examples'))}; "
                           f"validation examples {_all(budget.get('max_valid_examples'))}"))
    sampler = a.get("sampler") or {}
    sampler_text = str(sampler.get("name", DASH))
    extras = [f"seed {sampler['seed']}"] if sampler.get("seed") is not None else []
    extras += [f"{k}={fmt_param(v)}" for k, v in sorted((sampler.get("options") or {}).items())]
    rows.append(("sampler", sampler_text + (f" ({', '.join(extras)})" if extras else "")))
    pruner = a.get("pruner") or {}
    options = [f"{k}={fmt_param(v)}" for k, v in sorted((pruner.get("options") or {}).items())]
    rows.append(("pruner", str(pruner.get("name", DASH)) + (f" ({', '.join(options)})" if options else "")))
    rows.append(("trials", states_line(data)))
    rows.append(("total compute time", compute_time(data)))
    rows.append(("threads", threads_line(data)))
    where = placement_line(a.get("environment") or {})
    if where:
        rows.append(("device", where))
    kept = sorted(k[len("kept."):] for k in a if k.startswith("kept."))
    if kept:
        rows.append(("kept models", ", ".join(f"{k} (trial {a['kept.' + k].get('trial')})" for k in kept)
                     + f"; `harness predict {data.name} --input FILE`"))
    rows.append(("created", str(a.get("created", DASH))))
    if a.get("harness_version"):
        rows.append(("harness version", str(a["harness_version"])))
    return pd.DataFrame(rows, columns=["item", "value"])


def compute_time(data: StudyData) -> str:
    """Sum of the trials' training seconds plus the test evaluation (a retraining, or the kept weights evaluated).

    For example ``"95.3 s (trials 90.1 s + test retraining 5.2 s)"`` or ``"90.4 s (trials 90.1 s + test evaluation
    0.3 s)"``.
    """
    trials = sum(t.seconds for t in data.trials if _finite(t.seconds))
    missing = sum(1 for t in data.trials if not _finite(t.seconds))
    result = data.attrs.get("test_result") or {}
    test = result.get("seconds")
    total = trials + (test if _finite(test) else 0.0)
    parts = [f"trials {trials:.1f} s"]
    if _finite(test):
        parts.append(f"test {'evaluation' if result.get('weights') == 'trial' else 'retraining'} {test:.1f} s")
    text = f"{total:.1f} s ({' + '.join(parts)})"
    if missing:
        text += f"; {missing} trial{'s' if missing != 1 else ''} without a recorded time"
    return text


def placement_line(env: dict) -> str:
    """Where the trials trained, from the stored environment: ``"cuda:0 (NVIDIA H200), bf16, TF32"``, or ``""`` for
    a study recorded before devices were (it ran on the CPU in fp32)."""
    if "device" not in env:
        return ""
    parts = [str(env["device"]) + (f" ({env['device_name']})" if env.get("device_name") else ""), str(env.get("precision"))]
    if env.get("tf32_matmul"):
        parts.append("TF32 matmul")
    if env.get("compile"):
        parts.append("torch.compile")
    if env.get("gpu_count"):
        parts.append(f"{env['gpu_count']} GPU(s) visible, CUDA {env.get('cuda')}, cuDNN {env.get('cudnn')}")
    return ", ".join(parts)


def threads_line(data: StudyData) -> str:
    """The distinct thread counts the trials ran with (``–`` when none is recorded)."""
    counts = sorted({t.threads for t in data.trials if isinstance(t.threads, int)})
    if not counts:
        threads = (data.attrs.get("environment") or {}).get("torch_threads")
        return DASH if threads is None else str(threads)
    return ", ".join(str(c) for c in counts) + (" (differs between runs)" if len(counts) > 1 else "")


def commits_line(what: str, commits: list[str | None]) -> str:
    """Which git commits the stored runs ran, with how many each, in the order they were stored.

    Args:
        what: What the runs are, plural ("trials", "seeded re-runs").
        commits: Each run's recorded commit (``None``: not recorded; runs stored before they recorded it, or run
            outside a git checkout).

    Returns:
        ``"All 3 trials ran at git commit <hash>."`` or ``"The trials ran at git commits <a> (2), <b> (1)."``, with
        ``" 4 of the 7 trials have no recorded commit ..."`` appended when some lack one; ``""`` when none has one.
    """
    counts: dict[str, int] = {}
    for commit in commits:
        if commit:
            counts[commit] = counts.get(commit, 0) + 1
    if not counts:
        return ""
    missing = len(commits) - sum(counts.values())
    if len(counts) == 1:
        (commit, n), = counts.items()
        text = f"{'All ' if n > 1 and not missing else ''}{n} {what if n != 1 else what[:-1]} ran at git commit {commit}."
    else:
        text = f"The {what} ran at git commits " + ", ".join(f"{c} ({n})" for c, n in counts.items()) + "."
    if missing:
        text += (f" {missing} of the {len(commits)} {what} {'has' if missing == 1 else 'have'} no recorded commit "
                 "(stored before it was recorded, or run outside a git checkout).")
    return text


# -- best trial ----------------------------------------------------------------------------------
def config_table(trial: TrialRecord) -> pd.DataFrame:
    """The trial's full configuration (stored order, floats in full), columns ``parameter`` and ``value``."""
    import pandas as pd

    exact = [(k, repr(v) if isinstance(v, float) else fmt_param(v)) for k, v in trial.config.items()]
    return pd.DataFrame(exact, columns=["parameter", "value"])


def history_at(trial: TrialRecord, epoch: int | None) -> dict[str, Any] | None:
    """The history row of ``epoch`` (``None`` when absent)."""
    for row in trial.history:
        if row.get("epoch") == epoch:
            return row
    return None


def best_metrics_table(data: StudyData, trial: TrialRecord) -> pd.DataFrame | None:
    """Rows = metrics; columns = validation at the trial's best epoch, and test (when stored for this trial).

    Returns ``None`` when neither is stored.
    """
    import pandas as pd

    valid = history_at(trial, trial.best_epoch) or {}
    test_result = data.attrs.get("test_result") or {}
    test = test_result.get("metrics") or {} if test_result.get("trial") == trial.number else {}
    names = [k for k in valid if k not in NOT_METRICS] + [k for k in test if k not in valid]
    if not names:
        return None
    fmts = metric_formats(data)
    rows = [(n, fmts[n](valid.get(n)) if n in valid else DASH, fmts[n](test.get(n)) if n in test else DASH) for n in names]
    return pd.DataFrame(rows, columns=["metric", f"validation (epoch {trial.best_epoch})", "test"])


# -- factors -------------------------------------------------------------------------------------
def factor_names(data: StudyData) -> list[str]:
    """Factors with a table: ``attention / model``, then the searched categorical parameters (``schedule``,
    ``model``, ``optimizer``, ``cell`` first), each only when the trials hold more than one value of it."""
    from optuna.distributions import CategoricalDistribution

    categorical = []
    for name in data.searched:
        if name == "attention":  # part of the merged factor
            continue
        if any(isinstance(t.distributions.get(name), CategoricalDistribution) for t in data.frozen):
            categorical.append(name)
    ordered = [n for n in FACTORS if n in categorical] + [n for n in categorical if n not in FACTORS]
    out = [FAMILY] + ordered
    return [n for n in out if len({_factor_value(t, n) for t in data.trials} - {None}) > 1]


def factor_table(data: StudyData, factor: str) -> pd.DataFrame:
    """One row per value of ``factor``: trials (complete + pruned), complete, pruned, (failed), and best,
    median, mean ± std of the complete trials' objective; best first by the study direction.

    The standard deviation is the sample one (n - 1); with one complete trial only the mean is shown.
    """
    import pandas as pd

    fmt = objective_format(data)
    groups: dict[str, list[TrialRecord]] = {}
    for t in data.trials:
        value = _factor_value(t, factor)
        if value is not None:
            groups.setdefault(value, []).append(t)
    any_failed = any(t.state == "fail" for ts in groups.values() for t in ts)
    sign = -1.0 if data.maximize else 1.0
    rows = []
    for value, trials in groups.items():
        done = [t.value for t in trials if t.state == "complete" and _finite(t.value)]
        best = (max(done) if data.maximize else min(done)) if done else None
        row = {factor: value,
               "trials": sum(1 for t in trials if t.state in ("complete", "pruned")),
               "complete": sum(1 for t in trials if t.state == "complete"),
               "pruned": sum(1 for t in trials if t.state == "pruned")}
        if any_failed:
            row["failed"] = sum(1 for t in trials if t.state == "fail")
        row["best"] = fmt(best)
        row["median"] = fmt(statistics.median(done)) if done else DASH
        if len(done) > 1:
            row["mean ± std"] = f"{fmt(statistics.fmean(done))} ± {fmt(statistics.stdev(done))}"
        else:
            row["mean ± std"] = fmt(done[0]) if done else DASH
        rows.append(((best is None, sign * best if best is not None else 0.0, value), row))
    rows.sort(key=lambda r: r[0])
    return pd.DataFrame([r for _, r in rows])


def factor_best(data: StudyData, factor: str) -> dict[str, float]:
    """The best complete objective per value of ``factor`` (values without a complete trial omitted)."""
    out: dict[str, float] = {}
    for t in data.complete():
        value = _factor_value(t, factor)
        if value is None:
            continue
        if value not in out or (t.value > out[value] if data.maximize else t.value < out[value]):
            out[value] = t.value
    return out


def _factor_value(trial: TrialRecord, factor: str) -> str | None:
    if factor == FAMILY:
        return trial.family
    value = trial.params.get(factor)
    return None if value is None else fmt_param(value)


# -- ranking -------------------------------------------------------------------------------------
def ranked(data: StudyData) -> list[TrialRecord]:
    """Finished trials, best first: complete trials by value, then pruned ones by their last reported value; ties by number."""
    sign = -1.0 if data.maximize else 1.0
    finished = [t for t in data.trials if t.state in ("complete", "pruned") and _finite(t.objective)]
    return sorted(finished, key=lambda t: (t.state != "complete", sign * t.objective, t.number))


def top_table(data: StudyData, n: int = 10) -> pd.DataFrame:
    """The ``n`` best finished trials (see :func:`ranked`): number, state, objective, best epoch,
    attention / model, schedule, lr, the other searched parameters, seconds."""
    import pandas as pd

    fmt = objective_format(data)
    others = [p for p in data.searched if p not in ("model", "attention", "schedule", "lr")]
    rows = []
    for t in ranked(data)[:n]:
        state = t.state if t.state == "complete" else f"{t.state} (epoch {t.last_epoch})"
        row = {"trial": str(t.number), "state": state, data.metric: fmt(t.objective),
               "best epoch": fmt_param(t.best_epoch), FAMILY: t.family or DASH,
               "schedule": fmt_param(t.config.get("schedule")), "lr": _fmt_lr(t.config.get("lr"))}
        for p in others:
            row[p] = fmt_param(t.params.get(p))
        row["seconds"] = fmt_seconds(t.seconds)
        rows.append(row)
    columns = ["trial", "state", data.metric, "best epoch", FAMILY, "schedule", "lr", *others, "seconds"]
    return pd.DataFrame(rows, columns=columns)


def failed_table(data: StudyData) -> pd.DataFrame | None:
    """Every trial that failed: its number, configuration (attention / model, schedule, lr), the last epoch it
    reported, the reason, and the trial that retried it (``None`` when no trial failed)."""
    import pandas as pd

    failed = [t for t in data.trials if t.state == "fail"]
    if not failed:
        return None
    fmt = objective_format(data)
    retried_by = {t.retry_of: t.number for t in data.trials if t.retry_of is not None}
    unknown = "none stored (a trial whose worker died is failed by the heartbeat, which stores no reason)"
    rows = [{"trial": str(t.number), FAMILY: t.family or DASH, "schedule": fmt_param(t.config.get("schedule")),
             "lr": _fmt_lr(t.config.get("lr")),
             "last epoch": DASH if t.last_epoch is None else f"{t.last_epoch} ({data.metric} {fmt(t.last_value)})",
             "reason": t.fail_reason or unknown, "retried as": fmt_param(retried_by.get(t.number))} for t in failed]
    return pd.DataFrame(rows)


def _fmt_lr(value: Any) -> str:
    return f"{value:.2e}" if _finite(value) else fmt_param(value)


# -- importances ---------------------------------------------------------------------------------
#: Fewer complete trials than this give a sentence instead of importance scores.
MIN_TRIALS_FOR_IMPORTANCES = 5
#: Up to this many trials, fANOVA (Hutter et al. 2014) estimates importances; above it, PED-ANOVA
#: (Watanabe et al. 2023), whose cost hardly grows with the number of trials: fANOVA's random forest over
#: 10,000 trials would take minutes, PED-ANOVA over all of them takes milliseconds.
MAX_TRIALS_FOR_FANOVA = 200

@dataclass
class Importances:
    """Parameter importances over one set of complete trials.

    Attributes:
        title: Which trials (``"all complete trials"``, ...).
        trials: How many trials the set holds.
        scores: ``(parameter, importance)``, most important first (ties by name); empty when ``note`` says why.
        note: A sentence explaining why there are no scores, else ``None``.
        evaluator: ``"fANOVA"`` or ``"PED-ANOVA"`` (see :data:`MAX_TRIALS_FOR_FANOVA`).
        total: Trials of the study in every state, of which :attr:`trials` were used (``None``: unknown).
        left_out: Parameters some of the trials have but not all, so not evaluated.
    """

    title: str
    trials: int
    scores: list[tuple[str, float]]
    note: str | None = None
    evaluator: str = "fANOVA"
    total: int | None = None
    left_out: list[str] = field(default_factory=list)

    @property
    def used(self) -> str:
        """``"7 of 20 trials"`` (or ``"n=7"`` when the total is unknown)."""
        return f"n={self.trials}" if self.total is None else f"{self.trials} of {self.total} trials"


def param_importances(data: StudyData) -> list[Importances]:
    """Importances over all complete trials, and, when some complete trials have an ``attention``
    parameter and others do not, over those with it (the RNN family).

    Each set is a study built in memory from the filtered trials; only parameters present in every trial
    of the set and taking more than one value there are evaluated. Up to :data:`MAX_TRIALS_FOR_FANOVA`
    trials: fANOVA (``FanovaImportanceEvaluator(seed=0)``, Hutter et al. 2014, the variance each parameter
    explains); above: PED-ANOVA (``PedAnovaImportanceEvaluator()``, Watanabe et al. 2023, how much each
    parameter matters for reaching the top 10% of trials), over every trial, which keeps a report of
    10,000 trials fast. Too few trials, a single-valued space or a constant objective give a
    :attr:`Importances.note` instead of scores.
    """
    complete = [f for f in data.frozen if f.state.name == "COMPLETE" and _finite(f.value)]
    sets = [_importances(data, "all complete trials", complete)]
    with_attention = [f for f in complete if "attention" in f.params]
    if 0 < len(with_attention) < len(complete):
        sets.append(_importances(data, "RNN trials only", with_attention))
    for s in sets:
        s.total = len(data.frozen)
    return sets


def _importances(data: StudyData, title: str, trials: list[Any]) -> Importances:
    import warnings

    import optuna

    common = [n for n in trials[0].params if all(n in t.params for t in trials)] if trials else []
    left_out = sorted({n for t in trials for n in t.params} - set(common))
    if len(trials) < MIN_TRIALS_FOR_IMPORTANCES:
        return Importances(title, len(trials), [],
                           f"Too few complete trials ({len(trials)}) to estimate importances; fANOVA fits a random "
                           f"forest to them and needs at least {MIN_TRIALS_FOR_IMPORTANCES}.", left_out=left_out)
    varied = sorted(n for n in common if len({repr(t.params[n]) for t in trials}) > 1)
    if not varied:
        return Importances(title, len(trials), [], "No parameter present in every one of these trials takes more "
                                                   "than one value, so there is nothing to rank.", left_out=left_out)
    if len({t.value for t in trials}) < 2:
        return Importances(title, len(trials), [], "All these trials have the same objective value, so no "
                                                   "parameter explains any variance.", left_out=left_out)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=data.direction)
    # only what the evaluators read: copying 10,000 trials with their curves would take seconds
    study.add_trials([optuna.trial.create_trial(value=t.value, params=t.params, distributions=t.distributions)
                      for t in trials])
    if len(trials) > MAX_TRIALS_FOR_FANOVA:
        name, evaluator = "PED-ANOVA", optuna.importance.PedAnovaImportanceEvaluator()
    else:
        name, evaluator = "fANOVA", optuna.importance.FanovaImportanceEvaluator(seed=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = optuna.importance.get_param_importances(study, evaluator=evaluator, params=varied, normalize=True)
    except (ValueError, RuntimeError) as exc:
        return Importances(title, len(trials), [], f"Importances could not be estimated: {str(exc).strip().splitlines()[0]}",
                           name, left_out=left_out)
    ordered = sorted(((param, float(score)) for param, score in scores.items()), key=lambda p: (-round(p[1], 12), p[0]))
    return Importances(title, len(trials), ordered, evaluator=name, left_out=left_out)


def importance_table(sets: list[Importances]) -> pd.DataFrame | None:
    """Rows = parameters (ordered by the first set), one column per set with scores; ``None`` when no set has scores."""
    import pandas as pd

    scored = [s for s in sets if s.scores]
    if not scored:
        return None
    names: list[str] = []
    for s in scored:
        names += [n for n, _ in s.scores if n not in names]
    rows = []
    for name in names:
        row = {"parameter": name}
        for s in scored:
            score = dict(s.scores).get(name)
            row[f"{s.title} ({s.evaluator}, {s.used})"] = DASH if score is None else f"{score:.3f}"
        rows.append(row)
    return pd.DataFrame(rows)


# -- helpers -------------------------------------------------------------------------------------
def published_differences(data: StudyData) -> list[str]:
    """How this study's setting differs from the published one's (``[]`` when it matches).

    The task stores what the published figures need (``data.published``): ``min_train`` (a data fact and
    its least value, e.g. all 29,000 training pairs), ``max_epochs``, ``config`` (parameter -> ``[published value,
    how to say it]``, compared with the tested configuration, else the best trial's: the image encoder), and
    ``differences`` that always hold (another tokenisation).
    """
    reference = (data.attrs.get("data") or {}).get("published") or {}
    facts = data.attrs.get("data") or {}
    out = list(reference.get("differences") or [])
    if reference.get("config"):
        tested = (data.attrs.get("test_result") or {}).get("trial")
        record = next((t for t in data.trials if t.number == tested), None) or data.best()
        for key, (value, said) in reference["config"].items():
            have = record.config.get(key) if record is not None else None
            if have != value:
                out.append(f"{key} {have if have is not None else '?'} here, {said} published")
    need = reference.get("min_train")
    if need:
        key, least = need
        have = facts.get(key)
        if not _finite(have) or have < least:
            out.append(f"{key.replace('_', ' ')} {have} here, {least:,} or more published")
    epochs = reference.get("max_epochs")
    budget = (data.attrs.get("spec") or {}).get("budget") or {}
    if epochs is not None and budget.get("max_epochs") != epochs:
        out.append(f"{budget.get('max_epochs')} epochs here, {epochs} published")
    return out


def published_table(data: StudyData) -> pd.DataFrame | None:
    """The task's published reference numbers (``data.published``), with this study's test results on top
    when the settings match (:func:`published_differences` is empty): the best configuration's, and the best
    of each model family a published row names (``family``). A published metric measured in another setting
    is set beside this study's closest metric (``compare``: published -> own metric, e.g. ``bleu`` ->
    ``bleu_lc`` for lowercased BLEU).

    ``None`` when the study stores no published numbers for its setting.
    """
    import pandas as pd

    reference = (data.attrs.get("data") or {}).get("published")
    if not reference or not reference.get("rows"):
        return None
    metrics = list(reference.get("metrics") or [k for k in reference["rows"][0] if k not in ("model", "family")])
    own = {m: (reference.get("compare") or {}).get(m, m) for m in metrics}
    test = data.attrs.get("test_result") or {}
    families = data.attrs.get("family_results") or {}
    best = data.best()
    rows = []
    if not published_differences(data):
        if test.get("metrics") and best is not None and test.get("trial") == best.number:
            label = f"this study: best configuration (trial {best.number}), test"
            rows.append([label, *[_ref_number(test["metrics"].get(own[m])) for m in metrics], "rerun here"])
        for family in sorted({r.get("family") for r in reference["rows"] if r.get("family") in families}):
            result = families[family]
            rows.append([f"this study: best {family} (trial {result.get('trial')}), test",
                         *[_ref_number(result["metrics"].get(own[m])) for m in metrics], "rerun here"])
    for row in reference["rows"]:
        rows.append([row.get("model", DASH), *[_ref_number(row.get(m)) for m in metrics],
                     reference.get("note", "published")])
    return pd.DataFrame(rows, columns=["model", *metrics, "source"])


def _ref_number(value: Any) -> str:
    """Published-style precision: 2 decimals for scores such as BLEU, 3 for errors below 1 such as MSE."""
    if not _finite(value):
        return DASH
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def _fact(key: str, value: Any) -> str:
    if isinstance(value, str) and ("signature" in key or "|" in value):
        return f"`{value}`"
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return fmt_param(value)


def _all(value: Any) -> str:
    return "all" if value is None else str(value)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
