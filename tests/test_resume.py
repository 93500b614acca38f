"""Trial checkpoints (harness.resume): a trial stopped part-way and resumed from its last checkpoint trains exactly like
the uninterrupted trial; a study re-queues a trial an interruption failed, and the retry resumes with the same seed."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import optuna
import pytest
import torch

from harness.storage import get_series
from harness.study import load_data, resolve_data_dir
from harness.training import fit, seeded_model
from tests.conftest import harness_env, write_tiny_spec
from tests.test_device import config_of, tiny_spec


class Stop(Exception):
    pass


@pytest.mark.parametrize("family", ["rnn", "transformer"])
def test_a_resumed_trial_trains_exactly_like_an_uninterrupted_one(tmp_path, family):
    spec = tiny_spec("translation", family, device="cpu", max_epochs=3)
    task, data = load_data(spec, resolve_data_dir(None))
    config = {**config_of(spec), "dropout": 0.3, "schedule": "cosine", "min_lr_ratio": 0.0}
    path = tmp_path / "trial.pt"

    def run(on_epoch=None):
        return fit(task, seeded_model(task, config, data, 7), data, config, spec.to_budget(), metric="chrf",
                   direction="maximize", seed=7, checkpoint=path, on_epoch=on_epoch)

    whole = run()
    assert not path.exists()  # removed when the trial ends

    def stop_in_epoch_3(epoch, row):
        if epoch == 3:
            raise Stop
    with pytest.raises(Stop):
        run(stop_in_epoch_3)
    assert path.exists()  # the checkpoint after epoch 2
    resumed = run()
    drop = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert drop(resumed.history) == drop(whole.history) and resumed.lr_per_step == whole.lr_per_step
    assert (resumed.value, resumed.best_epoch) == (whole.value, whole.best_epoch)
    assert not path.exists()


def test_an_interrupted_trial_is_requeued_and_resumes_from_its_checkpoint(tmp_path):
    spec = write_tiny_spec(tmp_path, n_trials=1)
    spec.write_text(spec.read_text().replace("max_epochs = 2", "max_epochs = 6").replace(
        "train_size = 300", "train_size = 900").replace('model = ["rnn", "transformer"]', 'model = "rnn"'))
    url = f"sqlite:///{tmp_path / 's.db'}"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run-study", str(spec), "--storage", url, "--quiet"],
                            cwd=tmp_path, env=harness_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoint = tmp_path / "s.artifacts" / "checkpoints" / "tiny.trial-0.pt"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None and not checkpoint.exists():
        time.sleep(0.2)
    assert checkpoint.exists(), "no checkpoint was written"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 143
    first = optuna.load_study(study_name="tiny", storage=url).trials[0]
    assert first.state.name == "FAIL" and first.user_attrs["fail_reason"] == "interrupted (SIGTERM)"
    saved = torch.load(checkpoint, weights_only=True)  # mark the saved history, to see the retry start from it
    saved["history"][0]["train_loss"] = 123.0
    torch.save(saved, checkpoint)
    done = subprocess.run([sys.executable, "-m", "harness", "run-study", str(spec), "--storage", url, "--quiet"],
                          cwd=tmp_path, env=harness_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    trials = optuna.load_study(study_name="tiny", storage=url).trials
    retry = trials[1]
    assert retry.state.name == "COMPLETE" and retry.system_attrs["failed_trial"] == 0
    assert retry.params == first.params and retry.user_attrs["seed"] == first.user_attrs["seed"]
    assert sorted(retry.intermediate_values) == [1, 2, 3, 4, 5, 6]  # the epochs before the checkpoint reported again
    assert get_series(retry.user_attrs, "history")[0]["train_loss"] == 123.0  # resumed, not retrained from epoch 1
    assert not checkpoint.exists()
    # the report lists the interrupted trial, the epoch it reached, why it failed and its retry
    from harness.report import write_report

    text = write_report("tiny", storage=url, out=tmp_path / "r" / "tiny.md").read_text(encoding="utf-8")
    failed = text.split("## Trials that did not finish", 1)[1].split("\n## ", 1)[0]
    last = max(first.intermediate_values)
    row = next(line for line in failed.splitlines() if line.startswith("| 0 "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[4].startswith(f"{last} (chrf ") and cells[5:] == ["interrupted (SIGTERM)", "1"]


def test_a_trial_interrupted_in_every_stretch_of_a_long_study_is_requeued_every_time(tmp_path):
    """A study run in stretches interrupts its long trial at the end of each; each retry resumes from the one
    checkpoint of the configuration (trial 0's), beyond ``[run] max_retries`` (which counts trials whose process died).
    A stretch that finds no checkpoint (the database moved to a machine without the artifact folder) re-queues the
    trial all the same: the retry trains from epoch 1 with trial 0's seed."""
    from harness.study import requeue_interrupted

    study = optuna.create_study(study_name="long", storage=f"sqlite:///{tmp_path / 'l.db'}")
    trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)})
    for stretch in range(4):
        trial.set_user_attr("fail_reason", "interrupted (SIGTERM)")
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        assert requeue_interrupted(study) == 1
        assert requeue_interrupted(study) == 0  # once per interruption
        retry = study.ask()  # the waiting retry
        assert retry.number == trial.number + 1 and retry.params == trial.params
        assert study.trials[retry.number].system_attrs["failed_trial"] == 0  # finds trial 0's checkpoint and seed
        assert study.trials[retry.number].system_attrs["retry_history"] == list(range(stretch + 1))
        trial = retry
    study.tell(trial, 0.5)
    assert requeue_interrupted(study) == 0
