"""The ``multi30k`` dataset: Multi30k task 1, English-German image descriptions, and its download.

Source: Elliott et al., 2016, "Multi30K: Multilingual English-German Image Descriptions", ACL VL
workshop, W16-3210; read from the raw gzip files of https://github.com/multi30k/dataset
(``data/task1/raw/``).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Literal

from harness_tasks.translation.data.corpus import Corpus, single_reference
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.datafiles import CHUNK_BYTES, RelativePath, dataset_folder, decode_utf8, fetch, how_to_get, require_file
from harness.errors import DataError
from harness.task import DatasetInfo

MULTI30K_URL = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/"
"""Public folder holding Multi30k task 1's raw gzip files (the dataset's own GitHub repository)."""

MULTI30K_SPLITS = {"train": "train", "valid": "val", "test": "test_2016_flickr"}
"""Split name -> file stem in Multi30k's ``data/task1/raw/`` (test is the 2016 Flickr test set)."""

MULTI30K_FILES = tuple(f"{stem}.{lang}.gz" for stem in MULTI30K_SPLITS.values() for lang in ("en", "de"))
"""The six files :func:`download_multi30k` fetches and :func:`load_multi30k` reads."""


class Multi30kOptions(BaseModel):
    """Options of the ``multi30k`` dataset (task 1, English-German)."""

    model_config = ConfigDict(extra="forbid")

    source_lang: Literal["en", "de"] = Field("de", description="source language")
    target_lang: Literal["en", "de"] = Field("en", description="target language")
    subdir: RelativePath = Field("multi30k", min_length=1, description="folder under the data directory")

    @model_validator(mode="after")
    def _languages_differ(self) -> Multi30kOptions:
        if self.source_lang == self.target_lang:
            raise ValueError(
                f"source_lang and target_lang are both '{self.source_lang}'; use 'de' and 'en' (either order)"
            )
        return self


def load_multi30k(options: Multi30kOptions, data_dir: Path | None) -> Corpus:
    """Read Multi30k task 1 from ``<data_dir>/<subdir>/``.

    The files are the dataset's raw gzip files: ``train.{en,de}.gz`` (29,000 lines),
    ``val.{en,de}.gz`` (1,014) and ``test_2016_flickr.{en,de}.gz`` (1,000), one untokenised
    sentence per line, line-aligned between languages. Only trailing whitespace is stripped.

    Args:
        options: Validated options.
        data_dir: The data folder that contains ``<subdir>/``.

    Returns:
        The corpus, one reference per example.

    Raises:
        DataError: The folder or a file is missing, a file is empty, not gzip, not UTF-8, has an
            empty line, or the two languages of a split have different line counts.
    """
    folder = dataset_folder(data_dir, options.subdir, "multi30k", MULTI30K_URL)
    splits = {
        split: _read_aligned(folder, stem, options.source_lang, options.target_lang)
        for split, stem in MULTI30K_SPLITS.items()
    }
    return Corpus(
        name="multi30k",
        source_lang=options.source_lang,
        target_lang=options.target_lang,
        train=splits["train"],
        valid=single_reference(splits["valid"]),
        test=single_reference(splits["test"]),
        bleu_tokenize="13a",
        citation="Multi30k task 1 (Elliott et al., 2016, W16-3210); for non-commercial research and education",
    )


def _read_aligned(folder: Path, stem: str, source_lang: str, target_lang: str) -> list[tuple[str, str]]:
    """Read ``<stem>.<source_lang>.gz`` and ``<stem>.<target_lang>.gz`` as aligned pairs."""
    source_path = folder / f"{stem}.{source_lang}.gz"
    target_path = folder / f"{stem}.{target_lang}.gz"
    sources = _read_sentences(source_path)
    targets = _read_sentences(target_path)
    if len(sources) != len(targets):
        raise DataError(
            f"{source_path} has {len(sources)} lines but {target_path} has {len(targets)}; "
            "the two languages must be line-aligned (re-download them)"
        )
    return list(zip(sources, targets))


def _read_sentences(path: Path) -> list[str]:
    """One sentence per line of a gzip UTF-8 file, trailing whitespace stripped, none empty."""
    lines = _split_lines(decode_utf8(_read_gzip(path), path))
    for number, line in enumerate(lines, start=1):
        if not line:
            raise DataError(f"{path} line {number} is empty; every line must hold one sentence")
    return lines


def _read_gzip(path: Path) -> bytes:
    """The decompressed content of a gzip file that must exist and be non-empty."""
    require_file(path, how_to_get("multi30k", path.parent.parent, MULTI30K_URL))
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise DataError(f"{path} is not a valid gzip file ({e}); delete it and download it again") from e
    if not data:
        raise DataError(f"{path} is empty; delete it and download it again")
    return data


def download_multi30k(data_dir: Path, base_url: str = MULTI30K_URL) -> None:
    """Download Multi30k task 1's six raw gzip files into ``<data_dir>/multi30k/``.

    Files already present are kept. Each file is written to a temporary file in the same folder,
    checked to be a readable gzip, and then renamed, so an interrupted download leaves no
    half-written file.

    Args:
        data_dir: The data folder; ``multi30k/`` is created inside it.
        base_url: Folder URL holding the files (``https://``, ``http://`` or ``file://``).

    Raises:
        DataError: A file cannot be fetched or is not gzip.
    """
    folder = Path(data_dir) / "multi30k"
    folder.mkdir(parents=True, exist_ok=True)
    for name in MULTI30K_FILES:
        destination = folder / name
        if not destination.exists():
            fetch(base_url.rstrip("/") + "/" + name, destination, _check_gzip)


def _check_gzip(path: Path, url: str) -> None:
    """Raise :class:`DataError` unless ``path`` (downloaded from ``url``) decompresses fully."""
    try:
        with gzip.open(path, "rb") as f:
            while f.read(CHUNK_BYTES):
                pass
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise DataError(f"{url} did not return a valid gzip file ({e}); check the URL") from e


def _split_lines(text: str) -> list[str]:
    """Lines of ``text`` split on ``\\n`` only, trailing whitespace (``\\r`` included) stripped.

    Splitting on ``\\n`` alone (not :meth:`str.splitlines`) keeps line numbers aligned with what
    other tools count, even when a sentence holds a Unicode line or paragraph separator.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip() for line in lines]


MULTI30K = DatasetInfo(
    name="multi30k",
    summary="Multi30k task 1 image descriptions, German <-> English, 29,000/1,014/1,000 sentences",
    options=Multi30kOptions,
    load=load_multi30k,
    needs_data_dir=True,
    download=download_multi30k,
)
"""The ``multi30k`` dataset, registered as ``translation.multi30k`` in the ``harness.datasets`` entry points."""
