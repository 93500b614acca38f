"""A full disk: the artifact folder (trial checkpoints) or the SQLite file's disk runs out of room mid-study. The run
stops with one line saying so (exit 1, not "unexpected failure"), no trial is left running, and the same command
resumes the study once there is room. The full disks are small tmpfs mounts the tests make (root only)."""

from __future__ import annotations

import subprocess
import time

import optuna
import pytest

from tests.conftest import harness_cli, write_tiny_spec


@pytest.fixture()
def small_disk(tmp_path):
    """A tmpfs of 64 KiB at ``tmp_path/disk``; ``grow(size)`` remounts it larger. Skipped where mounting is not
    allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); the disk-full tests need root")

    def grow(size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(mount)], check=True, capture_output=True)

    yield mount, grow
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _spec(tmp_path):
    spec = write_tiny_spec(tmp_path, "full", n_trials=3)
    spec.write_text(spec.read_text() + "\n[run]\nheartbeat_interval = 1\ngrace_period = 2\n")
    return spec


def _one_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "unexpected failure" not in lines[0]
    return lines[0]


def _finished_and_nothing_running(url: str) -> list[str]:
    time.sleep(3)  # past the grace period: a trial the full disk left RUNNING is failed and retried
    states = [t.state.name for t in optuna.load_study(study_name="full", storage=url).trials]
    assert "RUNNING" not in states and "WAITING" not in states
    return states


def test_a_full_artifact_disk_stops_the_run_with_one_line_and_it_resumes(small_disk, tmp_path):
    disk, grow = small_disk
    spec, url = _spec(tmp_path), f"sqlite:///{tmp_path / 'f.db'}"
    proc = harness_cli("run-study", str(spec), "--storage", url, "--artifacts", str(disk / "art"), cwd=tmp_path)
    line = _one_line(proc)
    assert line.startswith("error: the disk is full") and "No space left on device" in line and str(disk) in line
    assert "run the same command again to resume" in line
    trial = optuna.load_study(study_name="full", storage=url).trials[0]
    assert trial.state.name == "FAIL" and trial.user_attrs["fail_reason"].startswith("interrupted (disk full:")
    assert not list((disk / "art").rglob("*.tmp"))  # no half-written checkpoint left behind
    grow("64m")
    again = harness_cli("run-study", str(spec), "--storage", url, "--artifacts", str(disk / "art"), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    states = _finished_and_nothing_running(url)
    assert states.count("COMPLETE") + states.count("PRUNED") == 3


def test_a_full_database_disk_stops_the_run_with_one_line_and_it_resumes(small_disk, tmp_path):
    disk, grow = small_disk
    grow("1m")
    spec, url = _spec(tmp_path), f"sqlite:///{disk / 'f.db'}"
    first = harness_cli("run-study", str(spec), "--storage", url, "--n-trials", "1", "--artifacts", str(tmp_path / "art"),
                        cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    filler = disk / "filler"
    with open(filler, "wb") as fh:  # everything but a few pages: the next trials' curves no longer fit
        free = subprocess.run(["df", "-k", "--output=avail", str(disk)], capture_output=True, text=True).stdout.split()[-1]
        fh.write(b"\0" * max(0, (int(free) - 96) * 1024))
    proc = harness_cli("run-study", str(spec), "--storage", url, "--artifacts", str(tmp_path / "art"), cwd=tmp_path)
    line = _one_line(proc)
    assert line.startswith("error: the disk is full") and "database or disk is full" in line
    filler.unlink()
    again = harness_cli("run-study", str(spec), "--storage", url, "--artifacts", str(tmp_path / "art"), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    states = _finished_and_nothing_running(url)
    assert states.count("COMPLETE") + states.count("PRUNED") == 3
