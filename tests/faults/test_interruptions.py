"""Crashes and interruptions: SIGKILL with heartbeats, SIGINT and SIGTERM; every finished trial kept."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import optuna
import pytest

from tests.conftest import harness_env, write_tiny_spec

FAST_HEARTBEAT = "\n[run]\nheartbeat_interval = 1\ngrace_period = 3\nmax_retries = 2\n"


def slow_spec(tmp_path, name: str, n_trials: int = 3):
    """The tiny spec with more epochs, so that a trial runs long enough to be interrupted mid-way."""
    spec = write_tiny_spec(tmp_path, name, n_trials=n_trials)
    spec.write_text(spec.read_text().replace("max_epochs = 2", "max_epochs = 5").replace("train_size = 300", "train_size = 800")
                    + FAST_HEARTBEAT)
    return spec


def start(spec, url, cwd, sigint=signal.SIG_DFL):
    """``harness run-study`` in a subprocess whose SIGINT disposition is ``sigint`` when it starts, set here rather
    than inherited: a suite run as a script's background job (``make test &``) has SIGINT ignored, and its children
    would inherit that."""
    env = harness_env()
    return subprocess.Popen([sys.executable, "-m", "harness", "run-study", str(spec), "--storage", url, "--quiet"],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, sigint))


def wait_for_running_trial(url: str, name: str, timeout: float = 120) -> int:
    """Number of a trial that is RUNNING and has reported at least one epoch."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(0.2)
        try:
            trials = optuna.load_study(study_name=name, storage=url).trials
        except KeyError:
            continue
        for t in trials:
            if t.state.name == "RUNNING" and t.intermediate_values:
                return t.number
    raise AssertionError("no trial started")


def finish(spec, url, cwd) -> subprocess.CompletedProcess:
    proc = start(spec, url, cwd)
    out, err = proc.communicate(timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_sigkill_mid_trial_is_failed_after_the_grace_period_and_retried(tmp_path):
    spec, url = slow_spec(tmp_path, "killed"), f"sqlite:///{tmp_path / 'k.db'}"
    proc = start(spec, url, tmp_path)
    number = wait_for_running_trial(url, "killed")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert optuna.load_study(study_name="killed", storage=url).trials[number].state.name == "RUNNING"
    time.sleep(4)  # past the grace period: the heartbeat is stale
    done = finish(spec, url, tmp_path)
    assert done.returncode == 0, done.stderr
    study = optuna.load_study(study_name="killed", storage=url)
    assert study.trials[number].state.name == "FAIL"
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == number]
    assert len(retried) == 1 and retried[0].params == study.trials[number].params
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials) == 3
    assert not any(t.state.name == "RUNNING" for t in study.trials)


@pytest.mark.parametrize("sig,code,reason,inherited", [
    (signal.SIGTERM, 143, "interrupted (SIGTERM)", signal.SIG_DFL),
    (signal.SIGINT, 130, "interrupted (SIGINT)", signal.SIG_DFL),
    # started as a script's background job: SIGINT ignored, and run-study handles it all the same
    (signal.SIGINT, 130, "interrupted (SIGINT)", signal.SIG_IGN),
], ids=["sigterm", "sigint", "sigint-started-ignored"])
def test_signal_fails_the_running_trial_and_the_same_command_resumes(tmp_path, sig, code, reason, inherited):
    spec, url = slow_spec(tmp_path, "signalled", n_trials=2), f"sqlite:///{tmp_path / 's.db'}"
    proc = start(spec, url, tmp_path, sigint=inherited)
    number = wait_for_running_trial(url, "signalled")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert "Traceback" not in err and "run the same command again to resume" in err
    trial = optuna.load_study(study_name="signalled", storage=url).trials[number]
    assert trial.state.name == "FAIL" and trial.user_attrs["fail_reason"] == reason
    done = finish(spec, url, tmp_path)
    assert done.returncode == 0, done.stderr
    study = optuna.load_study(study_name="signalled", storage=url)
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials) == 2
    assert not any(t.state.name == "RUNNING" for t in study.trials)
