"""Captioning with a kept model: image files in, normalised like the training images.

``--input`` is an image file, a folder (every ``.jpg``, ``.jpeg``, ``.png``, ``.bmp`` and ``.gif`` in it, in name
order), or a text file listing image paths one per line (relative paths are relative to the list's folder).
Each image is decoded with Pillow, converted to RGB (or to grey for one-channel models), resized to the
model's ``H x W`` with bilinear filtering (stretched, as the datasets are) and normalised with the training
pixel mean and standard deviation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def image_paths(path: Path) -> list[Path]:
    """The image files ``path`` names (see the module docstring).

    Raises:
        DataError: nothing there, an empty folder or list, or a listed file that does not exist.
    """
    if not path.exists():
        raise DataError(f"input '{path}' does not exist")
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise DataError(f"input folder '{path}' has no image files ({', '.join(IMAGE_SUFFIXES)})")
        return found
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return [path]
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise DataError(f"input '{path}' is neither an image ({', '.join(IMAGE_SUFFIXES)}) nor a text list of image "
                        "paths") from None
    if not lines:
        raise DataError(f"input list '{path}' names no image")
    listed = [p if p.is_absolute() else path.parent / p for p in map(Path, lines)]
    for p in listed:
        if not p.is_file():
            raise DataError(f"input list '{path}' names '{p}', which does not exist")
    return listed


def read_images(path: Path, shape: Sequence[int]):
    """``(paths, images)``: the image files and a ``uint8`` CPU tensor with the shape of (N, C, H, W), each image
    resized to ``shape``'s H x W (normalised later, like the training images:
    :meth:`harness_tasks.captioning.task.Split.normalised`).

    Raises:
        DataError: see :func:`image_paths`, or a file Pillow cannot decode.
    """
    import torch
    from PIL import Image, UnidentifiedImageError

    C, H, W = (int(v) for v in shape)
    paths = image_paths(path)
    pixels = np.zeros((len(paths), H, W, C), dtype=np.uint8)
    for i, p in enumerate(paths):
        try:
            with Image.open(p) as image:
                converted = image.convert("L" if C == 1 else "RGB").resize((W, H), Image.Resampling.BILINEAR)
                pixels[i] = np.asarray(converted).reshape(H, W, C)
        except (UnidentifiedImageError, OSError) as exc:
            raise DataError(f"cannot decode image '{p}': {exc}") from None
    return [str(p) for p in paths], torch.from_numpy(np.ascontiguousarray(pixels.transpose(0, 3, 1, 2)))
