"""Assemble the report's markdown text, and serialise the stored spec back to TOML.

Reads only a :class:`~harness.report.load.StudyData` and what :mod:`harness.report.tables` computes
from it; writes nothing (the caller writes the text). Sections, in order: title and objective, summary,
best trial, one table per factor, top-10 trials, plots, reproducibility. A missing piece (no complete
trial, no test result, no attention example) becomes a sentence, never an exception.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from harness.report import tables as T
from harness.report.load import FAMILY, StudyData

if TYPE_CHECKING:
    import pandas as pd

#: Figure keys in display order, with their section titles.
FIGURES = {
    "history": "Optimization history",
    "lr": "Learning rate per step (top trial of each schedule)",
    "curves": "Learning curves",
    "importances": "Parameter importances",
    "attention": "Attention example",
    "forecast": "Forecast against actual",
    "captions": "Captions and attention over the image",
}


def build_markdown(
    data: StudyData,
    *,
    images: dict[str, str],
    importances: list[T.Importances],
    attention_note: str | None = None,
) -> str:
    """The whole report.

    Args:
        data: The study as read from the storage.
        images: Figure key (see :data:`FIGURES`) to the PNG's path relative to the markdown file; a key
            that is absent had nothing to draw.
        importances: From :func:`harness.report.tables.param_importances`.
        attention_note: Why the attention example could not be drawn, if it is stored but malformed.

    Returns:
        The markdown text, ending with one newline.
    """
    parts = [
        _title(data),
        _baselines(data),
        _summary(data),
        _best(data),
        _factors(data),
        _top(data),
        _failed(data),
        _plots(data, images, importances, attention_note),
        _reproducibility(data),
    ]
    return "\n\n".join(p.strip("\n") for p in parts if p) + "\n"


def md_table(frame: pd.DataFrame) -> str:
    """A pipe table of ``frame`` (cells as given, ``|`` escaped, no number re-formatting)."""
    clean = frame.map(_cell)
    clean.columns = [_cell(c) for c in frame.columns]
    return clean.to_markdown(index=False, disable_numparse=True)


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


# -- sections ------------------------------------------------------------------------------------
def _title(data: StudyData) -> str:
    a = data.attrs
    lines = [f"# {data.name}"]
    description = ((a.get("spec") or {}).get("study") or {}).get("description")
    if description:
        lines.append(str(description))
    lines.append(f"Task **{a.get('task', '?')}**, dataset **{a.get('dataset', '?')}**; objective: "
                 f"**{data.metric}** ({data.direction}) on the validation split.")
    return "\n\n".join(lines)


def _baselines(data: StudyData) -> str:
    from harness.report import baselines as B

    record = data.attrs.get("baselines")
    test = data.attrs.get("test_result") or {}
    out = ["## Best model against the trivial baselines"]
    if not test.get("metrics"):
        out.append("Nothing to compare with the trivial baselines yet: no best configuration has been tested.")
    else:
        family = f", {test['family']}" if test.get("family") else ""
        out.append(B.verdict(f"The best configuration (trial {test.get('trial')}{family}, chosen on validation)",
                             test["metrics"].get(data.metric), record, data.metric, data.maximize))
    metrics = [m for m in (test.get("metrics") or {}) if m not in ("loss", "ppl")] or [data.metric]
    families = data.attrs.get("family_results") or {}
    if len(families) > 1:
        per = "attention type" if data.attrs.get("tested_per") == "attention" else "model family"
        compared = next((r["versus_best"] for r in families.values() if r.get("versus_best")), None)
        how = "" if compared is None else (
            f" The last column is each one's test {data.metric} minus the best trial's, with a paired bootstrap over the "
            f"{compared['examples']} test examples (Koehn 2004; {compared['resamples']} resamples, seed {compared['seed']}; "
            f"the smallest attainable p is {compared['min_p']:.2g}): it measures the uncertainty of the test sample for "
            "these trained models, not that of training seeds.")
        out.append(f"The validation-best trial of each {per}, tested once (with the weights of its best epoch).{how}\n\n"
                   + md_table(B.families_table(families, record, data.metric, data.maximize, metrics, per)))
    if record and record.get("rows"):
        out.append(B.intro(record) + "\n\n" + md_table(B.baselines_table(record, metrics)))
    elif test and not record:
        out.append("No trivial baselines are stored for this study (it was run before baselines were part of the "
                   "test evaluation); rerun `harness run-study` with the same spec to add them.")
    return "\n\n".join(out)


def _summary(data: StudyData) -> str:
    return "## Summary\n\n" + md_table(T.summary_table(data))


def _best(data: StudyData) -> str:
    out = ["## Best trial"]
    best = data.best()
    if best is None:
        out.append(f"There are no complete trials, so there is no best trial ({T.states_line(data)}).")
        return "\n\n".join(out)
    fmt = T.objective_format(data)
    facts = [f"Trial **{best.number}**: {data.metric} **{fmt(best.value)}** on the validation split",
             f"best epoch {T.fmt_param(best.best_epoch)}"]
    if best.param_count is not None:
        facts.append(f"{best.param_count:,} parameters")
    if best.seed is not None:
        facts.append(f"seed {best.seed}")
    facts.append(f"{T.fmt_seconds(best.seconds)} s of training")
    out.append(", ".join(facts) + ".")
    metrics = T.best_metrics_table(data, best)
    if metrics is not None:
        out.append(md_table(metrics))
    out.append(_test_note(data, best.number, fmt))
    published = T.published_table(data)
    if published is not None:
        reference = (data.attrs.get("data") or {}).get("published") or {}
        differences = T.published_differences(data)
        compare = "; ".join(f"this study's {own} stands beside the published {m}" for m, own in
                            (reference.get("compare") or {}).items())
        if differences:
            out.append(f"Published reference numbers ({reference.get('setting', '')}); these are published figures, not "
                       f"reruns. **Not comparable with this study**, whose setting differs: {'; '.join(differences)}."
                       f"\n\n" + md_table(published))
        else:
            out.append(f"Published reference numbers ({reference.get('setting', '')}); these are published figures, not "
                       f"reruns; the setting matches this study's" + (f" ({compare})" if compare else "") + ".\n\n"
                       + md_table(published))
    out.append("### Configuration of the best trial\n\n" + md_table(T.config_table(best)))
    return "\n\n".join(out)


def _test_note(data: StudyData, best_number: int, fmt) -> str:
    test = data.attrs.get("test_result")
    if not test:
        return ("No test result is stored: the study has not been evaluated on the test split yet "
                "(`harness run-study` does this after its last trial).")
    if test.get("trial") != best_number:
        return (f"The stored test result belongs to trial {test.get('trial')}, not to the current best trial "
                f"{best_number}; rerun `harness run-study` with the same spec to evaluate the best trial on the test split.")
    if test.get("weights") == "trial":
        how = (f"Test metrics: the weights of the trial's best validation epoch (epoch {T.fmt_param(test.get('best_epoch'))}, "
               f"validation value {fmt(test.get('valid_value_search'))}), kept by the trial, were evaluated "
               f"({T.fmt_seconds(test.get('seconds'))} s); nothing was trained again.")
    else:
        how = (f"Test metrics: the configuration was retrained with the same seed (best epoch "
               f"{T.fmt_param(test.get('best_epoch'))}, {T.fmt_seconds(test.get('seconds'))} s); validation value "
               f"reproduced: {fmt(test.get('valid_value_retrained'))} vs {fmt(test.get('valid_value_search'))} in the "
               "search.")
    return how + " The test split was evaluated once, for this configuration only; it never guided the search."


def _factors(data: StudyData) -> str:
    out = ["## Factors"]
    names = T.factor_names(data)
    if not names:
        out.append("No searched factor takes more than one value in the trials.")
        return "\n\n".join(out)
    out.append(f"Per value of each searched factor: trials finished (complete + pruned), and the best, median "
               f"and mean ± sample standard deviation of {data.metric} over the **complete** trials only; a pruned "
               f"trial is counted but its last reported value is not used. Rows are sorted best first "
               f"({data.direction}). `{FAMILY}` is the attention type for RNN trials and the model name otherwise.")
    for name in names:
        out.append(f"### {name}\n\n" + md_table(T.factor_table(data, name)))
    return "\n\n".join(out)


def _top(data: StudyData) -> str:
    frame = T.top_table(data, 10)
    out = ["## Top 10 trials"]
    if frame.empty:
        out.append("No trial has finished with a value.")
        return "\n\n".join(out)
    out.append(f"The {len(frame)} best finished trials: complete ones by {data.metric}, then pruned ones by their "
               "last reported validation value (at the epoch shown in the state column); seconds are training "
               "wall time.")
    out.append(md_table(frame))
    return "\n\n".join(out)


def _failed(data: StudyData) -> str:
    frame = T.failed_table(data)
    if frame is None:
        return "## Trials that did not finish\n\nNo trial failed."
    return ("## Trials that did not finish\n\nListed, never dropped: each failed trial, the last epoch it reported, why "
            "it failed, and the trial that retried its configuration (the same parameters and seed), if any.\n\n"
            + md_table(frame))


def _plots(data: StudyData, images: dict[str, str], importances: list[T.Importances], attention_note: str | None) -> str:
    out = ["## Plots"]
    for key, title in FIGURES.items():
        block = [f"### {title}"]
        if key == "importances":
            block.append(f"Importances of the parameters present in every trial of a set and taking more than one value "
                         f"there: fANOVA (Optuna's `FanovaImportanceEvaluator`, seed 0) for sets of at most "
                         f"{T.MAX_TRIALS_FOR_FANOVA} trials, PED-ANOVA (`PedAnovaImportanceEvaluator`, importance for "
                         f"reaching the top 10%) for larger ones.")
            table = T.importance_table(importances)
            if table is not None:
                block.append(md_table(table))
            for s in importances:
                if s.note:
                    block.append(f"{s.title[:1].upper()}{s.title[1:]} ({s.used}): {s.note}")
        if key == "attention":
            example = data.attrs.get("attention_example")
            if not example:
                block.append("No attention example is stored (it is written with the test result of the best trial, "
                             "for models that expose attention weights).")
            elif attention_note:
                block.append(f"Not drawn: {attention_note}.")
            else:
                what = example.get("description") or "attention weights of the tested best model on one validation sentence"
                block.append(f"Trial {example.get('trial')}: {what}.")
        if key == "forecast":
            example = data.attrs.get("forecast_example")
            if not example:
                continue  # tasks without forecasts store none
            block.append(f"Trial {example.get('trial')}: {example.get('description', 'forecasts of the best model')}.")
        if key == "captions":
            example = data.attrs.get("caption_example")
            if not example:
                continue  # tasks without captions store none
            block.append(f"Trial {example.get('trial')}: {example.get('description', 'captions of the best model')}.")
            block += [f"![caption {k}]({images[f'caption_{k}']})" for k in range(int(example.get("samples", 0)))
                      if f"caption_{k}" in images]
        if key in images:
            block.append(f"![{title}]({images[key]})")
        elif key in ("history", "lr", "curves"):
            block.append(_no_figure(key))
        out.append("\n\n".join(block))
    return "\n\n".join(out)


def _no_figure(key: str) -> str:
    return {
        "history": "Nothing to plot: no trial has reported an objective value.",
        "lr": "Nothing to plot: no finished trial has a stored learning-rate curve.",
        "curves": "Nothing to plot: no trial has a stored per-epoch history.",
    }[key]


def _reproducibility(data: StudyData) -> str:
    out = ["## Reproducibility", "### Environment"]
    env = data.attrs.get("environment") or {}
    if env:
        import pandas as pd

        out.append("Recorded when the study was created.")
        rows = []
        for key, value in env.items():
            if key == "packages" and isinstance(value, dict):
                rows += [(f"package: {name}", str(version)) for name, version in sorted(value.items())]
            else:
                rows.append((key.replace("_", " "), T.DASH if value is None else str(value)))
        out.append(md_table(pd.DataFrame(rows, columns=["item", "value"])))
    else:
        out.append("No environment is stored.")
    commits = T.commits_line("trials", [t.git_commit for t in data.trials if t.state in ("complete", "pruned", "fail")])
    if commits:
        out.append(commits)
    spec = data.attrs.get("spec")
    spec_path = f"studies/{data.name}.toml"
    out.append("### Spec")
    if spec:
        out.append(f"The stored spec, re-serialised (save it as `{spec_path}`):\n\n```toml\n{to_toml(spec)}```")
    else:
        out.append("No spec is stored.")
    out.append("### Commands")
    out.append("```sh\n"
               f"harness run-study {spec_path} --storage {data.storage}\n"
               f"harness report {data.name} --storage {data.storage}\n"
               "```")
    out.append("Datasets read from files also need `--data-dir DIR` (or `$HARNESS_DATA_DIR`). Trials are seeded "
               "(`[study] seed` + trial number), so a rerun on the same software and thread count retrains the "
               "same configurations.")
    return "\n\n".join(out)


# -- TOML ----------------------------------------------------------------------------------------
def to_toml(document: dict[str, Any]) -> str:
    """Serialise a spec-like dict to TOML.

    Top-level dicts become ``[tables]``, top-level lists of dicts ``[[arrays of tables]]``; nested dicts
    become inline tables. ``None`` values are left out (TOML has no null), as are empty top-level lists.
    Key order is kept.

    Returns:
        The TOML text, ending with one newline (empty string for an empty document).
    """
    head: list[str] = []
    body: list[str] = []
    for key, value in document.items():
        if value is None:
            continue
        if isinstance(value, dict):
            body.append(f"\n[{_key(key)}]")
            body += [f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None]
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                body.append(f"\n[[{_key(key)}]]")
                body += [f"{_key(k)} = {_value(v)}" for k, v in item.items() if v is not None]
        elif isinstance(value, list) and not value:
            continue
        else:
            head.append(f"{_key(key)} = {_value(value)}")
    text = "\n".join(head + body).lstrip("\n")
    return text + "\n" if text else ""


def _key(key: Any) -> str:
    key = str(key)
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _string(key)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None)
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value if v is not None) + "]"
    return _string(str(value))
