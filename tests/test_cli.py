"""The command line end to end, in real subprocesses over real SQLite files.

A tiny study (numbers-en-de, a few hundred examples, 2 epochs) runs once per session through
``harness run-study``; the tests then resume it, report it, list it, serve it, and feed the CLI bad input.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest

from harness.schedules import Horizon, lr_trace
from harness.storage import get_series
from tests.conftest import REPO_ROOT, harness_cli, harness_clis, write_tiny_spec


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(tiny_study) -> optuna.Study:
    return optuna.load_study(study_name="tiny", storage=tiny_study["storage"])


# -- a real run ------------------------------------------------------------------------------------
def test_run_study_stores_trials_curves_and_metadata(tiny_study):
    study = load(tiny_study)
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 3
    assert "Study 'tiny': 3/3 trials finished (3 this run" in tiny_study["stdout"]
    attrs = study.user_attrs
    assert attrs["task"] == "translation" and attrs["metric"] == "chrf" and attrs["direction"] == "maximize"
    assert attrs["spec"]["study"]["name"] == "tiny"
    assert attrs["environment"]["torch_threads"] == 1
    assert attrs["environment"]["packages"]["optuna"] == optuna.__version__
    assert attrs["data"]["train_pairs"] == 300 and attrs["data"]["valid_examples"] == 40
    for trial in study.trials:
        history = get_series(trial.user_attrs, "history")
        assert [row["epoch"] for row in history] == [1, 2]
        assert {"train_loss", "bleu", "chrf", "loss", "ppl", "exact", "seconds"} <= set(history[0])
        assert trial.intermediate_values == {row["epoch"]: row["chrf"] for row in history}
        assert trial.value == max(row["chrf"] for row in history)
        assert trial.user_attrs["param_count"] > 1000


def test_recorded_lr_is_the_schedule_at_every_optimizer_step(tiny_study):
    for trial in load(tiny_study).trials:
        config = trial.user_attrs["config"]
        lrs = get_series(trial.user_attrs, "lr_per_step")
        steps_per_epoch = -(-300 // config["batch_size"])  # ceil: 300 training pairs, no accumulation
        assert len(lrs) == 2 * steps_per_epoch
        expected = lr_trace(config["schedule"], config, config["lr"], Horizon(steps_per_epoch, 2))
        assert lrs == pytest.approx(expected, rel=1e-9)


def test_best_trial_is_evaluated_once_on_test_from_its_kept_weights(tiny_study):
    study = load(tiny_study)
    result = study.user_attrs["test_result"]
    assert result["trial"] == study.best_trial.number
    assert set(result["metrics"]) == {"bleu", "bleu_lc", "chrf", "exact", "loss", "ppl"}
    assert result["weights"] == "trial" and "valid_value_retrained" not in result  # nothing trained again
    assert result["best_epoch"] == study.best_trial.user_attrs["best_epoch"]
    assert not list((tiny_study["folder"] / "harness.artifacts" / "checkpoints").glob("*.weights.pt"))  # deleted
    example = study.user_attrs["attention_example"]
    assert len(example["weights"]) == len(example["target_tokens"])
    assert all(len(row) == len(example["source_tokens"]) for row in example["weights"])
    assert all(sum(row) == pytest.approx(1.0, abs=1e-3) for row in example["weights"])


def test_rerun_resumes_to_the_target_count_not_beyond(tiny_study, tmp_path):
    db = tmp_path / "copy.db"
    shutil.copy(tiny_study["db"], db)
    url = f"sqlite:///{db}"
    again = harness_cli("run-study", str(tiny_study["spec"]), "--storage", url, "--quiet", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(optuna.load_study(study_name="tiny", storage=url).trials) == 3
    more = harness_cli("run-study", str(tiny_study["spec"]), "--storage", url, "--n-trials", "4", cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    assert "4/4 trials finished (1 this run" in more.stdout
    study = optuna.load_study(study_name="tiny", storage=url)
    assert len(study.trials) == 4
    # the resumed sampler is seeded differently, so it does not replay trial 0
    assert study.trials[3].params != study.trials[0].params


def test_report_writes_markdown_and_plots(tiny_study, tmp_path):
    out = tmp_path / "reports" / "tiny.md"
    proc = harness_cli("report", "tiny", "--storage", tiny_study["storage"], "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    study = load(tiny_study)
    assert f"{study.best_value:.2f}" in text
    pngs = sorted((tmp_path / "reports" / "tiny").glob("*.png"))
    assert pngs and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)


def test_studies_lists_each_study_with_states_and_best(tiny_study):
    proc = harness_cli("studies", "--storage", tiny_study["storage"], cwd=tiny_study["folder"])
    assert proc.returncode == 0, proc.stderr
    best = load(tiny_study).best_value
    assert proc.stdout.startswith("tiny  task=translation dataset=numbers-en-de")
    assert f"best chrf (maximize) {best:.4g}" in proc.stdout


def test_list_shows_every_registered_name():
    proc = harness_cli("list", cwd=REPO_ROOT)
    assert proc.returncode == 0
    for name in ["translation", "numbers-en-de", "multi30k", "tatoeba", "rnn", "transformer", "additive",
                 "location", "multihead", "inverse_sqrt", "one_cycle", "plateau", "tpe", "gp", "hyperband"]:
        assert name in proc.stdout


def test_list_baselines_shows_each_tasks_baselines():
    proc = harness_cli("list", "baselines", cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr
    for name in ["translation.copy_source", "translation.best_target", "forecasting.seasonal_naive", "forecasting.linear",
                 "captioning.best_caption", "captioning.most_frequent_caption"]:
        assert name in proc.stdout
    assert "tasks" not in proc.stdout.split("\n", 1)[0]  # only the kind asked for


def test_help_lists_every_command():
    proc = harness_cli("--help", cwd=REPO_ROOT)
    assert proc.returncode == 0
    for command in ["run-study", "report", "rescore", "studies", "list", "dashboard", "download", "predict"]:
        assert command in proc.stdout


# -- dashboard -------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dashboard_serves_the_study(tiny_study):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "harness", "dashboard", "--storage", tiny_study["storage"],
                             "--port", str(port)], cwd=tiny_study["folder"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        deadline, body = time.time() + 60, None
        while time.time() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as response:
                    body = json.loads(response.read())
            except OSError:
                time.sleep(0.5)
        assert body is not None, "dashboard did not answer"
        names = [s["study_name"] for s in body["study_summaries"]]
        assert names == ["tiny"]
        study_id = body["study_summaries"][0]["study_id"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies/{study_id}?after=0", timeout=10) as response:
            artifacts = json.loads(response.read())["artifacts"]
        assert [a["filename"] for a in artifacts] == ["tiny.best.pt"]  # the kept model, served from its store
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/artifacts/{study_id}/{artifacts[0]['artifact_id']}",
                                    timeout=10) as response:
            assert len(response.read()) > 1000
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_dashboard_port_in_use_is_bad_input(tiny_study):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = harness_cli("dashboard", "--storage", tiny_study["storage"], "--port", str(port), cwd=tiny_study["folder"])
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr and "pass another --port" in proc.stderr


# -- bad input -------------------------------------------------------------------------------------
def assert_bad_input(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


SPEC_CASES = {
    "malformed": ('[study]\nname = "x"\ntask = translation\n', ["invalid TOML", "line 3, column 8"]),
    "unknown-task": ('[study]\nname = "x"\ntask = "translaton"\n[dataset]\nname = "numbers-en-de"\n',
                     ["unknown task 'translaton' (did you mean 'translation'?)"]),
    "unknown-attention": ('[study]\nname = "x"\ntask = "translation"\n[dataset]\nname = "numbers-en-de"\n'
                          '[search]\nattention = ["dot", "bahdanau"]\n', ["unknown attention 'bahdanau'", "accepted: additive"]),
    "unknown-schedule": ('[study]\nname = "x"\ntask = "translation"\n[dataset]\nname = "numbers-en-de"\n'
                         '[search]\nschedule = "noam"\n', ["unknown schedule 'noam'", "inverse_sqrt"]),
    "out-of-range": ('[study]\nname = "x"\ntask = "translation"\nn_trials = 0\n[dataset]\nname = "numbers-en-de"\n',
                     ["[study] n_trials", "greater than or equal to 1, got 0"]),
    "negative-lr": ('[study]\nname = "x"\ntask = "translation"\n[dataset]\nname = "numbers-en-de"\n[search]\nlr = -0.1\n',
                    ["lr must be > 0, got -0.1"]),
}


@pytest.mark.parametrize("case", sorted(SPEC_CASES))
def test_bad_specs_exit_2_and_leave_storage_untouched(case, tiny_study, tmp_path):
    text, fragments = SPEC_CASES[case]
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    before = digest(tiny_study["db"])
    proc = harness_cli("run-study", str(spec), "--storage", tiny_study["storage"], cwd=tmp_path)
    assert_bad_input(proc, *fragments)
    assert digest(tiny_study["db"]) == before


def test_missing_data_dir_says_where_and_how(tmp_path):
    spec = tmp_path / "m.toml"
    spec.write_text('[study]\nname = "m"\ntask = "translation"\n[dataset]\nname = "multi30k"\n')
    proc = harness_cli("run-study", str(spec), "--data-dir", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert_bad_input(proc, f"data directory '{tmp_path / 'nowhere'}' does not exist", "harness download multi30k")
    assert not (tmp_path / "harness.db").exists()


def test_missing_dataset_files_name_the_file(tmp_path):
    (tmp_path / "data" / "multi30k").mkdir(parents=True)
    spec = tmp_path / "m.toml"
    spec.write_text('[study]\nname = "m"\ntask = "translation"\n[dataset]\nname = "multi30k"\n')
    proc = harness_cli("run-study", str(spec), "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert_bad_input(proc, "train.de.gz")
    assert not (tmp_path / "harness.db").exists()


@pytest.mark.parametrize("url,fragment", [
    ("sqlite:////nonexistent-dir/h.db", "directory '/nonexistent-dir' does not exist"),
    ("sqlite:////proc/h.db", "cannot be opened"),
    ("foo://user@host/db", "unknown database dialect 'foo'"),
])
def test_unusable_storage_is_bad_input(url, fragment, tmp_path):
    spec = write_tiny_spec(tmp_path)
    assert_bad_input(harness_cli("run-study", str(spec), "--storage", url, cwd=tmp_path), fragment)


def test_default_storage_comes_from_the_environment(tmp_path):
    spec = write_tiny_spec(tmp_path)
    proc = harness_cli("run-study", str(spec), cwd=tmp_path, env={"HARNESS_STORAGE": "sqlite:////nonexistent-dir/e.db"})
    assert_bad_input(proc, "sqlite:////nonexistent-dir/e.db")


def test_resuming_with_a_changed_spec_is_refused(tiny_study, tmp_path):
    changed = tmp_path / "tiny.toml"
    changed.write_text(tiny_study["spec"].read_text().replace("hidden_size = 32", "hidden_size = 48"))
    before = digest(tiny_study["db"])
    proc = harness_cli("run-study", str(changed), "--storage", tiny_study["storage"], cwd=tmp_path)
    assert_bad_input(proc, "study 'tiny' exists", "different spec", "search.hidden_size: stored 32, given 48")
    assert digest(tiny_study["db"]) == before


def test_report_of_unknown_study_lists_the_studies(tiny_study, tmp_path):
    proc = harness_cli("report", "tiyn", "--storage", tiny_study["storage"], cwd=tmp_path)
    assert_bad_input(proc, "tiyn", "tiny")
    assert not (tmp_path / "reports").exists()


def test_report_without_storage_does_not_create_one(tmp_path):
    proc = harness_cli("report", "tiny", cwd=tmp_path)
    assert_bad_input(proc, "no database file at 'harness.db'")
    assert not (tmp_path / "harness.db").exists()


def test_python_dash_m_and_console_script_agree(tmp_path):
    script = Path(sys.executable).with_name("harness")
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    proc = subprocess.run([str(script), "list", "pruners"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout == harness_cli("list", "pruners", cwd=tmp_path).stdout


def test_version_prints_the_package_version(tmp_path):
    from harness import __version__

    proc = harness_cli("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"harness {__version__}"


def test_dry_run_resolves_the_spec_with_settings_and_writes_nothing(tmp_path):
    spec = write_tiny_spec(tmp_path, name="dry")
    proc = harness_cli("run-study", str(spec), "--dry-run", "--json", "--set", "budget.max_epochs=5",
                       "--set", "search.lr={ low = 1e-4, high = 1e-2, log = true }", "--set", "search.attention=general",
                       cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    rows = {row["name"]: row for row in plan["search_space"]}
    assert plan["study"] == "dry" and plan["budget"]["max_epochs"] == 5
    assert rows["lr"]["searched"] == "[0.0001, 0.01] log" and rows["attention"]["value"] == "general"
    assert plan["device"]["device"] == "cpu" and plan["threads"] == 1
    assert list(tmp_path.iterdir()) == [spec]  # no storage, no artifacts
    shown = harness_cli("run-study", str(spec), "--dry-run", cwd=tmp_path)
    assert "Search space" in shown.stdout and "Dry run: nothing was trained or written." in shown.stdout


@pytest.mark.parametrize("setting, fragment", [
    ("budget", "expected key.path=value"),
    ("study.nme=x", "unknown key 'nme' in [study] (did you mean 'name'?)"),
    ("search.lrr=0.1", "unknown parameter 'lrr' (did you mean 'lr'?)"),
    ("budget.max_epochs=many", "[budget] max_epochs"),
])
def test_bad_settings_exit_2_with_one_line(setting, fragment, tmp_path):
    spec = write_tiny_spec(tmp_path, name="set")
    proc = harness_cli("run-study", str(spec), "--set", setting, "--storage", f"sqlite:///{tmp_path / 's.db'}", cwd=tmp_path)
    assert proc.returncode == 2 and fragment in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "s.db").exists()


def test_json_output_of_studies_list_report_and_run_study(tiny_study, tmp_path):
    url = tiny_study["storage"]
    copy = tmp_path / "copy.db"
    shutil.copy(tiny_study["db"], copy)
    studies, listed, report, run = harness_clis(
        ("studies", "--storage", url, "--json"), ("list", "attention", "--json"),
        ("report", "tiny", "--storage", url, "--out", str(tmp_path / "r.md"), "--json"),
        ("run-study", str(tiny_study["spec"]), "--storage", f"sqlite:///{copy}", "--json"), cwd=tmp_path)
    studies, listed, report = json.loads(studies.stdout), json.loads(listed.stdout), json.loads(report.stdout)
    assert [s["name"] for s in studies] == ["tiny"] and studies[0]["states"]["complete"] >= 1
    assert "additive" in [row["name"] for row in listed["attention types"]]
    assert report["report"] == str(tmp_path / "r.md") and (tmp_path / "r.md").is_file()
    summary = json.loads(run.stdout)  # stdout holds only the JSON document
    assert run.returncode == 0 and summary["study_name"] == "tiny" and summary["ran"] == 0
    assert summary["finished"] == summary["target"] == 3 and "test_metrics" in summary


def test_study_names_complete_from_the_storage(tiny_study, tmp_path):
    env = {"_HARNESS_COMPLETE": "complete_bash", "COMP_WORDS": f"harness report --storage {tiny_study['storage']} ti",
           "COMP_CWORD": "4"}
    proc = harness_cli("report", cwd=tmp_path, env=env)
    assert "tiny" in proc.stdout.split()


def test_dashboard_sees_the_metric_name_and_the_summary_note(tiny_study):
    from optuna_dashboard import get_note

    study = load(tiny_study)
    assert study.metric_names == ["chrf"]
    note = get_note(study)
    assert note.startswith("# tiny") and f"Best trial {study.best_trial.number}: validation chrf" in note
    assert "Strongest trivial baseline (chosen on validation): " in note and "harness report tiny" in note
