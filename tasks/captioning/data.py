"""Image captioning corpora: embedded multi-digit images, Flickr8k and COCO captions.

Every dataset has a pydantic options model (unknown keys are rejected) and a loader that turns
validated options and a data folder into a :class:`CaptionCorpus`: three :class:`ImageSplit`\\ s of
same-sized ``uint8`` images with their raw, untokenised reference captions. The registry
:data:`DATASETS` maps each dataset's name to a :class:`DatasetInfo`.

Datasets:
    ``digits``: images of 1 to 4 handwritten digits side by side, captioned with the digits' English
        words ("four one seven"), composed offline from the 1,797 8x8 digit scans bundled with
        scikit-learn (``sklearn.datasets.load_digits``, the UCI "Optical Recognition of Handwritten
        Digits" test set, Alpaydin & Kaynak 1998); needs no files.
    ``flickr8k``: Flickr8k (Hodosh, Young & Hockenmaier, 2013, "Framing Image Description as a
        Ranking Task: Data, Models and Evaluation Metrics", JAIR 47): an ``images/`` folder and its
        captions, five per image, in the Kaggle ``captions.txt`` CSV or the original
        ``Flickr8k.token.txt``; split by Karpathy's ``dataset_flickr8k.json`` when present.
    ``coco``: COCO captions (Lin et al., 2014, "Microsoft COCO: Common Objects in Context", ECCV;
        Chen et al., 2015, "Microsoft COCO Captions", arXiv:1504.00325): ``captions_<split>.json``
        annotation files and their image folders.

Images are decoded with Pillow, converted to RGB and resized to ``image_size`` x ``image_size``
(bilinear, stretched: the aspect ratio is not kept and nothing is cropped). Every problem with the
files (missing folder or file, empty file, text that is not UTF-8, a malformed line or JSON, a
caption for an image that is missing, a corrupt image, an empty caption) raises
:class:`~harness.errors.DataError` with a one-line message naming the file and how to fix it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.datafiles import DataPath, RelativePath, dataset_folder, decode_utf8, how_to_get, require_file, resolve_data_path
from harness.errors import DataError, hint_suffix
from harness.task import DatasetInfo

FLICKR8K_URL = "https://github.com/jbrownlee/Datasets/releases/tag/Flickr8k"
"""A public copy of Flickr8k (``Flickr8k_Dataset.zip`` with the images, ``Flickr8k_text.zip`` with
``Flickr8k.token.txt``); the original University of Illinois request form is gone."""

KARPATHY_SPLITS_URL = "https://cs.stanford.edu/people/karpathy/deepimagesent/caption_datasets.zip"
"""Karpathy & Fei-Fei's split files (``dataset_flickr8k.json``, ``dataset_coco.json``, ...)."""

COCO_URL = "https://cocodataset.org/#download"
"""COCO's download page (``train2014.zip``, ``val2014.zip``, ``annotations_trainval2014.zip``)."""

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
"""The caption word of each digit."""

DIGIT_POOL_FRACTIONS = (0.70, 0.15, 0.15)
"""Shares of the 1,797 source digit scans given to the train, valid and test pools."""

DIGITS_CITATION = (
    "handwritten digits of scikit-learn's load_digits (UCI Optical Recognition of Handwritten Digits, "
    "Alpaydin & Kaynak 1998, CC BY 4.0), composed into multi-digit images"
)
FLICKR8K_CITATION = (
    "Flickr8k (Hodosh, Young & Hockenmaier, JAIR 2013); research use only, image copyright stays with the owners"
)
COCO_CITATION = (
    "COCO captions (Lin et al., ECCV 2014; Chen et al., arXiv:1504.00325), annotations CC BY 4.0, "
    "images under their Flickr licences"
)

KARPATHY_FLICKR8K = "dataset_flickr8k.json"
"""Default name of Karpathy's Flickr8k split file (``flickr8k`` uses it when it is in the folder)."""

KARPATHY_SPLITS = {"train": "train", "restval": "train", "val": "valid", "test": "test"}
"""Split name in Karpathy's json -> split of the corpus (``restval`` is training data)."""

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class ImageSplit:
    """The images of one split with their reference captions.

    Attributes:
        ids: One id per image: the image file name, or ``"digits-<split>-<index>"`` for a composed
            digits image.
        pixels: The images, with the shape of (N, C, H, W), ``uint8``; C is 1 for digits and 3
            (RGB) for photographs, and every image has the same H and W.
        captions: The raw, untokenised reference captions of each image, in file order (one for
            digits, five for Flickr8k, five to seven for COCO).
        labels: Digits only: the digits each image shows, left to right, e.g. ``(4, 1, 7)``.
        sources: Digits only: for each digit of each image, its index into
            ``sklearn.datasets.load_digits()`` (so a test can check that no scan is in two splits).
    """

    ids: list[str]
    pixels: np.ndarray
    captions: list[tuple[str, ...]]
    labels: list[tuple[int, ...]] | None = None
    sources: list[tuple[int, ...]] | None = None

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.pixels.ndim != 4 or self.pixels.dtype != np.uint8:
            raise ValueError(f"pixels must be a (N, C, H, W) uint8 array, but got {self.pixels.dtype} {self.pixels.shape}")
        lengths = {"pixels": len(self.pixels), "captions": len(self.captions)}
        lengths.update({name: len(v) for name, v in (("labels", self.labels), ("sources", self.sources)) if v is not None})
        wrong = {name: length for name, length in lengths.items() if length != n}
        if wrong:
            raise ValueError(f"every field must have one entry per id ({n} ids), but got {wrong}")

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class CaptionCorpus:
    """A captioning dataset split into training, validation and test images.

    Attributes:
        name: Dataset name: ``"digits"``, ``"flickr8k"``, ``"coco"`` or ``"image-folder"``.
        train: Training images.
        valid: Validation images.
        test: Test images.
        citation: One-line citation and licence note shown in reports.
        notes: How the data was split and what loading left out, one sentence each.
    """

    name: str
    train: ImageSplit
    valid: ImageSplit
    test: ImageSplit
    citation: str = ""
    notes: tuple[str, ...] = ()

    def splits(self) -> dict[str, ImageSplit]:
        """``{"train": ..., "valid": ..., "test": ...}``."""
        return {"train": self.train, "valid": self.valid, "test": self.test}


# --------------------------------------------------------------------------------------------------
# digits


class DigitsOptions(BaseModel):
    """Options of the embedded ``digits`` dataset."""

    model_config = ConfigDict(extra="forbid")

    train_size: int = Field(6000, ge=1, description="training images")
    valid_size: int = Field(500, ge=1, description="validation images")
    test_size: int = Field(500, ge=1, description="test images")
    min_digits: int = Field(1, ge=1, le=16, description="fewest digits in an image")
    max_digits: int = Field(4, ge=1, le=16, description="most digits in an image (sets the canvas width)")
    seed: int = Field(0, ge=0, description="seed of the pools and the composition")
    scale: int = Field(2, ge=1, le=8, description="each 8x8 digit is enlarged to 8*scale pixels by pixel repetition")

    @model_validator(mode="after")
    def _digit_range(self) -> DigitsOptions:
        if self.min_digits > self.max_digits:
            raise ValueError(f"min_digits <= max_digits must hold, but got min_digits={self.min_digits}, "
                             f"max_digits={self.max_digits}")
        return self


def load_digits_captions(options: DigitsOptions, data_dir: Path | None = None) -> CaptionCorpus:
    """Compose multi-digit images from scikit-learn's handwritten digits and caption them in words.

    The 1,797 source scans (8x8, values 0..16) are first split into disjoint train/valid/test pools
    of 70/15/15 %, stratified by digit class (``sklearn.model_selection.train_test_split``, seeded),
    and each split is composed only from its own pool, so no scan is seen in two splits. An image
    holds k digits, k uniform in ``[min_digits, max_digits]``, each drawn uniformly (with
    replacement) from the pool; they are placed side by side from the left on a canvas of
    ``8*scale`` x ``8*scale*max_digits`` pixels, blank (0) to the right. Values are rescaled to
    ``round(v * 255 / 16)`` and every pixel is repeated ``scale`` x ``scale`` times. Each split
    draws from its own stream spawned from ``seed``, so changing one split's size leaves the
    others as they were.

    Args:
        options: Validated options.
        data_dir: Ignored (the scans ship with scikit-learn).

    Returns:
        The corpus; pixels have the shape of (N, 1, 8*scale, 8*scale*max_digits), captions are one
        sentence such as ``"four one seven"``, ``labels`` and ``sources`` are filled; ``notes`` give
        the pool sizes.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    glyphs = digit_glyphs(bunch.images, options.scale)
    targets = np.asarray(bunch.target, dtype=np.int64)
    indices = np.arange(len(targets))
    _, valid_share, test_share = DIGIT_POOL_FRACTIONS
    train_pool, held_out = train_test_split(indices, test_size=valid_share + test_share, stratify=targets,
                                            random_state=options.seed)
    valid_pool, test_pool = train_test_split(held_out, test_size=test_share / (valid_share + test_share),
                                             stratify=targets[held_out], random_state=options.seed)
    pools = {"train": np.sort(train_pool), "valid": np.sort(valid_pool), "test": np.sort(test_pool)}
    sizes = {"train": options.train_size, "valid": options.valid_size, "test": options.test_size}
    rngs = dict(zip(SPLITS, np.random.default_rng(options.seed).spawn(len(SPLITS))))
    splits = {
        split: _compose_digits(split, pools[split], sizes[split], glyphs, targets, options, rngs[split]) for split in SPLITS
    }
    pool_sizes = "/".join(str(len(pools[s])) for s in SPLITS)
    return CaptionCorpus(
        name="digits",
        **splits,
        citation=DIGITS_CITATION,
        notes=(
            f"the {len(targets)} source digit scans are split into disjoint train/valid/test pools of {pool_sizes} "
            f"scans (stratified by digit, seed {options.seed}); each split's images use only its own pool",
        ),
    )


def digit_glyphs(images: np.ndarray, scale: int) -> np.ndarray:
    """load_digits scans (values 0..16) as ``uint8`` 0..255, each pixel repeated ``scale`` x ``scale`` times.

    Args:
        images: Scans, with the shape of (N, 8, 8).
        scale: Enlargement factor.

    Returns:
        Glyphs, with the shape of (N, 8*scale, 8*scale), ``uint8``.
    """
    rescaled = np.rint(np.asarray(images, dtype=np.float64) * (255 / 16)).astype(np.uint8)
    return rescaled.repeat(scale, axis=1).repeat(scale, axis=2)


def _compose_digits(split: str, pool: np.ndarray, size: int, glyphs: np.ndarray, targets: np.ndarray,
                    options: DigitsOptions, rng: np.random.Generator) -> ImageSplit:
    """``size`` images of ``min_digits``..``max_digits`` glyphs drawn from ``pool``."""
    side = glyphs.shape[1]
    pixels = np.zeros((size, 1, side, side * options.max_digits), dtype=np.uint8)
    counts = rng.integers(options.min_digits, options.max_digits + 1, size=size)
    sources, labels, captions = [], [], []
    for i, k in enumerate(counts):
        chosen = pool[rng.integers(0, len(pool), size=k)]
        for slot, source in enumerate(chosen):
            pixels[i, 0, :, slot * side : (slot + 1) * side] = glyphs[source]
        digits = tuple(int(d) for d in targets[chosen])
        sources.append(tuple(int(s) for s in chosen))
        labels.append(digits)
        captions.append((" ".join(DIGIT_WORDS[d] for d in digits),))
    ids = [f"digits-{split}-{i:05d}" for i in range(size)]
    return ImageSplit(ids=ids, pixels=pixels, captions=captions, labels=labels, sources=sources)


# --------------------------------------------------------------------------------------------------
# flickr8k


class Flickr8kOptions(BaseModel):
    """Options of the ``flickr8k`` dataset."""

    model_config = ConfigDict(extra="forbid")

    subdir: RelativePath = Field("flickr8k_1k", min_length=1, description="folder under the data directory")
    images: RelativePath = Field("images", min_length=1, description="image folder, relative to subdir")
    captions_file: RelativePath = Field(
        "auto", min_length=1,
        description="captions file, relative to subdir: auto = captions.txt if present, else Flickr8k.token.txt",
    )
    splits_file: RelativePath | None = Field(
        KARPATHY_FLICKR8K,
        description='Karpathy split json, relative to subdir; seeded split when "" or when the default file is absent',
    )
    valid_fraction: float = Field(0.1, gt=0, lt=1, description="fraction of images for validation (seeded split)")
    test_fraction: float = Field(0.1, gt=0, lt=1, description="fraction of images for test (seeded split)")
    seed: int = Field(0, ge=0, description="seed of the split (numpy default_rng)")
    image_size: int = Field(128, ge=8, le=1024, description="images are resized to image_size x image_size")
    max_images: int | None = Field(None, ge=3, description="use only the first N images by file name (None: all)")
    missing_images: Literal["error", "skip"] = Field(
        "error", description="a caption for an image file that does not exist: error, or skip the image"
    )

    @model_validator(mode="after")
    def _fractions_leave_training_data(self) -> Flickr8kOptions:
        _check_fractions(self.valid_fraction, self.test_fraction)
        return self


def load_flickr8k(options: Flickr8kOptions, data_dir: Path | None) -> CaptionCorpus:
    """Read Flickr8k from ``<data_dir>/<subdir>/``.

    Captions come from either format, chosen by ``captions_file`` (by default ``captions.txt`` if it
    exists, else ``Flickr8k.token.txt``) and recognised by its first line:

    - ``captions.txt`` (Kaggle): CSV with the header ``image,caption``, a caption that holds a comma
      is quoted (read with the :mod:`csv` module);
    - ``Flickr8k.token.txt`` (original): ``<image>#<n><TAB><caption>`` per line.

    Only trailing and leading whitespace of a caption is stripped. An image must exist in
    ``<subdir>/<images>/``; the original token file also names ``2258277193_586949ec62.jpg.1``,
    which the original image archive lacks, so loading it needs ``missing_images = "skip"``.
    ``max_images`` then keeps the first N images by file name.

    The split is Karpathy's (``splits_file``, default ``dataset_flickr8k.json``: 6,000/1,000/1,000
    images on the full dataset, ``restval`` counted as training) when that file exists, else a
    seeded split by image (``valid_fraction``, ``test_fraction``, ``seed``), so all captions of an
    image are in one split. Images within a split are sorted by file name.

    Images are decoded with Pillow (JPEGs in draft mode, see :func:`decode_images`), converted to
    RGB and resized to ``image_size`` x ``image_size`` with bilinear filtering, stretched: the
    aspect ratio is not kept and nothing is cropped.

    Args:
        options: Validated options.
        data_dir: The data folder that contains ``<subdir>/``.

    Returns:
        The corpus; pixels have the shape of (N, 3, image_size, image_size).

    Raises:
        DataError: The folder, image folder or captions file is missing; the captions file is
            empty, not UTF-8, has a malformed line or an empty caption; an image it names does not
            exist (unless skipped); the splits file is malformed or lacks an image; an image is
            corrupt; or a split would be empty.
    """
    folder = dataset_folder(data_dir, options.subdir, "flickr8k", FLICKR8K_URL, downloadable=False)
    images_dir = _image_folder(folder / options.images, "flickr8k", FLICKR8K_URL)
    captions_path = _flickr_captions_path(folder, options.captions_file)
    by_image = read_flickr_captions(captions_path)
    by_image, notes = _drop_missing(by_image, images_dir, captions_path, options.missing_images)
    names = sorted(by_image)[: options.max_images]
    splits_path = folder / options.splits_file if options.splits_file else None
    if splits_path is not None and (splits_path.is_file() or options.splits_file != KARPATHY_FLICKR8K):
        assignment = _read_karpathy_splits(splits_path, names)
        notes.append(f"Karpathy split from {splits_path.name}")
    else:
        assignment = _seeded_assignment(names, options, captions_path, notes)
    splits = _photo_splits(assignment, by_image, images_dir, options.image_size, notes)
    return CaptionCorpus(name="flickr8k", **splits, citation=FLICKR8K_CITATION, notes=tuple(notes))


def _flickr_captions_path(folder: Path, captions_file: str) -> Path:
    """The captions file ``captions_file`` names, resolving ``"auto"``; it must exist."""
    hint = how_to_get("flickr8k", folder.parent, FLICKR8K_URL, downloadable=False)
    if captions_file == "auto":
        for name in ("captions.txt", "Flickr8k.token.txt"):
            if (folder / name).is_file():
                return folder / name
        raise DataError(f"missing file {folder / 'captions.txt'} (nor is there a Flickr8k.token.txt); {hint}")
    path = folder / captions_file
    if not path.is_file():
        present = [p.name for p in folder.iterdir() if p.is_file()]
        raise DataError(f"missing file {path}{hint_suffix(captions_file, present)}; {hint}")
    return path


_TOKEN_LINE = re.compile(r"(?P<image>[^\t#]+)#(?P<n>\d+)\t(?P<caption>.*)")


def read_flickr_captions(path: Path) -> dict[str, list[str]]:
    """The captions of each image in a Flickr8k captions file (either format), images in file order.

    The format is told by the first line: ``image,caption`` means the Kaggle CSV, anything else
    the original ``<image>#<n><TAB><caption>`` token format. Blank lines are ignored.

    Raises:
        DataError: The file is missing, empty, not UTF-8, or has a malformed line (named by
            number), an image that is not a plain file name, or an empty caption.
    """
    require_file(path, how_to_get("flickr8k", path.parent.parent, FLICKR8K_URL, downloadable=False))
    text = decode_utf8(path.read_bytes(), path).removeprefix("\ufeff")
    if not text.strip():
        raise DataError(f"{path} is empty; it must list '<image>,<caption>' (CSV) or '<image>#<n><TAB><caption>' lines")
    first = text.split("\n", 1)[0].strip()
    rows = _csv_rows(text, path) if first.replace(" ", "") == "image,caption" else _token_rows(text, path)
    by_image: dict[str, list[str]] = {}
    for number, image, caption in rows:
        _check_caption(path, number, image, caption)
        by_image.setdefault(image, []).append(caption)
    if not by_image:
        raise DataError(f"{path} has a header but no captions")
    return by_image


def _csv_rows(text: str, path: Path) -> Iterable[tuple[int, str, str]]:
    """``(line number, image, caption)`` of a CSV captions file (after its header)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    try:
        next(reader)
        number = reader.line_num + 1
        for row in reader:
            if row and any(field.strip() for field in row):
                if len(row) != 2:
                    raise DataError(
                        f"{path} line {number} has {len(row)} comma-separated fields; expected 2 (image,caption) "
                        "- quote a caption that holds a comma"
                    )
                rows.append((number, row[0].strip(), row[1].strip()))
            number = reader.line_num + 1
    except csv.Error as e:
        raise DataError(f"{path} line {reader.line_num} is not valid CSV ({e})") from e
    return rows


def _token_rows(text: str, path: Path) -> Iterable[tuple[int, str, str]]:
    """``(line number, image, caption)`` of an original ``Flickr8k.token.txt`` file."""
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        match = _TOKEN_LINE.fullmatch(line)
        if match is None:
            raise DataError(
                f"{path} line {number} is not '<image>#<n><TAB><caption>' (a CSV captions file must start "
                f"with the header 'image,caption'): {line[:60]!r}"
            )
        rows.append((number, match["image"].strip(), match["caption"].strip()))
    return rows


def _check_caption(path: Path, number: int, image: str, caption: str) -> None:
    """Raise :class:`DataError` for an empty caption or an image that is not a plain file name."""
    if not image or image in (".", "..") or Path(image).name != image or "\\" in image:
        raise DataError(f"{path} line {number}: the image {image!r} is not a plain file name")
    if not caption:
        raise DataError(f"{path} line {number}: the caption of {image} is empty")


def _read_karpathy_splits(path: Path, names: Sequence[str]) -> dict[str, list[str]]:
    """Assign ``names`` to splits by a Karpathy ``dataset_*.json`` file (``restval`` is training)."""
    require_file(path, f"it holds the split (get it from {KARPATHY_SPLITS_URL}) or set splits_file = \"\"")
    data = _load_json(path)
    entries = data.get("images") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise DataError(f"{path} must be a JSON object with an 'images' list (Karpathy's dataset_*.json format)")
    split_of: dict[str, str] = {}
    for i, entry in enumerate(entries):
        filename = entry.get("filename") if isinstance(entry, dict) else None
        split = entry.get("split") if isinstance(entry, dict) else None
        if not isinstance(filename, str) or not isinstance(split, str):
            raise DataError(f"{path}: images[{i}] needs a 'filename' and a 'split' string")
        if split not in KARPATHY_SPLITS:
            raise DataError(f"{path}: images[{i}] ({filename}) has split {split!r}{hint_suffix(split, KARPATHY_SPLITS)}; "
                            f"accepted: {', '.join(KARPATHY_SPLITS)}")
        split_of[filename] = KARPATHY_SPLITS[split]
    return _assign(names, split_of, path, unlisted="use the splits file of this dataset, or set splits_file = \"\" for a "
                   "seeded split", empty="use more images (max_images), or set splits_file = \"\" for a seeded split")


def _assign(names: Sequence[str], split_of: dict[str, str], path: Path, *, unlisted: str, empty: str) -> dict[str, list[str]]:
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
    _check_nonempty(assignment, path, empty)
    return assignment


# --------------------------------------------------------------------------------------------------
# coco


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
        images_dir = _image_folder(folder / images, "coco", COCO_URL)
        by_image, uncaptioned = read_coco_captions(path)
        if uncaptioned:
            notes.append(f"{path.name}: left out {_count(uncaptioned, 'image')} without captions")
        by_image, dropped = _drop_missing(by_image, images_dir, path, options.missing_images)
        notes.extend(dropped)
        names = sorted(by_image)[: options.max_images]
        parts[role] = (names, by_image, images_dir, path)
    train_names, train_captions, train_dir, _ = parts["train"]
    valid_names, valid_captions, valid_dir, valid_path = parts["valid"]
    test_names, valid_names = _seeded_split(valid_names, (options.test_fraction,), options.seed)
    _check_nonempty({"train": train_names, "valid": valid_names, "test": test_names}, valid_path)
    notes.append(f"test is {options.test_fraction:g} of the {valid_path.name} images (seed {options.seed}), "
                 "split by image; valid is the rest")
    splits = {
        "train": _photo_split(train_names, train_captions, train_dir, options.image_size),
        "valid": _photo_split(valid_names, valid_captions, valid_dir, options.image_size),
        "test": _photo_split(test_names, valid_captions, valid_dir, options.image_size),
    }
    return CaptionCorpus(name="coco", **splits, citation=COCO_CITATION, notes=tuple(notes))


def read_coco_captions(path: Path) -> tuple[dict[str, list[str]], int]:
    """The captions of each image file of a COCO captions annotation file, and how many images have none.

    Raises:
        DataError: The file is missing, not UTF-8, not JSON, lacks a key, repeats an image id, or
            has an annotation for an unknown image id or with an empty caption.
    """
    require_file(path, how_to_get("coco", path.parent.parent, COCO_URL, downloadable=False))
    data = _load_json(path)
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


# --------------------------------------------------------------------------------------------------
# shared file handling


def _count(n: int, noun: str) -> str:
    """``"1 image"``, ``"2 images"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _load_json(path: Path) -> object:
    """The parsed content of a UTF-8 JSON file."""
    text = decode_utf8(path.read_bytes(), path)
    if not text.strip():
        raise DataError(f"{path} is empty; download it again")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}; download it again") from e


def _image_folder(path: Path, dataset: str, url: str) -> Path:
    """``path``, checked to be a folder."""
    if not path.is_dir():
        raise DataError(f"no image folder at {path}; {how_to_get(dataset, path.parent.parent, url, downloadable=False)}")
    return path


def _drop_missing(by_image: dict[str, list[str]], images_dir: Path, listing: Path,
                  missing_images: str) -> tuple[dict[str, list[str]], list[str]]:
    """``by_image`` without images absent from ``images_dir``: an error, or skipped and noted."""
    present = set(os.listdir(images_dir))
    missing = [name for name in by_image if name not in present]
    if not missing:
        return by_image, []
    if missing_images == "error" or len(missing) == len(by_image):
        raise DataError(
            f"{listing} names {len(missing)} of its {_count(len(by_image), 'image')} that are not in {images_dir}, "
            f"e.g. {missing[0]}; add them, or set missing_images = \"skip\" to leave them out"
        )
    kept = {name: captions for name, captions in by_image.items() if name in present}
    return kept, [f"skipped {len(missing)} of the {_count(len(by_image), 'image')} of {listing.name} missing from "
                  f"{images_dir.name}/ (e.g. {missing[0]})"]


def _check_fractions(valid_fraction: float, test_fraction: float) -> None:
    """Raise ``ValueError`` (an options error) when the two fractions leave no training images."""
    if valid_fraction + test_fraction >= 1:
        raise ValueError(f"valid_fraction + test_fraction = {valid_fraction + test_fraction:g} leaves nothing "
                         "for training; keep their sum below 1")


def _seeded_split(names: Sequence[str], fractions: Sequence[float], seed: int) -> list[list[str]]:
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


def _check_nonempty(assignment: dict[str, list[str]], where: Path,
                    fix: str = "use more images (max_images) or other fractions") -> None:
    """Raise :class:`DataError`, ending in ``fix``, when a split of ``assignment`` has no image."""
    empty = [split for split, names in assignment.items() if not names]
    if empty:
        counts = ", ".join(f"{split} {len(names)}" for split, names in assignment.items())
        raise DataError(f"{where}: splitting gives {counts} images, so {' and '.join(empty)} would be empty; {fix}")


def _seeded_assignment(names: Sequence[str], options: Flickr8kOptions | ImageFolderOptions, where: Path,
                       notes: list[str]) -> dict[str, list[str]]:
    """The images ``names`` split with the options' seed and fractions (:func:`_seeded_split`), noted in ``notes``.

    Raises:
        DataError: a split would be empty (naming ``where``).
    """
    test, valid, train = _seeded_split(names, (options.test_fraction, options.valid_fraction), options.seed)
    assignment = {"train": train, "valid": valid, "test": test}
    _check_nonempty(assignment, where)
    notes.append(f"seeded split by image (valid_fraction {options.valid_fraction:g}, "
                 f"test_fraction {options.test_fraction:g}, seed {options.seed})")
    return assignment


def _photo_splits(assignment: dict[str, list[str]], by_image: dict[str, list[str]], images_dir: Path, size: int,
                  notes: list[str]) -> dict[str, ImageSplit]:
    """Every split's images decoded (:func:`_photo_split`), their counts noted in ``notes``."""
    splits = {split: _photo_split(assignment[split], by_image, images_dir, size) for split in SPLITS}
    notes.append("images: " + "/".join(f"{len(splits[s])}" for s in SPLITS) + " (train/valid/test), "
                 f"{sum(len(c) for s in splits.values() for c in s.captions)} captions")
    return splits


def _photo_split(names: Sequence[str], by_image: dict[str, list[str]], images_dir: Path, size: int) -> ImageSplit:
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


# --------------------------------------------------------------------------------------------------
# image-folder: the user's own images and captions


class ImageFolderOptions(BaseModel):
    """Options of the ``image-folder`` dataset: your own images and captions.

    ``images`` is a folder of image files; ``captions`` lists their captions, several per image allowed: a CSV with
    the header ``image,caption`` (Flickr8k's Kaggle layout; Flickr8k's ``<image>#<n><TAB><caption>`` token format
    is read too) or a JSONL file of ``{"image": ..., "caption": ...}`` or ``{"image": ..., "captions": [...]}``
    objects. ``splits`` (optional) assigns images to train/valid/test: a CSV with the header ``image,split`` or a JSON
    object ``{"train": [...], "valid": [...], "test": [...]}``; without it the images are split with a seed. Paths
    are relative to the data directory, or absolute.
    """

    model_config = ConfigDict(extra="forbid")

    images: DataPath = Field(min_length=1, description="folder of the image files")
    captions: DataPath = Field(min_length=1, description="captions file: CSV image,caption or JSONL")
    splits: DataPath | None = Field(None, min_length=1, description="split file: CSV image,split or JSON; "
                                                                   "default: a seeded split by image")
    valid_fraction: float = Field(0.1, gt=0, lt=1, description="fraction of images for validation (seeded split)")
    test_fraction: float = Field(0.1, gt=0, lt=1, description="fraction of images for test (seeded split)")
    seed: int = Field(0, ge=0, description="seed of the split (numpy default_rng)")
    image_size: int = Field(128, ge=8, le=1024, description="images are resized to image_size x image_size")
    max_images: int | None = Field(None, ge=3, description="use only the first N images by file name (None: all)")
    missing_images: Literal["error", "skip"] = Field(
        "error", description="a caption for an image file that does not exist: error, or skip the image")
    citation: str = Field("", description="how to cite the images and captions; shown in reports")

    @model_validator(mode="after")
    def _fractions_leave_training_data(self) -> ImageFolderOptions:
        _check_fractions(self.valid_fraction, self.test_fraction)
        return self


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
    by_image, notes = _drop_missing(by_image, images_dir, captions_path, options.missing_images)
    names = sorted(by_image)[: options.max_images]
    if options.splits is not None:
        splits_path = resolve_data_path(data_dir, options.splits, "image-folder")
        assignment = _read_split_file(splits_path, names)
        notes.append(f"split from {splits_path.name}")
    else:
        assignment = _seeded_assignment(names, options, captions_path, notes)
    splits = _photo_splits(assignment, by_image, images_dir, options.image_size, notes)
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
            _check_caption(path, number, image.strip(), caption.strip())
            by_image.setdefault(image.strip(), []).append(caption.strip())
    if not by_image:
        raise DataError(f"{path} holds no captions")
    return by_image


def _read_split_file(path: Path, names: Sequence[str]) -> dict[str, list[str]]:
    """Assign ``names`` to splits by a CSV ``image,split`` or a JSON ``{"train": [...], ...}`` file."""
    require_file(path, "set [dataset] splits to your split file, or leave it out for a seeded split")
    split_of: dict[str, str] = {}
    if path.suffix.lower() == ".json":
        data = _load_json(path)
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
    return _assign(names, split_of, path, unlisted="list every captioned image, or leave splits out for a seeded split",
                   empty="assign images to every split")


# --------------------------------------------------------------------------------------------------
# registry

DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        name="digits",
        summary="1-4 handwritten digits side by side, captioned in words, from scikit-learn's digits (embedded)",
        options=DigitsOptions,
        load=load_digits_captions,
        needs_data_dir=False,
    ),
    "flickr8k": DatasetInfo(
        name="flickr8k",
        summary="Flickr8k photographs with 5 captions each (captions.txt or Flickr8k.token.txt), Karpathy split",
        options=Flickr8kOptions,
        load=load_flickr8k,
        needs_data_dir=True,
    ),
    "coco": DatasetInfo(
        name="coco",
        summary="COCO captions (captions_train/val2014.json + images), test carved from val by image",
        options=CocoOptions,
        load=load_coco,
        needs_data_dir=True,
    ),
    "image-folder": DatasetInfo(
        name="image-folder",
        summary="your own images and captions: a folder, a CSV or JSONL captions file, an optional split file",
        options=ImageFolderOptions,
        load=load_image_folder,
        needs_data_dir=True,
    ),
}
"""Every captioning dataset, by name."""
