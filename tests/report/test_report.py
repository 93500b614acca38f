"""Tests of harness.report on a real study: a tiny spec run by the real ``harness run-study`` into SQLite.

The study is run once per session (a few seconds); every test reads it, and tests that need to write
into a storage work on a copy.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import tomllib

from harness.errors import StorageError
from harness.report import write_report
from harness.report.markdown import to_toml
from harness.storage import get_series, open_storage
from tests.conftest import commit_to_git, write_tiny_spec

REPO_ROOT = Path(__file__).resolve().parents[2]
STUDY = "reptest"
SECTIONS = ["# reptest", "## Summary", "## Best trial", "## Factors", "## Top 10 trials", "## Trials that did not finish",
            "## Plots",
            "### Optimization history", "### Learning rate per step", "### Learning curves",
            "### Parameter importances", "### Attention example", "## Reproducibility", "### Environment",
            "### Spec", "### Commands"]


@pytest.fixture(scope="session")
def storage(tmp_path_factory) -> dict:
    """Run the tiny spec with the real command line; returns the folder, URL and database path."""
    folder = tmp_path_factory.mktemp("report_study")
    spec = write_tiny_spec(folder, STUDY, n_trials=6)
    spec.write_text(spec.read_text().replace("seed = 0\n", 'seed = 0\ndescription = "A tiny study for the report tests"\n', 1)
                    + '\n[pruner]\nname = "none"\n')
    commit = commit_to_git(folder, "the report tests' spec", spec.name)  # a checkout: each trial records the commit
    db = folder / "h.db"
    url = f"sqlite:///{db}"
    proc = subprocess.run([sys.executable, "-m", "harness", "run-study", spec.name, "--storage", url, "--quiet"],
                          cwd=folder, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    return {"folder": folder, "url": url, "db": db, "commit": commit}


@pytest.fixture(scope="session")
def study(storage) -> optuna.Study:
    return optuna.load_study(study_name=STUDY, storage=open_storage(storage["url"]))


@pytest.fixture(scope="session")
def report(storage, tmp_path_factory) -> dict:
    """The report written once for the content tests: its path and text."""
    out = tmp_path_factory.mktemp("report_out") / "reports" / f"{STUDY}.md"
    path = write_report(STUDY, storage=storage["url"], out=out)
    return {"path": path, "text": path.read_text(encoding="utf-8")}


def section(text: str, title: str) -> str:
    """The text of the section whose heading line is ``title``, up to the next heading of any level."""
    start = text.index(title + "\n")
    rest = text[start + len(title) + 1:]
    match = re.search(r"^#{1,6} ", rest, flags=re.MULTILINE)
    return rest[: match.start()] if match else rest


def parse_table(text: str) -> list[dict[str, str]]:
    """The first pipe table in ``text`` as a list of rows (header -> cell)."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    split = lambda line: [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
    header = split(lines[0])
    return [dict(zip(header, split(line))) for line in lines[2:]]


def family(trial: optuna.trial.FrozenTrial) -> str:
    config = trial.user_attrs["config"]
    return config["attention"] if config["model"] == "rnn" else "transformer"


# -- content -------------------------------------------------------------------------------------
def test_sections_appear_in_order(report):
    text = report["text"]
    positions = [text.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    assert "A tiny study for the report tests" in text
    assert "**chrf** (maximize) on the validation split" in text
    assert "## Trials that did not finish\n\nNo trial failed." in text


def test_summary_counts_and_facts_equal_the_storage(report, study):
    rows = {r["item"]: r["value"] for r in parse_table(section(report["text"], "## Summary"))}
    states = {}
    for t in study.trials:
        states[t.state.name.lower()] = states.get(t.state.name.lower(), 0) + 1
    assert rows["trials"] == f"{len(study.trials)} trials: " + ", ".join(f"{n} {s}" for s, n in states.items())
    data = study.user_attrs["data"]
    assert rows["data: train pairs"] == str(data["train_pairs"])
    assert rows["data: chrf signature"] == f"`{data['chrf_signature']}`"
    assert rows["sampler"] == "random (seed 0)"
    assert rows["pruner"] == "none"
    assert rows["created"] == study.user_attrs["created"]
    total = sum(t.user_attrs["seconds"] for t in study.trials) + study.user_attrs["test_result"]["seconds"]
    assert rows["total compute time"].startswith(f"{total:.1f} s (trials ")


def test_best_trial_equals_the_storage(report, study):
    text = section(report["text"], "## Best trial")
    best = study.best_trial
    assert f"Trial **{best.number}**: chrf **{study.best_value:.2f}**" in text
    assert f"best epoch {best.user_attrs['best_epoch']}" in text
    assert f"{best.user_attrs['param_count']:,} parameters" in text
    metrics = {r["metric"]: r for r in parse_table(text)}
    history = {h["epoch"]: h for h in get_series(best.user_attrs, "history")}[best.user_attrs["best_epoch"]]
    valid = metrics["chrf"][f"validation (epoch {best.user_attrs['best_epoch']})"]
    assert float(valid) == pytest.approx(history["chrf"], abs=0.005)
    test = study.user_attrs["test_result"]
    assert float(metrics["bleu"]["test"]) == pytest.approx(test["metrics"]["bleu"], abs=0.005)
    assert test["weights"] == "trial"
    assert "kept by the trial, were evaluated" in text and "nothing was trained again" in text
    assert "The test split was evaluated once, for this configuration only" in text
    config = {r["parameter"]: r["value"] for r in parse_table(section(report["text"], "### Configuration of the best trial"))}
    assert list(config) == list(best.user_attrs["config"])
    assert config["lr"] == repr(best.user_attrs["config"]["lr"])


@pytest.mark.parametrize("factor", ["attention / model", "schedule", "model"])
def test_factor_tables_equal_the_storage(report, study, factor):
    key = family if factor == "attention / model" else (lambda t: t.params[factor])
    groups: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for t in study.trials:
        counts[key(t)] = counts.get(key(t), 0) + 1
        if t.state.name == "COMPLETE":
            groups.setdefault(key(t), []).append(t.value)
    rows = parse_table(section(report["text"], f"### {factor}"))
    assert {r[factor] for r in rows} == set(counts)
    for row in rows:
        values = groups[row[factor]]
        assert int(row["trials"]) == counts[row[factor]]
        assert int(row["complete"]) == len(values)
        assert float(row["best"]) == pytest.approx(max(values), abs=0.005)
        assert float(row["median"]) == pytest.approx(statistics.median(values), abs=0.005)
    bests = [float(r["best"]) for r in rows]
    assert bests == sorted(bests, reverse=True)  # maximize: best first


def test_top_table_ranks_complete_trials_by_value(report, study):
    rows = parse_table(section(report["text"], "## Top 10 trials"))
    expected = sorted(study.trials, key=lambda t: (-t.value, t.number))
    assert [int(r["trial"]) for r in rows] == [t.number for t in expected]
    for row, t in zip(rows, expected):
        assert row["attention / model"] == family(t)
        assert row["schedule"] == t.params["schedule"]
        assert row["lr"] == f"{t.params['lr']:.2e}"


def test_importances_cover_both_families(report, study):
    text = section(report["text"], "### Parameter importances")
    rows = {r["parameter"]: r for r in parse_table(text)}
    assert {"model", "schedule", "lr"} <= set(rows)
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    rnn = [t for t in complete if "attention" in t.params]
    if 5 <= len(rnn) < len(complete) and len({t.params["attention"] for t in rnn}) > 1:
        assert "attention" in rows
    column = f"all complete trials (fANOVA, {len(complete)} of {len(study.trials)} trials)"
    scores = [float(r[column]) for r in rows.values() if r[column] != "–"]
    assert math.isclose(sum(scores), 1.0, abs_tol=0.01)


def test_every_linked_png_exists_and_is_a_png(report, study):
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report["text"])
    names = {Path(link).name for link in links}
    assert {"history.png", "lr.png", "curves.png", "importances.png"} <= names
    if study.user_attrs.get("attention_example"):
        assert "attention.png" in names
    for link in links:
        assert link.startswith(f"{STUDY}/")  # relative to the markdown file
        png = report["path"].parent / link
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(report["path"].parent.rglob("*.tmp"))


def test_spec_block_round_trips_to_the_stored_spec(report, study):
    from harness.spec import parse_spec

    block = re.search(r"```toml\n(.*?)```", report["text"], flags=re.DOTALL).group(1)
    assert parse_spec(tomllib.loads(block)).to_dict() == study.user_attrs["spec"]
    commands = section(report["text"], "### Commands")
    assert f"harness run-study studies/{STUDY}.toml --storage sqlite:///" in commands
    assert f"harness report {STUDY} --storage" in commands


def test_each_trial_records_the_commit_it_ran_and_the_report_names_it(report, study, storage):
    assert len(storage["commit"]) == 40
    assert [t.user_attrs["git_commit"] for t in study.trials] == [storage["commit"]] * len(study.trials)
    environment = section(report["text"], "### Environment")
    assert environment.startswith("\nRecorded when the study was created.")
    assert f"All {len(study.trials)} trials ran at git commit {storage['commit']}." in environment


def test_commits_line_counts_each_commit_and_the_runs_without_one():
    from harness.report.tables import commits_line

    assert commits_line("trials", [None, None]) == ""
    assert commits_line("trials", ["a1"]) == "1 trial ran at git commit a1."
    assert commits_line("seeded re-runs", ["b2", "a1", "b2"]) == "The seeded re-runs ran at git commits b2 (2), a1 (1)."
    assert commits_line("trials", ["a1", None, "a1"]) == ("2 trials ran at git commit a1. 1 of the 3 trials has no "
                                                          "recorded commit (stored before it was recorded, or run "
                                                          "outside a git checkout).")


def test_to_toml_round_trips_tables_arrays_and_inline_tables():
    doc = {"study": {"name": 'a "quoted" name\twith tab', "n": 3, "x": 1e-05, "flag": True, "none": None},
           "search": {"lr": {"low": 0.0003, "high": 0.01, "log": True}, "model": ["rnn", "transformer"],
                      "odd key": "ünïcode"},
           "enqueue": [{"model": "rnn", "lr": 0.003}, {"model": "transformer"}]}
    back = tomllib.loads(to_toml(doc))
    del doc["study"]["none"]
    assert back == doc
    assert "[[enqueue]]" in to_toml(doc)
    assert tomllib.loads(to_toml({"study": {"name": "x"}, "enqueue": []})) == {"study": {"name": "x"}}


# -- determinism, isolation, output --------------------------------------------------------------
def test_report_reads_only_the_storage_and_is_byte_identical(storage, tmp_path):
    """Two writes (one in a fresh process with another hash seed) give the same bytes; no torch, no task."""
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from harness.report import write_report\n"
        f"write_report({STUDY!r}, storage={storage['url']!r}, out=Path({str(tmp_path / 'a' / 'r.md')!r}))\n"
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'tasks', 'harness.training', "
        "'harness.models', 'harness.attention'))]\n"
        "print(json.dumps(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "123"}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
    write_report(STUDY, storage=storage["url"], out=tmp_path / "b" / "r.md")
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) >= 5
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_default_output_is_reports_study_md_in_the_working_directory(storage, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_report(STUDY, storage=storage["url"])
    assert path == Path("reports") / f"{STUDY}.md"
    assert (tmp_path / "reports" / STUDY / "history.png").is_file()


def test_unknown_study_names_it_and_lists_the_studies(storage):
    with pytest.raises(StorageError) as info:
        write_report("reptset", storage=storage["url"])
    message = str(info.value)
    assert "\n" not in message
    assert "no study 'reptset'" in message
    assert f"did you mean '{STUDY}'?" in message
    assert f"studies there: {STUDY}" in message


def test_missing_storage_file_is_a_storage_error(tmp_path):
    with pytest.raises(StorageError, match="no database file"):
        write_report(STUDY, storage=f"sqlite:///{tmp_path / 'missing.db'}")
    assert not (tmp_path / "missing.db").exists()


def test_study_without_complete_trials_gives_sentences_not_errors(storage, tmp_path):
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState, create_trial

    db = tmp_path / "copy.db"
    shutil.copy(storage["db"], db)
    url = f"sqlite:///{db}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    empty = optuna.create_study(study_name="empty", storage=url, direction="minimize")
    empty.add_trial(create_trial(state=TrialState.FAIL, params={"x": 1.0}, distributions={"x": FloatDistribution(0, 2)}))
    text = write_report("empty", storage=url, out=tmp_path / "out" / "empty.md").read_text(encoding="utf-8")
    assert "There are no complete trials" in text
    assert "1 trial: 1 fail" in text
    assert "No test result" not in text  # no best trial, so no test note either
    assert "No attention example is stored" in text
    assert "Too few complete trials (0)" in text
    assert "![" not in text
    assert not (tmp_path / "out" / "empty").exists()


def test_importances_of_a_large_set_use_ped_anova_over_every_trial(storage, study, monkeypatch):
    from harness.report import tables
    from harness.report.load import load_study_data

    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(complete) == 6  # the tiny spec without a pruner completes every trial
    small = tables.param_importances(load_study_data(STUDY, storage["url"]))[0]
    assert small.evaluator == "fANOVA" and small.trials == 6
    monkeypatch.setattr(tables, "MAX_TRIALS_FOR_FANOVA", 5)
    first, again = (tables.param_importances(load_study_data(STUDY, storage["url"]))[0] for _ in range(2))
    assert first.evaluator == "PED-ANOVA" and first.trials == 6 and first.title == "all complete trials"
    assert first.scores == again.scores  # the same storage gives the same report
    assert math.isclose(sum(score for _, score in first.scores), 1.0, abs_tol=0.01)
