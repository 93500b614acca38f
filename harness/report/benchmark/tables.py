"""The benchmark report's tables (pandas DataFrames of formatted strings) and the statistics behind them.

Design of the analysis (:mod:`harness.report.stats`): every arm is retrained on the same seeds, so runs
of different arms with the same seed are paired samples. On each problem the best arm is the one with
the best mean **validation** objective; every other arm is compared with it on **test**, paired by seed
(per-seed differences, their mean with a 95 % t interval, a two-sided paired test, Holm-corrected over
the arms). Per factor of a factorial benchmark, the arms sharing a level are averaged per seed first, so
a pooled comparison still has one value per seed. Every run, baseline and inner trial that failed is
listed with its reason.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from harness.report import baselines as B
from harness.report import stats
from harness.report.benchmark.load import BenchmarkData

if TYPE_CHECKING:
    import pandas as pd

DASH = "–"
#: Why each test, in the report's words.
TEST_WHY = {
    "paired-t": "Student's paired t-test on the per-seed differences (two-sided); chosen because with few seeds the "
                "exact Wilcoxon signed-rank test cannot reach significance (its two-sided p is at least 2 / 2^n), "
                "while the t-test can; it assumes roughly normal per-seed differences",
    "wilcoxon": "the exact Wilcoxon signed-rank test on the per-seed differences (two-sided); no normality assumption, "
                "but its p-value has a floor of 2 / 2^n for n seeds",
}


def fmt(value: float | None) -> str:
    """2 decimals from 1 up (BLEU, chrF), else 4 decimals (MSE)."""
    if value is None or not math.isfinite(value):
        return DASH
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.4f}"


def paired_test(data: BenchmarkData) -> str:
    """The paired test of the stored spec (``[benchmark] test``), ``paired-t`` by default."""
    return ((data.attrs.get("spec") or {}).get("benchmark") or {}).get("test") or "paired-t"


def comparison(data: BenchmarkData, problem: str) -> stats.Comparison | None:
    """The validation-chosen best arm of ``problem`` against every other arm on test (``None``: no runs)."""
    valid, test = data.by_seed(problem, "valid"), data.by_seed(problem, "test")
    arms = sorted(set(valid) & set(test))
    if not arms:
        return None
    return stats.compare_to_best({a: valid[a] for a in arms}, {a: test[a] for a in arms}, maximize=data.maximize,
                                 test_name=paired_test(data))


def arm_table(data: BenchmarkData, problem: str) -> tuple[pd.DataFrame | None, stats.Comparison | None]:
    """Per arm: seeds, validation mean, test mean [95% percentile bootstrap CI over seeds], median [IQR], the paired
    difference to the validation-best arm on test (mean [95% CI], Holm-adjusted p, verdict), and the gain over the strongest
    trivial baseline (``not informative`` where the arm's mean does not beat it)."""
    import pandas as pd

    result = comparison(data, problem)
    if result is None:
        return None, None
    scores = data.scores(problem)
    base = (B.strongest_row(data.attrs.get(f"baselines.{problem}")) or {}).get("test", {}).get(data.metric)
    sign = -1.0 if data.maximize else 1.0
    order = [result.best] + sorted((a for a in scores if a != result.best),
                                   key=lambda a: (sign * result.valid_means.get(a, math.nan), a))
    rows = []
    for arm in order:
        values = scores[arm]
        mean, low, high = stats.mean_interval(values)
        median, q25, q75 = stats.median_iqr(values)
        diff, p, verdict = _against_best(result, arm)
        versus = DASH
        if isinstance(base, (int, float)):
            absolute, relative = B.gain(mean, base, data.maximize)
            versus = f"{absolute:+.4g} ({relative:+.1%})" + ("" if absolute > 0 else ", **not informative**")
        rows.append([f"**{arm}**" if arm == result.best else arm, len(values), fmt(result.valid_means.get(arm)),
                     _mean_ci(mean, low, high), f"{fmt(median)} [{fmt(q25)}, {fmt(q75)}]", diff, p, verdict,
                     versus])
    columns = ["arm", "seeds", f"validation {data.metric}: mean", f"test {data.metric}: mean [95% bootstrap CI]", "median [IQR]",
               "test difference to the best, paired by seed: mean [95% CI]", "p (Holm)", "verdict",
               "test mean against the strongest baseline"]
    return pd.DataFrame(rows, columns=columns), result


def _mean_ci(mean: float, low: float, high: float) -> str:
    """``mean [low, high]``; ``mean [one seed: no interval]`` when there is none."""
    return f"{fmt(mean)} [{fmt(low)}, {fmt(high)}]" if math.isfinite(low) else f"{fmt(mean)} [one seed: no interval]"


def _against_best(result: stats.Comparison, arm: str) -> tuple[str, str, str]:
    """``(paired mean difference [95% CI], Holm-adjusted p, verdict)`` of ``arm`` against the best."""
    if arm == result.best:
        return DASH, DASH, "best on validation"
    r = result.results[arm]
    diff = f"{r.mean_difference:+.4g} [{r.ci_low:+.4g}, {r.ci_high:+.4g}]" if r.testable else f"{r.mean_difference:+.4g}"
    return diff, stats.format_p(result.adjusted_p.get(arm)).removeprefix("p ").removeprefix("= "), result.verdicts[arm]


def significance_note(result: stats.Comparison, seeds: int) -> str:
    """What the test is, why, and the smallest p it can reach here; plainly when nothing can be significant.

    ``seeds`` is the most seeds any arm has; the floor is stated for the seeds the comparisons actually share
    with the best arm (fewer while a benchmark is unfinished or where runs failed)."""
    others = len(result.results)
    if not others:
        return "Only one arm has seeded re-runs so far: there is nothing to compare it with yet."
    why = TEST_WHY.get(result.test, result.test)
    parts = [f"Paired test: {why}."]
    testable = [r for r in result.results.values() if r.testable]
    if not testable:
        shared = max(r.n for r in result.results.values())
        parts.append(f"**No comparison is testable yet**: the other arms share at most {shared} of the {seeds} seeds "
                     "with the best arm, and a paired test needs at least 2 (with differences that are not all "
                     "equal); the differences shown are single-seed gaps, not estimates.")
        return " ".join(parts)
    n, k = max(r.n for r in testable), len(testable)
    pairs = f"{n} paired seed{'s' if n != 1 else ''} and {k} comparison{'s' if k != 1 else ''}"
    parts.append(f"Holm-corrected over the {k} testable comparison{'s' if k != 1 else ''} with the best arm "
                 f"(alpha = {result.alpha:g}).")
    wilcoxon_floor = stats.smallest_p("wilcoxon", n, k)
    if result.test == "wilcoxon":
        parts.append(f"With {pairs} the smallest attainable Holm-adjusted p is {wilcoxon_floor:.4g}.")
    else:
        parts.append(f"The paired t-test has no positive p floor; for reference, an exact Wilcoxon signed-rank test "
                     f"on {pairs} could not go below p = {wilcoxon_floor:.4g}.")
    if len(testable) < others:
        parts.append(f"{others - len(testable)} of the {others} comparisons are not testable (fewer than 2 seeds "
                     "shared with the best arm, or identical differences).")
    if not result.can_reach_significance:
        parts.append("**No comparison can reach significance at this number of seeds, so every verdict is 'no "
                     "significant difference'; that does not mean the arms are equal.**")
    else:
        parts.append("'No significant difference' means the data cannot tell the arms apart at this budget, not that "
                     "they are equal.")
    return " ".join(parts)


def factor_table(data: BenchmarkData, problem: str, factor: str) -> pd.DataFrame | None:
    """Per level of ``factor``: the per-seed mean over the arms with that level (the other factors averaged
    out), on validation and test; the validation-best level against the others on test, paired by seed."""
    import pandas as pd

    level_of = {arm: str(data.arm_values[arm][factor]) for arm in data.arm_values}
    valid = stats.pooled_by_level(data.by_seed(problem, "valid"), level_of)
    test = stats.pooled_by_level(data.by_seed(problem, "test"), level_of)
    levels = sorted(set(valid) & set(test))
    if len(levels) < 2:
        return None
    result = stats.compare_to_best({lv: valid[lv] for lv in levels}, {lv: test[lv] for lv in levels},
                                   maximize=data.maximize, test_name=paired_test(data))
    sign = -1.0 if data.maximize else 1.0
    rows = []
    for level in [result.best] + sorted((lv for lv in levels if lv != result.best), key=lambda lv: sign * result.valid_means[lv]):
        values = [v for _, v in sorted(test[level].items())]
        mean, low, high = stats.mean_interval(values)
        diff, p, verdict = _against_best(result, level)
        arms = sum(1 for a in level_of if level_of[a] == level)
        rows.append([f"**{level}**" if level == result.best else level, arms, len(values), fmt(result.valid_means[level]),
                     _mean_ci(mean, low, high), diff, p, verdict])
    return pd.DataFrame(rows, columns=[factor, "arms", "seeds (per-seed means)", f"validation {data.metric}",
                                       f"test {data.metric}: mean [95% bootstrap CI]",
                                       "paired difference to the best: mean [95% CI]", "p (Holm)", "verdict"])


def findings_table(data: BenchmarkData, problem: str) -> pd.DataFrame | None:
    """Published findings (:mod:`harness.report.findings`) that apply to this benchmark's task, model families,
    factors and levels, beside what it measured for those levels (per-seed means per level, the validation-best
    level against the others on test, paired); ``None`` when none applies."""
    import pandas as pd

    from harness.report.findings import applicable

    test = data.by_seed(problem, "test")
    valid = data.by_seed(problem, "valid")
    levels = {f: {str(data.arm_values[a][f]) for a in test} for f in data.factors}
    rows = []
    for finding, present in applicable(str(data.attrs.get("task")), data.families(), data.factors, levels):
        split = [f for f in finding.within if f in data.factors]  # measured at each level of these
        groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for arm, values in data.arm_values.items():
            if str(values[finding.factor]) in present:
                groups[tuple(f"{f}={values[f]}" for f in split)].append(arm)
        measured = [_finding_measured(data, finding.factor, arms, test, valid, ", ".join(where))
                    for where, arms in sorted(groups.items())]
        measured = [m for m in measured if m]
        if measured:
            rows.append([f"{finding.factor}: {finding.claim}", finding.source, finding.setting, "<br>".join(measured)])
    if not rows:
        return None
    return pd.DataFrame(rows, columns=["published finding", "source", "its setting", "this benchmark"])


def _finding_measured(data: BenchmarkData, factor: str, arms: list[str], test: dict[str, dict[int, float]],
                      valid: dict[str, dict[int, float]], where: str) -> str | None:
    """What the benchmark measured for the levels of ``factor`` among ``arms`` (per-seed means over the arms sharing a
    level; the validation-best level against each other one on test, paired by seed, Holm-corrected), prefixed with
    ``where`` (the levels of the factors the finding was split by); ``None`` with fewer than two levels measured."""
    level_of = {a: str(data.arm_values[a][factor]) for a in arms}
    pooled_test, pooled_valid = stats.pooled_by_level(test, level_of), stats.pooled_by_level(valid, level_of)
    names = sorted(set(pooled_test) & set(pooled_valid))
    if len(names) < 2:
        return None
    result = stats.compare_to_best({n: pooled_valid[n] for n in names}, {n: pooled_test[n] for n in names},
                                   maximize=data.maximize, test_name=paired_test(data))
    shown = ", ".join(f"{n} {fmt(result.test_means[n])}" for n in names)
    verdicts = "; ".join(f"{n}: {result.verdicts[n]} ({stats.format_p(result.adjusted_p.get(n))})"
                         for n in names if n != result.best)
    return f"{where + ': ' if where else ''}test {data.metric}: {shown}; best on validation {result.best}; {verdicts}"


def baselines_table(data: BenchmarkData, problem: str) -> pd.DataFrame | None:
    """The problem's trivial baselines (:func:`harness.report.baselines.baselines_table`)."""
    record = data.attrs.get(f"baselines.{problem}")
    if not record:
        return None
    metrics = []
    for run in data.complete(problem):
        metrics += [m for m in run.test if m not in metrics and m not in ("loss", "ppl")]
    return B.baselines_table(record, metrics or [data.metric])


def unfinished(data: BenchmarkData, problem: str) -> list[list[str]]:
    """The arms of ``problem`` whose seeded re-runs are not all in the storage yet (a benchmark still running, or
    stopped and not resumed): ``[what, arm, how far, reason]`` rows, ``[]`` when every arm has all its seeds."""
    bench = (data.attrs.get("spec") or {}).get("benchmark") or {}
    seeds = int(bench.get("seeds") or 0)
    expected = int(bench.get("inner_trials") or 0) * int(bench.get("inner_seeds") or 1)
    ran = Counter(run.arm for run in data.runs if run.problem == problem)
    rows = []
    for arm in data.arms:
        if ran[arm] >= seeds:
            continue
        trials = [t for r in data.inner.get((problem, arm)) or [] for t in r]
        finished = sum(t.state in ("complete", "pruned", "fail") for t in trials)
        if finished >= expected > 0 and not any(t.state == "complete" for t in trials):
            continue  # a failed arm, not an unfinished one: listed by failures_table with its inner trials' reasons
        if ran[arm]:
            rows.append(["seeded re-runs", arm, f"{ran[arm]} of {seeds} seeds", "the others are not in the storage yet"])
        elif trials:
            running = sum(t.state == "running" for t in trials)
            rows.append(["arm", arm, f"inner search: {finished} of {expected} trials finished"
                         + (f", {running} running" if running else ""), "no seeded re-run in the storage yet"])
        else:
            rows.append(["arm", arm, "not started", "no inner trial and no seeded re-run in the storage yet"])
    return rows


def failures_table(data: BenchmarkData, problem: str) -> pd.DataFrame | None:
    """Everything of ``problem`` that did not finish: arms not yet (fully) run, failed re-runs, arms without a
    configuration to re-run, failed and pruned inner trials, baselines that did not run; each with its reason.
    ``None`` when nothing is missing."""
    import pandas as pd

    rows = unfinished(data, problem)
    for run in sorted(data.failed(problem), key=lambda r: (r.arm, r.seed)):
        rows.append(["seeded re-run", run.arm, f"seed {run.seed}", run.reason or "unknown error"])
    for arm in data.arms:
        repeats = data.inner.get((problem, arm)) or []
        trials = [t for r in repeats for t in r]
        if repeats and not any(t.state == "complete" for t in trials):
            rows.append(["arm", arm, "no complete inner trial", "nothing to re-run with seeds"])
        reasons: dict[str, int] = defaultdict(int)
        for t in trials:
            if t.state in ("fail", "pruned"):
                reasons[f"{t.state}: {t.pruned_reason or t.fail_reason or 'no reason stored'}"] += 1
        for reason, count in sorted(reasons.items()):
            rows.append(["inner trials", arm, f"{count} trial{'s' if count != 1 else ''}", reason])
    for r in (data.attrs.get(f"baselines.{problem}") or {}).get("rows") or []:
        if r.get("error"):
            rows.append(["baseline", r.get("name"), DASH, r["error"]])
    if not rows:
        return None
    return pd.DataFrame(rows, columns=["what", "arm or baseline", "which", "reason"])


def time_to_target(data: BenchmarkData, problem: str, target: float) -> pd.DataFrame:
    """Per arm: seeds whose validation curve reaches ``target``, median epochs and seconds to get there."""
    import pandas as pd

    reached: dict[str, list[tuple[int, float]]] = defaultdict(list)
    totals: dict[str, int] = defaultdict(int)
    for run in data.complete(problem):
        totals[run.arm] += 1
        seconds = 0.0
        for row in run.history:
            seconds += float(row.get("seconds") or 0.0)
            value = row.get(data.metric)
            if isinstance(value, (int, float)) and (value >= target if data.maximize else value <= target):
                reached[run.arm].append((int(row["epoch"]), seconds))
                break
    rows = []
    for arm in sorted(totals):
        hits = reached.get(arm, [])
        rows.append([arm, f"{len(hits)}/{totals[arm]}", _median(sorted(e for e, _ in hits)),
                     _median(sorted(s for _, s in hits), seconds=True)])
    return pd.DataFrame(rows, columns=["arm", "seeds reaching the target", "median epochs", "median seconds"])


def _median(values: list[float], seconds: bool = False) -> str:
    if not values:
        return DASH
    n = len(values)
    m = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    return f"{m:.1f}" if seconds else f"{m:g}"


def profile_scores(data: BenchmarkData) -> dict[str, dict[str, float]]:
    """``{problem: {arm: mean test score}}`` for the performance profile and the rank analysis."""
    return {p: {a: sum(v) / len(v) for a, v in data.scores(p).items()} for p in data.problems if data.scores(p)}


def rank_table(data: BenchmarkData) -> pd.DataFrame | None:
    """Average rank of each arm over the problems (rank of its mean test score on each problem, 1 = best).

    Only arms with test scores on every problem are ranked, among themselves (as in Friedman's test): an arm
    missing on some problem (failed, or not run yet) would otherwise get an average over fewer problems, and
    its absence would flatter the others' ranks there. :func:`missing_arms` names the arms left out.
    ``None`` with fewer than 2 problems or no arm on all of them."""
    import pandas as pd

    scores = profile_scores(data)
    if len(scores) < 2:
        return None
    complete = set.intersection(*(set(s) for s in scores.values()))
    if not complete:
        return None
    per_problem = {p: stats.ranks({a: v for a, v in s.items() if a in complete}, data.maximize)
                   for p, s in scores.items()}
    rows = []
    for arm in sorted(complete):
        ranks = [r[arm] for r in per_problem.values()]
        rows.append([arm, *[f"{r[arm]:g}" for r in per_problem.values()], f"{sum(ranks) / len(ranks):.2f}"])
    rows.sort(key=lambda r: (float(r[-1]), r[0]))
    return pd.DataFrame(rows, columns=["arm", *[f"rank on {p}" for p in per_problem], "average rank"])


def missing_arms(data: BenchmarkData) -> dict[str, list[str]]:
    """``{arm: [problems without its test scores]}`` for the arms :func:`rank_table` leaves out."""
    scores = profile_scores(data)  # the problems rank_table ranks over: those with any test scores
    arms = sorted({a for s in scores.values() for a in s})
    missing = {a: [p for p, s in scores.items() if a not in s] for a in arms}
    return {a: problems for a, problems in missing.items() if problems}


def friedman(data: BenchmarkData) -> stats.FriedmanResult | None:
    """Friedman's test over the problems with Nemenyi's critical difference (3 or more problems and arms)."""
    scores = profile_scores(data)
    return stats.friedman_cd(scores, maximize=data.maximize) if len(scores) >= 3 else None


def inner_importances(data: BenchmarkData, problem: str):
    """Importances (fANOVA; PED-ANOVA above 200 trials) over every complete inner trial of the problem, pooled in an
    in-memory study: the arm's factor levels are categorical parameters beside the searched ones, whose distributions
    are widened to hold every arm's values. A parameter that only some arms search (``warmup_fraction`` of the warmup
    arms) is left out, since fANOVA needs one space shared by every trial; ``left_out`` names it. The result says how
    many trials it used out of how many."""
    import dataclasses

    import optuna

    from harness.report.tables import Importances, _importances

    pairs = data.inner_frozen.get(problem) or []
    total = data.inner_total.get(problem, len(pairs))
    if not pairs:
        return Importances("inner trials of every arm", 0, [], "No complete inner trial.", total=total)
    levels = {f: list(dict.fromkeys(_level(arm.get(f)) for arm, _ in pairs)) for f in data.factors}
    dists: dict[str, Any] = {f: optuna.distributions.CategoricalDistribution(v) for f, v in levels.items()}
    for _, t in pairs:
        for k, d in t.distributions.items():
            dists[k] = _widen(dists.get(k), d)
    rebuilt = []
    for arm, t in pairs:
        params = {**{f: _level(arm.get(f)) for f in data.factors}, **t.params}
        rebuilt.append(optuna.trial.create_trial(params=params, distributions={k: dists[k] for k in params},
                                                 value=t.value))
    holder = type("Holder", (), {"direction": data.direction})()
    return dataclasses.replace(_importances(holder, "inner trials of every arm", rebuilt), total=total)


def _level(value: Any) -> Any:
    """A factor level as an Optuna categorical choice (``None``, bool, int, float or str)."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


def _widen(old, new):
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if old is None:
        return new
    if isinstance(old, CategoricalDistribution) and isinstance(new, CategoricalDistribution):
        return CategoricalDistribution(list(dict.fromkeys([*old.choices, *new.choices])))
    if isinstance(old, FloatDistribution) and isinstance(new, FloatDistribution):
        return FloatDistribution(min(old.low, new.low), max(old.high, new.high), log=old.log)
    if isinstance(old, IntDistribution) and isinstance(new, IntDistribution):
        return IntDistribution(min(old.low, new.low), max(old.high, new.high), log=old.log)
    return old
