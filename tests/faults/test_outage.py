"""A database outage mid-study: a private PostgreSQL server, started by the test in a temporary folder on a port of its
own (never the shared server), is stopped while two workers train and started again; the workers wait with backoff
(harness.outage), no trial is lost, failed or duplicated, and the study reaches its count."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest

from harness.outage import is_connection_error
from harness.storage import open_storage
from tests.conftest import harness_cli, harness_env, write_tiny_spec

PG_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def _tool(name: str) -> str | None:
    return shutil.which(name) or next((str(b / name) for b in reversed(PG_BINS) if (b / name).is_file()), None)


class PrivatePostgres:
    """A PostgreSQL server of the test's own: ``initdb`` into a temporary folder, ``pg_ctl`` on a free port, trust
    authentication on 127.0.0.1. As root the server runs as the ``postgres`` user (PostgreSQL refuses root)."""

    def __init__(self, settings: str = ""):
        self.settings = settings  # more server options, e.g. "-c max_connections=6"
        self.folder = Path(tempfile.mkdtemp(prefix="harness-pg-"))
        self.data, self.log = self.folder / "data", self.folder / "server.log"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.prefix = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self._run(_tool("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        self._run(_tool("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "harness")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/harness"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off {self.settings}"
        self._run(_tool("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(_tool("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)


def _private_postgres(settings: str = ""):
    pytest.importorskip("psycopg")
    if _tool("initdb") is None or _tool("pg_ctl") is None:
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed (Debian: postgresql)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: PostgreSQL will not start as root")
    server = PrivatePostgres(settings)
    yield server
    server.remove()


@pytest.fixture()
def private_postgres():
    yield from _private_postgres()


@pytest.fixture()
def small_postgres():
    """A private server with room for 6 connections."""
    yield from _private_postgres("-c max_connections=6 -c superuser_reserved_connections=0")


def test_workers_wait_out_a_database_outage_and_the_study_reaches_its_count(private_postgres, tmp_path):
    spec = write_tiny_spec(tmp_path, "outage", n_trials=6)
    # trials of a few seconds; heartbeats every second, stale after 4 s: the outage below is longer than that, so every
    # heartbeat is stale when the server comes back, and no worker may fail the other's running trial for it
    spec.write_text(spec.read_text().replace("max_epochs = 2", "max_epochs = 3").replace("train_size = 300", "train_size = 600")
                    .replace('model = ["rnn", "transformer"]', 'model = "rnn"')
                    + "\n[run]\nheartbeat_interval = 1\ngrace_period = 4\noutage_patience = 120\n")
    url = private_postgres.url
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run-study", str(spec), "--storage", url, "--workers", "2",
                             "--quiet"], cwd=tmp_path, env=harness_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:  # wait for a finished trial and a running one
        try:
            states = [t.state.name for t in optuna.load_study(study_name="outage", storage=url).trials]
        except (KeyError, Exception):  # noqa: BLE001 - the study may not exist yet
            states = []
        if "COMPLETE" in states and "RUNNING" in states:
            break
        time.sleep(0.3)
    assert proc.poll() is None, proc.communicate()[1]
    private_postgres.stop("fast")  # terminates every connection
    time.sleep(8)
    private_postgres.start()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    trials = optuna.load_study(study_name="outage", storage=url).trials
    assert not [t.number for t in trials if t.state.name in ("FAIL", "RUNNING", "WAITING")]  # none lost or failed
    assert 6 <= len(trials) <= 7  # the target (one more only when both workers decide in the same instant)
    assert sorted(t.number for t in trials) == list(range(len(trials)))  # none duplicated, no gaps
    assert "storage: the database cannot be reached" in err and "storage: the database is back after" in err
    for trial in trials:
        if trial.state.name == "COMPLETE":
            assert sorted(trial.intermediate_values) == [1, 2, 3]


def test_only_connection_errors_are_waited_out():
    import psycopg
    from sqlalchemy import create_engine
    from sqlalchemy.exc import IntegrityError, OperationalError

    with pytest.raises(OperationalError) as refused:
        create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none").connect()
    assert is_connection_error(refused.value)
    assert is_connection_error(optuna.exceptions.StorageInternalError("x").with_traceback(None)) is False
    wrapped = optuna.exceptions.StorageInternalError("An exception is raised during the commit.")
    wrapped.__cause__ = refused.value
    assert is_connection_error(wrapped)
    assert not is_connection_error(IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate key")))
    assert not is_connection_error(ValueError("value too long for type character varying(2048)"))


def test_a_server_out_of_connections_is_one_line_that_says_what_to_do(small_postgres, tmp_path):
    held = [open_storage(small_postgres.url, write=True) for _ in range(3)]  # 2 connections each: the server is full
    proc = harness_cli("studies", "--storage", small_postgres.url, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "too many clients" in lines[0] and "harness storage-proxy" in lines[0], proc.stderr
    assert "unexpected failure" not in proc.stderr
    for storage in held:
        storage.engine.dispose()
