"""Storage: URL checks before anything is created, and long series split over trial attributes."""

from __future__ import annotations

import json

import optuna
import pytest

from harness.errors import StorageError
from harness.storage import CHUNK_CHARS, check_url, get_series, open_storage, put_series, storage_url


def test_storage_url_precedence(monkeypatch):
    monkeypatch.delenv("HARNESS_STORAGE", raising=False)
    assert storage_url(None) == "sqlite:///harness.db"
    monkeypatch.setenv("HARNESS_STORAGE", "sqlite:///env.db")
    assert storage_url(None) == "sqlite:///env.db"
    assert storage_url("sqlite:///cli.db") == "sqlite:///cli.db"


def test_reading_a_missing_sqlite_file_creates_nothing(tmp_path):
    with pytest.raises(StorageError, match="no database file at"):
        open_storage(f"sqlite:///{tmp_path / 'absent.db'}", write=False)
    assert not (tmp_path / "absent.db").exists()


@pytest.mark.parametrize("url,message", [
    ("not a url", "is not a SQLAlchemy URL"),
    ("mongodb://localhost/x", "unknown database dialect 'mongodb'"),
    ("sqlite:////no/such/dir/x.db", "directory '/no/such/dir' does not exist"),
])
def test_bad_urls_are_refused_before_connecting(url, message):
    with pytest.raises(StorageError, match=message):
        check_url(url, write=True)


def test_long_series_are_split_and_read_back(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}", write=True)
    study = optuna.create_study(storage=storage, study_name="s")
    trial = study.ask()
    lrs = [1e-3 * (1 + i / 7) for i in range(20_000)]  # about 400 KB of JSON
    history = [{"epoch": 1, "bleu": float("nan")}]
    put_series(trial, "lr_per_step", lrs)
    put_series(trial, "history", history)
    study.tell(trial, 1.0)
    attrs = optuna.load_study(study_name="s", storage=storage).trials[0].user_attrs
    assert get_series(attrs, "lr_per_step") == lrs
    assert get_series(attrs, "history") == [{"epoch": 1, "bleu": None}]  # non-finite stored as null
    assert attrs["lr_per_step.parts"] > 1
    assert all(len(json.dumps(v)) <= CHUNK_CHARS for v in attrs.values())
    assert get_series(attrs, "absent") is None
