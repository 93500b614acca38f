"""Read a benchmark from the storage: the parent study's seeded re-runs, baselines, and the arms' inner studies.

The parent (written by :mod:`harness.benchmark`) holds one trial per seeded re-run (value: the validation
objective of the kept checkpoint; user attributes: problem, arm, seed, validation and test metrics, curve,
``fail_reason`` when it failed), the trivial baselines of each problem (``baselines.<problem>``) and the
names of every arm's inner studies (``inner.<problem>``: arm label -> names). Nothing here rebuilds a name
from the runner's naming rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from harness.report.load import TrialRecord, _record
from harness.storage import display_url, get_series, open_storage, storage_url


@dataclass
class SeedRun:
    """One seeded re-run of an arm's best configuration.

    Attributes:
        state: ``"complete"`` or ``"fail"`` (then ``reason`` says why).
        seed: The seed index ``k`` (the run's seed is study seed + 1000 + k, shared by every arm).
        valid: The validation objective of the kept checkpoint (the trial's value).
        test: Test metrics (``{}`` for a failed run).
        git_commit: The git commit the run ran (``None``: not in a git checkout, or stored before runs recorded it).
    """

    problem: str
    arm: str
    values: dict[str, Any]
    seed: int
    state: str
    valid: float | None
    test: dict[str, float | None]
    history: list[dict[str, Any]]
    seconds: float
    family: str | None = None
    reason: str | None = None
    git_commit: str | None = None


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
    # problem -> (the arm's factor levels, one of its complete inner trials)
    inner_frozen: dict[str, list[tuple[dict[str, Any], Any]]] = field(default_factory=dict)
    inner_total: dict[str, int] = field(default_factory=dict)  # problem -> inner trials in every state

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"

    def complete(self, problem: str) -> list[SeedRun]:
        """The complete re-runs of ``problem`` with a finite test objective, by arm and seed."""
        return [r for r in sorted(self.runs, key=lambda r: (r.arm, r.seed)) if r.problem == problem
                and r.state == "complete" and _finite(r.test.get(self.metric))]

    def by_seed(self, problem: str, which: str = "test") -> dict[str, dict[int, float]]:
        """``{arm: {seed: value}}`` of the objective on ``which`` (``"test"`` or ``"valid"``) split."""
        out: dict[str, dict[int, float]] = {}
        for run in self.complete(problem):
            value = run.test.get(self.metric) if which == "test" else run.valid
            if _finite(value):
                out.setdefault(run.arm, {})[run.seed] = float(value)
        return out

    def scores(self, problem: str) -> dict[str, list[float]]:
        """Test scores of the objective per arm on ``problem``, in seed order."""
        return {arm: [v for _, v in sorted(seeds.items())] for arm, seeds in self.by_seed(problem).items()}

    def failed(self, problem: str) -> list[SeedRun]:
        """The re-runs of ``problem`` that failed, with their reasons."""
        return [r for r in self.runs if r.problem == problem and r.state != "complete"]

    def families(self) -> set[str]:
        """The model families of the arms' configurations (``config["model"]``)."""
        return {r.family for r in self.runs if r.family}


def load_benchmark(name: str, storage: str | None, study: Any) -> BenchmarkData:
    """Read the parent study ``study`` and the inner studies it names."""
    import optuna

    attrs = study.user_attrs
    factors = list(attrs.get("factors") or [])
    arm_values = {", ".join(f"{k}={v}" for k, v in a.items()): a for a in attrs.get("arms") or []}
    runs = []
    for t in study.get_trials(deepcopy=False):
        a = t.user_attrs
        if t.state.name not in ("COMPLETE", "FAIL") or "problem" not in a:
            continue
        complete = t.state.name == "COMPLETE"
        runs.append(SeedRun(a["problem"], a["arm_label"], a["arm"], a["seed_index"], "complete" if complete else "fail",
                            t.value if complete else None, a.get("test") or {}, list(get_series(a, "history") or []),
                            float(a.get("seconds") or 0.0), (a.get("config") or {}).get("model"),
                            None if complete else a.get("fail_reason", "unknown error"), a.get("git_commit")))
    data = BenchmarkData(name, display_url(storage_url(storage)), attrs, attrs.get("metric", "?"),
                         attrs.get("direction", "maximize"), factors, list(arm_values), arm_values,
                         list(attrs.get("problems") or []), runs)
    rdb = open_storage(storage, write=False)
    existing = {s.study_name for s in rdb.get_all_studies()}
    for problem in data.problems:
        names = attrs.get(f"inner.{problem}") or {}
        frozen, total = [], 0
        for label in arm_values:
            found = []
            for inner_name in names.get(label) or []:
                if inner_name in existing:
                    trials = optuna.load_study(study_name=inner_name, storage=rdb).get_trials(deepcopy=False)
                    found.append([_record(t) for t in trials])
                    frozen += [(arm_values[label], t) for t in trials
                               if t.state.name == "COMPLETE" and t.value is not None]
                    total += len(trials)
            data.inner[(problem, label)] = found
        data.inner_frozen[problem] = frozen
        data.inner_total[problem] = total
    return data


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
