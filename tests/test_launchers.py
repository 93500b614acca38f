"""Launchers on real engines (harness.launchers): a Slurm job array through submitit's local cluster (the same code
path as Slurm, as local processes), Ray tasks on a local Ray runtime; each study reaches its count with every worker
taking trials, and its test evaluation runs as one more job. Cancelling the array leaves no trial RUNNING."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest

from tests.conftest import harness_cli, harness_env, write_tiny_spec


def _spec(tmp_path, name: str, launcher: str, n_trials: int = 4):
    spec = write_tiny_spec(tmp_path, name, n_trials=n_trials)
    spec.write_text(spec.read_text() + f"\n[launcher]\n{launcher}\n")
    return spec


def _finished(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name=name, storage=url)
    return [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]


@pytest.mark.parametrize(("engine", "package", "table"), [
    ("slurm", "submitit", 'name = "slurm"\ncluster = "local"\nlog_dir = "logs"'),
    ("ray", "ray", 'name = "ray"\noptions = { num_cpus = 2 }'),
])
def test_the_engine_runs_the_workers_and_the_test_evaluation(tmp_path, engine, package, table):
    pytest.importorskip(package)
    spec = _spec(tmp_path, engine, table)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    proc = harness_cli("run-study", str(spec), "--storage", url, "--workers", "2", cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert f"over 2 workers ({engine})" in proc.stdout
    finished = _finished(url, engine)
    assert 4 <= len(finished) <= 5 and {t.user_attrs["worker"] for t in finished} == {0, 1}
    study = optuna.load_study(study_name=engine, storage=url)
    assert study.user_attrs["test_result"]["trial"] == study.best_trial.number  # the evaluation job ran
    assert "kept.best" in study.user_attrs
    if engine == "slurm":
        logs = sorted((tmp_path / "logs" / engine).glob("*_log.err"))
        assert len(logs) == 3  # one per worker, one for the evaluation job


def test_cancelling_the_array_leaves_no_trial_running(tmp_path):
    pytest.importorskip("submitit")
    spec = _spec(tmp_path, "cancel", 'name = "slurm"\ncluster = "local"\nlog_dir = "logs"', n_trials=6)
    spec.write_text(spec.read_text().replace("max_epochs = 2", "max_epochs = 6").replace("train_size = 300", "train_size = 900")
                    .replace('model = ["rnn", "transformer"]', 'model = "rnn"'))
    url = f"sqlite:///{tmp_path / 'c.db'}"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run-study", str(spec), "--storage", url, "--workers", "2",
                             "--quiet"], cwd=tmp_path, env=harness_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 240
    while time.time() < deadline:
        time.sleep(0.3)
        try:
            trials = optuna.load_study(study_name="cancel", storage=url).trials
        except KeyError:
            continue
        if any(t.state.name == "RUNNING" and t.intermediate_values for t in trials):
            break
    proc.send_signal(signal.SIGINT)  # Ctrl+C of the submitting process: the array is cancelled
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    states = [t.state.name for t in optuna.load_study(study_name="cancel", storage=url).trials]
    assert "RUNNING" not in states and "FAIL" in states
    failed = [t for t in optuna.load_study(study_name="cancel", storage=url).trials if t.state.name == "FAIL"]
    assert all(t.user_attrs["fail_reason"].startswith("interrupted") for t in failed)  # resumable from checkpoints


@dataclass(frozen=True)
class _SlowToStop:
    """A job that, interrupted, takes 3 s to clean up (as a worker on a loaded machine takes to store its failed
    trial), then leaves a file saying it did."""

    folder: str
    label: str = "slow"
    group: str = "slow"

    def __call__(self) -> None:
        Path(self.folder, "started").touch()
        try:
            time.sleep(300)
        except KeyboardInterrupt:  # SIGTERM (Terminated) as well as SIGINT
            time.sleep(3)
            Path(self.folder, "stopped").touch()
            raise


def test_a_cancelled_local_array_job_may_take_its_time_to_stop(tmp_path):
    """Cancelling a job on submitit's local cluster lets it finish failing its trial: before, the job's controller got
    SIGINT and SIGKILLed the job one second later, which on a loaded machine left the trial RUNNING."""
    pytest.importorskip("submitit")
    import cloudpickle

    from harness.launchers import build
    from harness.spec import LauncherSection

    launcher = build(LauncherSection(name="slurm", cluster="local", log_dir=str(tmp_path / "logs")), 1, 1)
    job = _SlowToStop(str(tmp_path))
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the job process need not import the tests
    try:
        launcher.open([job], 1)
        handle = launcher.start(job)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    deadline = time.time() + 120
    while not (tmp_path / "started").exists() and time.time() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "started").exists(), "the job did not start"
    launcher.cancel(handle)
    deadline = time.time() + 60
    while not launcher.done(handle) and time.time() < deadline:
        time.sleep(0.2)
    assert launcher.done(handle)
    assert (tmp_path / "stopped").exists()
    launcher.close()


def test_a_benchmark_on_the_slurm_path_submits_each_re_run_once_its_inner_search_is_done(tmp_path):
    """``harness benchmark --workers 2`` through submitit's local cluster: the arm's inner search is one job, and the
    re-runs it unlocks are submitted as it ends (one job each, one log each), every seed once."""
    pytest.importorskip("submitit")
    from tests.test_benchmark import SPEC

    spec = (SPEC.replace('attention = ["dot", "additive"]', 'attention = ["dot"]')
            .replace('schedule = ["constant", "cosine"]', 'schedule = "cosine"')
            .replace('factors = ["attention", "schedule"]', 'factors = ["attention"]')
            .replace("inner_trials = 2", "inner_trials = 1").replace("seeds = 3", "seeds = 2"))
    (tmp_path / "b.toml").write_text(spec + '\n[launcher]\nname = "slurm"\ncluster = "local"\nlog_dir = "logs"\n')
    url = f"sqlite:///{tmp_path / 'b.db'}"
    proc = harness_cli("benchmark", "b.toml", "--storage", url, "--problem", "numbers-small", "--workers", "2",
                       cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    parent = optuna.load_study(study_name="bench", storage=url)
    seeds = sorted(t.user_attrs["seed_index"] for t in parent.trials if t.state.name == "COMPLETE")
    assert seeds == [0, 1]
    assert len(sorted((tmp_path / "logs" / "bench").glob("*_log.err"))) == 3  # the inner search, then one per re-run
