"""The ``image-folder`` dataset: the user's own images and captions, with a split file or a seeded split.

The images are 40 real Flickr8k photographs (copied into a folder of the test's own), their captions rewritten as
JSONL or CSV.
"""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from harness_tasks.captioning.data import ImageFolderOptions, load_image_folder, read_flickr_captions

from harness.errors import DataError
from harness.spec import parse_spec
from harness.study import load_data
from harness.task import registered_datasets

DATASETS = registered_datasets("captioning")  # the task's datasets, as pyproject.toml registers them


@pytest.fixture
def own(data_dir, tmp_path):
    """``tmp_path/photos/`` with 40 images, ``captions.jsonl`` (all 5 captions per image) and ``captions.csv``."""
    source = data_dir / "flickr8k_1k"
    by_image = read_flickr_captions(source / "captions.txt")
    names = sorted(by_image)[:40]
    (tmp_path / "photos").mkdir()
    for name in names:
        shutil.copy(source / "images" / name, tmp_path / "photos" / name)
    with (tmp_path / "captions.jsonl").open("w") as fh:
        for name in names:
            fh.write(json.dumps({"image": name, "captions": by_image[name]}) + "\n")
    with (tmp_path / "captions.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["image", "caption"])
        writer.writerows((name, caption) for name in names for caption in by_image[name])
    return {"names": names, "captions": by_image, "folder": tmp_path}


def test_jsonl_and_csv_captions_read_the_same_corpus_with_a_seeded_split(own):
    a = load_image_folder(ImageFolderOptions(images="photos", captions="captions.jsonl", image_size=32), own["folder"])
    b = load_image_folder(ImageFolderOptions(images="photos", captions="captions.csv", image_size=32), own["folder"])
    for split in ("train", "valid", "test"):
        assert getattr(a, split).ids == getattr(b, split).ids and getattr(a, split).captions == getattr(b, split).captions
        assert (getattr(a, split).pixels == getattr(b, split).pixels).all()
    assert (len(a.train), len(a.valid), len(a.test)) == (32, 4, 4)
    assert a.name == "image-folder" and a.citation.startswith("user-supplied images and captions (photos")
    assert a.train.pixels.shape[1:] == (3, 32, 32)
    assert all(len(c) == 5 for c in a.train.captions)


def test_a_split_file_assigns_the_images_and_the_report_cites_the_user(own):
    names = own["names"]
    (own["folder"] / "split.json").write_text(json.dumps({"train": names[:30], "valid": names[30:35], "test": names[35:]}))
    spec = parse_spec({"study": {"name": "own", "task": "captioning"},
                       "dataset": {"name": "image-folder", "images": str(own["folder"] / "photos"),  # absolute
                                   "captions": "captions.jsonl", "splits": "split.json", "image_size": 32,
                                   "min_count": 1, "citation": "My photos (2026)"}})
    task, data = load_data(spec, own["folder"])
    facts = task.describe(data)
    assert data.corpus.train.ids == names[:30] and data.corpus.test.ids == names[35:]
    assert facts["citation"] == "My photos (2026)" and "published" not in facts  # no Show, Attend and Tell table
    assert "split from split.json" in facts["notes"]


@pytest.mark.parametrize("content, fragment", [
    ("image,split\nX,train\n", "does not list 40 of the 40 images"),
    ("image,split\n{first},holdout\n", "expected <image>,<split> with split train, valid or test"),
    ("name,part\n", "must start with the header image,split"),
])
def test_bad_split_files(own, content, fragment):
    (own["folder"] / "split.csv").write_text(content.format(first=own["names"][0]))
    with pytest.raises(DataError, match=fragment):
        load_image_folder(ImageFolderOptions(images="photos", captions="captions.jsonl", splits="split.csv", image_size=16),
                          own["folder"])


def test_bad_captions_and_missing_images(own):
    (own["folder"] / "bad.jsonl").write_text('{"image": "a.jpg", "caption": "a dog"}\n{"picture": "b.jpg"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl line 2: expected \{\"image\""):
        load_image_folder(ImageFolderOptions(images="photos", captions="bad.jsonl"), own["folder"])
    (own["folder"] / "extra.jsonl").write_text('{"image": "not-there.jpg", "caption": "a dog runs"}\n'
                                               + "".join(json.dumps({"image": n, "caption": "a photo"}) + "\n"
                                                         for n in own["names"][:10]))
    with pytest.raises(DataError, match="not-there.jpg; add them, or set missing_images"):
        load_image_folder(ImageFolderOptions(images="photos", captions="extra.jsonl"), own["folder"])
    corpus = load_image_folder(ImageFolderOptions(images="photos", captions="extra.jsonl", missing_images="skip",
                                                  image_size=16), own["folder"])
    assert sum(map(len, (corpus.train, corpus.valid, corpus.test))) == 10
    with pytest.raises(DataError, match="no image folder at"):
        load_image_folder(ImageFolderOptions(images="nowhere", captions="captions.jsonl"), own["folder"])


def test_image_folder_is_registered():
    info = DATASETS["image-folder"]
    assert info.needs_data_dir and info.options is ImageFolderOptions and info.load is load_image_folder
    assert "own images" in info.summary
