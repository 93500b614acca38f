"""The ``coco`` dataset: COCO captions, ``captions_<split>.json`` annotation files and their image folders.

COCO: Lin et al., 2014, "Microsoft COCO: Common Objects in Context", ECCV; its captions: Chen et
al., 2015, "Microsoft COCO Captions", arXiv:1504.00325. The test split is carved from the
validation images by image, as COCO's own test captions are not public.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from harness_tasks.captioning.data.corpus import CaptionCorpus
from harness_tasks.captioning.data.photos import (
    check_nonempty,
    checked_image_folder,
    count,
    drop_missing,
    load_json,
    photo_split,
    seeded_split,
)
from pydantic import BaseModel, ConfigDict, Field

from harness.datafiles import RelativePath, dataset_folder, how_to_get, require_file
from harness.errors import DataError, hint_suffix
from harness.task import DatasetInfo

COCO_URL = "https://cocodataset.org/#download"
"""COCO's download page (``train2014.zip``, ``val2014.zip``, ``annotations_trainval2014.zip``)."""

COCO_CITATION = (
    "COCO captions (Lin et al., ECCV 2014; Chen et al., arXiv:1504.00325), annotations CC BY 4.0, "
    "images under their Flickr licences"
)


class CocoOptions(BaseModel):
    """Options of the ``coco`` dataset (COCO captions, e.g. the 2014 release)."""

    model_config = ConfigDict(extra="forbid")

    subdir: RelativePath = Field("coco", min_length=1, description="folder under the data directory")
    train_annotations: RelativePath = Field("annotations/captions_train2014.json", min_length=1,
                                   description="training annotations, relative to subdir")
    valid_annotations: RelativePath = Field("annotations/captions_val2014.json", min_length=1,
                                   description="validation annotations (valid and test), relative to subdir")
    train_images: RelativePath = Field("train2014", min_length=1, description="training image folder, relative to subdir")
    valid_images: RelativePath = Field("val2014", min_length=1, description="validation image folder, relative to subdir")
    test_fraction: float = Field(0.5, gt=0, lt=1, description="fraction of the validation images used for test")
    seed: int = Field(0, ge=0, description="seed of the valid/test split (numpy default_rng)")
    image_size: int = Field(128, ge=8, le=1024, description="images are resized to image_size x image_size")
    max_images: int | None = Field(None, ge=2, description="first N images by file name per annotation file (None: all)")
    missing_images: Literal["error", "skip"] = Field(
        "error", description="an annotated image file that does not exist: error, or skip the image"
    )


def load_coco(options: CocoOptions, data_dir: Path | None) -> CaptionCorpus:
    """Read COCO captions from ``<data_dir>/<subdir>/``.

    An annotation file is ``{"images": [{"id", "file_name", ...}], "annotations": [{"image_id",
    "caption", ...}], ...}``. Training images come from ``train_annotations``; the images of
    ``valid_annotations`` are split by image into validation and test (``test_fraction``, seeded),
    as COCO's own test captions are not public. Captions are stripped of surrounding whitespace and
    kept in file order (five to seven per image); an image with no caption is left out and counted
    in ``notes``. ``max_images`` keeps the first N images of each file by file name. Images are
    decoded as for :func:`load_flickr8k` (RGB, bilinear, stretched to ``image_size`` square, not
    cropped).

    Args:
        options: Validated options.
        data_dir: The data folder that contains ``<subdir>/``.

    Returns:
        The corpus; pixels have the shape of (N, 3, image_size, image_size).

    Raises:
        DataError: A folder or annotation file is missing, not UTF-8 or not valid JSON, lacks a
            key, has a duplicate image id, an annotation for an unknown image id or an empty
            caption; an image file is missing (unless skipped) or corrupt; or a split is empty.
    """
    folder = dataset_folder(data_dir, options.subdir, "coco", COCO_URL, downloadable=False)
    notes: list[str] = []
    parts = {}
    for role, annotations_file, images in (("train", options.train_annotations, options.train_images),
                                      ("valid", options.valid_annotations, options.valid_images)):
        path = folder / annotations_file
        images_dir = checked_image_folder(folder / images, "coco", COCO_URL)
        by_image, uncaptioned = read_coco_captions(path)
        if uncaptioned:
            notes.append(f"{path.name}: left out {count(uncaptioned, 'image')} without captions")
        by_image, dropped = drop_missing(by_image, images_dir, path, options.missing_images)
        notes.extend(dropped)
        names = sorted(by_image)[: options.max_images]
        parts[role] = (names, by_image, images_dir, path)
    train_names, train_captions, train_dir, _ = parts["train"]
    valid_names, valid_captions, valid_dir, valid_path = parts["valid"]
    test_names, valid_names = seeded_split(valid_names, (options.test_fraction,), options.seed)
    check_nonempty({"train": train_names, "valid": valid_names, "test": test_names}, valid_path)
    notes.append(f"test is {options.test_fraction:g} of the {valid_path.name} images (seed {options.seed}), "
                 "split by image; valid is the rest")
    splits = {
        "train": photo_split(train_names, train_captions, train_dir, options.image_size),
        "valid": photo_split(valid_names, valid_captions, valid_dir, options.image_size),
        "test": photo_split(test_names, valid_captions, valid_dir, options.image_size),
    }
    return CaptionCorpus(name="coco", **splits, citation=COCO_CITATION, notes=tuple(notes))


def read_coco_captions(path: Path) -> tuple[dict[str, list[str]], int]:
    """The captions of each image file of a COCO captions annotation file, and how many images have none.

    Raises:
        DataError: The file is missing, not UTF-8, not JSON, lacks a key, repeats an image id, or
            has an annotation for an unknown image id or with an empty caption.
    """
    require_file(path, how_to_get("coco", path.parent.parent, COCO_URL, downloadable=False))
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise DataError(f"{path} must be a JSON object with 'images' and 'annotations' lists (COCO captions format)")
    file_of: dict[int, str] = {}
    for i, image in enumerate(data["images"]):
        image_id, file_name = _fields(image, ("id", "file_name"), (int, str), path, f"images[{i}]")
        if image_id in file_of:
            raise DataError(f"{path}: images[{i}] repeats image id {image_id}")
        if not file_name or Path(file_name).name != file_name:
            raise DataError(f"{path}: images[{i}] file_name {file_name!r} is not a plain file name")
        file_of[image_id] = file_name
    by_image: dict[str, list[str]] = {}
    for i, annotation in enumerate(data["annotations"]):
        image_id, caption = _fields(annotation, ("image_id", "caption"), (int, str), path, f"annotations[{i}]")
        if image_id not in file_of:
            raise DataError(f"{path}: annotations[{i}] refers to image_id {image_id}, which is not in 'images'")
        if not caption.strip():
            raise DataError(f"{path}: annotations[{i}] (image_id {image_id}) has an empty caption")
        by_image.setdefault(file_of[image_id], []).append(caption.strip())
    return by_image, len(file_of) - len(by_image)


def _fields(entry: object, keys: tuple[str, str], types: tuple[type, type], path: Path, where: str) -> tuple:
    """The values of ``keys`` in the JSON object ``entry``, checked to have ``types``."""
    if not isinstance(entry, dict):
        raise DataError(f"{path}: {where} is not a JSON object")
    values = []
    for key, kind in zip(keys, types):
        if key not in entry:
            raise DataError(f"{path}: {where} has no {key!r}{hint_suffix(key, [str(k) for k in entry])}")
        value = entry[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise DataError(f"{path}: {where} {key!r} must be {'an integer' if kind is int else 'a string'}, "
                            f"but got {value!r}")
        values.append(value)
    return tuple(values)


COCO = DatasetInfo(
    name="coco",
    summary="COCO captions (captions_train/val2014.json + images), test carved from val by image",
    options=CocoOptions,
    load=load_coco,
    needs_data_dir=True,
)
"""The ``coco`` dataset, registered as ``captioning.coco`` in the ``harness.datasets`` entry points."""
