"""The benchmark report's figures, as PNG bytes (``None`` when there is nothing to draw).

Reads only a :class:`~harness.report.benchmark.load.BenchmarkData`: best-so-far of each arm's inner
search against trials and seconds, learning-rate sensitivity per schedule, test scores over seeds, the
performance profile over problems, and the critical-difference diagram (:func:`harness.report.stats.cd_diagram_png`).
"""

from __future__ import annotations

import math
from collections import defaultdict

from harness.report import stats
from harness.report.benchmark.load import BenchmarkData


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
            mean, low, high = stats.mean_interval(values)
            ax.scatter(values, [i] * len(values), color="0.5", s=14, zorder=2)
            xerr = [[mean - low], [high - mean]] if len(values) > 1 else None  # one seed: a mean without an interval
            ax.errorbar([mean], [i], xerr=xerr, fmt="o", color="C3", capsize=4, zorder=3)
        ax.set_yticks(range(len(order)), order)
        ax.invert_yaxis()
        ax.set_xlabel(f"test {data.metric} (points: seeds; red: mean and 95% bootstrap CI)")
        ax.grid(alpha=0.3, axis="x")

    return render(draw, (8, 0.4 * len(order) + 1.5))


def profile_plot(data: BenchmarkData) -> bytes | None:
    """Performance profile over the problems: fraction of problems within a factor tau of the best."""
    from harness.report.benchmark.tables import profile_scores
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
