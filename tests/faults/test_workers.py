"""Several processes on one storage: SQLite under 4 concurrent workers, and `run-study --workers 2`."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import optuna
import pytest

from tests.conftest import REPO_ROOT, harness_cli, write_tiny_spec

CONCURRENT_WORKER = textwrap.dedent("""
    import sys, optuna
    from harness.storage import open_storage
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = open_storage(sys.argv[1], write=True)
    study = optuna.load_study(study_name="shared", storage=storage, sampler=optuna.samplers.RandomSampler(int(sys.argv[2])))
    study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1.0) ** 2, n_trials=50)
""")


def test_four_sqlite_workers_finish_every_trial_without_locking(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    from harness.storage import open_storage

    optuna.create_study(study_name="shared", storage=open_storage(url, write=True))
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT_WORKER, url, str(k)], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(4)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err for _, err in outputs]
    assert not any("database is locked" in err for _, err in outputs)
    trials = optuna.load_study(study_name="shared", storage=url).trials
    assert len(trials) == 200
    assert all(t.state.name == "COMPLETE" for t in trials)
    assert sorted(t.number for t in trials) == list(range(200))  # no duplicates, no gaps
    import sqlite3

    assert sqlite3.connect(tmp_path / "shared.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_run_study_with_two_workers(tmp_path):
    spec = write_tiny_spec(tmp_path, "two", n_trials=4)
    spec.write_text(spec.read_text().replace("threads = 1", "threads = 2"))
    url = f"sqlite:///{tmp_path / 'w.db'}"
    proc = harness_cli("run-study", str(spec), "--storage", url, "--workers", "2", "--devices", "3,5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "over 2 workers" in proc.stdout
    study = optuna.load_study(study_name="two", storage=url)
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert 4 <= len(finished) <= 5  # the target; one more only when both workers decide in the same instant
    assert {t.user_attrs["worker"] for t in finished} == {0, 1}
    assert {t.user_attrs["threads"] for t in finished} == {1}  # 2 threads divided between 2 workers
    # each worker process saw its own GPU, set before it imported torch (no GPU here: auto then trains on the CPU)
    assert {(t.user_attrs["worker"], t.user_attrs["device"]["visible_devices"]) for t in finished} == {(0, "3"), (1, "5")}
    assert len({repr(sorted(t.params.items())) for t in finished}) == len(finished)  # seeds differ per worker
    assert study.user_attrs["test_result"]["trial"] == study.best_trial.number
    # a worker left alone with the last trial takes both threads; never a trial that had company at the end
    tail = [t for t in finished if "tail_threads" in t.user_attrs]
    # (the last trial to finish, whenever it started: on a busy machine a slow first trial can outlast all the others)
    last_finished = max(finished, key=lambda t: t.datetime_complete).number
    assert all(t.number == last_finished and t.user_attrs["tail_threads"]["threads"] == 2 for t in tail)


def test_the_last_trial_takes_every_workers_threads_once_it_runs_alone(tmp_path):
    import torch

    from harness.storage import open_storage
    from harness.study.optimize import TailThreads

    study = optuna.create_study(study_name="tail", storage=open_storage(f"sqlite:///{tmp_path / 't.db'}", write=True))
    study.add_trial(optuna.trial.create_trial(value=1.0))
    mine, other = study.ask(), study.ask()
    hook, before = TailThreads(target=3, threads=2), torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        hook(mine, 1, {})  # another trial still runs: keep one thread
        assert torch.get_num_threads() == 1 and "tail_threads" not in study.trials[1].user_attrs
        study.tell(other, 2.0)
        hook(mine, 2, {})  # alone, and no trial is missing from the target: take both
        assert torch.get_num_threads() == 2
        assert study.trials[1].user_attrs["tail_threads"] == {"from_epoch": 3, "threads": 2}
        torch.set_num_threads(1)
        TailThreads(target=4, threads=2)(mine, 3, {})  # a trial is still to be started: another worker may take it
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_journal_file_storage_runs_and_reports(tmp_path):
    spec = write_tiny_spec(tmp_path, "journal", n_trials=2)
    url = f"journal:///{tmp_path / 'runs.log'}"
    proc = harness_cli("run-study", str(spec), "--storage", url, "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = harness_cli("report", "journal", "--storage", url, "--out", str(tmp_path / "r.md"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "## Best trial" in (tmp_path / "r.md").read_text()
    assert len(optuna.load_study(study_name="journal", storage=_journal(tmp_path / "runs.log")).trials) == 2


def _journal(path):
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def test_workers_take_gpus_in_turn_and_tpe_lies_constantly():
    from harness.launchers.local import worker_devices
    from harness.spec import build_space, parse_spec
    from harness.study.opening import build_sampler_and_pruner

    spec = parse_spec({"study": {"name": "w", "task": "translation"}, "dataset": {"name": "numbers-en-de"}},
                      source="test")
    assert worker_devices(spec, 5, ["0", "1"]) == ["0", "1", "0", "1", "0"]
    sampler, _ = build_sampler_and_pruner(spec, build_space(spec), 0, worker=1, parallel=True)
    assert sampler._constant_liar is True


@pytest.mark.parametrize("args,expected", [
    (["--workers", "1", "--devices", "0"], "with one worker use --device cuda:N"),
    (["--workers", "2", "--devices", "0,x"], "GPU indices such as 0,1,2,3, got 'x'"),
    (["--workers", "2", "--devices", "0,1", "--device", "cpu"], "--devices needs device 'auto' or 'cuda'"),
])
def test_devices_that_cannot_be_honoured_are_refused(tmp_path, args, expected):
    spec = write_tiny_spec(tmp_path, "d", n_trials=1)
    db = tmp_path / "d.db"
    proc = harness_cli("run-study", str(spec), "--storage", f"sqlite:///{db}", *args, cwd=tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and expected in lines[0], proc.stderr
    assert not db.exists()
