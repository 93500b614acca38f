"""Against the real PostgreSQL server on 127.0.0.1:5432 (trust auth): two worker processes finish one
study together, and the report from PostgreSQL equals the report from SQLite for the same trials.

Each test module creates a scratch database and drops it afterwards. When the server is not running the
tests are skipped, saying how to start it (``make test`` prints the same hint).
"""

from __future__ import annotations

import os
import re
import uuid

import optuna
import pytest

from tests.conftest import harness_cli, harness_clis, write_tiny_spec

SERVER = os.environ.get("HARNESS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
START_HINT = "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


@pytest.fixture(scope="module")
def scratch():
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(f"{SERVER}/postgres", connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {SERVER} ({str(exc).strip()}); {START_HINT}")
    name = f"harness_test_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield f"{SERVER}/{name}"
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


def test_two_workers_finish_one_study_on_postgres(scratch, tmp_path):
    spec = write_tiny_spec(tmp_path, "pg", n_trials=4)
    spec.write_text(spec.read_text().replace("threads = 1", "threads = 2"))
    proc = harness_cli("run-study", str(spec), "--storage", scratch, "--workers", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    study = optuna.load_study(study_name="pg", storage=scratch)
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) >= 4 and {t.user_attrs["worker"] for t in finished} == {0, 1}
    assert not any(t.state.name == "RUNNING" for t in study.trials)


def test_report_from_postgres_equals_report_from_sqlite(scratch, tmp_path):
    sqlite = f"sqlite:///{tmp_path / 'copy.db'}"
    optuna.copy_study(from_study_name="pg", from_storage=scratch, to_storage=sqlite)
    for url, folder in ((scratch, "pg"), (sqlite, "lite")):
        proc = harness_cli("report", "pg", "--storage", url, "--out", str(tmp_path / folder / "pg.md"), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    strip = lambda text: re.sub(r"--storage \S+", "--storage URL", text)  # noqa: E731
    assert strip((tmp_path / "pg" / "pg.md").read_text()) == strip((tmp_path / "lite" / "pg.md").read_text())
    for png in (tmp_path / "pg" / "pg").glob("*.png"):
        assert png.read_bytes() == (tmp_path / "lite" / "pg" / png.name).read_bytes()


def test_passwords_never_reach_output_or_storage(scratch, tmp_path):
    secret = "s3cret-pw"
    with_password = scratch.replace("postgres@", f"postgres:{secret}@")  # trust auth ignores it
    spec = write_tiny_spec(tmp_path, "pw", n_trials=1)
    run = harness_cli("run-study", str(spec), "--storage", with_password, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    report, export, studies, unreachable = harness_clis(
        ("report", "pw", "--storage", with_password, "--out", str(tmp_path / "pw.md")),
        ("export", "pw", "--storage", with_password, "--out", str(tmp_path / "pw.csv")),
        ("studies", "--storage", with_password),
        ("run-study", str(spec), "--storage", f"postgresql://postgres:{secret}@127.0.0.1:1/none"), cwd=tmp_path)
    assert unreachable.returncode == 2 and "***" in unreachable.stderr
    texts = [run.stdout, run.stderr, report.stdout, export.stdout, studies.stdout, unreachable.stderr,
             (tmp_path / "pw.md").read_text(), (tmp_path / "pw.csv").read_text()]
    study = optuna.load_study(study_name="pw", storage=scratch)
    texts += [repr(study.user_attrs)] + [repr(t.user_attrs) for t in study.trials]
    assert not any(secret in text for text in texts)


def test_fast_trial_reader_equals_optunas_on_postgres(scratch):
    from harness.report.rdb import read_trials
    from tests.report.test_rdb import _norm

    study = optuna.load_study(study_name="pg", storage=scratch)
    expected = sorted(study.get_trials(deepcopy=True), key=lambda t: t.number)
    assert expected and [_norm(t) for t in read_trials(study)] == [_norm(t) for t in expected]
