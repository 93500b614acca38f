"""The embedded ``digits`` dataset: images of 1 to 4 handwritten digits side by side, captioned with the
digits' English words ("four one seven").

Composed offline from the 1,797 8x8 digit scans bundled with scikit-learn
(``sklearn.datasets.load_digits``, the UCI "Optical Recognition of Handwritten Digits" test set,
Alpaydin & Kaynak 1998); needs no files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from harness_tasks.captioning.data.corpus import SPLITS, CaptionCorpus, ImageSplit
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.task import DatasetInfo

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
"""The caption word of each digit."""

DIGIT_POOL_FRACTIONS = (0.70, 0.15, 0.15)
"""Shares of the 1,797 source digit scans given to the train, valid and test pools."""

DIGITS_CITATION = (
    "handwritten digits of scikit-learn's load_digits (UCI Optical Recognition of Handwritten Digits, "
    "Alpaydin & Kaynak 1998, CC BY 4.0), composed into multi-digit images"
)


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


DIGITS = DatasetInfo(
    name="digits",
    summary="1-4 handwritten digits side by side, captioned in words, from scikit-learn's digits (embedded)",
    options=DigitsOptions,
    load=load_digits_captions,
    needs_data_dir=False,
)
"""The ``digits`` dataset, registered as ``captioning.digits`` in the ``harness.datasets`` entry points."""
