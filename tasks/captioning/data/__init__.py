"""Image captioning corpora: embedded multi-digit images, Flickr8k and COCO captions, and your own images.

Every dataset has a pydantic options model (unknown keys are rejected) and a loader that turns validated options
and a data folder into a :class:`CaptionCorpus`: three :class:`ImageSplit`\\ s of same-sized ``uint8`` images with
their raw, untokenised reference captions. Each dataset's module ends with its :class:`~harness.task.DatasetInfo`
(``FLICKR8K``), registered as ``captioning.<name>`` in the ``harness.datasets`` entry points of pyproject.toml, the
same way a plugin registers a dataset; the task's :meth:`datasets` reads them from there. Each dataset lives in its
own module, with its options model, loader and constants; everything public is re-exported here.

Datasets:
    ``digits`` (module :mod:`~harness_tasks.captioning.data.digits`): images of 1 to 4 handwritten
        digits side by side, captioned with the digits' English words ("four one seven"), composed
        offline from the 1,797 8x8 digit scans bundled with scikit-learn
        (``sklearn.datasets.load_digits``, the UCI "Optical Recognition of Handwritten Digits" test
        set, Alpaydin & Kaynak 1998); needs no files.
    ``flickr8k`` (module :mod:`~harness_tasks.captioning.data.flickr8k`): Flickr8k (Hodosh, Young &
        Hockenmaier, 2013, "Framing Image Description as a Ranking Task: Data, Models and Evaluation
        Metrics", JAIR 47): an ``images/`` folder and its captions, five per image, in the Kaggle
        ``captions.txt`` CSV or the original ``Flickr8k.token.txt``; split by Karpathy's
        ``dataset_flickr8k.json`` (Karpathy & Fei-Fei, 2015) when present.
    ``coco`` (module :mod:`~harness_tasks.captioning.data.coco`): COCO captions (Lin et al., 2014,
        "Microsoft COCO: Common Objects in Context", ECCV; Chen et al., 2015, "Microsoft COCO
        Captions", arXiv:1504.00325): ``captions_<split>.json`` annotation files and their image
        folders.
    ``image-folder`` (module :mod:`~harness_tasks.captioning.data.image_folder`): your own folder of
        images, a CSV or JSONL captions file and an optional split file.

Shared modules:
    :mod:`~harness_tasks.captioning.data.corpus`: :class:`CaptionCorpus`, :class:`ImageSplit` and
        :data:`SPLITS`, what every loader returns.
    :mod:`~harness_tasks.captioning.data.photos`: file handling shared by ``flickr8k``, ``coco`` and
        ``image-folder``: caption and folder checks, missing images, split files, seeded splits and
        :func:`decode_images`.

Images are decoded with Pillow, converted to RGB and resized to ``image_size`` x ``image_size``
(bilinear, stretched: the aspect ratio is not kept and nothing is cropped). Every problem with the
files (missing folder or file, empty file, text that is not UTF-8, a malformed line or JSON, a
caption for an image that is missing, a corrupt image, an empty caption) raises
:class:`~harness.errors.DataError` with a one-line message naming the file and how to fix it.
"""

from __future__ import annotations

from harness_tasks.captioning.data.coco import COCO, COCO_CITATION, COCO_URL, CocoOptions, load_coco, read_coco_captions
from harness_tasks.captioning.data.corpus import SPLITS, CaptionCorpus, ImageSplit
from harness_tasks.captioning.data.digits import (
    DIGIT_POOL_FRACTIONS,
    DIGIT_WORDS,
    DIGITS,
    DIGITS_CITATION,
    DigitsOptions,
    digit_glyphs,
    load_digits_captions,
)
from harness_tasks.captioning.data.flickr8k import (
    FLICKR8K,
    FLICKR8K_CITATION,
    FLICKR8K_URL,
    KARPATHY_FLICKR8K,
    KARPATHY_SPLITS,
    KARPATHY_SPLITS_URL,
    Flickr8kOptions,
    load_flickr8k,
    read_flickr_captions,
)
from harness_tasks.captioning.data.image_folder import IMAGE_FOLDER, ImageFolderOptions, load_image_folder
from harness_tasks.captioning.data.photos import decode_images

__all__ = [
    "COCO",
    "COCO_CITATION",
    "COCO_URL",
    "DIGITS",
    "DIGITS_CITATION",
    "DIGIT_POOL_FRACTIONS",
    "DIGIT_WORDS",
    "FLICKR8K",
    "FLICKR8K_CITATION",
    "FLICKR8K_URL",
    "IMAGE_FOLDER",
    "KARPATHY_FLICKR8K",
    "KARPATHY_SPLITS",
    "KARPATHY_SPLITS_URL",
    "SPLITS",
    "CaptionCorpus",
    "CocoOptions",
    "DigitsOptions",
    "Flickr8kOptions",
    "ImageFolderOptions",
    "ImageSplit",
    "decode_images",
    "digit_glyphs",
    "load_coco",
    "load_digits_captions",
    "load_flickr8k",
    "load_image_folder",
    "read_coco_captions",
    "read_flickr_captions",
]
