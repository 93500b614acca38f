"""Assemble the benchmark report's markdown from the tables and the figures' paths; writes nothing.

Order, per problem: the trivial baselines and each arm against the strongest, the arms (best chosen on
validation, the others compared with it on test, paired by seed), pooled factor tables, the published
findings that apply, what failed, figures, time to target, importances; then across problems (average
rank, Friedman and the critical-difference diagram from 3 problems on, the performance profile), and
reproducibility.
"""

from __future__ import annotations

from typing import Any

from harness.report import baselines as B
from harness.report.benchmark import tables as T
from harness.report.benchmark.load import BenchmarkData
from harness.report.markdown import md_table, to_toml
from harness.report.tables import commits_line, placement_line


def intro(data: BenchmarkData) -> str:
    spec = data.attrs.get("spec") or {}
    bench = spec.get("benchmark") or {}
    sampler, pruner = spec.get("sampler") or {}, spec.get("pruner") or {}
    budget = spec.get("budget") or {}
    subset = budget.get("max_train_examples")
    lines = [f"# {data.name}"]
    description = (spec.get("study") or {}).get("description")
    if description:
        lines.append(str(description))
    lines.append(
        f"Benchmark of **{data.attrs.get('task', '?')}**: {len(data.arms)} arms (" + " x ".join(data.factors)
        + f") on {len(data.problems)} problem(s) ({', '.join(data.problems)}). Every arm's inner search has the same "
        f"budget: {bench.get('inner_trials')} trials"
        + (f" x {bench.get('inner_seeds')} inner seeds" if int(bench.get("inner_seeds", 1)) > 1 else "")
        + f", sampler {sampler.get('name', 'tpe')}, pruner {pruner.get('name', 'none')}, budget {budget.get('max_epochs')} "
        f"epochs" + (f" on {subset} training examples" if subset else "") + " (the first problem's; the others state theirs "
        f"in the spec below). The best configuration of each arm is retrained with {bench.get('seeds')} seeds, the same "
        f"seeds for every arm, and the checkpoint of its best validation epoch is evaluated once on the test split; "
        f"objective **{data.metric}** ({data.direction}).")
    lines.append(f"**The best arm is chosen on validation** (the best mean validation {data.metric} over seeds); every other "
                 "arm is compared with it on test, **paired by seed**: the mean of the per-seed differences with its 95% "
                 "t interval (the effect size), and a two-sided paired test, Holm-corrected over the arms.")
    return "\n\n".join(lines)


def problem_section(data: BenchmarkData, problem: str, images: dict[str, str]) -> str:
    block = [f"## Problem: {problem}"]
    missing = T.unfinished(data, problem)
    if missing:
        block.append(f"**Incomplete: {len(missing)} of {len(data.arms)} arms lack some or all of their seeded re-runs** "
                     "(the benchmark is still running, or resumes where it stopped); what is "
                     "missing is listed under 'What did not finish', and the comparisons below cover only the runs "
                     "stored so far.")
    record = data.attrs.get(f"baselines.{problem}")
    table, result = T.arm_table(data, problem)
    if table is None:
        block.append("No seeded re-run has finished on this problem yet.")
    else:
        value = result.test_means[result.best]
        seeds = max(len(v) for v in data.scores(problem).values())
        label = f"The best arm, **{result.best}** (chosen on validation; test mean over its seeds)"
        block.append(B.verdict(label, value, record, data.metric, data.maximize))
        block.append(md_table(table) + "\n\n" + T.significance_note(result, seeds))
    baselines = T.baselines_table(data, problem)
    if baselines is not None and not baselines.empty:
        block.append("### Trivial baselines\n\n" + B.intro(record) + "\n\n" + md_table(baselines))
    for factor in data.factors if len(data.factors) > 1 else []:
        ft = T.factor_table(data, problem, factor)
        if ft is not None:
            block.append(f"### By {factor} (per-seed means over the other factors, paired by seed)\n\n" + md_table(ft))
    findings = T.findings_table(data, problem)
    if findings is not None:
        block.append("### Published findings and this benchmark\n\nPublished claims are quoted, not rerun, with the setting "
                     "they were made in; the right-hand column is measured here, on this problem and budget, over the levels the "
                     "finding compares only: the validation-best of those levels against each other one on test, paired by "
                     "seed and Holm-corrected over that finding's comparisons, so its p-values can differ from the arm "
                     "table's, which corrects over every arm.\n\n"
                     + md_table(findings))
    failures = T.failures_table(data, problem)
    block.append("### What did not finish\n\n" + ("Every seeded re-run, inner trial and baseline finished." if failures is None
                                                  else "Listed, never dropped:\n\n" + md_table(failures)))
    slug = problem.replace("/", "_")
    for key, title in [(f"{slug}-seeds", "Test scores over seeds"),
                       (f"{slug}-best-so-far", "Best so far against budget (inner searches)"),
                       (f"{slug}-lr", "Learning-rate sensitivity")]:
        link = images.get(key)
        block.append(f"### {title}\n\n" + (f"![{title}]({link})" if link else "Nothing to plot."))
    target = ((data.attrs.get("spec") or {}).get("benchmark") or {}).get("target")
    if target is not None:
        block.append(f"### Time to target ({data.metric} {'>=' if data.maximize else '<='} {target:g}, validation)\n\n"
                     + md_table(T.time_to_target(data, problem, float(target))))
    imp = T.inner_importances(data, problem)
    title = f"### Parameter importances of the inner searches ({imp.evaluator}, {imp.used})"
    if imp.scores:
        import pandas as pd

        frame = pd.DataFrame([[n, f"{s:.3f}"] for n, s in imp.scores], columns=["parameter", "importance"])
        block.append(f"{title}\n\nOver the complete inner trials of every arm; the arm's factors ({', '.join(data.factors)}) "
                     f"count as parameters.{_left_out(imp)}\n\n" + md_table(frame))
    else:
        block.append(f"{title}\n\n{imp.note}{_left_out(imp)}")
    return "\n\n".join(block)


def _left_out(imp) -> str:
    names = imp.left_out
    if not names:
        return ""
    return (f" Left out, as only some arms search {'them' if len(names) > 1 else 'it'}: "
            f"{', '.join(f'`{n}`' for n in names)}.")


def across_problems(data: BenchmarkData, images: dict[str, str]) -> str | None:
    ranks = T.rank_table(data)
    if ranks is None:
        return None
    missing = T.missing_arms(data)
    left = "; ".join(f"{arm} (no test scores on {', '.join(problems)})" for arm, problems in missing.items())
    if len(ranks) < 2:
        return "## Across problems\n\nFewer than 2 arms have test scores on every problem, so there is nothing to rank " \
               "yet." + (f" Left out: {left}." if missing else "")
    out = ["## Across problems", "Average rank of each arm (1 = best) over the problems, by its mean test score on each.",
           md_table(ranks)]
    if missing:
        out.append(f"Ranked among the arms with test scores on every problem only. Left out: {left}.")
    friedman = T.friedman(data)
    if friedman is not None:
        from harness.report.stats import format_p

        ranked = ", ".join(f"{arm} {rank:.2f}" for arm, rank in friedman.mean_ranks.items())
        out.append(f"Friedman test over {len(friedman.problems)} problems: {format_p(friedman.p)}; mean ranks {ranked}; "
                   f"Nemenyi critical difference {friedman.cd:.3f} at alpha = {friedman.alpha:g} (Demsar 2006)."
                   + ("" if friedman.significant else " The Friedman test is not significant, so no post-hoc "
                      "comparison is made: the problems cannot tell the arms apart.")
                   + (f" Left out (missing on some problem): {', '.join(friedman.dropped)}." if friedman.dropped else ""))
        if "cd" in images:
            out.append(f"![critical-difference diagram]({images['cd']})")
    else:
        out.append("A Friedman test with a critical-difference diagram needs 3 or more problems and arms.")
    if "profile" in images:
        out.append("Performance profile: for each arm, the fraction of problems on which its mean test score is within a "
                   f"factor tau of the best arm's (Dolan & More 2002).\n\n![performance profile]({images['profile']})")
    return "\n\n".join(out)


def reproducibility(data: BenchmarkData) -> str:
    spec: dict[str, Any] = data.attrs.get("spec") or {}
    env = data.attrs.get("environment") or {}
    inner_seconds = sum(float(t.seconds or 0.0) for repeats in data.inner.values() for trials in repeats for t in trials)
    seed_seconds = sum(r.seconds for r in data.runs)
    seeds = sorted({r.seed for r in data.runs})
    packages = ", ".join(f"{k} {v}" for k, v in sorted((env.get("packages") or {}).items()) if v)
    where = placement_line(env)
    commits = commits_line("seeded re-runs", [r.git_commit for r in data.runs])
    lines = ["## Reproducibility",
             f"Total compute: {inner_seconds + seed_seconds:.1f} s (inner searches {inner_seconds:.1f} s + seeded re-runs "
             f"{seed_seconds:.1f} s). Seeds of the re-runs: study seed + 1000 + k for k in {seeds}. `harness rescore "
             f"{data.name}` recomputes every test metric above from the stored outputs.",
             f"Environment when the benchmark was created: Python {env.get('python', '?')}; {packages}; git commit "
             f"{env.get('git_commit') or '–'}; CPU {env.get('cpu', '?')}, {env.get('cpu_count', '?')} cores, "
             f"{env.get('torch_threads', '?')} torch threads" + (f"; device {where}" if where else "") + "."
             + (f" {commits}" if commits else ""),
             "Spec:\n\n```toml\n" + to_toml(spec).rstrip() + "\n```",
             f"Commands:\n\n```sh\nharness benchmark studies/{data.name}.toml --storage {data.storage}\n"
             f"harness report {data.name} --storage {data.storage}\nharness rescore {data.name} --storage {data.storage}\n```"]
    return "\n\n".join(lines)


def document(data: BenchmarkData, images: dict[str, str]) -> str:
    """The whole report, ending with one newline."""
    parts = [intro(data), *[problem_section(data, p, images) for p in data.problems], across_problems(data, images),
             reproducibility(data)]
    return "\n\n".join(p for p in parts if p) + "\n"
