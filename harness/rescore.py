"""Recompute every stored test metric from the stored outputs: ``harness rescore STUDY``.

A study (or benchmark) keeps the test references of each problem and the test outputs of every
evaluation: the best configuration, the best of each model family, every trivial baseline, every seeded
re-run of a benchmark (:mod:`harness.outputs`). :func:`rescore` scores each output again with the task's
:meth:`~harness.task.Task.score` (sacrebleu for BLEU and chrF, numpy for MSE and MAE) and sets the result
beside the stored value. Metrics that need the model itself (the teacher-forced ``loss``) cannot be
recomputed from outputs and are listed as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError

#: Largest relative difference between a stored and a recomputed metric counted as equal (float noise
#: of summation order; every output is stored losslessly).
TOLERANCE = 1e-9


class RescoreMismatch(HarnessError):
    """Some recomputed metrics differ from the stored ones."""


@dataclass
class RescoreRow:
    """One stored metric of one evaluation, and its value recomputed from the stored outputs."""

    problem: str
    evaluation: str
    metric: str
    stored: float | None
    recomputed: float | None

    @property
    def matches(self) -> bool:
        if self.stored is None or self.recomputed is None:
            return self.stored is None and self.recomputed is None
        return math.isclose(self.stored, self.recomputed, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


@dataclass
class RescoreResult:
    """What :func:`rescore` found: the rows, and the metrics that only the model can give."""

    study: str
    rows: list[RescoreRow]
    model_only: list[str]

    @property
    def mismatches(self) -> list[RescoreRow]:
        return [r for r in self.rows if not r.matches]


def rescore(study_name: str, storage: str | None = None) -> RescoreResult:
    """Recompute every stored test metric of ``study_name`` from its stored outputs and references.

    Raises:
        StorageError: no such storage or study.
        BadInputError: the study holds no stored test outputs (it was run before outputs were stored, or its
            test evaluation has not run yet).
    """
    from harness.errors import BadInputError
    from harness.registry import TASKS
    from harness.report.load import find_study
    from harness.storage import get_output, study_system_attrs

    study = find_study(study_name, storage)
    attrs = study.user_attrs
    task = TASKS.get(attrs.get("task", "?"))
    system = study_system_attrs(study)
    evaluations: list[tuple[str, str, dict[str, Any], Any, Any]] = []  # problem, what, stored metrics, outputs, refs
    if attrs.get("benchmark"):
        trials = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
        for problem in attrs.get("problems") or []:
            refs = get_output(system, f"{problem}.references.test")
            if refs is None:
                continue
            evaluations += _baseline_evaluations(problem, attrs.get(f"baselines.{problem}"), system, refs)
            for t in sorted(trials, key=lambda t: t.number):
                a = t.user_attrs
                if a.get("problem") == problem:
                    evaluations.append((problem, f"{a.get('arm_label')}, seed {a.get('seed_index')} (trial {t.number})",
                                        a.get("test") or {}, get_output(t.system_attrs, "test"), refs))
    else:
        refs = get_output(system, "references.test")
        if refs is not None:
            seen = set()
            records = [("best trial", attrs.get("test_result"))]
            records += [(f"best {family}", r) for family, r in sorted((attrs.get("family_results") or {}).items())]
            for what, record in records:
                if record and record.get("outputs") and record["outputs"] not in seen:
                    seen.add(record["outputs"])
                    evaluations.append(("", f"{what}: trial {record['trial']}", record.get("metrics") or {},
                                        get_output(system, record["outputs"]), refs))
            evaluations += _baseline_evaluations("", attrs.get("baselines"), system, refs)
    evaluations = [e for e in evaluations if e[3] is not None]
    if not evaluations:
        raise BadInputError(f"study '{study_name}' has no stored test outputs to rescore (its test evaluation has not "
                            "run, or it was run before outputs were stored); rerun `harness run-study` or "
                            "`harness benchmark` with the same spec to evaluate it")
    rows = []
    model_only = sorted(set(task.model_metrics))
    for problem, what, stored, outputs, refs in evaluations:
        recomputed = task.score(refs, outputs)
        for metric in sorted(set(stored) | set(recomputed)):
            if metric in model_only:
                continue
            rows.append(RescoreRow(problem, what, metric, _number(stored.get(metric)), _number(recomputed.get(metric))))
    return RescoreResult(study_name, rows, model_only)


def _baseline_evaluations(problem: str, record: dict[str, Any] | None, system: dict[str, Any], refs: Any):
    from harness.storage import get_output

    out = []
    for row in (record or {}).get("rows") or []:
        if row.get("outputs"):
            out.append((problem, f"baseline {row['name']}", row.get("test") or {}, get_output(system, row["outputs"]), refs))
    return out


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None
