"""The report of a benchmark (``harness benchmark``), from the storage alone.

Reads the parent study (one trial per seeded re-run of an arm's best configuration, with the arm, seed,
validation curve and test metrics) and every arm's inner study. Shows, per problem: each arm's test
score over seeds (mean and 95 % confidence interval, median and interquartile range, rank), the best arm
in bold and the arms that are not significantly worse (one-sided Mann-Whitney U, Holm-corrected), the
same per factor level, best-so-far against budget (trials and seconds), learning-rate sensitivity per
schedule, time to a target, parameter importances of the inner searches; across problems, the average
rank and the performance profile of each arm; and a reproducibility block. Deterministic: the same
storage gives the same bytes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.report import stats
from harness.report.load import TrialRecord, _record
from harness.storage import display_url, get_series, open_storage, storage_url

TAUS = [1.0, 1.02, 1.05, 1.1, 1.2, 1.5, 2.0]


@dataclass
class SeedRun:
    """One seeded re-run of an arm's best configuration."""

    problem: str
    arm: str
    values: dict[str, Any]
    seed: int
    valid: float | None
    test: dict[str, float | None]
    history: list[dict[str, Any]]
    seconds: float


@dataclass
class BenchmarkData:
    """A benchmark as read from the storage."""

    name: str
    storage: str
    attrs: dict[str, Any]
    metric: str
    direction: str
    factors: list[str]
    arms: list[str]
    arm_values: dict[str, dict[str, Any]]
    problems: list[str]
    runs: list[SeedRun]
    inner: dict[tuple[str, str], list[list[TrialRecord]]] = field(default_factory=dict)  # (problem, arm) -> repeats
    inner_frozen: dict[str, list[Any]] = field(default_factory=dict)  # problem -> complete inner trials

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"

    def scores(self, problem: str) -> dict[str, list[float]]:
        """Test scores of the objective metric per arm on ``problem``, in seed order."""
        out: dict[str, list[float]] = {}
        for run in sorted(self.runs, key=lambda r: (r.arm, r.seed)):
            value = run.test.get(self.metric)
            if run.problem == problem and isinstance(value, (int, float)) and math.isfinite(value):
                out.setdefault(run.arm, []).append(float(value))
        return out


def load_benchmark(name: str, storage: str | None, study: Any) -> BenchmarkData:
    """Read the parent study ``study`` and its arms' inner studies."""
    import optuna

    attrs = study.user_attrs
    factors = list(attrs.get("factors") or [])
    arm_values = {", ".join(f"{k}={v}" for k, v in a.items()): a for a in attrs.get("arms") or []}
    runs = []
    for t in study.trials:
        if t.state.name != "COMPLETE":
            continue
        a = t.user_attrs
        runs.append(SeedRun(a["problem"], a["arm_label"], a["arm"], a["seed_index"], t.value, a.get("test") or {},
                            list(get_series(a, "history") or []), float(a.get("seconds") or 0.0)))
    data = BenchmarkData(name, display_url(storage_url(storage)), attrs, attrs.get("metric", "?"),
                         attrs.get("direction", "maximize"), factors, list(arm_values), arm_values,
                         list(attrs.get("problems") or []), runs)
    rdb = open_storage(storage, write=False)
    existing = {s.study_name for s in rdb.get_all_studies()}
    spec_bench = (attrs.get("spec") or {}).get("benchmark") or {}
    repeats = int(spec_bench.get("inner_seeds", 1))
    for problem in data.problems:
        frozen = []
        for label, values in arm_values.items():
            slug = "-".join(str(v).replace(".", "p") for v in values.values())
            found = []
            for r in range(repeats):
                inner_name = f"{name}.{problem}.{slug}" + (f".r{r}" if r else "")
                if inner_name in existing:
                    trials = optuna.load_study(study_name=inner_name, storage=rdb).get_trials(deepcopy=False)
                    found.append([_record(t) for t in trials])
                    frozen += [t for t in trials if t.state.name == "COMPLETE" and t.value is not None]
            data.inner[(problem, label)] = found
        data.inner_frozen[problem] = frozen
    return data


# -- tables -------------------------------------------------------------------------------------------
def _fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.4f}"


def arm_table(data: BenchmarkData, problem: str):
    """Per arm: seeds, test mean [95% CI], median [IQR], validation mean, rank, comparison with the best."""
    import pandas as pd

    scores = data.scores(problem)
    if not scores:
        return None, None
    best, adjusted, kept = stats.not_worse_than_best(scores, data.maximize)
    means = {arm: sum(v) / len(v) for arm, v in scores.items()}
    ranking = stats.ranks(means, data.maximize)
    valid = defaultdict(list)
    for run in data.runs:
        if run.problem == problem and run.valid is not None:
            valid[run.arm].append(run.valid)
    rows = []
    for arm in sorted(scores, key=lambda a: (ranking[a], a)):
        values = scores[arm]
        mean, low, high = stats.mean_ci(values)
        median, q25, q75 = stats.median_iqr(values)
        label = f"**{arm}**" if arm == best else arm
        if arm == best:
            verdict = "best"
        elif arm in kept:
            verdict = f"not significantly worse (p = {adjusted[arm]:.3f})"
        else:
            verdict = f"worse (p = {adjusted[arm]:.3f})"
        v = valid.get(arm, [])
        rows.append([label, len(values), f"{_fmt(mean)} [{_fmt(low)}, {_fmt(high)}]",
                     f"{_fmt(median)} [{_fmt(q25)}, {_fmt(q75)}]", _fmt(sum(v) / len(v)) if v else "–",
                     f"{ranking[arm]:g}", verdict])
    columns = ["arm", "seeds", f"test {data.metric}: mean [95% CI]", "median [IQR]", f"validation {data.metric}: mean",
               "rank", "against the best"]
    return pd.DataFrame(rows, columns=columns), best


def factor_table(data: BenchmarkData, problem: str, factor: str):
    """Per level of ``factor``: the test scores of every arm with that level, pooled over seeds and the
    other factors' levels; best level in bold, levels not significantly worse marked."""
    import pandas as pd

    pooled: dict[str, list[float]] = defaultdict(list)
    for arm, values in data.scores(problem).items():
        pooled[str(data.arm_values[arm][factor])] += values
    if len(pooled) < 2:
        return None
    best, adjusted, kept = stats.not_worse_than_best(pooled, data.maximize)
    rows = []
    means = {k: sum(v) / len(v) for k, v in pooled.items()}
    for level in sorted(pooled, key=lambda k: (-means[k] if data.maximize else means[k], k)):
        mean, low, high = stats.mean_ci(pooled[level])
        verdict = "best" if level == best else (f"not significantly worse (p = {adjusted[level]:.3f})" if level in kept
                                                 else f"worse (p = {adjusted[level]:.3f})")
        rows.append([f"**{level}**" if level == best else level, len(pooled[level]),
                     f"{_fmt(mean)} [{_fmt(low)}, {_fmt(high)}]", verdict])
    return pd.DataFrame(rows, columns=[factor, "runs", f"test {data.metric}: mean [95% CI]", "against the best"])


def findings_table(data: BenchmarkData, problem: str):
    """Published findings (:mod:`harness.report.findings`) beside what this benchmark measured on ``problem``
    for the levels each finding compares; ``None`` when no finding applies."""
    import pandas as pd

    from harness.report.findings import applicable

    scores = data.scores(problem)
    levels = {f: {str(data.arm_values[a][f]) for a in scores} for f in data.factors}
    rows = []
    for finding, present in applicable(data.factors, levels):
        pooled = {level: [v for arm, values in scores.items() if str(data.arm_values[arm][finding.factor]) == level
                          for v in values] for level in present}
        means = {level: sum(v) / len(v) for level, v in pooled.items()}
        order = sorted(means, key=lambda k: (-means[k] if data.maximize else means[k], k))
        best, adjusted, kept = stats.not_worse_than_best(pooled, data.maximize)
        verdicts = [f"{level} {'not significantly worse' if level in kept else 'worse'} (p = {adjusted[level]:.3f})"
                    for level in order if level != best]
        measured = (", ".join(f"{level} {_fmt(means[level])}" for level in order)
                    + f" (pooled test {data.metric}); best {best}; " + "; ".join(verdicts))
        rows.append([f"{finding.factor}: {finding.claim}", finding.source, measured])
    if not rows:
        return None
    return pd.DataFrame(rows, columns=["published finding", "source", "this benchmark"])


def time_to_target(data: BenchmarkData, problem: str, target: float):
    """Per arm: seeds whose validation curve reaches ``target``, median epochs and seconds to get there."""
    import pandas as pd

    reached: dict[str, list[tuple[int, float]]] = defaultdict(list)
    totals: dict[str, int] = defaultdict(int)
    for run in data.runs:
        if run.problem != problem:
            continue
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
        epochs = sorted(e for e, _ in hits)
        secs = sorted(s for _, s in hits)
        rows.append([arm, f"{len(hits)}/{totals[arm]}", _median(epochs), _median(secs, seconds=True)])
    return pd.DataFrame(rows, columns=["arm", "seeds reaching the target", "median epochs", "median seconds"])


def _median(values: list[float], seconds: bool = False) -> str:
    if not values:
        return "–"
    n = len(values)
    m = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    return f"{m:.1f}" if seconds else f"{m:g}"


def rank_table(data: BenchmarkData):
    """Average rank of each arm over the problems (rank of its mean test score on each problem)."""
    import pandas as pd

    per_problem = {}
    for problem in data.problems:
        scores = data.scores(problem)
        if scores:
            per_problem[problem] = stats.ranks({a: sum(v) / len(v) for a, v in scores.items()}, data.maximize)
    if len(per_problem) < 2:
        return None
    arms = sorted({a for r in per_problem.values() for a in r})
    rows = []
    for arm in arms:
        ranks = [r[arm] for r in per_problem.values() if arm in r]
        rows.append([arm, *[f"{per_problem[p].get(arm, math.nan):g}" for p in per_problem], f"{sum(ranks) / len(ranks):.2f}"])
    rows.sort(key=lambda r: (float(r[-1]), r[0]))
    return pd.DataFrame(rows, columns=["arm", *[f"rank on {p}" for p in per_problem], "average rank"])


def profile_scores(data: BenchmarkData) -> dict[str, dict[str, float]]:
    """``{problem: {arm: mean test score}}`` for the performance profile."""
    return {p: {a: sum(v) / len(v) for a, v in data.scores(p).items()} for p in data.problems if data.scores(p)}


# -- plots --------------------------------------------------------------------------------------------
def best_so_far_plot(data: BenchmarkData, problem: str) -> bytes | None:
    """Best-so-far validation objective of each arm's inner search against trials and against seconds;
    mean and standard error over the inner searches when there are several."""
    import numpy as np

    from harness.report.plots import render

    curves = {}
    for arm in data.arms:
        repeats = data.inner.get((problem, arm)) or []
        by_trials, by_time = [], []
        for trials in repeats:
            best, ys, xs_t, elapsed = None, [], [], 0.0
            for t in sorted(trials, key=lambda r: r.number):
                elapsed += float(t.seconds or 0.0)
                if t.state == "complete" and t.value is not None and math.isfinite(t.value):
                    best = t.value if best is None else (max(best, t.value) if data.maximize else min(best, t.value))
                ys.append(np.nan if best is None else best)
                xs_t.append(elapsed)
            if ys:
                by_trials.append(ys)
                by_time.append((xs_t, ys))
        if by_trials:
            curves[arm] = (by_trials, by_time)
    if not curves:
        return None

    def draw(fig):
        left, right = fig.subplots(1, 2)
        for i, arm in enumerate(sorted(curves)):
            by_trials, by_time = curves[arm]
            n = min(len(c) for c in by_trials)
            matrix = np.array([c[:n] for c in by_trials], dtype=float)
            mean = np.nanmean(matrix, axis=0) if np.isfinite(matrix).any() else matrix[0]
            x = np.arange(1, n + 1)
            left.plot(x, mean, color=f"C{i % 10}", label=arm)
            if len(by_trials) > 1:
                se = np.nanstd(matrix, axis=0, ddof=1) / math.sqrt(len(by_trials))
                left.fill_between(x, mean - se, mean + se, color=f"C{i % 10}", alpha=0.2)
            for xs, ys in by_time:
                right.step(xs, ys, where="post", color=f"C{i % 10}", alpha=0.8)
        left.set_xlabel("inner trials")
        right.set_xlabel("inner search wall time (s)")
        for ax in (left, right):
            ax.set_ylabel(f"best {data.metric} so far (validation)")
            ax.grid(alpha=0.3)
        left.legend(fontsize="x-small", loc="best")
        left.set_title("best so far against trials" + (" (mean ± s.e.)" if any(len(c[0]) > 1 for c in curves.values()) else ""))
        right.set_title("best so far against seconds")

    return render(draw, (12, 4.5))


def lr_sensitivity_plot(data: BenchmarkData, problem: str) -> bytes | None:
    """Validation objective of every complete inner trial against its learning rate, one colour and line
    per schedule (as DeepOBS shows optimiser sensitivity)."""
    from harness.report.plots import render

    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for (p, _), repeats in data.inner.items():
        if p != problem:
            continue
        for trials in repeats:
            for t in trials:
                lr = t.config.get("lr")
                if t.state == "complete" and isinstance(lr, (int, float)) and t.value is not None and math.isfinite(t.value):
                    points[str(t.config.get("schedule", "?"))].append((float(lr), float(t.value)))
    if not points:
        return None

    def draw(fig):
        ax = fig.add_subplot()
        for i, schedule in enumerate(sorted(points)):
            pts = sorted(points[schedule])
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=f"C{i % 10}", label=schedule, alpha=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel(f"{data.metric} (validation)")
        ax.set_title("learning-rate sensitivity, one line per schedule")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="small")

    return render(draw, (8, 4.5))


def seeds_plot(data: BenchmarkData, problem: str) -> bytes | None:
    """Test score of every seed of every arm (points) with the arm's mean and 95 % interval."""
    from harness.report.plots import render

    scores = data.scores(problem)
    if not scores:
        return None
    means = {a: sum(v) / len(v) for a, v in scores.items()}
    order = sorted(scores, key=lambda a: (-means[a] if data.maximize else means[a], a))

    def draw(fig):
        ax = fig.add_subplot()
        for i, arm in enumerate(order):
            values = scores[arm]
            mean, low, high = stats.mean_ci(values)
            ax.scatter(values, [i] * len(values), color="0.5", s=14, zorder=2)
            ax.errorbar([mean], [i], xerr=[[mean - low], [high - mean]], fmt="o", color="C3", capsize=4, zorder=3)
        ax.set_yticks(range(len(order)), order)
        ax.invert_yaxis()
        ax.set_xlabel(f"test {data.metric} (points: seeds; red: mean and 95% CI)")
        ax.grid(alpha=0.3, axis="x")

    return render(draw, (8, 0.4 * len(order) + 1.5))


def profile_plot(data: BenchmarkData) -> bytes | None:
    """Performance profile over the problems: fraction of problems within a factor tau of the best."""
    from harness.report.plots import render

    scores = profile_scores(data)
    if len(scores) < 2:
        return None
    taus = [1.0 + 0.01 * i for i in range(0, 101)]
    profile = stats.performance_profile(scores, data.maximize, taus)

    def draw(fig):
        ax = fig.add_subplot()
        for i, arm in enumerate(sorted(profile)):
            ax.step(taus, profile[arm], where="post", color=f"C{i % 10}", label=arm)
        ax.set_xlabel("tau (ratio to the best arm's score)")
        ax.set_ylabel("fraction of problems within tau")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
        ax.set_title("performance profile over problems")

    return render(draw, (8, 4.5))


def inner_importances(data: BenchmarkData, problem: str):
    """Importances (fANOVA; PED-ANOVA above 200 trials) over every complete inner trial of the problem
    (factors included), pooled in an in-memory study whose distributions are widened to hold every arm's values."""
    import optuna

    from harness.report.tables import Importances, _importances

    trials = data.inner_frozen.get(problem) or []
    if not trials:
        return Importances("inner trials of every arm", 0, [], "No complete inner trial.")
    dists: dict[str, Any] = {}
    for t in trials:
        for k, d in t.distributions.items():
            dists[k] = _widen(dists.get(k), d)
    rebuilt = []
    for t in trials:
        if all(k in t.params for k in dists):
            rebuilt.append(optuna.trial.create_trial(params=t.params, distributions={k: dists[k] for k in t.params},
                                                     value=t.value))
    holder = type("Holder", (), {"direction": data.direction})()
    return _importances(holder, "inner trials of every arm", rebuilt)


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


# -- the document -------------------------------------------------------------------------------------
def write_benchmark_report(name: str, study: Any, storage: str | None, out: Path) -> Path:
    """Write ``out`` and its PNGs (folder ``<name>/`` beside it) for the benchmark ``name``."""
    from harness.report import atomic_write
    from harness.report.markdown import md_table, to_toml

    data = load_benchmark(name, storage, study)
    folder = out.parent / name
    out.parent.mkdir(parents=True, exist_ok=True)
    spec = data.attrs.get("spec") or {}
    bench = spec.get("benchmark") or {}
    lines = [f"# {name}"]
    description = (spec.get("study") or {}).get("description")
    if description:
        lines.append(str(description))
    sampler = spec.get("sampler") or {}
    pruner = spec.get("pruner") or {}
    lines.append(
        f"Benchmark of **{data.attrs.get('task', '?')}**: {len(data.arms)} arms ("
        + " x ".join(data.factors) + f") on {len(data.problems)} problem(s) ({', '.join(data.problems)}). "
        f"Every arm's inner search has the same budget: {bench.get('inner_trials')} trials"
        + (f" x {bench.get('inner_seeds')} inner seeds" if int(bench.get('inner_seeds', 1)) > 1 else "")
        + f", sampler {sampler.get('name', 'tpe')}, pruner {pruner.get('name', 'none')}, "
        f"budget {spec.get('budget', {}).get('max_epochs')} epochs"
        + (f" on {subset} training examples" if (subset := (spec.get("budget") or {}).get("max_train_examples")) else "")
        + f". The best configuration of each arm is retrained with {bench.get('seeds')} seeds and evaluated once on "
        f"the test split; objective **{data.metric}** ({data.direction}). Arms are compared on the test scores with "
        "one-sided Mann-Whitney U tests against the best arm, Holm-corrected (alpha = 0.05)."
    )
    images: dict[str, str] = {}

    def save(key: str, png: bytes | None) -> str | None:
        target = folder / f"{key}.png"
        if png is None:
            if target.is_file():
                target.unlink()
            return None
        folder.mkdir(exist_ok=True)
        atomic_write(target, png)
        images[key] = f"{name}/{key}.png"
        return images[key]

    for problem in data.problems:
        block = [f"## Problem: {problem}"]
        table, best = arm_table(data, problem)
        if table is None:
            block.append("No seeded re-run has finished on this problem yet.")
            lines.append("\n\n".join(block))
            continue
        block.append(f"Best arm: **{best}**.\n\n" + md_table(table))
        for factor in data.factors if len(data.factors) > 1 else []:
            ft = factor_table(data, problem, factor)
            if ft is not None:
                block.append(f"### By {factor} (pooled over the other factors)\n\n" + md_table(ft))
        findings = findings_table(data, problem)
        if findings is not None:
            block.append("### Published findings and this benchmark\n\nPublished figures and claims are quoted, not "
                         "rerun; the right-hand column is measured here, on this problem and budget.\n\n" + md_table(findings))
        slug = problem.replace("/", "_")
        for key, title, png in [
            (f"{slug}-seeds", "Test scores over seeds", seeds_plot(data, problem)),
            (f"{slug}-best-so-far", "Best so far against budget (inner searches)", best_so_far_plot(data, problem)),
            (f"{slug}-lr", "Learning-rate sensitivity", lr_sensitivity_plot(data, problem)),
        ]:
            link = save(key, png)
            block.append(f"### {title}\n\n" + (f"![{title}]({link})" if link else "Nothing to plot."))
        target = bench.get("target")
        if target is not None:
            block.append(f"### Time to target ({data.metric} {'>=' if data.maximize else '<='} {target:g}, validation)\n\n"
                         + md_table(time_to_target(data, problem, float(target))))
        imp = inner_importances(data, problem)
        if imp.scores:
            import pandas as pd

            frame = pd.DataFrame([[n, f"{s:.3f}"] for n, s in imp.scores], columns=["parameter", "importance"])
            title = f"### Parameter importances of the inner searches ({imp.evaluator}, n={imp.trials})"
            block.append(f"{title}\n\n" + md_table(frame))
        else:
            block.append(f"### Parameter importances of the inner searches\n\n{imp.note}")
        lines.append("\n\n".join(block))
    ranks = rank_table(data)
    if ranks is not None:
        link = save("profile", profile_plot(data))
        lines.append("## Across problems\n\nAverage rank of each arm (1 = best) over the problems, and the performance "
                     "profile: for each arm, the fraction of problems on which its mean test score is within a factor "
                     "tau of the best arm's (Dolan & More 2002).\n\n" + md_table(ranks)
                     + (f"\n\n![performance profile]({link})" if link else ""))
    lines.append(_reproducibility(data, spec, to_toml))
    atomic_write(out, ("\n\n".join(lines) + "\n").encode("utf-8"))
    return out


def _reproducibility(data: BenchmarkData, spec: dict[str, Any], to_toml) -> str:
    env = data.attrs.get("environment") or {}
    inner_seconds = sum(float(t.seconds or 0.0) for repeats in data.inner.values() for trials in repeats for t in trials)
    seed_seconds = sum(r.seconds for r in data.runs)
    seeds = sorted({r.seed for r in data.runs})
    packages = ", ".join(f"{k} {v}" for k, v in sorted((env.get("packages") or {}).items()) if v)
    lines = ["## Reproducibility",
             f"Total compute: {inner_seconds + seed_seconds:.1f} s (inner searches {inner_seconds:.1f} s + seeded re-runs "
             f"{seed_seconds:.1f} s). Seeds of the re-runs: study seed + 1000 + k for k in {seeds}.",
             f"Environment: Python {env.get('python', '?')}; {packages}; git commit {env.get('git_commit') or '–'}; "
             f"CPU {env.get('cpu', '?')}, {env.get('cpu_count', '?')} cores, {env.get('torch_threads', '?')} torch threads.",
             "Spec:\n\n```toml\n" + to_toml(spec).rstrip() + "\n```",
             f"Commands:\n\n```sh\nharness benchmark studies/{data.name}.toml --storage {data.storage}\n"
             f"harness report {data.name} --storage {data.storage}\n```"]
    return "\n\n".join(lines)
