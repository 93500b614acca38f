"""Benchmark mode end to end (real subprocesses, real SQLite), compare and export.

A tiny translation benchmark: 2 attention types x 2 schedules, 2 inner trials per arm, 3 seeds, on two
problems (numbers-en-de at two sizes).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import optuna
import pandas as pd
import pytest

from harness.report.benchmark.tables import fmt
from harness.storage import get_series
from tests.conftest import commit_to_git, harness_cli, harness_env

SPEC = """\
[study]
name = "bench"
task = "translation"
metric = "chrf"
seed = 0

[dataset]
name = "numbers-en-de"
train_size = 160
valid_size = 30
test_size = 30
max_number = 999
vocab_size = 64

[budget]
max_epochs = 2
threads = 1

[sampler]
name = "random"
seed = 0

[search]
model = "rnn"
attention = ["dot", "additive"]
schedule = ["constant", "cosine"]
lr = { low = 1e-3, high = 1e-2, log = true }
hidden_size = 16
embedding_size = 8

[benchmark]
factors = ["attention", "schedule"]
inner_trials = 2
seeds = 3
target = 20.0

[[benchmark.problems]]
name = "numbers-small"
dataset = { name = "numbers-en-de", train_size = 120, valid_size = 30, test_size = 30, max_number = 499, vocab_size = 64 }
"""
ARMS = ["dot-constant", "dot-cosine", "additive-constant", "additive-cosine"]
PROBLEMS = ["numbers-en-de", "numbers-small"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """The benchmark interrupted by SIGKILL after its first seeded re-run, then resumed to the end on a later commit
    of the checkout it runs in (as a benchmark resumed in another session may be)."""
    folder = tmp_path_factory.mktemp("bench")
    (folder / "bench.toml").write_text(SPEC)
    first = commit_to_git(folder, "the benchmark's spec", "bench.toml")
    url = f"sqlite:///{folder / 'b.db'}"
    env = harness_env()
    proc = subprocess.Popen([sys.executable, "-m", "harness", "benchmark", "bench.toml", "--storage", url, "--quiet"],
                            cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline, killed_after = time.time() + 240, None
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            runs = [t for t in optuna.load_study(study_name="bench", storage=url).trials if t.state.name == "COMPLETE"]
        except (KeyError, Exception):  # noqa: BLE001 - the study may not exist yet
            continue
        if runs:
            proc.send_signal(signal.SIGKILL)
            killed_after = len(runs)
            break
    proc.wait(timeout=60)
    if killed_after is not None:  # another re-run may have finished between the count and the kill
        killed_after = sum(t.state.name == "COMPLETE" for t in optuna.load_study(study_name="bench", storage=url).trials)
    (folder / "NOTES").write_text("resumed on a later commit\n")
    second = commit_to_git(folder, "a later commit", "NOTES")
    resumed = harness_cli("benchmark", "bench.toml", "--storage", url, cwd=folder)
    assert resumed.returncode == 0, resumed.stderr
    return {"folder": folder, "url": url, "killed_after": killed_after, "stdout": resumed.stdout,
            "commits": (first, second)}


def test_every_arm_gets_the_same_inner_budget(bench):
    for problem in PROBLEMS:
        for arm in ARMS:
            study = optuna.load_study(study_name=f"bench.{problem}.{arm}", storage=bench["url"])
            finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
            assert len(finished) == 2
            spec = study.user_attrs["spec"]
            assert spec["sampler"]["name"] == "random" and spec["budget"]["max_epochs"] == 2
            attention, schedule = arm.split("-")
            configs = [t.user_attrs["config"] for t in study.trials]
            assert {c["attention"] for c in configs} == {attention} and {c["schedule"] for c in configs} == {schedule}
            assert not {"attention", "schedule"} & {p for t in study.trials for p in t.params}  # fixed: not searched


def test_resume_after_a_kill_completes_each_seed_once(bench):
    assert bench["killed_after"] is not None, "the benchmark finished before it could be interrupted"
    parent = optuna.load_study(study_name="bench", storage=bench["url"])
    runs = [t for t in parent.trials if t.state.name == "COMPLETE"]
    keys = [(t.user_attrs["problem"], t.user_attrs["arm_slug"], t.user_attrs["seed_index"]) for t in runs]
    assert len(keys) == len(set(keys)) == len(PROBLEMS) * len(ARMS) * 3
    assert f"24 seeded re-runs ({24 - bench['killed_after']} this run" in bench["stdout"]
    for t in runs:
        assert set(t.user_attrs["test"]) == {"bleu", "bleu_lc", "chrf", "exact", "loss", "ppl"}
        assert set(t.user_attrs["valid"]) == {"bleu", "bleu_lc", "chrf", "exact", "loss", "ppl"}
        assert t.value == t.user_attrs["valid"]["chrf"]  # the kept checkpoint's validation value
        assert t.user_attrs["seed"] == 1000 + t.user_attrs["seed_index"]
        assert [r["epoch"] for r in get_series(t.user_attrs, "history")] == [1, 2]


def test_each_re_run_records_the_commit_it_ran_and_the_report_names_both(bench, tmp_path):
    assert bench["killed_after"] is not None, "the benchmark finished before it could be interrupted"
    first, second = bench["commits"]
    before = bench["killed_after"]
    parent = optuna.load_study(study_name="bench", storage=bench["url"])
    runs = sorted((t for t in parent.trials if t.state.name == "COMPLETE"), key=lambda t: t.number)
    assert [t.user_attrs["git_commit"] for t in runs] == [first] * before + [second] * (len(runs) - before)
    inner = optuna.load_study(study_name=f"bench.{PROBLEMS[0]}.{ARMS[0]}", storage=bench["url"])
    assert {t.user_attrs["git_commit"] for t in inner.trials} <= {first, second}
    proc = harness_cli("report", "bench", "--storage", bench["url"], "--out", str(tmp_path / "bench.md"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "bench.md").read_text()
    assert "Environment when the benchmark was created: " in text and f"git commit {first};" in text
    assert f"The seeded re-runs ran at git commits {first} ({before}), {second} ({len(runs) - before})." in text


def test_each_arm_keeps_the_model_of_its_validation_best_seed(bench):
    from optuna.artifacts import FileSystemArtifactStore

    from harness.artifacts import kept_models, load

    parent = optuna.load_study(study_name="bench", storage=bench["url"])
    kept = kept_models(parent)
    assert set(kept) == {f"{p}.{a}" for p in PROBLEMS for a in ARMS}
    runs = [t for t in parent.trials if t.state.name == "COMPLETE"]
    for key, record in kept.items():
        problem, arm = key.split(".", 1)
        mine = [t for t in runs if (t.user_attrs["problem"], t.user_attrs["arm_slug"]) == (problem, arm)]
        assert record["value"] == max(t.value for t in mine)
        assert record["trial"] in {t.number for t in mine if t.value == record["value"]}
    store = FileSystemArtifactStore(str(bench["folder"] / "b.artifacts"))
    files = {p.name for p in (bench["folder"] / "b.artifacts").iterdir()}
    assert {r["artifact_id"] for r in kept.values()} <= files
    assert len(files) <= len(kept) + 1  # beaten seeds' files removed (the kill may orphan one saved file)
    assert load(parent, store, f"{PROBLEMS[0]}.{ARMS[0]}")["config"]["attention"] == ARMS[0].split("-")[0]


def test_report_has_statistics_and_is_deterministic(bench, tmp_path):
    a = harness_cli("report", "bench", "--storage", bench["url"], "--out", str(tmp_path / "a" / "bench.md"), cwd=tmp_path)
    b = harness_cli("report", "bench", "--storage", bench["url"], "--out", str(tmp_path / "b" / "bench.md"), cwd=tmp_path)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    text = (tmp_path / "a" / "bench.md").read_text()
    assert text == (tmp_path / "b" / "bench.md").read_text()
    for png in sorted((tmp_path / "a" / "bench").glob("*.png")):
        assert png.read_bytes() == (tmp_path / "b" / "bench" / png.name).read_bytes()
    for heading in ["## Problem: numbers-en-de", "## Problem: numbers-small", "### By attention", "### By schedule",
                    "### Time to target", "## Across problems", "## Reproducibility"]:
        assert heading in text
    assert "**The best arm is chosen on validation**" in text and "paired by seed" in text
    parent = optuna.load_study(study_name="bench", storage=bench["url"])
    valid, test = {}, {}
    for t in parent.trials:
        if t.state.name == "COMPLETE" and t.user_attrs["problem"] == "numbers-en-de":
            valid.setdefault(t.user_attrs["arm_label"], {})[t.user_attrs["seed_index"]] = t.value
            test.setdefault(t.user_attrs["arm_label"], {})[t.user_attrs["seed_index"]] = t.user_attrs["test"]["chrf"]
    best = max(sorted(valid), key=lambda a: sum(valid[a].values()) / len(valid[a]))
    section = text.split("## Problem: numbers-en-de", 1)[1].split("## Problem:", 1)[0]
    assert f"| **{best}** " in section and "best on validation" in section
    # the paired difference of another arm: the mean of its per-seed differences to the best, as printed
    other = sorted(a for a in valid if a != best)[0]
    diff = sum(test[other][k] - test[best][k] for k in test[best]) / len(test[best])
    assert f"| {other} " in section and f"{diff:+.4g} [" in section
    assert "Student's paired t-test" in section and "could not go below p = " in section
    # Britz et al. (additive vs dot) applies to this RNN benchmark; the warmup finding is about Transformers and
    # Luong's needs two of dot/general/location: both are left out.
    findings = text.split("### Published findings and this benchmark", 1)[1].split("###", 1)[0]
    assert "Britz et al. 2017" in findings and "Vaswani et al. 2017" not in findings and "Luong et al. 2015" not in findings
    # pooled by attention: per-seed means over the two schedules, averaged; never arms x seeds as independent runs
    by_attention = text.split("### By attention", 1)[1].split("###", 1)[0]
    assert "seeds (per-seed means)" in by_attention
    for level in ("additive", "dot"):
        arms = [a for a in test if f"attention={level}" in a]
        per_seed = [sum(test[a][k] for a in arms) / len(arms) for k in range(3)]
        row = next(line for line in by_attention.splitlines() if line.replace("*", "").startswith(f"| {level} "))
        assert [c.strip() for c in row.replace("*", "").split("|")[2:4]] == ["2", "3"]  # 2 arms, 3 per-seed means
        assert f"| {fmt(sum(per_seed) / 3)} [" in row
    assert "### Trivial baselines" in section and "### What did not finish" in section


def _without(data, keep):
    """``data`` with only the seeded re-runs ``keep(run)`` accepts (what an unfinished or partly failed benchmark
    leaves in the storage)."""
    import dataclasses

    return dataclasses.replace(data, runs=[r for r in data.runs if keep(r)])


def test_ranks_across_problems_leave_out_an_arm_missing_on_a_problem(bench):
    """An arm with no re-runs on one problem is not ranked (no 'nan' rank, no average over fewer problems):
    the others are ranked among themselves and the report names the arm left out."""
    import optuna

    from harness.report.benchmark import load_benchmark
    from harness.report.benchmark import markdown as M
    from harness.report.benchmark import tables as T
    from harness.report.stats import ranks

    full = load_benchmark("bench", bench["url"], optuna.load_study(study_name="bench", storage=bench["url"]))
    gone = sorted(full.arms)[0]
    data = _without(full, lambda r: not (r.problem == "numbers-small" and r.arm == gone))
    table = T.rank_table(data)
    assert gone not in set(table["arm"]) and len(table) == len(full.arms) - 1
    assert not table.astype(str).apply(lambda c: c.str.contains("nan")).any().any()
    others = {p: {a: v for a, v in T.profile_scores(data)[p].items() if a != gone} for p in PROBLEMS}
    for _, row in table.iterrows():
        expected = [ranks(others[p], maximize=True)[row["arm"]] for p in data.problems]
        assert [float(row[f"rank on {p}"]) for p in data.problems] == expected
        assert row["average rank"] == f"{sum(expected) / len(expected):.2f}"
    assert T.missing_arms(data) == {gone: ["numbers-small"]}
    assert f"Left out: {gone} (no test scores on numbers-small)." in M.across_problems(data, {})
    assert T.missing_arms(full) == {} and len(T.rank_table(full)) == len(full.arms)
    alone = sorted(full.arms)[1]  # the only arm with re-runs on numbers-small: nothing to rank it against
    section = M.across_problems(_without(full, lambda r: r.problem != "numbers-small" or r.arm == alone), {})
    assert "nothing to rank yet" in section and "| arm " not in section and f"{alone} (" not in section


def test_inner_importances_count_the_factors_over_every_inner_trial(bench):
    """The arms' factor levels are parameters of the pooled inner trials (each arm fixes them, so no inner study
    holds them as parameters), every complete inner trial is used, and a parameter only some arms search is named
    as left out, never silently dropping the trials that lack it."""
    import optuna

    from harness.report.benchmark import load_benchmark
    from harness.report.benchmark import tables as T

    full = load_benchmark("bench", bench["url"], optuna.load_study(study_name="bench", storage=bench["url"]))
    for problem in full.problems:
        imp = T.inner_importances(full, problem)
        pairs = full.inner_frozen[problem]
        assert imp.trials == len(pairs) and imp.total >= len(pairs) > 0
        names = {n for n, _ in imp.scores}
        assert set(full.factors) <= names, (problem, imp)
        searched = {k for _, t in pairs for k in t.params}
        shared = {k for k in searched if all(k in t.params for _, t in pairs)}
        assert names <= set(full.factors) | shared and imp.left_out == sorted(searched - shared)
        assert abs(sum(score for _, score in imp.scores) - 1.0) < 1e-6


def test_significance_note_says_when_nothing_is_testable_yet(bench):
    """While the best arm has one seed, no paired comparison is testable: the note says so instead of quoting a
    p floor for seeds that are not there; with every seed it states the floor for the seeds actually paired."""
    import optuna

    from harness.report.benchmark import load_benchmark
    from harness.report.benchmark import tables as T

    full = load_benchmark("bench", bench["url"], optuna.load_study(study_name="bench", storage=bench["url"]))
    _, result = T.arm_table(full, "numbers-en-de")
    note = T.significance_note(result, 3)
    assert "could not go below p = " in note and "on 3 paired seeds and 3 comparisons" in note
    one = _without(full, lambda r: r.seed == 0)  # one seed of every arm stored so far
    _, partial = T.arm_table(one, "numbers-en-de")
    note = T.significance_note(partial, 3)
    assert "**No comparison is testable yet**" in note and "at most 1 of the 3 seeds" in note
    assert "could not go below" not in note and set(partial.verdicts.values()) == {"not testable"}


def test_rescore_reproduces_every_stored_test_metric(bench, tmp_path):
    proc = harness_cli("rescore", "bench", "--storage", bench["url"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # 24 re-runs x 4 metrics from outputs (bleu, bleu_lc, chrf, exact), plus the baselines of both problems
    rows = int(proc.stdout.rsplit("All ", 1)[1].split(" ", 1)[0])
    assert rows >= 24 * 4
    assert "Not recomputable from outputs (they need the model): loss, ppl" in proc.stdout


def test_compare_puts_studies_side_by_side(bench, tmp_path):
    out = tmp_path / "cmp.md"
    proc = harness_cli("compare", "bench.numbers-en-de.dot-cosine", "bench.numbers-small.dot-cosine",
                       "--storage", bench["url"], "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "## Studies" in text and "bench.numbers-small.dot-cosine" in text
    assert (tmp_path / "cmp" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    one = harness_cli("compare", "bench", "--storage", bench["url"], cwd=tmp_path)
    assert one.returncode == 2 and "at least two studies" in one.stderr


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_round_trip(bench, tmp_path, fmt):
    out = tmp_path / f"runs.{fmt}"
    proc = harness_cli("export", "bench", "--format", fmt, "--storage", bench["url"], "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
    study = optuna.load_study(study_name="bench", storage=bench["url"])
    assert list(frame["number"]) == [t.number for t in study.trials]
    for (_, row), trial in zip(frame.iterrows(), study.trials):
        assert row["state"] == trial.state.name
        if trial.value is not None:
            assert row["value"] == pytest.approx(trial.value, rel=1e-12)
        assert json.loads(row["attr:test"]) == trial.user_attrs["test"]
        assert json.loads(row["attr:history"]) == get_series(trial.user_attrs, "history")
        assert row["attr:arm_label"] == trial.user_attrs["arm_label"]


def test_export_refuses_unknown_formats(bench, tmp_path):
    proc = harness_cli("export", "bench", "--format", "xlsx", "--storage", bench["url"], cwd=tmp_path)
    assert proc.returncode == 2 and "unknown export format 'xlsx'" in proc.stderr


def test_benchmark_needs_a_benchmark_table(tmp_path):
    (tmp_path / "s.toml").write_text(SPEC.split("[benchmark]")[0])
    proc = harness_cli("benchmark", "s.toml", "--storage", f"sqlite:///{tmp_path / 's.db'}", cwd=tmp_path)
    assert proc.returncode == 2 and "has no [benchmark] table" in proc.stderr
    assert not (tmp_path / "s.db").exists()


def test_benchmark_factor_must_be_listed(tmp_path):
    (tmp_path / "s.toml").write_text(SPEC.replace('factors = ["attention", "schedule"]', 'factors = ["attention", "lr"]'))
    proc = harness_cli("benchmark", "s.toml", cwd=tmp_path)
    assert proc.returncode == 2 and "factor 'lr' needs a list of values in [search]" in proc.stderr


def test_problems_run_in_separate_processes_on_one_storage(tmp_path):
    """Two processes, one problem each, started together: every arm of every problem re-run once, no duplicates."""
    (tmp_path / "bench.toml").write_text(SPEC.replace("inner_trials = 2", "inner_trials = 1").replace("seeds = 3", "seeds = 1"))
    url = f"sqlite:///{tmp_path / 'b.db'}"
    env = harness_env()
    procs = [subprocess.Popen([sys.executable, "-m", "harness", "benchmark", "bench.toml", "--storage", url, "--quiet",
                               "--problem", problem], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for problem in PROBLEMS]
    for proc in procs:
        out, err = proc.communicate(timeout=280)
        assert proc.returncode == 0, err
        assert "1 problem(s)" not in out  # the summary counts the benchmark's problems, not the selection
    parent = optuna.load_study(study_name="bench", storage=url)
    keys = sorted((t.user_attrs["problem"], t.user_attrs["arm_slug"]) for t in parent.trials if t.state.name == "COMPLETE")
    assert keys == sorted((p, a) for p in PROBLEMS for a in ARMS)
    assert len(parent.trials) == len(keys)


def test_unknown_problem_is_refused_with_a_suggestion(tmp_path):
    (tmp_path / "s.toml").write_text(SPEC)
    proc = harness_cli("benchmark", "s.toml", "--storage", f"sqlite:///{tmp_path / 's.db'}", "--problem", "numbers-smal",
                       cwd=tmp_path)
    assert proc.returncode == 2
    assert "benchmark 'bench' has no problem 'numbers-smal' (did you mean 'numbers-small'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--devices", "0,1"], "--devices 0,1 gives each of several --workers its own GPU; with one worker use --device cuda:N"),
    (["--workers", "2", "--devices", "0,x"], "--devices takes GPU indices such as 0,1,2,3, got 'x'"),
    (["--workers", "2", "--launcher", "ray", "--devices", "0,1"], "--devices places local workers; with --launcher ray"),
])
def test_devices_that_cannot_be_honoured_are_refused_before_anything_is_written(tmp_path, args, message):
    (tmp_path / "s.toml").write_text(SPEC)
    proc = harness_cli("benchmark", "s.toml", "--storage", f"sqlite:///{tmp_path / 's.db'}", *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s.db").exists()


def test_three_problems_give_friedman_and_a_critical_difference_analysis(tmp_path):
    spec = (SPEC.replace('attention = ["dot", "additive"]', 'attention = ["dot", "general", "additive"]')
            .replace('schedule = ["constant", "cosine"]', 'schedule = "cosine"')
            .replace('factors = ["attention", "schedule"]', 'factors = ["attention"]')
            .replace("inner_trials = 2", "inner_trials = 1").replace("seeds = 3", "seeds = 2"))
    spec += ('\n[[benchmark.problems]]\nname = "numbers-tiny"\ndataset = { name = "numbers-en-de", train_size = 150, '
             'valid_size = 40, test_size = 40, max_number = 299, vocab_size = 64 }\n')
    (tmp_path / "b3.toml").write_text(spec)
    url = f"sqlite:///{tmp_path / 'b3.db'}"
    proc = harness_cli("benchmark", "b3.toml", "--storage", url, "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = harness_cli("report", "bench", "--storage", url, "--out", str(tmp_path / "r" / "bench.md"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "r" / "bench.md").read_text()
    across = text.split("## Across problems", 1)[1].split("## Reproducibility", 1)[0]
    assert "Friedman test over 3 problems: p " in across and "Nemenyi critical difference" in across
    significant = "no post-hoc comparison is made" not in across
    assert ("critical-difference diagram" in across) == significant == (tmp_path / "r" / "bench" / "cd.png").is_file()


def test_a_report_of_an_unfinished_benchmark_lists_what_is_missing(tmp_path):
    """Only one problem run (``--problem``): the other problem's section says it is incomplete and lists every arm as
    not started; the finished problem's section does not."""
    (tmp_path / "bench.toml").write_text(SPEC.replace("inner_trials = 2", "inner_trials = 1").replace("seeds = 3", "seeds = 1"))
    url = f"sqlite:///{tmp_path / 'b.db'}"
    proc = harness_cli("benchmark", "bench.toml", "--storage", url, "--quiet", "--problem", "numbers-small", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = harness_cli("report", "bench", "--storage", url, "--out", str(tmp_path / "r" / "bench.md"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "r" / "bench.md").read_text(encoding="utf-8")
    sections = {s.split("\n", 1)[0]: s for s in text.split("\n## Problem: ")[1:]}
    missing, done = sections["numbers-en-de"], sections["numbers-small"]
    assert "**Incomplete: 4 of 4 arms lack some or all of their seeded re-runs**" in missing
    assert "No seeded re-run has finished on this problem yet." in missing
    listed = missing.split("### What did not finish", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in listed.splitlines() if line.startswith("| arm ")]
    assert len(rows) == len(ARMS) and all("not started" in row for row in rows)
    assert "Incomplete" not in done.split("\n## ", 1)[0]
    assert "Every seeded re-run, inner trial and baseline finished." in done
