"""What every captioning loader returns: a :class:`CaptionCorpus` of three :class:`ImageSplit`\\ s."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
