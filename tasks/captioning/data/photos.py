"""File handling shared by the photograph datasets (``flickr8k``, ``coco``, ``image-folder``).

Checking captions and image folders, dropping captioned images that are missing, splitting images
by a split file or with a seed, and decoding images with Pillow (:func:`decode_images`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from harness_tasks.captioning.data.corpus import SPLITS, ImageSplit
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.datafiles import decode_utf8, how_to_get
from harness.errors import DataError


def check_caption(path: Path, number: int, image: str, caption: str) -> None:
    """Raise :class:`DataError` for an empty caption or an image that is not a plain file name."""
    if not image or image in (".", "..") or Path(image).name != image or "\\" in image:
        raise DataError(f"{path} line {number}: the image {image!r} is not a plain file name")
    if not caption:
        raise DataError(f"{path} line {number}: the caption of {image} is empty")


def assign(names: Sequence[str], split_of: dict[str, str], path: Path, *, unlisted: str, empty: str) -> dict[str, list[str]]:
    """``names`` grouped by the split a split file (``path``) gives each.

    Raises:
        DataError: the file leaves an image out (the message ends with ``unlisted``), or a split would be empty
            (ending with ``empty``).
    """
    missing = [name for name in names if name not in split_of]
    if missing:
        raise DataError(f"{path} does not list {len(missing)} of the {len(names)} images, e.g. {missing[0]}; {unlisted}")
    assignment: dict[str, list[str]] = {split: [] for split in SPLITS}
    for name in names:
        assignment[split_of[name]].append(name)
    check_nonempty(assignment, path, empty)
    return assignment


def count(n: int, noun: str) -> str:
    """``"1 image"``, ``"2 images"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def load_json(path: Path) -> object:
    """The parsed content of a UTF-8 JSON file."""
    text = decode_utf8(path.read_bytes(), path)
    if not text.strip():
        raise DataError(f"{path} is empty; download it again")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}; download it again") from e


def checked_image_folder(path: Path, dataset: str, url: str) -> Path:
    """``path``, checked to be a folder."""
    if not path.is_dir():
        raise DataError(f"no image folder at {path}; {how_to_get(dataset, path.parent.parent, url, downloadable=False)}")
    return path


def drop_missing(by_image: dict[str, list[str]], images_dir: Path, listing: Path,
                  missing_images: str) -> tuple[dict[str, list[str]], list[str]]:
    """``by_image`` without images absent from ``images_dir``: an error, or skipped and noted."""
    present = set(os.listdir(images_dir))
    missing = [name for name in by_image if name not in present]
    if not missing:
        return by_image, []
    if missing_images == "error" or len(missing) == len(by_image):
        raise DataError(
            f"{listing} names {len(missing)} of its {count(len(by_image), 'image')} that are not in {images_dir}, "
            f"e.g. {missing[0]}; add them, or set missing_images = \"skip\" to leave them out"
        )
    kept = {name: captions for name, captions in by_image.items() if name in present}
    return kept, [f"skipped {len(missing)} of the {count(len(by_image), 'image')} of {listing.name} missing from "
                  f"{images_dir.name}/ (e.g. {missing[0]})"]


class SeededPhotoOptions(BaseModel):
    """The options of a photograph dataset that a seed splits by image when no split file does (``flickr8k``,
    ``image-folder``): the fractions and seed of that split, the image size and count, and missing images."""

    model_config = ConfigDict(extra="forbid")

    valid_fraction: float = Field(0.1, gt=0, lt=1, description="fraction of images for validation (seeded split)")
    test_fraction: float = Field(0.1, gt=0, lt=1, description="fraction of images for test (seeded split)")
    seed: int = Field(0, ge=0, description="seed of the split (numpy default_rng)")
    image_size: int = Field(128, ge=8, le=1024, description="images are resized to image_size x image_size")
    max_images: int | None = Field(None, ge=3, description="use only the first N images by file name (None: all)")
    missing_images: Literal["error", "skip"] = Field(
        "error", description="a caption for an image file that does not exist: error, or skip the image")

    @model_validator(mode="after")
    def _fractions_leave_training_data(self) -> SeededPhotoOptions:
        """Raise ``ValueError`` (an options error) when the two fractions leave no training images."""
        if self.valid_fraction + self.test_fraction >= 1:
            raise ValueError(f"valid_fraction + test_fraction = {self.valid_fraction + self.test_fraction:g} leaves "
                             "nothing for training; keep their sum below 1")
        return self


def seeded_split(names: Sequence[str], fractions: Sequence[float], seed: int) -> list[list[str]]:
    """Seeded split of ``names`` by image: one part per fraction, then the rest; each part sorted.

    ``numpy.random.default_rng(seed)`` permutes the names; the first ``round(fractions[0] * n)`` go
    to the first part, and so on, and the remaining names form the last part.
    """
    n = len(names)
    order = np.random.default_rng(seed).permutation(n)
    parts, start = [], 0
    for fraction in fractions:
        stop = start + round(fraction * n)
        parts.append(sorted(names[i] for i in order[start:stop]))
        start = stop
    parts.append(sorted(names[i] for i in order[start:]))
    return parts


def check_nonempty(assignment: dict[str, list[str]], where: Path,
                    fix: str = "use more images (max_images) or other fractions") -> None:
    """Raise :class:`DataError`, ending in ``fix``, when a split of ``assignment`` has no image."""
    empty = [split for split, names in assignment.items() if not names]
    if empty:
        counts = ", ".join(f"{split} {len(names)}" for split, names in assignment.items())
        raise DataError(f"{where}: splitting gives {counts} images, so {' and '.join(empty)} would be empty; {fix}")


def seeded_assignment(names: Sequence[str], options: SeededPhotoOptions, where: Path,
                       notes: list[str]) -> dict[str, list[str]]:
    """The images ``names`` split with the options' seed and fractions (:func:`seeded_split`), noted in ``notes``.

    Raises:
        DataError: a split would be empty (naming ``where``).
    """
    test, valid, train = seeded_split(names, (options.test_fraction, options.valid_fraction), options.seed)
    assignment = {"train": train, "valid": valid, "test": test}
    check_nonempty(assignment, where)
    notes.append(f"seeded split by image (valid_fraction {options.valid_fraction:g}, "
                 f"test_fraction {options.test_fraction:g}, seed {options.seed})")
    return assignment


def photo_splits(assignment: dict[str, list[str]], by_image: dict[str, list[str]], images_dir: Path, size: int,
                  notes: list[str]) -> dict[str, ImageSplit]:
    """Every split's images decoded (:func:`photo_split`), their counts noted in ``notes``."""
    splits = {split: photo_split(assignment[split], by_image, images_dir, size) for split in SPLITS}
    notes.append("images: " + "/".join(f"{len(splits[s])}" for s in SPLITS) + " (train/valid/test), "
                 f"{sum(len(c) for s in splits.values() for c in s.captions)} captions")
    return splits


def photo_split(names: Sequence[str], by_image: dict[str, list[str]], images_dir: Path, size: int) -> ImageSplit:
    """The images ``names`` of ``images_dir``, decoded, with their captions."""
    return ImageSplit(
        ids=list(names),
        pixels=decode_images([images_dir / name for name in names], size),
        captions=[tuple(by_image[name]) for name in names],
    )


def decode_images(paths: Sequence[Path], size: int) -> np.ndarray:
    """Decode image files to RGB and stretch each to ``size`` x ``size`` (bilinear, not cropped).

    JPEGs are decoded in Pillow's draft mode: libjpeg scales by 1/2, 1/4 or 1/8 while decoding,
    keeping at least ``2 * size`` pixels a side, which makes loading several times faster; on the
    Flickr8k images the result differs from a full-size decode by less than one grey level on
    average at ``size`` 32 and not at all from ``size`` 64 up.

    Args:
        paths: Image files.
        size: Side of the output images.

    Returns:
        Images, with the shape of (len(paths), 3, size, size), ``uint8``.

    Raises:
        DataError: A file is missing, not an image, or corrupt (naming it).
    """
    from PIL import Image

    pixels = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                image.draft("RGB", (2 * size, 2 * size))
                pixels[i] = np.asarray(image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            raise DataError(f"{path} is not a readable image ({type(e).__name__}: {e}); replace the file") from e
    return np.ascontiguousarray(pixels.transpose(0, 3, 1, 2))
