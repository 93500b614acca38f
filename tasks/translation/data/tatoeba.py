"""The ``tatoeba`` dataset: sentence pairs of the Tatoeba Project, and their download.

Source: the Tatoeba Project (https://tatoeba.org, CC-BY 2.0 FR), in the tab-separated "Anki" format
of https://www.manythings.org/anki/.
"""

from __future__ import annotations

import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Literal

from harness_tasks.translation.data.corpus import Corpus, Example, group_by_source, split_sources, text_lines
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.datafiles import DataPath, dataset_folder, fetch, how_to_get, resolve_data_path, write_atomically
from harness.errors import DataError
from harness.task import DatasetInfo

TATOEBA_URL = "https://www.manythings.org/anki/deu-eng.zip"
"""manythings.org's English-German Anki archive; it holds ``deu.txt``."""


class TatoebaOptions(BaseModel):
    """Options of the ``tatoeba`` dataset (manythings.org Anki pairs)."""

    model_config = ConfigDict(extra="forbid")

    file: DataPath = Field(
        "tatoeba/deu.txt", min_length=1, description="pairs file, relative to the data directory, or absolute"
    )
    lang: str = Field("de", pattern=r"^[a-z]{2,3}$", description="language of the file's second column")
    direction: Literal["en-xx", "xx-en"] = Field("en-xx", description="en-xx: English -> lang; xx-en: lang -> English")
    valid_fraction: float = Field(0.05, gt=0, lt=1, description="fraction of distinct sources for validation")
    test_fraction: float = Field(0.05, gt=0, lt=1, description="fraction of distinct sources for test")
    seed: int = Field(0, ge=0, description="seed of the split (numpy default_rng)")
    max_pairs: int | None = Field(None, ge=1, description="use only the file's first N pairs (None: all)")
    header: Literal["auto"] | bool = Field(
        "auto", description="skip the first line: auto = when all its fields are integers (as in '1<TAB>2')"
    )

    @model_validator(mode="after")
    def _fractions_leave_training_data(self) -> TatoebaOptions:
        if self.valid_fraction + self.test_fraction >= 1:
            raise ValueError(
                f"valid_fraction + test_fraction = {self.valid_fraction + self.test_fraction:g} "
                "leaves nothing for training; keep their sum below 1"
            )
        return self


def load_tatoeba(options: TatoebaOptions, data_dir: Path | None) -> Corpus:
    """Read and split a manythings.org/Tatoeba pairs file.

    Each line is ``English<TAB>other language[<TAB>attribution]`` (LF or CRLF line ends); an
    optional header line is skipped (see ``TatoebaOptions.header``). Tatoeba translates many
    sentences several times, so the split is by source sentence: the distinct sources are shuffled
    with ``numpy.random.default_rng(seed)`` and no source is in two splits. Training gets every
    ``(source, target)`` pair of its sources; a validation or test example carries all distinct
    translations of its source as references.

    Args:
        options: Validated options.
        data_dir: The data folder against which ``options.file`` is resolved.

    Returns:
        The corpus; the order inside each split follows the file.

    Raises:
        DataError: The folder or file is missing, the file is empty or not UTF-8, a line has the
            wrong number of columns or an empty sentence, or a split would be empty.
    """
    folder = Path(options.file).parent if Path(options.file).is_absolute() else \
        dataset_folder(data_dir, None, "tatoeba", TATOEBA_URL)
    path = resolve_data_path(folder, options.file, "tatoeba")
    pairs = _read_tatoeba_pairs(path, options.header, how_to_get("tatoeba", folder, TATOEBA_URL))
    if options.max_pairs is not None:
        pairs = pairs[: options.max_pairs]
    if options.direction == "xx-en":
        pairs = [(target, source) for source, target in pairs]
    by_source = group_by_source(pairs)
    train_sources, valid_sources, test_sources = split_sources(list(by_source), options, path)
    other = options.lang
    source_lang, target_lang = ("en", other) if options.direction == "en-xx" else (other, "en")
    return Corpus(
        name="tatoeba",
        source_lang=source_lang,
        target_lang=target_lang,
        train=[(s, t) for s, t in pairs if s in train_sources],
        valid=[Example(s, tuple(dict.fromkeys(by_source[s]))) for s in by_source if s in valid_sources],
        test=[Example(s, tuple(dict.fromkeys(by_source[s]))) for s in by_source if s in test_sources],
        bleu_tokenize="13a",
        citation="Tatoeba Project (tatoeba.org), CC-BY 2.0 FR, via manythings.org/anki",
    )


def _read_tatoeba_pairs(path: Path, header: Literal["auto"] | bool, missing_hint: str) -> list[tuple[str, str]]:
    """``(English, other)`` pairs of a manythings file, in file order; ``missing_hint`` follows a missing-file error."""
    lines = text_lines(path, missing_hint, empty="; delete it and download it again")
    first = 1
    if header is True or (header == "auto" and _is_numeric_header(lines[0])):
        first = 2
    return [_parse_tatoeba_line(line, path, number) for number, line in enumerate(lines[first - 1 :], start=first)]


def _is_numeric_header(line: str) -> bool:
    """Whether every tab-separated field of ``line`` is an integer (manythings-style ``1<TAB>2``)."""
    return all(field.strip().isdigit() for field in line.rstrip("\r").split("\t"))


def _parse_tatoeba_line(line: str, path: Path, number: int) -> tuple[str, str]:
    """``(English, other)`` from one line; the attribution column, if any, is ignored."""
    fields = line.rstrip("\r").split("\t")
    if len(fields) not in (2, 3):
        raise DataError(
            f"{path} line {number} has {len(fields)} tab-separated fields; "
            "expected 2 or 3 (English, translation[, attribution])"
        )
    english, other = fields[0].strip(), fields[1].strip()
    if not english or not other:
        column = "first (English)" if not english else "second (translation)"
        raise DataError(f"{path} line {number}: the {column} field is empty")
    return english, other


def download_tatoeba(data_dir: Path, url: str = TATOEBA_URL, member: str | None = None) -> None:
    """Download a manythings.org archive and extract its pairs file into ``<data_dir>/tatoeba/``.

    The archive (e.g. ``deu-eng.zip``) holds ``deu.txt`` and ``_about.txt``; only the pairs file
    is kept. An existing pairs file is kept. The archive goes to a temporary file, the pairs file
    is extracted to a temporary file and renamed, so an interrupted download leaves no
    half-written file. manythings.org rejects urllib's default User-Agent, so another is sent.

    Args:
        data_dir: The data folder; ``tatoeba/`` is created inside it.
        url: Archive URL (``https://``, ``http://`` or ``file://``).
        member: Name of the pairs file inside the archive; default: the archive name's part
            before the first ``-`` plus ``.txt`` (``deu-eng.zip`` -> ``deu.txt``).

    Raises:
        DataError: The archive cannot be fetched, is not a zip file, or lacks ``member``.
    """
    member = member or url.rstrip("/").rsplit("/", 1)[-1].split("-", 1)[0].removesuffix(".zip") + ".txt"
    folder = Path(data_dir) / "tatoeba"
    destination = folder / member
    if destination.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as scratch:
        archive = Path(scratch) / "archive.zip"
        fetch(url, archive)
        _extract_member(archive, member, url, destination)


def _extract_member(archive: Path, member: str, url: str, destination: Path) -> None:
    """Extract ``member`` of the zip ``archive`` (downloaded from ``url``) to ``destination`` atomically."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            if member not in names:
                raise DataError(f"{url} has no {member}; it holds: {', '.join(names) or '(nothing)'}")
            with zf.open(member) as source:
                write_atomically(source, destination)
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise DataError(f"{url} is not a valid zip archive ({e}); check the URL") from e


TATOEBA = DatasetInfo(
    name="tatoeba",
    summary="Tatoeba sentence pairs from manythings.org/anki, English <-> another language, multi-reference",
    options=TatoebaOptions,
    load=load_tatoeba,
    needs_data_dir=True,
    download=download_tatoeba,
)
"""The ``tatoeba`` dataset, registered as ``translation.tatoeba`` in the ``harness.datasets`` entry points."""
