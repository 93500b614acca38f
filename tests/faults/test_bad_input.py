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
    # model-size constraints the families check (harness.family.Family.check), before the study exists
    ("heads-not-dividing-hidden-size", BASE.replace('model = ["rnn", "transformer"]', 'model = "transformer"').replace("heads = 2", "heads = 3"),
     [], None, ["no configuration can be built: heads=3 does not divide hidden_size=32"]),
    # sampler and pruner options Optuna accepts but fails on later (or samples nonsense with)
    ("tpe-negative-startup-trials", edit('name = "random"\nseed = 0', 'name = "tpe"\nn_startup_trials = -1'), [], None,
     ["[sampler] tpe: n_startup_trials must be >= 0, got -1"]),
    ("tpe-no-candidates", edit('name = "random"\nseed = 0', 'name = "tpe"\nn_ei_candidates = 0'), [], None,
     ["[sampler] tpe: n_ei_candidates must be >= 1, got 0"]),
    ("hyperband-reduction-factor-1", BASE + '\n[pruner]\nname = "hyperband"\nreduction_factor = 1\n', [], None,
     ["[pruner] hyperband: reduction_factor must be >= 2, got 1"]),
    ("hyperband-min-resource-0", BASE + '\n[pruner]\nname = "hyperband"\nmin_resource = 0\n', [], None,
     ["[pruner] hyperband: min_resource must be >= 1, got 0"]),
    ("hyperband-min-over-max-epochs", BASE + '\n[pruner]\nname = "hyperband"\nmin_resource = 5\n', [], None,
     ["max_resource must be >= min_resource = 5, got 2 (its default, from [budget] max_epochs)"]),
    ("median-negative-warmup", BASE + '\n[pruner]\nname = "median"\nn_warmup_steps = -1\n', [], None,
     ["[pruner] median: Optuna refuses the options", "n_warmup_steps=-1"]),
    # storage URLs of every form
    ("postgresql-without-database", BASE, ["--storage", "postgresql://postgres@127.0.0.1:5432"], None,
     ["names no database", "the server's default database is never used"]),
    ("postgresql-empty-database", BASE, ["--storage", "postgresql+psycopg://postgres@127.0.0.1/"], None, ["names no database"]),
    ("port-not-a-number", BASE, ["--storage", "postgresql://postgres@127.0.0.1:fivefour/test"], None, ["the port is not a number"]),
    ("mysql-driver-missing", BASE, ["--storage", "mysql://root@127.0.0.1:1/x"], None, ["the database driver is not installed"]),
    ("sqlite-in-memory", BASE, ["--storage", "sqlite://"], None, ["names no database file", "in-memory"]),
    ("sqlite-directory", BASE, ["--storage", "sqlite:///data"], lambda folder: (folder / "data").mkdir(),
     ["'data' is a directory, not a database file"]),
    ("storage-without-scheme", BASE, ["--storage", "harness.db"], None, ["not a SQLAlchemy URL", "did you mean sqlite:///harness.db?"]),
    ("journal-directory-missing", BASE, ["--storage", "journal:///no/such/dir/h.log"], None, ["directory '/no/such/dir' does not exist"]),
    ("grpc-without-port", BASE, ["--storage", "grpc://127.0.0.1"], None, ["expected grpc://HOST:PORT"]),
    ("grpc-port-out-of-range", BASE, ["--storage", "grpc://127.0.0.1:70000"], None, ["port 70000 is not in 1-65535"]),
    ("grpc-unreachable", BASE, ["--storage", "grpc://127.0.0.1:1"], None, ["no gRPC storage proxy answers at 127.0.0.1:1"]),
    # command-line values
    ("unknown-option", BASE, ["--workrs", "2"], None, ["No such option: --workrs", "--workers", "`harness run-study --help`"]),
    ("workers-not-a-number", BASE, ["--workers", "two"], None, ["Invalid value for '--workers'", "valid integer"]),
    ("negative-workers", BASE, ["--workers", "-2"], None, ["--workers must be at least 1, got -2"]),
    ("zero-trials", BASE, ["--n-trials", "0"], None, ["[study] n_trials", "greater than or equal to 1, got 0"]),
    ("negative-timeout", BASE, ["--timeout", "-5"], None, ["[study] timeout", "greater than 0, got -5.0"]),
    ("set-without-value", BASE, ["--set", "budget.max_epochs"], None, ["--set 'budget.max_epochs': expected key.path=value"]),
    ("set-unknown-parameter", BASE, ["--set", "search.hiden_size=64"], None, ["unknown parameter 'hiden_size'", "did you mean 'hidden_size'"]),
    ("unknown-tracker", BASE, ["--tracker", "wandb"], None, ["unknown tracker 'wandb'", "accepted: mlflow, tensorboard"]),
    ("fp16-on-the-cpu", BASE, ["--device", "cpu", "--precision", "fp16"], None, ["precision 'fp16' is not available on device 'cpu'"]),
    ("unknown-precision", BASE, ["--precision", "fp8"], None, ["precision", "'fp8'"]),
    ("missing-spec-file", None, ["nope.toml"], None, ["nope.toml: no such spec file"]),
    ("data-dir-is-a-file", BASE.replace(M30K, 'name = "multi30k"'), ["--data-dir", "spec.toml"], None,
     ["data directory 'spec.toml' is a file"]),
    # launchers
    ("unknown-launcher", BASE, ["--launcher", "slurn"], None, ["unknown launcher 'slurn'", "did you mean 'slurm'"]),
    ("option-of-another-launcher", BASE, ["--launcher", "ray", "--partition", "gpu"], None,
     ["partition = 'gpu' is not an option of the ray launcher"]),
    ("slurm-time-form", BASE, ["--launcher", "slurm", "--time", "4h"], None, ["[launcher] time: not a Slurm time", "'4h'"]),
    ("slurm-without-time", BASE, ["--launcher", "slurm", "--set", "launcher.cluster=slurm"], None,
     ["--launcher slurm needs --time"]),
    ("slurm-with-a-sqlite-file", BASE, ["--launcher", "slurm", "--set", "launcher.cluster=slurm", "--time", "1:00:00"], None,
     ["may run workers on other machines, which cannot reach the file storage", "--shared-fs"]),
    ("ray-cluster-with-a-sqlite-file", BASE, ["--launcher", "ray", "--address", "auto"], None,
     ["--launcher ray may run workers on other machines"]),
    ("devices-with-ray", BASE, ["--launcher", "ray", "--workers", "2", "--devices", "0,1"], None,
     ["--devices places local workers", "--gpus-per-worker"]),
    ("gpus-with-local-workers", BASE, ["--gpus-per-worker", "1"], None, ["gpus_per_worker = 1 is not an option of the local launcher"]),
]

# (case id, command line with {db} for the storage's path, fragments of the one-line message): other commands
COMMANDS = [
    ("dashboard-port-out-of-range", ["dashboard", "--storage", "sqlite:///{db}", "--port", "70000"], ["--port 70000 is not a TCP port; accepted: 1-65535"]),
    ("dashboard-port-zero", ["dashboard", "--storage", "sqlite:///{db}", "--port", "0"], ["--port 0 is not a TCP port"]),
    ("dashboard-port-not-a-number", ["dashboard", "--storage", "sqlite:///{db}", "--port", "http"], ["Invalid value for '--port'"]),
    ("dashboard-host-not-this-machine", ["dashboard", "--storage", "sqlite:///{db}", "--host", "no-such-host.invalid"],
     ["--host 'no-such-host.invalid' is not an address of this machine"]),
    ("storage-proxy-negative-port", ["storage-proxy", "--storage", "sqlite:///{db}", "--port", "-1"], ["--port -1 is not a TCP port"]),
    ("report-out-is-a-directory", ["report", "tiny", "--storage", "sqlite:///{db}", "--out", "."], ["--out '.' is a directory"]),
    ("report-out-unwritable", ["report", "tiny", "--storage", "sqlite:///{db}", "--out", "/proc/tiny.md"],
     ["cannot write --out '/proc/tiny.md'", "'/proc' takes no files"]),
    ("export-out-unwritable", ["export", "tiny", "--storage", "sqlite:///{db}", "--out", "/proc/x/tiny.csv"],
     ["cannot write --out '/proc/x/tiny.csv'", "cannot create '/proc/x'"]),
    ("export-unknown-format", ["export", "tiny", "--storage", "sqlite:///{db}", "--format", "xlsx"], ["unknown export format 'xlsx'", "csv, parquet"]),
    ("rescore-missing-study", ["rescore", "tinny", "--storage", "sqlite:///{db}"], ["no study 'tinny'", "did you mean 'tiny'"]),
    ("unknown-command", ["run-studie", "spec.toml"], ["No such command 'run-studie'"]),
    ("missing-argument", ["report"], ["Missing argument", "`harness report --help`"]),
]


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def storage(tiny_study, tmp_path):
    db = tmp_path / "harness.db"
    shutil.copy(tiny_study["db"], db)
    return db


def _prepare(case, spec, args, setup, tiny_db, root):
    """A folder of its own for one case: a copy of the tiny study's database, the spec, the case's setup; returns the
    command line and the database."""
    folder = root / case
    folder.mkdir()
    db = folder / "harness.db"
    shutil.copy(tiny_db, db)
    if spec is not None:
        (folder / "spec.toml").write_text(spec)
    if setup is not None:
        setup(folder)
    if args[:1] == ["BENCHMARK"]:
        command = ["benchmark", "spec.toml"]
    elif args[:1] == ["nope.toml"]:
        command = ["run-study", *args]
    else:
        command = ["run-study", "spec.toml", *args]
    if "--storage" not in args:
        command += ["--storage", f"sqlite:///{db}"]
    return command, folder, db


def _verdict(case, proc, fragments, before, db) -> str | None:
    """What is wrong with how a case was answered, or ``None``."""
    lines = proc.stderr.strip().splitlines()
    if proc.returncode != 2:
        return f"{case}: exit {proc.returncode}, stderr {proc.stderr[-500:]!r}"
    if len(lines) != 1 or "Traceback" in proc.stderr:
        return f"{case}: {len(lines)} lines on stderr: {proc.stderr[-500:]!r}"
    missing = [f for f in fragments if f not in lines[0]]
    if missing:
        return f"{case}: {missing} not in {lines[0]!r}"
    if "unexpected failure" in lines[0]:
        return f"{case}: reported as a bug: {lines[0]!r}"
    if digest(db) != before:
        return f"{case}: the storage changed"
    return None


def test_bad_input_is_one_line_and_changes_nothing(tiny_study, tmp_path):
    """Every case of the catalogue, each in its own folder and storage copy, several subprocesses at a time."""
    from concurrent.futures import ThreadPoolExecutor

    def run(case, command, folder, db, fragments):
        before = digest(db)
        return _verdict(case, harness_cli(*command, cwd=folder), fragments, before, db)

    jobs = [(case, *_prepare(case, spec, args, setup, tiny_study["db"], tmp_path), fragments)
            for case, spec, args, setup, fragments in CASES]
    for case, command, fragments in COMMANDS:
        folder = tmp_path / case
        folder.mkdir()
        shutil.copy(tiny_study["db"], folder / "harness.db")
        jobs.append((case, [a.replace("{db}", str(folder / "harness.db")) for a in command], folder,
                     folder / "harness.db", fragments))
    with ThreadPoolExecutor(max_workers=4) as pool:
        problems = [p for p in pool.map(lambda job: run(*job), jobs) if p is not None]
    assert not problems, "\n".join(problems)


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


def test_catalogue_has_more_than_40_cases():
    cases = [c[0] for c in CASES] + [c[0] for c in COMMANDS]
    assert len(cases) == len(set(cases)) and len(cases) > 40
