"""The trained model kept: every task's best model is stored as an Optuna artifact, and `harness predict` in a fresh
process reproduces the outputs the study stored for its test evaluation (same weights, same preprocessing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
import torch

from harness.artifacts import default_location, kept_models, load
from harness.spec import load_spec
from harness.storage import get_output, study_system_attrs
from harness.study import load_data, resolve_data_dir
from tests.conftest import harness_cli, write_tiny_spec

FORECAST_SPEC = """\
[study]
name = "fc"
task = "forecasting"
n_trials = 1
seed = 0

[dataset]
name = "vega-temps"
features = "M"
lookback = 24
horizon = 6

[budget]
max_epochs = 1
max_train_examples = 400
threads = 1

[search]
model = "rnn_forecaster"
attention = "general"
schedule = "constant"
lr = 1e-3
hidden_size = 16
"""

CAPTION_SPEC = """\
[study]
name = "cap"
task = "captioning"
n_trials = 1
seed = 0

[dataset]
name = "digits"
train_size = 60
valid_size = 10
test_size = 10
min_count = 1

[budget]
max_epochs = 1
threads = 1

[search]
model = "show_attend_tell"
attention = "additive"
schedule = "constant"
lr = 1e-3
hidden_size = 16
embedding_size = 8
encoder_width = 8
"""


def run_study(folder: Path, spec: Path) -> optuna.Study:
    url = f"sqlite:///{folder / 's.db'}"
    proc = harness_cli("run-study", str(spec), "--storage", url, "--quiet", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    name = load_spec(spec).name
    return optuna.load_study(study_name=name, storage=url)


def stored_test_outputs(study: optuna.Study):
    return get_output(study_system_attrs(study), study.user_attrs["test_result"]["outputs"])


def predict(folder: Path, study: str, *args: str):
    return harness_cli("predict", study, "--storage", f"sqlite:///{folder / 's.db'}", *args, cwd=folder)


def test_the_artifact_store_sits_beside_the_database():
    assert default_location("sqlite:///reports/x.db") == Path("reports/x.artifacts")
    assert default_location("journal:///tmp/s.log") == Path("/tmp/s.artifacts")
    assert default_location("postgresql://u@h/db") == Path("artifacts")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A real two-trial translation study (and its kept model) shared by the tests below."""
    folder = tmp_path_factory.mktemp("tiny")
    return folder, run_study(folder, write_tiny_spec(folder, n_trials=2))


def test_translation_round_trip_and_the_checkpoint_loads_weights_only(tiny):
    tmp_path, study = tiny
    kept = kept_models(study)
    assert set(kept) == {"best"} and kept["best"]["trial"] == study.best_trial.number and kept["best"]["bytes"] > 0
    store_dir = tmp_path / "s.artifacts"
    assert store_dir.is_dir()
    from optuna.artifacts import FileSystemArtifactStore

    checkpoint = load(study, FileSystemArtifactStore(str(store_dir)))  # torch.load(..., weights_only=True) inside
    assert checkpoint["task"] == "translation" and checkpoint["config"] == study.best_trial.user_attrs["config"]
    assert all(isinstance(v, torch.Tensor) for v in checkpoint["state_dict"].values())
    sources = get_output(study_system_attrs(study), "references.test")["sources"]
    (tmp_path / "sources.txt").write_text("\n".join(sources) + "\n", encoding="utf-8")
    proc = predict(tmp_path, "tiny", "--input", "sources.txt", "--output", "out.txt", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    got = (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines()
    assert got == stored_test_outputs(study)["hypotheses"]


def test_forecasting_round_trip_from_a_csv_window(tmp_path):
    (tmp_path / "fc.toml").write_text(FORECAST_SPEC)
    study = run_study(tmp_path, tmp_path / "fc.toml")
    task, prepared = load_data(load_spec(tmp_path / "fc.toml"), resolve_data_dir(None))
    d = prepared.data
    k = 7  # the 8th test window
    start = int(prepared.test[k])
    rows = d.series.values[start : start + d.lookback][:, [list(d.series.columns).index(c) for c in d.input_columns]]
    lines = ["time," + ",".join(d.input_columns)]
    lines += [f"{i}," + ",".join(repr(float(v)) for v in row) for i, row in enumerate(rows)]
    (tmp_path / "window.csv").write_text("\n".join(lines) + "\n")
    proc = predict(tmp_path, "fc", "--input", "window.csv")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip().splitlines()
    assert out[0] == "step," + ",".join(d.output_columns) and len(out) == 1 + d.horizon
    got = np.array([[float(v) for v in line.split(",")[1:]] for line in out[1:]])
    stored = stored_test_outputs(study)
    expected = d.inverse(stored["forecast"][k] * stored["quantum"])  # (H, C_out), original units
    scale = d.scaler.scale_[[d.input_columns.index(c) for c in d.output_columns]]
    assert np.all(np.abs(got - expected) <= stored["quantum"] * scale / 2 + 1e-4 * np.abs(expected) + 1e-6)


def test_captioning_round_trip_from_image_files(tmp_path):
    from PIL import Image

    (tmp_path / "cap.toml").write_text(CAPTION_SPEC)
    study = run_study(tmp_path, tmp_path / "cap.toml")
    _, data = load_data(load_spec(tmp_path / "cap.toml"), resolve_data_dir(None))
    folder = tmp_path / "images"
    folder.mkdir()
    pixels = data.test.split.pixels  # (N, C, H, W) uint8, the images the test evaluation captioned
    for i, image in enumerate(pixels):
        array = image[0] if image.shape[0] == 1 else np.transpose(image, (1, 2, 0))
        Image.fromarray(array).save(folder / f"{i:03d}.png")
    proc = predict(tmp_path, "cap", "--input", "images")
    assert proc.returncode == 0, proc.stderr
    captions = [line.split("\t", 1)[1] for line in proc.stdout.splitlines()]
    assert captions == stored_test_outputs(study)["captions"]


@pytest.mark.parametrize("args,expected", [
    (["--input", "missing.txt"], "input file 'missing.txt' does not exist"),
    (["--input", "in.txt", "--model", "bets"], "kept no model 'bets' (did you mean 'best'?)"),
    (["--input", "in.txt", "--artifacts", "nowhere"], "no artifact store at 'nowhere'"),
    (["--input", "in.txt", "--device", "gpu"], "accepted: auto, cpu, cuda, cuda:N, mps"),
])
def test_predict_refuses_bad_input_in_one_line(tiny, args, expected):
    tmp_path, _ = tiny
    (tmp_path / "in.txt").write_text("five\n")
    proc = predict(tmp_path, "tiny", *args)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and expected in lines[0], proc.stderr
