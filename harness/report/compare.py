"""Several studies side by side (same task or not), from the storage alone: ``harness compare A B ...``.

Sections: the best model of each study against its strongest trivial baseline; one row per study (task,
dataset, objective, trials by state, best validation value, the best
configuration's test metrics, compute time); each searched factor's table with a ``study`` column; the
top trials of each study; best-so-far against trials and the best trial's learning curve, drawn on
shared axes when the studies share the objective and one panel per study otherwise.
"""

from __future__ import annotations

import math
from pathlib import Path

from harness.report import tables as T
from harness.report.load import StudyData, load_study_data

TOP = 5


def summary_rows(datas: list[StudyData]):
    import pandas as pd

    rows = []
    for d in datas:
        best = d.best()
        fmt = T.objective_format(d)
        test = (d.attrs.get("test_result") or {})
        metrics = test.get("metrics") or {}
        shown = "–"
        if best is not None and test.get("trial") == best.number:
            shown = ", ".join(f"{k} {T.fmt_param(v)}" for k, v in sorted(metrics.items()))
        rows.append([d.name, d.attrs.get("task", "?"), d.attrs.get("dataset", "?"), f"{d.metric} ({d.direction})",
                     T.states_line(d), f"{fmt(best.value)} (trial {best.number})" if best else "–", shown, T.compute_time(d)])
    return pd.DataFrame(rows, columns=["study", "task", "dataset", "objective", "trials", "best (validation)",
                                       "test metrics of the best", "compute"])


def baseline_rows(datas: list[StudyData]):
    """Per study: the best configuration's test value, the strongest trivial baseline's (chosen on validation)
    and the gain, or ``not informative`` where the model does not beat the baseline."""
    import pandas as pd

    from harness.report import baselines as B

    rows = []
    for d in datas:
        record = d.attrs.get("baselines")
        strongest = B.strongest_row(record)
        model = ((d.attrs.get("test_result") or {}).get("metrics") or {}).get(d.metric)
        base = (strongest or {}).get("test", {}).get(d.metric)
        if isinstance(model, (int, float)) and isinstance(base, (int, float)):
            absolute, relative = B.gain(model, base, d.maximize)
            verdict = f"{absolute:+.4g} ({relative:+.1%})" + ("" if absolute > 0 else ", **not informative**")
        else:
            verdict = "–"
        rows.append([d.name, f"test {d.metric}", B.fmt(model), strongest["name"] if strongest else "–", B.fmt(base), verdict])
    return pd.DataFrame(rows, columns=["study", "metric", "best configuration", "strongest baseline", "baseline",
                                       "gain of the model"])


def factor_rows(datas: list[StudyData], factor: str):
    import pandas as pd

    frames = []
    for d in datas:
        if factor in T.factor_names(d):
            frame = T.factor_table(d, factor)
            frame.insert(0, "study", d.name)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else None


def top_rows(datas: list[StudyData]):
    import pandas as pd

    rows = []
    for d in datas:
        fmt = T.objective_format(d)
        for t in T.ranked(d)[:TOP]:
            rows.append([d.name, t.number, t.state, fmt(t.objective), t.family or "–", t.config.get("schedule", "–"),
                         T.fmt_param(t.config.get("lr"))])
    return pd.DataFrame(rows, columns=["study", "trial", "state", "objective", "attention / model", "schedule", "lr"])


def curves_plot(datas: list[StudyData]) -> bytes | None:
    """Left: best-so-far validation objective against trials; right: the best trial's validation curve."""
    from harness.report.plots import render

    shared = len({(d.metric, d.direction) for d in datas}) == 1
    panels = 1 if shared else len(datas)

    def draw(fig):
        axes = fig.subplots(2, panels, squeeze=False)
        for i, d in enumerate(datas):
            top, bottom = axes[0, i if not shared else 0], axes[1, i if not shared else 0]
            best, xs, ys = None, [], []
            for t in sorted(d.trials, key=lambda t: t.number):
                if t.state == "complete" and t.value is not None and math.isfinite(t.value):
                    best = t.value if best is None else (max(best, t.value) if d.maximize else min(best, t.value))
                    xs.append(t.number)
                    ys.append(best)
            top.step(xs, ys, where="post", color=f"C{i % 10}", label=d.name)
            b = d.best()
            if b is not None and b.history:
                bottom.plot([r["epoch"] for r in b.history], [r.get(d.metric) for r in b.history], marker="o",
                            color=f"C{i % 10}", label=f"{d.name} (trial {b.number})")
            for ax, what in ((top, "best so far"), (bottom, "best trial")):
                ax.set_ylabel(f"{d.metric} (validation), {what}")
                ax.grid(alpha=0.3)
                ax.legend(fontsize="x-small")
            top.set_xlabel("trial")
            bottom.set_xlabel("epoch")

    if not any(d.trials for d in datas):
        return None
    return render(draw, (7 * panels if not shared else 8, 8))


def write_compare_report(names: list[str], storage: str | None, out: Path) -> Path:
    """Write the comparison of ``names`` to ``out`` (PNG in ``<out stem>/`` beside it)."""
    from harness.report import atomic_write, output_folder
    from harness.report.markdown import md_table

    datas = [load_study_data(n, storage) for n in names]
    folder = out.parent / out.stem
    output_folder(out)
    parts = [f"# Comparison: {', '.join(names)}",
             "Each study as stored; validation values drive the searches, test metrics belong to each study's best "
             "configuration, evaluated once.",
             "## Best model against the strongest trivial baseline\n\nEach study's strongest baseline was chosen on its "
             "validation split and scored once on test, like its best configuration.\n\n" + md_table(baseline_rows(datas)),
             "## Studies\n\n" + md_table(summary_rows(datas))]
    factors = sorted({f for d in datas for f in T.factor_names(d)}, key=lambda f: (f != "attention / model", f))
    for factor in factors:
        frame = factor_rows(datas, factor)
        if frame is not None:
            parts.append(f"## Factor: {factor}\n\n" + md_table(frame))
    parts.append(f"## Top {TOP} trials of each study\n\n" + md_table(top_rows(datas)))
    png = curves_plot(datas)
    if png is not None:
        folder.mkdir(exist_ok=True)
        atomic_write(folder / "curves.png", png)
        parts.append(f"## Curves\n\n![best so far and best trials]({out.stem}/curves.png)")
    atomic_write(out, ("\n\n".join(parts) + "\n").encode("utf-8"))
    return out
