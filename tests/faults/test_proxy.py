"""`harness storage-proxy`: Optuna's gRPC storage proxy in front of a database, used through grpc://."""

from __future__ import annotations

import subprocess
import sys
import time

import optuna
import pytest

from tests.conftest import harness_cli, write_tiny_spec
from tests.test_cli import free_port


def test_study_through_the_grpc_proxy(tmp_path):
    pytest.importorskip("grpc")
    db = f"sqlite:///{tmp_path / 'behind.db'}"
    port = free_port()
    proxy = subprocess.Popen([sys.executable, "-m", "harness", "storage-proxy", "--storage", db, "--port", str(port)],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(3)
        spec = write_tiny_spec(tmp_path, "proxied", n_trials=2)
        proc = harness_cli("run-study", str(spec), "--storage", f"grpc://127.0.0.1:{port}", "--quiet", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    finally:
        proxy.terminate()
        proxy.wait(timeout=30)
    study = optuna.load_study(study_name="proxied", storage=db)  # the trials are in the database behind it
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials) == 2
