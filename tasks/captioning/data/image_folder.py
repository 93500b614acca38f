"""The ``image-folder`` dataset: the user's own images and captions.

A folder of image files, a captions file (CSV ``image,caption``, Flickr8k's token format, or JSONL)
and an optional split file; images are decoded as Flickr8k's (:func:`decode_images`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

from harness_tasks.captioning.data.corpus import SPLITS, CaptionCorpus
from harness_tasks.captioning.data.flickr8k import read_flickr_captions
from harness_tasks.captioning.data.photos import (
    SeededPhotoOptions,
    assign,
    check_caption,
    drop_missing,
    load_json,
    photo_splits,
    seeded_assignment,
)
from pydantic import Field

from harness.datafiles import DataPath, decode_utf8, require_file, resolve_data_path
from harness.errors import DataError
from harness.task import DatasetInfo


class ImageFolderOptions(SeededPhotoOptions):
    """Options of the ``image-folder`` dataset: your own images and captions.

    ``images`` is a folder of image files; ``captions`` lists their captions, several per image allowed: a CSV with
    the header ``image,caption`` (Flickr8k's Kaggle layout; Flickr8k's ``<image>#<n><TAB><caption>`` token format
    is read too) or a JSONL file of ``{"image": ..., "caption": ...}`` or ``{"image": ..., "captions": [...]}``
    objects. ``splits`` (optional) assigns images to train/valid/test: a CSV with the header ``image,split`` or a JSON
    object ``{"train": [...], "valid": [...], "test": [...]}``; without it the images are split with a seed. Paths
    are relative to the data directory, or absolute.
    """


    images: DataPath = Field(min_length=1, description="folder of the image files")
    captions: DataPath = Field(min_length=1, description="captions file: CSV image,caption or JSONL")
    splits: DataPath | None = Field(None, min_length=1, description="split file: CSV image,split or JSON; "
                                                                   "default: a seeded split by image")
    citation: str = Field("", description="how to cite the images and captions; shown in reports")


def load_image_folder(options: ImageFolderOptions, data_dir: Path | None) -> CaptionCorpus:
    """Read the user's own images and captions (:class:`ImageFolderOptions`); images are decoded and resized like
    Flickr8k's (:func:`decode_images`), within a split sorted by file name.

    Raises:
        DataError: the folder or a file is missing or malformed (naming the file and line), a captioned image is
            missing (unless skipped), the split file names an unknown split or leaves an image out, or a split would
            be empty.
    """
    images_dir = resolve_data_path(data_dir, options.images, "image-folder")
    if not images_dir.is_dir():
        raise DataError(f"no image folder at {images_dir}; set [dataset] images to the folder of your image files")
    captions_path = resolve_data_path(data_dir, options.captions, "image-folder")
    require_file(captions_path, "set [dataset] captions to your captions file (CSV image,caption or JSONL)")
    by_image = (_jsonl_captions(captions_path) if captions_path.suffix.lower() == ".jsonl"
                else read_flickr_captions(captions_path))
    by_image, notes = drop_missing(by_image, images_dir, captions_path, options.missing_images)
    names = sorted(by_image)[: options.max_images]
    if options.splits is not None:
        splits_path = resolve_data_path(data_dir, options.splits, "image-folder")
        assignment = _read_split_file(splits_path, names)
        notes.append(f"split from {splits_path.name}")
    else:
        assignment = seeded_assignment(names, options, captions_path, notes)
    splits = photo_splits(assignment, by_image, images_dir, options.image_size, notes)
    citation = options.citation or f"user-supplied images and captions ({options.images}, {options.captions})"
    return CaptionCorpus(name="image-folder", **splits, citation=citation, notes=tuple(notes))


def _jsonl_captions(path: Path) -> dict[str, list[str]]:
    """The captions of each image in a JSONL file, images in file order."""
    by_image: dict[str, list[str]] = {}
    text = decode_utf8(path.read_bytes(), path).removeprefix("\ufeff")
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path} line {number} is not JSON ({e.msg} at column {e.colno})") from None
        image = record.get("image") if isinstance(record, dict) else None
        captions = record.get("captions", [record.get("caption")]) if isinstance(record, dict) else None
        if not isinstance(image, str) or not isinstance(captions, list) or not all(isinstance(c, str) for c in captions):
            raise DataError(f"{path} line {number}: expected {{\"image\": \"<file>\", \"caption\": \"...\"}} or "
                            "{\"image\": \"<file>\", \"captions\": [\"...\", ...]}")
        for caption in captions:
            check_caption(path, number, image.strip(), caption.strip())
            by_image.setdefault(image.strip(), []).append(caption.strip())
    if not by_image:
        raise DataError(f"{path} holds no captions")
    return by_image


def _read_split_file(path: Path, names: Sequence[str]) -> dict[str, list[str]]:
    """Assign ``names`` to splits by a CSV ``image,split`` or a JSON ``{"train": [...], ...}`` file."""
    require_file(path, "set [dataset] splits to your split file, or leave it out for a seeded split")
    split_of: dict[str, str] = {}
    if path.suffix.lower() == ".json":
        data = load_json(path)
        if not isinstance(data, dict) or set(data) - set(SPLITS) or not all(isinstance(v, list) for v in data.values()):
            raise DataError(f'{path} must be a JSON object {{"train": [...], "valid": [...], "test": [...]}} of image names')
        split_of = {str(name): split for split, listed in data.items() for name in listed}
    else:
        rows = list(csv.reader(io.StringIO(decode_utf8(path.read_bytes(), path).removeprefix("\ufeff"), newline="")))
        if not rows or [c.strip() for c in rows[0]] != ["image", "split"]:
            raise DataError(f"{path} must start with the header image,split")
        for number, row in enumerate(rows[1:], start=2):
            if not row or not any(c.strip() for c in row):
                continue
            if len(row) != 2 or row[1].strip() not in SPLITS:
                raise DataError(f"{path} line {number}: expected <image>,<split> with split train, valid or test, got "
                                f"{','.join(row)!r}")
            split_of[row[0].strip()] = row[1].strip()
    return assign(names, split_of, path, unlisted="list every captioned image, or leave splits out for a seeded split",
                   empty="assign images to every split")


IMAGE_FOLDER = DatasetInfo(
    name="image-folder",
    summary="your own images and captions: a folder, a CSV or JSONL captions file, an optional split file",
    options=ImageFolderOptions,
    load=load_image_folder,
    needs_data_dir=True,
)
"""The ``image-folder`` dataset, registered as ``captioning.image-folder`` in the ``harness.datasets`` entry points."""
