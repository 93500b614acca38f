"""Tests of harness_tasks.captioning.data: the embedded digits, and Flickr8k / COCO on the real Flickr8k files
(see ../shared/data/README.md, ``flickr8k_1k/``) and small folders built from them in tmp_path."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from harness_tasks.captioning.data import (
    DIGIT_WORDS,
    CaptionCorpus,
    CocoOptions,
    DigitsOptions,
    Flickr8kOptions,
    ImageSplit,
    load_coco,
    load_digits_captions,
    load_flickr8k,
)
from PIL import Image
from pydantic import ValidationError
from sklearn.datasets import load_digits

from harness.errors import BadInputError, DataError
from harness.task import registered_datasets

DATASETS = registered_datasets("captioning")  # the task's datasets, as pyproject.toml registers them

FLICKR_IMAGES = 1000
COMMA_IMAGE = "1012212859_01547e3f17.jpg"
COMMA_CAPTION = "A dog shakes its head near the shore , a red ball next to it ."  # quoted in captions.txt
QUOTE_IMAGE = "1253275679_e955fb7304.jpg"
QUOTE_CAPTION = 'Young boy with a black " ADHD " t-shirt nodding off'  # "" inside a quoted field


@pytest.fixture(scope="module")
def flickr(data_dir) -> Path:
    folder = data_dir / "flickr8k_1k"
    if not (folder / "captions.txt").is_file():
        pytest.skip(f"no Flickr8k subset at {folder}")
    return folder


@pytest.fixture(scope="module")
def flickr_captions(flickr) -> dict[str, list[str]]:
    """captions.txt read independently with the csv module: image -> captions in file order."""
    with open(flickr / "captions.txt", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["image", "caption"]
    by_image: dict[str, list[str]] = {}
    for image, caption in rows[1:]:
        by_image.setdefault(image, []).append(caption)
    return by_image


@pytest.fixture(scope="module")
def digits() -> CaptionCorpus:
    return load_digits_captions(DigitsOptions())


def _all_splits(corpus: CaptionCorpus) -> list[ImageSplit]:
    return [corpus.train, corpus.valid, corpus.test]


def _make_flickr(folder: Path, source: Path, names: list[str], captions: dict[str, list[str]] | None = None,
                 fmt: str = "csv") -> Path:
    """A Flickr8k folder in ``folder`` with copies of the real ``names`` and their captions."""
    (folder / "images").mkdir(parents=True)
    for name in names:
        shutil.copy(source / "images" / name, folder / "images" / name)
    if captions is not None:
        if fmt == "csv":
            with open(folder / "captions.txt", "w", encoding="utf-8", newline="") as f:
                writer = csv.writer(f, lineterminator="\n")
                writer.writerow(["image", "caption"])
                writer.writerows([name, c] for name in names for c in captions[name])
        else:
            lines = [f"{name}#{i}\t{c}" for name in names for i, c in enumerate(captions[name])]
            (folder / "Flickr8k.token.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


# ------------------------------------------------------------------------------------------------
# registry


def test_registry_lists_the_datasets_that_reject_unknown_options():
    assert sorted(DATASETS) == ["coco", "digits", "flickr8k", "image-folder"]
    assert DATASETS["digits"].needs_data_dir is False
    assert DATASETS["flickr8k"].needs_data_dir and DATASETS["coco"].needs_data_dir
    for name, info in DATASETS.items():
        assert info.name == name and info.summary and "\n" not in info.summary
        with pytest.raises(ValidationError, match="no_such_option"):
            info.options(**({"images": "i", "captions": "c.csv"} if name == "image-folder" else {}), no_such_option=1)


# ------------------------------------------------------------------------------------------------
# digits


def test_digits_default_shapes_ids_and_citation(digits):
    sizes = {"train": 6000, "valid": 500, "test": 500}
    for split, part in digits.splits().items():
        assert part.pixels.shape == (sizes[split], 1, 16, 64) and part.pixels.dtype == np.uint8
        assert len(part) == len(part.captions) == len(part.labels) == len(part.sources) == sizes[split]
        assert part.ids[42] == f"digits-{split}-00042" and len(set(part.ids)) == sizes[split]
    assert digits.name == "digits" and "load_digits" in digits.citation


def test_digits_captions_spell_the_labels_and_lengths_cover_the_range(digits):
    for part in _all_splits(digits):
        for caption, label in zip(part.captions, part.labels):
            assert caption == (" ".join(DIGIT_WORDS[d] for d in label),)
        assert {len(label) for label in part.labels} == {1, 2, 3, 4}
    assert digits.train.captions[0][0].split()[0] in DIGIT_WORDS


def test_digits_composition_is_exact(digits):
    bunch = load_digits()
    for part in _all_splits(digits):
        for i in range(0, len(part), 97):
            sources = part.sources[i]
            assert part.labels[i] == tuple(int(bunch.target[s]) for s in sources)
            for slot, source in enumerate(sources):
                expected = np.kron(np.rint(bunch.images[source] * 255 / 16), np.ones((2, 2))).astype(np.uint8)
                np.testing.assert_array_equal(part.pixels[i, 0, :, 16 * slot : 16 * (slot + 1)], expected)
            assert not part.pixels[i, 0, :, 16 * len(sources) :].any()  # blank to the right
    assert digits.train.pixels.max() == 255


def test_digits_splits_use_disjoint_stratified_pools_of_source_images(digits):
    targets = load_digits().target
    used = {split: {s for sources in part.sources for s in sources} for split, part in digits.splits().items()}
    assert not used["train"] & used["valid"] and not used["train"] & used["test"] and not used["valid"] & used["test"]
    for pool in used.values():
        assert set(targets[sorted(pool)]) == set(range(10))
    assert len(used["train"]) <= 1257 and len(used["valid"]) <= 270 and len(used["test"]) <= 270
    assert len(used["valid"]) > 250  # 500 images of 2.5 digits on average use almost all of a 270-scan pool
    assert "1257/270/270" in digits.notes[0]


def test_digits_are_deterministic_per_seed():
    small = dict(train_size=50, valid_size=20, test_size=20)
    a, b = load_digits_captions(DigitsOptions(**small)), load_digits_captions(DigitsOptions(**small))
    c = load_digits_captions(DigitsOptions(**small, seed=1))
    for x, y in zip(_all_splits(a), _all_splits(b)):
        np.testing.assert_array_equal(x.pixels, y.pixels)
        assert x.captions == y.captions and x.sources == y.sources
    assert a.train.sources != c.train.sources


def test_digits_scale_and_digit_count_options():
    corpus = load_digits_captions(DigitsOptions(train_size=30, valid_size=5, test_size=5, min_digits=2,
                                                max_digits=2, scale=3))
    assert corpus.train.pixels.shape == (30, 1, 24, 48)
    assert all(len(label) == 2 for part in _all_splits(corpus) for label in part.labels)


@pytest.mark.parametrize("options, message", [
    (dict(min_digits=3, max_digits=2), "min_digits <= max_digits"),
    (dict(train_size=0), "train_size"),
    (dict(scale=0), "scale"),
    (dict(max_digit=3), "max_digit"),
])
def test_digits_options_errors(options, message):
    with pytest.raises(ValidationError, match=message):
        DigitsOptions(**options)


# ------------------------------------------------------------------------------------------------
# flickr8k on the real files


def test_flickr8k_loads_all_1000_images_with_5_captions_each(flickr, flickr_captions):
    corpus = load_flickr8k(Flickr8kOptions(image_size=32), flickr.parent)
    parts = _all_splits(corpus)
    assert [len(p) for p in parts] == [800, 100, 100]
    assert sum(len(p) for p in parts) == FLICKR_IMAGES
    assert sum(len(c) for p in parts for c in p.captions) == 5 * FLICKR_IMAGES == 5000
    for part in parts:
        assert part.pixels.shape == (len(part), 3, 32, 32) and part.pixels.dtype == np.uint8
        assert part.labels is None and part.ids == sorted(part.ids)
        for name, captions in zip(part.ids, part.captions):
            assert list(captions) == flickr_captions[name]
    ids = [set(p.ids) for p in parts]
    assert not ids[0] & ids[1] and not ids[0] & ids[2] and not ids[1] & ids[2]
    assert set().union(*ids) == set(flickr_captions)
    assert "seeded split" in corpus.notes[0] and corpus.name == "flickr8k" and "Hodosh" in corpus.citation


def test_flickr8k_parses_commas_and_doubled_quotes_in_captions(flickr):
    corpus = load_flickr8k(Flickr8kOptions(image_size=16, max_images=220), flickr.parent)  # QUOTE_IMAGE is 217th
    captions = {name: c for part in _all_splits(corpus) for name, c in zip(part.ids, part.captions)}
    assert COMMA_CAPTION in captions[COMMA_IMAGE]
    assert QUOTE_CAPTION in captions[QUOTE_IMAGE]


def test_flickr8k_max_images_takes_the_first_names_and_the_seed_moves_the_split(flickr, flickr_captions):
    options = dict(image_size=16, max_images=120)
    a = load_flickr8k(Flickr8kOptions(**options), flickr.parent)
    b = load_flickr8k(Flickr8kOptions(**options, seed=1), flickr.parent)
    assert [len(p) for p in _all_splits(a)] == [96, 12, 12]
    assert sorted(a.train.ids + a.valid.ids + a.test.ids) == sorted(flickr_captions)[:120]
    assert a.test.ids != b.test.ids


def test_flickr8k_pixels_are_rgb_channels_first_and_stretched(flickr):
    corpus = load_flickr8k(Flickr8kOptions(image_size=64, max_images=20), flickr.parent)
    name, pixels = corpus.train.ids[0], corpus.train.pixels[0]
    with Image.open(flickr / "images" / name) as image:
        assert image.size != (64, 64)
        expected = np.asarray(image.convert("RGB").resize((64, 64), Image.Resampling.BILINEAR)).transpose(2, 0, 1)
    assert np.abs(pixels.astype(int) - expected).mean() < 1.0


def test_flickr8k_all_captions_file_needs_missing_images_skip(flickr):
    with pytest.raises(DataError, match=r"names 7091 of its 8091 images that are not in .*missing_images"):
        load_flickr8k(Flickr8kOptions(captions_file="flickr8k_all_captions.txt", max_images=30), flickr.parent)
    corpus = load_flickr8k(Flickr8kOptions(captions_file="flickr8k_all_captions.txt", missing_images="skip",
                                           max_images=30, image_size=16), flickr.parent)
    assert sum(len(p) for p in _all_splits(corpus)) == 30
    assert "skipped 7091 of the 8091 images" in corpus.notes[0]


# ------------------------------------------------------------------------------------------------
# flickr8k formats and split files, in tmp_path


def test_flickr8k_token_format_gives_the_same_captions(tmp_path, flickr, flickr_captions):
    names = sorted(flickr_captions)[:10]
    _make_flickr(tmp_path / "f8k", flickr, names, flickr_captions, fmt="token")
    corpus = load_flickr8k(Flickr8kOptions(subdir="f8k", image_size=16), tmp_path)
    assert [len(p) for p in _all_splits(corpus)] == [8, 1, 1]
    for part in _all_splits(corpus):
        for name, captions in zip(part.ids, part.captions):
            assert list(captions) == flickr_captions[name]


def test_flickr8k_karpathy_split_file_decides_the_split(tmp_path, flickr, flickr_captions):
    names = sorted(flickr_captions)[:8]
    folder = _make_flickr(tmp_path / "f8k", flickr, names, flickr_captions)
    split = ["train", "restval", "train", "val", "val", "test", "train", "test"]
    entries = [{"filename": n, "split": s, "sentences": []} for n, s in zip(names, split)]
    entries.append({"filename": "not_here.jpg", "split": "train"})  # listed but not loaded: fine
    (folder / "dataset_flickr8k.json").write_text(json.dumps({"images": entries, "dataset": "flickr8k"}))
    corpus = load_flickr8k(Flickr8kOptions(subdir="f8k", image_size=16), tmp_path)
    assert corpus.train.ids == [names[0], names[1], names[2], names[6]]
    assert corpus.valid.ids == [names[3], names[4]] and corpus.test.ids == [names[5], names[7]]
    assert "Karpathy split from dataset_flickr8k.json" in corpus.notes
    seeded = load_flickr8k(Flickr8kOptions(subdir="f8k", image_size=16, splits_file=""), tmp_path)
    assert "seeded split" in seeded.notes[0]


def test_flickr8k_bad_split_files(tmp_path, flickr, flickr_captions):
    names = sorted(flickr_captions)[:4]
    folder = _make_flickr(tmp_path / "f8k", flickr, names, flickr_captions)
    load = lambda **kw: load_flickr8k(Flickr8kOptions(subdir="f8k", image_size=16, **kw), tmp_path)
    with pytest.raises(DataError, match=r"missing file .*karpathy\.json"):
        load(splits_file="karpathy.json")
    path = folder / "dataset_flickr8k.json"
    path.write_text(json.dumps({"images": [{"filename": n, "split": "valid"} for n in names]}))
    with pytest.raises(DataError, match=r"split 'valid' \(did you mean 'val'\?\)"):
        load()
    path.write_text(json.dumps({"images": [{"filename": n, "split": "train"} for n in names[:3]]}))
    with pytest.raises(DataError, match=rf"does not list 1 of the 4 images, e.g. {names[3]}"):
        load()
    path.write_text(json.dumps({"images": [{"filename": n, "split": "train"} for n in names]}))
    with pytest.raises(DataError, match="valid and test would be empty"):
        load()
    path.write_text("[1, 2")
    with pytest.raises(DataError, match="dataset_flickr8k.json is not valid JSON"):
        load()


# ------------------------------------------------------------------------------------------------
# flickr8k bad inputs


def _expect(tmp_path: Path, pattern: str, **options) -> DataError:
    with pytest.raises(DataError, match=pattern) as info:
        load_flickr8k(Flickr8kOptions(subdir="f8k", image_size=16, **options), tmp_path)
    assert "\n" not in str(info.value) and isinstance(info.value, BadInputError)
    return info.value


def test_flickr8k_missing_folders_and_captions_file(tmp_path, flickr):
    with pytest.raises(DataError, match="pass --data-dir"):
        load_flickr8k(Flickr8kOptions(), None)
    _expect(tmp_path, r"no flickr8k folder at .*f8k")
    _make_flickr(tmp_path / "f8k", flickr, [])
    _expect(tmp_path, r"missing file .*captions\.txt \(nor is there a Flickr8k\.token\.txt\)")
    (tmp_path / "f8k" / "captions.txt").write_text("image,caption\n")
    _expect(tmp_path, r"missing file .*caption\.txt \(did you mean 'captions\.txt'\?\)", captions_file="caption.txt")
    _expect(tmp_path, r"captions\.txt has a header but no captions")
    (tmp_path / "f8k" / "captions.txt").write_text("")
    _expect(tmp_path, r"captions\.txt is empty")
    shutil.rmtree(tmp_path / "f8k" / "images")
    _expect(tmp_path, r"no image folder at .*images")


def test_flickr8k_malformed_lines_and_empty_captions(tmp_path, flickr, flickr_captions):
    name = sorted(flickr_captions)[0]
    folder = _make_flickr(tmp_path / "f8k", flickr, [name])
    path = folder / "captions.txt"
    path.write_text(f"image,caption\n{name},A dog .\n{name},A dog , unquoted comma .\n")
    _expect(tmp_path, r"captions\.txt line 3 has 3 comma-separated fields; expected 2")
    path.write_text(f'image,caption\n{name},"A dog .\n')
    _expect(tmp_path, r"captions\.txt line 2 is not valid CSV")
    path.write_text(f"image,caption\n{name},A dog .\n{name},  \n")
    _expect(tmp_path, rf"captions\.txt line 3: the caption of {name} is empty")
    path.write_text("image,caption\n../secret.jpg,A dog .\n")
    _expect(tmp_path, r"line 2: the image '\.\./secret\.jpg' is not a plain file name")
    path.unlink()
    token = folder / "Flickr8k.token.txt"
    token.write_text(f"{name}#0\tA dog .\n{name} A dog without a tab .\n")
    _expect(tmp_path, r"Flickr8k\.token\.txt line 2 is not '<image>#<n><TAB><caption>'")
    token.write_text(f"{name}#0\tA dog .\n{name}#1\t\n")
    _expect(tmp_path, rf"Flickr8k\.token\.txt line 2: the caption of {name} is empty")


def test_flickr8k_non_utf8_captions(tmp_path, flickr, flickr_captions):
    name = sorted(flickr_captions)[0]
    folder = _make_flickr(tmp_path / "f8k", flickr, [name])
    (folder / "captions.txt").write_bytes(f"image,caption\n{name},A caf".encode() + b"\xe9 .\n")
    _expect(tmp_path, r"captions\.txt is not UTF-8 text: byte 0xe9 at byte offset \d+ \(line 2\)")


def test_flickr8k_caption_for_a_missing_image_errors_or_is_skipped(tmp_path, flickr, flickr_captions):
    names = sorted(flickr_captions)[:12]
    folder = _make_flickr(tmp_path / "f8k", flickr, names, flickr_captions)
    (folder / "images" / names[5]).unlink()
    _expect(tmp_path, rf"captions\.txt names 1 of its 12 images that are not in .*images, e.g. {names[5]}; "
                      r"add them, or set missing_images = \"skip\"")
    corpus = load_flickr8k(Flickr8kOptions(subdir="f8k", image_size=16, missing_images="skip"), tmp_path)
    loaded = [n for p in _all_splits(corpus) for n in p.ids]
    assert len(loaded) == 11 and names[5] not in loaded
    assert corpus.notes[0].startswith(f"skipped 1 of the 12 images of captions.txt missing from images/ (e.g. {names[5]})")


def test_flickr8k_corrupt_jpeg_is_named(tmp_path, flickr, flickr_captions):
    names = sorted(flickr_captions)[:10]
    folder = _make_flickr(tmp_path / "f8k", flickr, names, flickr_captions)
    (folder / "images" / names[3]).write_bytes(b"this is not a JPEG" * 10)
    _expect(tmp_path, rf"{names[3]} is not a readable image \(UnidentifiedImageError")
    truncated = (flickr / "images" / names[3]).read_bytes()[:300]
    (folder / "images" / names[3]).write_bytes(truncated)
    _expect(tmp_path, rf"{names[3]} is not a readable image \(OSError")


# ------------------------------------------------------------------------------------------------
# coco


def _make_coco(tmp_path: Path, flickr: Path, captions: dict[str, list[str]]) -> Path:
    """A COCO-format folder: 8 training and 6 validation images (real Flickr photographs)."""
    folder = tmp_path / "coco"
    names = sorted(captions)
    for role, chosen, first_id in (("train", names[:8], 100), ("val", names[8:14], 500)):
        (folder / f"{role}2014").mkdir(parents=True)
        images, annotations = [], []
        for image_id, name in enumerate(chosen, start=first_id):
            shutil.copy(flickr / "images" / name, folder / f"{role}2014" / name)
            images.append({"id": image_id, "file_name": name, "height": 1, "width": 1})
            annotations += [{"id": len(annotations), "image_id": image_id, "caption": c + " \n"} for c in captions[name]]
        if role == "train":
            images.append({"id": 99, "file_name": "no_captions.jpg"})
        (folder / "annotations").mkdir(exist_ok=True)
        (folder / "annotations" / f"captions_{role}2014.json").write_text(
            json.dumps({"info": {}, "images": images, "annotations": annotations}))
    return folder


def test_coco_loads_train_and_carves_test_from_val(tmp_path, flickr, flickr_captions):
    _make_coco(tmp_path, flickr, flickr_captions)
    corpus = load_coco(CocoOptions(image_size=24), tmp_path)
    names = sorted(flickr_captions)
    assert corpus.train.ids == names[:8]
    assert sorted(corpus.valid.ids + corpus.test.ids) == names[8:14]
    assert len(corpus.valid) == len(corpus.test) == 3
    assert corpus.train.pixels.shape == (8, 3, 24, 24) and corpus.test.pixels.shape == (3, 3, 24, 24)
    for part in _all_splits(corpus):
        for name, captions in zip(part.ids, part.captions):
            assert list(captions) == flickr_captions[name]  # whitespace stripped
    assert "captions_train2014.json: left out 1 image without captions" in corpus.notes
    other = load_coco(CocoOptions(image_size=24, seed=3), tmp_path)
    assert other.test.ids != corpus.test.ids
    small = load_coco(CocoOptions(image_size=24, max_images=4), tmp_path)
    assert small.train.ids == names[:4] and sorted(small.valid.ids + small.test.ids) == names[8:12]


def test_coco_bad_annotations(tmp_path, flickr, flickr_captions):
    folder = _make_coco(tmp_path, flickr, flickr_captions)
    path = folder / "annotations" / "captions_val2014.json"
    good = json.loads(path.read_text())
    load = lambda: load_coco(CocoOptions(image_size=16), tmp_path)

    path.write_text(json.dumps(good)[:-40])
    with pytest.raises(DataError, match=r"captions_val2014\.json is not valid JSON: .* at line 1 column \d+"):
        load()
    bad = json.loads(json.dumps(good))
    bad["annotations"][7]["image_id"] = 12345
    path.write_text(json.dumps(bad))
    with pytest.raises(DataError, match=r"annotations\[7\] refers to image_id 12345, which is not in 'images'"):
        load()
    bad = json.loads(json.dumps(good))
    del bad["annotations"][2]["caption"]
    path.write_text(json.dumps(bad))
    with pytest.raises(DataError, match=r"annotations\[2\] has no 'caption'"):
        load()
    path.write_text(json.dumps({"images": good["images"]}))
    with pytest.raises(DataError, match="must be a JSON object with 'images' and 'annotations' lists"):
        load()
    path.unlink()
    with pytest.raises(DataError, match=r"missing file .*captions_val2014\.json"):
        load()


def test_coco_missing_image_file_errors_or_is_skipped(tmp_path, flickr, flickr_captions):
    folder = _make_coco(tmp_path, flickr, flickr_captions)
    victim = sorted(flickr_captions)[9]
    (folder / "val2014" / victim).unlink()
    with pytest.raises(DataError, match=rf"captions_val2014\.json names 1 of its 6 images that are not in .*val2014, "
                                        rf"e.g. {victim}"):
        load_coco(CocoOptions(image_size=16), tmp_path)
    corpus = load_coco(CocoOptions(image_size=16, missing_images="skip"), tmp_path)
    assert len(corpus.valid) + len(corpus.test) == 5
