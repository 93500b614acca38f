"""The first comparison of every report: the best model against the strongest trivial baseline.

Reads the ``baselines`` record a run stores (:func:`harness.baselines.record`: every baseline's settings,
validation and test metrics, and the one with the best validation objective) and the model's test
metrics; computes nothing but differences, so it works for study, compare and benchmark reports alike.
A model that does not beat the strongest baseline on test makes the comparison uninformative at that
budget, and the report says so in bold.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

DASH = "–"
#: Metrics left out of the baselines table (duplicates of another column).
HIDDEN = ("loss",)


def fmt(value: Any) -> str:
    """2 decimals from 10 up (BLEU, chrF), else 4 significant digits (MSE 0.3813)."""
    if not _finite(value):
        return DASH
    return f"{value:.2f}" if abs(value) >= 10 else f"{value:.4g}"


def gain(model: float, baseline: float, maximize: bool) -> tuple[float, float]:
    """``(absolute, relative)`` improvement of ``model`` over ``baseline``: positive when the model is better
    (higher when maximising, lower when minimising); relative to ``|baseline|`` (``nan`` when it is 0)."""
    diff = (model - baseline) if maximize else (baseline - model)
    return diff, (diff / abs(baseline) if baseline else math.nan)


def strongest_row(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The row of the strongest baseline (chosen on validation), or ``None``."""
    if not record or record.get("strongest") is None:
        return None
    return next((r for r in record.get("rows") or [] if r.get("name") == record["strongest"]), None)


def verdict(label: str, model_value: float | None, record: dict[str, Any] | None, metric: str, maximize: bool) -> str:
    """One sentence: ``label`` (the model) against the strongest baseline on test, with the absolute and
    relative gain, or a bold warning when the model does not beat it."""
    best = strongest_row(record)
    if best is None:
        if not record:
            return "No trivial baseline result is stored for this run."
        if not record.get("rows"):
            return "No trivial baseline is registered for this task, so there is nothing to compare with."
        return "No trivial baseline ran successfully; see the table for the reasons."
    base = best.get("test", {}).get(metric)
    if not _finite(model_value) or not _finite(base):
        return f"No test {metric} to compare with the strongest baseline ({best['name']})."
    absolute, relative = gain(model_value, base, maximize)
    shown = (f"{label}: test {metric} **{fmt(model_value)}** against **{fmt(base)}** for the strongest trivial baseline, "
             f"`{best['name']}` (chosen on validation)")
    rel = "" if not _finite(relative) else f", {relative:.1%} of the baseline's value"
    if absolute > 0:
        return f"{shown}: the model is better by {fmt(absolute)}{rel}."
    return (f"{shown}. **Not informative at this budget: the model does not beat the strongest trivial baseline "
            f"(worse by {fmt(-absolute)}{rel}).**")


def baselines_table(record: dict[str, Any], metrics: list[str]) -> pd.DataFrame:
    """Every baseline: what it predicts, its fitted settings, validation objective, test metrics; the strongest
    (on validation) in bold; one that did not run keeps its row with the reason."""
    import pandas as pd

    metric = record.get("metric", "?")
    shown = [m for m in metrics if m not in HIDDEN]
    rows = []
    for r in record.get("rows") or []:
        name = f"**{r['name']}**" if r.get("name") == record.get("strongest") else r.get("name")
        if r.get("error"):
            rows.append([name, r.get("summary", ""), r["error"], DASH, *[DASH for _ in shown]])
            continue
        test = r.get("test") or {}
        rows.append([name, r.get("summary", ""), settings_text(r.get("settings") or {}), fmt((r.get("valid") or {}).get(metric)),
                     *[fmt(test.get(m)) for m in shown]])
    return pd.DataFrame(rows, columns=["baseline", "predicts", "settings (chosen on validation)", f"validation {metric}",
                                       *[f"test {m}" for m in shown]])


def settings_text(settings: dict[str, Any], width: int = 80) -> str:
    """``key=value`` pairs, long strings quoted and cut to ``width`` characters; ``valid_*`` values are left to the
    validation column."""
    parts = []
    for key, value in settings.items():
        if key.startswith("valid_"):  # the validation column shows it
            continue
        if isinstance(value, float):
            text = f"{value:.4g}"
        elif isinstance(value, str):
            text = f'"{value[:width]}{"..." if len(value) > width else ""}"'
        else:
            text = str(value)
        parts.append(f"{key}={text}")
    return ", ".join(parts) or DASH


def intro(record: dict[str, Any] | None) -> str:
    """How the baselines were run, for the paragraph above the table."""
    if not record:
        return ""
    return (f"Trivial baselines ran on the same splits, preprocessing and metric as the models: each fitted on the "
            f"training split with its own settings chosen on the validation split; the strongest is the one with the "
            f"best validation {record.get('metric', '?')}, and each was scored once on test.")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def families_table(results: dict[str, dict[str, Any]], record: dict[str, Any] | None, metric: str, maximize: bool,
                   metrics: list[str], per: str = "model family") -> pd.DataFrame:
    """The validation-best trial of each group (``per``: model family or attention type), tested once: validation and
    test values, the gain over the strongest baseline on test (``not informative`` where it does not beat it), and,
    where stored, the paired bootstrap of its test difference to the best trial (``versus_best``,
    :mod:`harness.bootstrap`)."""
    import pandas as pd

    best = strongest_row(record)
    base = (best or {}).get("test", {}).get(metric)
    rows = []
    order = sorted(results, key=lambda f: (-(results[f]["metrics"].get(metric) or -math.inf) if maximize
                                           else (results[f]["metrics"].get(metric) or math.inf), f))
    for family in order:
        r = results[family]
        value = r["metrics"].get(metric)
        if _finite(value) and _finite(base):
            absolute, relative = gain(value, base, maximize)
            versus = (f"{'+' if absolute > 0 else '-'}{fmt(abs(absolute))} ({relative:+.1%})" if _finite(relative)
                      else f"{absolute:+.4g}") + ("" if absolute > 0 else ", not informative")
        else:
            versus = DASH
        rows.append([family, r.get("trial"), fmt(r.get("valid_value_search")), *[fmt(r["metrics"].get(m)) for m in metrics],
                     versus, _versus_best(r)])
    columns = [per, "trial", f"validation {metric}", *[f"test {m}" for m in metrics],
               f"test {metric} against the strongest baseline", f"test {metric} - best trial [95% CI], p"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame if any(r.get("versus_best") for r in results.values()) else frame.drop(columns=columns[-1])


def _versus_best(result: dict[str, Any]) -> str:
    """``-2.31 [-3.40, -1.25], p = 0.002 (the floor)`` from a stored paired bootstrap (a dash for the best trial)."""
    b = result.get("versus_best")
    if not b:
        return DASH
    p = f"p = {b['p']:.2g}" + (" (the floor)" if b["p"] <= b["min_p"] else "")
    return f"{b['difference']:+.2f} [{b['low']:+.2f}, {b['high']:+.2f}], {p}"
