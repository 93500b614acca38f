"""The ``flickr8k`` dataset: Flickr8k photographs with five captions each, split by Karpathy's split file.

Flickr8k: Hodosh, Young & Hockenmaier, 2013, "Framing Image Description as a Ranking Task: Data,
Models and Evaluation Metrics", JAIR 47. An ``images/`` folder and its captions, five per image, in
the Kaggle ``captions.txt`` CSV or the original ``Flickr8k.token.txt``; split by Karpathy's
``dataset_flickr8k.json`` (Karpathy & Fei-Fei, 2015, "Deep Visual-Semantic Alignments for
Generating Image Descriptions", CVPR) when present, else with a seed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from harness_tasks.captioning.data.corpus import CaptionCorpus
from harness_tasks.captioning.data.photos import (
    SeededPhotoOptions,
    assign,
    check_caption,
    checked_image_folder,
    drop_missing,
    load_json,
    photo_splits,
    seeded_assignment,
)
from pydantic import Field

from harness.datafiles import RelativePath, dataset_folder, decode_utf8, how_to_get, require_file
from harness.errors import DataError, hint_suffix
from harness.task import DatasetInfo

FLICKR8K_URL = "https://github.com/jbrownlee/Datasets/releases/tag/Flickr8k"
"""A public copy of Flickr8k (``Flickr8k_Dataset.zip`` with the images, ``Flickr8k_text.zip`` with
``Flickr8k.token.txt``); the original University of Illinois request form is gone."""

KARPATHY_SPLITS_URL = "https://cs.stanford.edu/people/karpathy/deepimagesent/caption_datasets.zip"
"""Karpathy & Fei-Fei's split files (``dataset_flickr8k.json``, ``dataset_coco.json``, ...)."""

FLICKR8K_CITATION = (
    "Flickr8k (Hodosh, Young & Hockenmaier, JAIR 2013); research use only, image copyright stays with the owners"
)

KARPATHY_FLICKR8K = "dataset_flickr8k.json"
"""Default name of Karpathy's Flickr8k split file (``flickr8k`` uses it when it is in the folder)."""

KARPATHY_SPLITS = {"train": "train", "restval": "train", "val": "valid", "test": "test"}
"""Split name in Karpathy's json -> split of the corpus (``restval`` is training data)."""


class Flickr8kOptions(SeededPhotoOptions):
    """Options of the ``flickr8k`` dataset."""


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
    images_dir = checked_image_folder(folder / options.images, "flickr8k", FLICKR8K_URL)
    captions_path = _flickr_captions_path(folder, options.captions_file)
    by_image = read_flickr_captions(captions_path)
    by_image, notes = drop_missing(by_image, images_dir, captions_path, options.missing_images)
    names = sorted(by_image)[: options.max_images]
    splits_path = folder / options.splits_file if options.splits_file else None
    if splits_path is not None and (splits_path.is_file() or options.splits_file != KARPATHY_FLICKR8K):
        assignment = _read_karpathy_splits(splits_path, names)
        notes.append(f"Karpathy split from {splits_path.name}")
    else:
        assignment = seeded_assignment(names, options, captions_path, notes)
    splits = photo_splits(assignment, by_image, images_dir, options.image_size, notes)
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
        check_caption(path, number, image, caption)
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


def _read_karpathy_splits(path: Path, names: Sequence[str]) -> dict[str, list[str]]:
    """Assign ``names`` to splits by a Karpathy ``dataset_*.json`` file (``restval`` is training)."""
    require_file(path, f"it holds the split (get it from {KARPATHY_SPLITS_URL}) or set splits_file = \"\"")
    data = load_json(path)
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
    return assign(names, split_of, path, unlisted="use the splits file of this dataset, or set splits_file = \"\" for a "
                   "seeded split", empty="use more images (max_images), or set splits_file = \"\" for a seeded split")


FLICKR8K = DatasetInfo(
    name="flickr8k",
    summary="Flickr8k photographs with 5 captions each (captions.txt or Flickr8k.token.txt), Karpathy split",
    options=Flickr8kOptions,
    load=load_flickr8k,
    needs_data_dir=True,
)
"""The ``flickr8k`` dataset, registered as ``captioning.flickr8k`` in the ``harness.datasets`` entry points."""
