"""The catalogue of bad input: each case gives one line naming the bad value and what is accepted, a
non-zero exit code, no traceback, and leaves the storage exactly as it was."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import socket

import pytest

from tests.conftest import TINY_SPEC, harness_cli

BASE = TINY_SPEC.format(name="tiny", n_trials=3)
FORECAST = """[study]\nname = "fc"\ntask = "forecasting"\n[dataset]\nname = "vega-temps"\n"""


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new)


def multi30k(files: dict[str, bytes]):
    def setup(folder):
        (folder / "data" / "multi30k").mkdir(parents=True)
        for name, content in files.items():
            (folder / "data" / "multi30k" / name).write_bytes(content)
    return setup


def csv_file(content: bytes, path: str = "series.csv"):
    def setup(folder):
        (folder / "data").mkdir(exist_ok=True)
        (folder / "data" / "series.csv").write_bytes(content)
    return setup


M30K = 'name = "numbers-en-de"\ntrain_size = 300\nvalid_size = 40\ntest_size = 40\nmax_number = 999\nvocab_size = 64'
GOOD_GZ = gzip.compress(b"Ein Satz.\n")

# (case id, spec text or None, extra CLI arguments, setup, fragments of the one-line message)
CASES = [
    ("malformed-toml", "[study\nname = 'x'", [], None, ["invalid TOML", "line 1"]),
    ("wrong-type", edit("max_epochs = 2", 'max_epochs = "two"'), [], None, ["[budget] max_epochs", "valid integer"]),
    ("unknown-key", edit("max_epochs = 2", "max_epoch = 2"), [], None, ["unknown key 'max_epoch' in [budget]", "did you mean 'max_epochs'"]),
    ("unknown-task", edit('task = "translation"', 'task = "translate"'), [], None, ["unknown task 'translate'", "did you mean 'translation'"]),
    ("unknown-dataset", edit('name = "numbers-en-de"', 'name = "numbers-de"'), [], None, ["unknown dataset of task translation 'numbers-de'", "did you mean"]),
    ("unknown-attention", edit('attention = ["dot", "additive"]', 'attention = ["dot", "additiv"]'), [], None, ["unknown attention 'additiv'", "did you mean 'additive'"]),
    ("unknown-schedule", edit('schedule = ["constant", "warmup_cosine"]', 'schedule = ["constant", "warmup-cosine"]'), [], None, ["unknown schedule 'warmup-cosine'", "did you mean 'warmup_cosine'"]),
    ("unknown-sampler", edit('name = "random"', 'name = "randum"'), [], None, ["unknown sampler 'randum'", "did you mean 'random'"]),
    ("unknown-pruner", BASE + '\n[pruner]\nname = "medain"\n', [], None, ["unknown pruner 'medain'", "did you mean 'median'"]),
    ("negative-trials", edit("n_trials = 3", "n_trials = -3"), [], None, ["[study] n_trials", "greater than or equal to 1, got -3"]),
    ("lr-not-positive", BASE.replace("heads = 2", "heads = 2\nlr = 0.0"), [], None, ["lr must be > 0, got 0.0"]),
    ("warmup-longer-than-training", BASE.replace("heads = 2", 'heads = 2\nwarmup_steps = 100000\nbatch_size = 64\nschedule = "warmup_cosine"').replace('schedule = ["constant", "warmup_cosine"]\n', ""),
     [], None, ["warmup of 100000 steps is not shorter than the training (10 optimizer steps)"]),
    ("horizon-not-positive", FORECAST + "horizon = 0\n", [], None, ["[dataset] horizon", "greater than or equal to 1, got 0"]),
    ("empty-search-space", BASE.replace('model = ["rnn", "transformer"]', 'model = "rnn"').replace('attention = ["dot", "additive"]', 'attention = "dot"').replace('schedule = ["constant", "warmup_cosine"]', 'schedule = "constant"\nlr = 0.001'),
     [], None, ["the search space is empty (every parameter is fixed) but n_trials = 3"]),
    ("changed-spec", edit("hidden_size = 32", "hidden_size = 64"), [], None, ["study 'tiny' exists", "search.hidden_size: stored 32, given 64"]),
    ("unknown-dialect", BASE, ["--storage", "mongodb://localhost/x"], None, ["unknown database dialect 'mongodb'", "accepted: sqlite, postgresql"]),
    ("unreachable-database", BASE, ["--storage", "postgresql://postgres@127.0.0.1:1/none"], None, ["cannot be opened", "127.0.0.1"]),
    ("missing-storage-directory", BASE, ["--storage", "sqlite:////no/such/dir/h.db"], None, ["directory '/no/such/dir' does not exist"]),
    ("read-only-storage-directory", BASE, ["--storage", "sqlite:////proc/h.db"], None, ["cannot be opened", "unable to open database file"]),
    ("missing-dataset-file", BASE.replace(M30K, 'name = "multi30k"'), ["--data-dir", "data"], multi30k({}), ["missing file", "train.de.gz"]),
    ("empty-dataset-file", BASE.replace(M30K, 'name = "multi30k"'), ["--data-dir", "data"],
     multi30k({f"{s}.{lang}.gz": gzip.compress(b"") for s in ("train", "val", "test_2016_flickr") for lang in ("de", "en")}), ["is empty"]),
    ("corrupt-dataset-file", BASE.replace(M30K, 'name = "multi30k"'), ["--data-dir", "data"],
     multi30k({f"{s}.{lang}.gz": b"not gzip at all" for s in ("train", "val", "test_2016_flickr") for lang in ("de", "en")}), ["train.de.gz", "gzip"]),
    ("wrongly-encoded-dataset", FORECAST.replace('name = "vega-temps"', 'name = "csv"\npath = "series.csv"'), ["--data-dir", "data"],
     csv_file("date,temp\n2020-01-01 00:00,1\n2020-01-01 01:00,2\n2020-01-01 02:00,Zürich\n".encode("latin-1")), ["series.csv is not UTF-8 text", "line 4"]),
    ("dataset-path-escapes", FORECAST.replace('name = "vega-temps"', 'name = "csv"\npath = "../series.csv"'), ["--data-dir", "data"], None,
     ["a relative path must stay inside the data directory", "'../series.csv'"]),
    ("missing-data-dir", BASE.replace(M30K, 'name = "multi30k"'), ["--data-dir", "nowhere"], None, ["data directory 'nowhere' does not exist", "harness download multi30k"]),
    ("unsafe-study-name", edit('name = "tiny"', 'name = "../../tmp/evil"'), [], None, ["[study] name: not a safe file name", "'../../tmp/evil'"]),
    ("zero-workers", BASE, ["--workers", "0"], None, ["--workers must be at least 1, got 0"]),
    ("benchmark-without-table", BASE, ["BENCHMARK"], None, ["has no [benchmark] table"]),
]


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def storage(tiny_study, tmp_path):
    db = tmp_path / "harness.db"
    shutil.copy(tiny_study["db"], db)
    return db


@pytest.mark.parametrize("case,spec,args,setup,fragments", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(case, spec, args, setup, fragments, storage, tmp_path):
    (tmp_path / "spec.toml").write_text(spec)
    if setup is not None:
        setup(tmp_path)
    command = ["benchmark", "spec.toml"] if args[:1] == ["BENCHMARK"] else ["run-study", "spec.toml", *args]
    if "--storage" not in args:
        command += ["--storage", f"sqlite:///{storage}"]
    before = digest(storage)
    proc = harness_cli(*command, cwd=tmp_path)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert digest(storage) == before


def test_report_of_a_missing_study_lists_the_studies(storage, tmp_path):
    proc = harness_cli("report", "tinny", "--storage", f"sqlite:///{storage}", cwd=tmp_path)
    assert proc.returncode == 2 and "no study 'tinny'" in proc.stderr and "did you mean 'tiny'" in proc.stderr
    assert "studies there: tiny" in proc.stderr and not (tmp_path / "reports").exists()


def test_rescore_of_a_missing_study_lists_the_studies(storage, tmp_path):
    before = digest(storage)
    proc = harness_cli("rescore", "tinny", "--storage", f"sqlite:///{storage}", cwd=tmp_path)
    assert proc.returncode == 2 and "no study 'tinny'" in proc.stderr and "did you mean 'tiny'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and digest(storage) == before


def test_dashboard_port_in_use(storage, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = harness_cli("dashboard", "--storage", f"sqlite:///{storage}", "--port", str(taken.getsockname()[1]),
                           cwd=tmp_path)
    assert proc.returncode == 2 and "pass another --port" in proc.stderr


def test_dashboard_warns_when_it_listens_beyond_localhost(storage, tmp_path):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        proc = harness_cli("dashboard", "--storage", f"sqlite:///{storage}", "--host", "0.0.0.0",
                           "--port", str(taken.getsockname()[1]), cwd=tmp_path)
    assert "the dashboard has no authentication" in proc.stderr


def test_catalogue_has_at_least_25_cases():
    assert len(CASES) + 2 >= 25
