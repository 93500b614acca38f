"""Translation corpora: an embedded numbers corpus, Multi30k and Tatoeba, with their download code.

Every dataset has a pydantic options model (unknown keys are rejected) and a loader that turns
validated options and a data folder into a :class:`Corpus` of raw, untokenised text. The registry
:data:`DATASETS` maps each dataset's name to a :class:`DatasetInfo`.

Datasets:
    ``numbers-en-de``: English number words to German number words, generated offline with
        num2words (https://github.com/savoirfairelinux/num2words); needs no files.
    ``multi30k``: Multi30k task 1, English-German image descriptions (Elliott et al., 2016,
        "Multi30K: Multilingual English-German Image Descriptions", ACL VL workshop, W16-3210),
        read from the raw gzip files of https://github.com/multi30k/dataset (``data/task1/raw/``).
    ``tatoeba``: sentence pairs of the Tatoeba Project (https://tatoeba.org, CC-BY 2.0 FR) in the
        tab-separated "Anki" format of https://www.manythings.org/anki/.
    ``parallel``: the user's own corpus (TSV, JSONL or two aligned text files; given splits or a seeded split).

Every problem with the files (missing folder or file, empty file, corrupt gzip or zip, text that is
not UTF-8, misaligned or malformed lines) raises :class:`~harness.errors.DataError` with a one-line
message naming the file and how to fix it.
"""

from __future__ import annotations

import gzip
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from num2words import num2words
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.datafiles import (
    CHUNK_BYTES,
    DataPath,
    RelativePath,
    dataset_folder,
    decode_utf8,
    fetch,
    how_to_get,
    require_file,
    resolve_data_path,
    write_atomically,
)
from harness.errors import DataError
from harness.task import DatasetInfo

MULTI30K_URL = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/"
"""Public folder holding Multi30k task 1's raw gzip files (the dataset's own GitHub repository)."""

MULTI30K_SPLITS = {"train": "train", "valid": "val", "test": "test_2016_flickr"}
"""Split name -> file stem in Multi30k's ``data/task1/raw/`` (test is the 2016 Flickr test set)."""

MULTI30K_FILES = tuple(f"{stem}.{lang}.gz" for stem in MULTI30K_SPLITS.values() for lang in ("en", "de"))
"""The six files :func:`download_multi30k` fetches and :func:`load_multi30k` reads."""

TATOEBA_URL = "https://www.manythings.org/anki/deu-eng.zip"
"""manythings.org's English-German Anki archive; it holds ``deu.txt``."""


@dataclass(frozen=True)
class Example:
    """One evaluation example.

    Attributes:
        source: The raw, untokenised source sentence.
        references: One or more raw reference translations (several for Tatoeba sources that
            have several translations; BLEU is then multi-reference).
    """

    source: str
    references: tuple[str, ...]


@dataclass(frozen=True)
class Corpus:
    """A translation corpus split into training pairs and evaluation examples.

    Attributes:
        name: Dataset name: ``"numbers-en-de"``, ``"multi30k"`` or ``"tatoeba"``.
        source_lang: ISO 639-1 code of the source side, e.g. ``"en"``.
        target_lang: ISO 639-1 code of the target side.
        train: ``(source, target)`` training pairs.
        valid: Validation examples.
        test: Test examples.
        bleu_tokenize: sacrebleu tokenizer name used for BLEU on this corpus (``"13a"`` or ``"char"``).
        citation: One-line citation and licence note shown in reports.
    """

    name: str
    source_lang: str
    target_lang: str
    train: list[tuple[str, str]]
    valid: list[Example]
    test: list[Example]
    bleu_tokenize: str = "13a"
    citation: str = ""


# --------------------------------------------------------------------------------------------------
# numbers-en-de


class NumbersOptions(BaseModel):
    """Options of the embedded ``numbers-en-de`` dataset."""

    model_config = ConfigDict(extra="forbid")

    train_size: int = Field(6000, ge=1, description="training pairs")
    valid_size: int = Field(500, ge=1, description="validation examples")
    test_size: int = Field(500, ge=1, description="test examples")
    max_number: int = Field(
        999_999, ge=0, le=999_999_999_999, description="numbers are drawn from [0, max_number]"
    )
    seed: int = Field(0, ge=0, description="seed of the draw (numpy default_rng)")
    direction: Literal["en-de", "de-en"] = Field("en-de", description="translation direction")


def load_numbers(options: NumbersOptions, data_dir: Path | None = None) -> Corpus:
    """Generate the numbers corpus: English number words <-> German number words.

    ``train_size + valid_size + test_size`` distinct integers are drawn without replacement from
    ``[0, max_number]`` with ``numpy.random.default_rng(seed)``, so the three splits hold disjoint
    numbers and the corpus is the same for the same options. Each number is spelled with
    ``num2words(n, lang="en")`` and ``num2words(n, lang="de")``, e.g. 45 -> "forty-five" /
    "fünfundvierzig".

    BLEU uses sacrebleu's ``char`` tokenizer: German writes every number below one million as one
    compound word with the units before the tens ("fünfundvierzig"), so a reference is a single
    word and word-level BLEU, which needs 4-grams, would score almost every hypothesis 0.

    Args:
        options: Validated options.
        data_dir: Ignored (the data is generated).

    Returns:
        The corpus, one reference per example.

    Raises:
        DataError: The three sizes together exceed the ``max_number + 1`` numbers available.
    """
    sizes = (options.train_size, options.valid_size, options.test_size)
    available = options.max_number + 1
    if sum(sizes) > available:
        raise DataError(
            f"numbers-en-de: train_size + valid_size + test_size = {sum(sizes)} exceeds the "
            f"{available} distinct numbers in [0, max_number={options.max_number}]; "
            "raise max_number or lower the sizes"
        )
    numbers = np.random.default_rng(options.seed).choice(available, size=sum(sizes), replace=False)
    pairs = [_number_pair(int(n), options.direction) for n in numbers]
    n_train, n_valid = sizes[0], sizes[1]
    source_lang, target_lang = options.direction.split("-")
    return Corpus(
        name="numbers-en-de",
        source_lang=source_lang,
        target_lang=target_lang,
        train=pairs[:n_train],
        valid=_single_reference(pairs[n_train : n_train + n_valid]),
        test=_single_reference(pairs[n_train + n_valid :]),
        bleu_tokenize="char",
        citation="numbers spelled out with num2words (github.com/savoirfairelinux/num2words, LGPL-2.1)",
    )


def _number_pair(n: int, direction: str) -> tuple[str, str]:
    """``(source, target)`` spellings of ``n`` for ``direction`` ("en-de" or "de-en")."""
    english, german = num2words(n, lang="en"), num2words(n, lang="de")
    return (english, german) if direction == "en-de" else (german, english)


def _single_reference(pairs: Iterable[tuple[str, str]]) -> list[Example]:
    """Evaluation examples with one reference each."""
    return [Example(source, (target,)) for source, target in pairs]


# --------------------------------------------------------------------------------------------------
# multi30k


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
        valid=_single_reference(splits["valid"]),
        test=_single_reference(splits["test"]),
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


# --------------------------------------------------------------------------------------------------
# tatoeba


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
    by_source = _group_by_source(pairs)
    train_sources, valid_sources, test_sources = _split_sources(list(by_source), options, path)
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
    lines = _text_lines(path, missing_hint, empty="; delete it and download it again")
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


def _group_by_source(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Targets of each distinct source, sources in order of first appearance."""
    by_source: dict[str, list[str]] = {}
    for source, target in pairs:
        by_source.setdefault(source, []).append(target)
    return by_source


def _split_sources(sources: list[str], options: TatoebaOptions | ParallelOptions,
                   path: Path) -> tuple[set[str], set[str], set[str]]:
    """Seeded split of the distinct sources into (train, valid, test) sets."""
    n = len(sources)
    n_valid = round(options.valid_fraction * n)
    n_test = round(options.test_fraction * n)
    if min(n_valid, n_test, n - n_valid - n_test) < 1:
        raise DataError(
            f"{path}: {n} distinct source sentences give train/valid/test = "
            f"{n - n_valid - n_test}/{n_valid}/{n_test} sources; every split needs at least one "
            "(use more pairs, or adjust valid_fraction/test_fraction)"
        )
    order = np.random.default_rng(options.seed).permutation(n)
    test = {sources[i] for i in order[:n_test]}
    valid = {sources[i] for i in order[n_test : n_test + n_valid]}
    train = {sources[i] for i in order[n_test + n_valid :]}
    return train, valid, test


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


# --------------------------------------------------------------------------------------------------
# shared file handling


# --------------------------------------------------------------------------------------------------
# parallel: the user's own corpus


class ParallelOptions(BaseModel):
    """Options of the ``parallel`` dataset: your own parallel corpus.

    Either one file, split by distinct source sentence with a seed (``file``), or given splits (``train``, ``valid``
    and ``test``). Each is a TSV file (source<TAB>target per line), a JSONL file (one object per line, the sentences
    under ``source_key`` / ``target_key``, by default the language codes), or a pair of line-aligned text files
    ``<path>.<source_lang>`` and ``<path>.<target_lang>`` (``format = "aligned"``, the path without the language
    suffix). Paths are relative to the data directory, or absolute.
    """

    model_config = ConfigDict(extra="forbid")

    source_lang: str = Field(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]+)?$", description="source language code, e.g. de")
    target_lang: str = Field(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]+)?$", description="target language code, e.g. en")
    format: Literal["tsv", "jsonl", "aligned"] = Field("tsv", description="tsv, jsonl, or aligned (two text files)")
    file: DataPath | None = Field(None, min_length=1, description="one corpus file, split with valid_fraction, "
                                                                  "test_fraction and seed")
    train: DataPath | None = Field(None, min_length=1, description="training file (with valid and test)")
    valid: DataPath | None = Field(None, min_length=1, description="validation file")
    test: DataPath | None = Field(None, min_length=1, description="test file")
    valid_fraction: float = Field(0.05, gt=0, lt=1, description="fraction of distinct sources for validation (file)")
    test_fraction: float = Field(0.05, gt=0, lt=1, description="fraction of distinct sources for test (file)")
    seed: int = Field(0, ge=0, description="seed of the split (numpy default_rng)")
    source_key: str | None = Field(None, min_length=1, description="JSONL key of the source [default: source_lang]")
    target_key: str | None = Field(None, min_length=1, description="JSONL key of the target [default: target_lang]")
    header: bool = Field(False, description="TSV: skip the first line")
    bleu_tokenize: Literal["13a", "intl", "char", "zh", "none"] = Field(
        "13a", description="sacrebleu tokenizer for BLEU (char for scripts without spaces)")
    citation: str = Field("", description="how to cite the corpus; shown in reports")

    @model_validator(mode="after")
    def _one_layout(self) -> ParallelOptions:
        given = [k for k in ("train", "valid", "test") if getattr(self, k) is not None]
        if self.file is not None and given:
            raise ValueError(f"give file (split with a seed) or train, valid and test, not both (got file and {given[0]})")
        if self.file is None and len(given) != 3:
            missing = [k for k in ("train", "valid", "test") if k not in given]
            raise ValueError(f"give file, or all of train, valid and test (missing: {', '.join(missing)})")
        if self.source_lang == self.target_lang:
            raise ValueError(f"source_lang and target_lang are both '{self.source_lang}'")
        if self.valid_fraction + self.test_fraction >= 1:
            raise ValueError(f"valid_fraction + test_fraction = {self.valid_fraction + self.test_fraction:g} leaves "
                             "nothing for training; keep their sum below 1")
        return self


def load_parallel(options: ParallelOptions, data_dir: Path | None) -> Corpus:
    """Read the user's own parallel corpus (:class:`ParallelOptions`).

    Sentences are stripped of surrounding whitespace; an empty one is an error naming the file and line. As with
    Tatoeba, a source that occurs several times becomes one validation or test example whose references are all its
    distinct translations, and the seeded split (``file``) is by distinct source, so no source is in two splits.

    Raises:
        DataError: a file is missing, empty, not UTF-8, or malformed (a TSV line without two fields, a JSONL line
            that is not an object with both keys, aligned files of different lengths, an empty sentence); or a split
            would be empty.
    """
    def read(value: str) -> list[tuple[str, str]]:
        return _read_parallel(resolve_data_path(data_dir, value, "parallel"), options)

    if options.file is not None:
        pairs = read(options.file)
        by_source = _group_by_source(pairs)
        where = resolve_data_path(data_dir, options.file, "parallel")
        train_sources, valid_sources, test_sources = _split_sources(list(by_source), options, where)
        train = [(s, t) for s, t in pairs if s in train_sources]
        valid = [Example(s, tuple(dict.fromkeys(by_source[s]))) for s in by_source if s in valid_sources]
        test = [Example(s, tuple(dict.fromkeys(by_source[s]))) for s in by_source if s in test_sources]
        described = f"{options.file}, seeded split by source (seed {options.seed})"
    else:
        train = read(options.train)
        valid = _multi_reference(read(options.valid))
        test = _multi_reference(read(options.test))
        described = f"train {options.train}, valid {options.valid}, test {options.test}"
    return Corpus(
        name="parallel",
        source_lang=options.source_lang,
        target_lang=options.target_lang,
        train=train,
        valid=valid,
        test=test,
        bleu_tokenize=options.bleu_tokenize,
        citation=options.citation or f"user-supplied parallel corpus ({described})",
    )


def _multi_reference(pairs: list[tuple[str, str]]) -> list[Example]:
    """One example per distinct source, in order of first appearance, with all its distinct targets."""
    return [Example(s, tuple(dict.fromkeys(targets))) for s, targets in _group_by_source(pairs).items()]


def _read_parallel(path: Path, options: ParallelOptions) -> list[tuple[str, str]]:
    """``(source, target)`` pairs of one file (or aligned pair of files) in the options' format, in file order."""
    if options.format == "aligned":
        source_path = path.with_name(f"{path.name}.{options.source_lang}")
        target_path = path.with_name(f"{path.name}.{options.target_lang}")
        sources = [line.strip() for line in _text_lines(source_path)]
        targets = [line.strip() for line in _text_lines(target_path)]
        if len(sources) != len(targets):
            raise DataError(f"{source_path} has {len(sources)} lines but {target_path} has {len(targets)}; the two "
                            "languages must be line-aligned")
        pairs = list(zip(sources, targets))
        for number, (s, t) in enumerate(pairs, start=1):
            if not s or not t:
                raise DataError(f"{source_path if not s else target_path} line {number} is empty; every line must hold "
                                "one sentence")
        return pairs
    lines = _text_lines(path)
    if options.format == "tsv":
        return [_parse_tsv_line(line, path, number) for number, line in enumerate(lines, start=1)
                if not (options.header and number == 1)]
    source_key, target_key = options.source_key or options.source_lang, options.target_key or options.target_lang
    return [_parse_jsonl_line(line, path, number, source_key, target_key) for number, line in enumerate(lines, start=1)]


def _text_lines(path: Path, missing_hint: str = "check the path in [dataset] (relative to --data-dir, or absolute)",
                empty: str = "") -> list[str]:
    """The lines of a UTF-8 text file, split on ``\\n`` only (a ``\\r`` before it, a BOM and trailing empty lines
    dropped; nothing else stripped, so a TSV keeps its tabs). ``missing_hint`` follows a missing-file error and
    ``empty`` ends the empty-file one.

    Raises:
        DataError: the file is missing, not UTF-8, or holds no line.
    """
    require_file(path, missing_hint)
    lines = [line.removesuffix("\r") for line in decode_utf8(path.read_bytes(), path).removeprefix("\ufeff").split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataError(f"{path} is empty{empty}")
    return lines


def _parse_tsv_line(line: str, path: Path, number: int) -> tuple[str, str]:
    fields = line.split("\t")
    if len(fields) < 2:
        raise DataError(f"{path} line {number} has no tab; expected source<TAB>target")
    source, target = fields[0].strip(), fields[1].strip()
    if not source or not target:
        raise DataError(f"{path} line {number}: the {'source' if not source else 'target'} field is empty")
    return source, target


def _parse_jsonl_line(line: str, path: Path, number: int, source_key: str, target_key: str) -> tuple[str, str]:
    import json

    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} line {number} is not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise DataError(f"{path} line {number} is not a JSON object")
    missing = [k for k in (source_key, target_key) if k not in record]
    if missing:
        raise DataError(f"{path} line {number} has no key '{missing[0]}' (its keys: {', '.join(map(str, record)) or 'none'}); "
                        "set source_key / target_key")
    source, target = (str(record[k]).strip() for k in (source_key, target_key))
    if not source or not target:
        raise DataError(f"{path} line {number}: the {'source' if not source else 'target'} sentence is empty")
    return source, target


def _split_lines(text: str) -> list[str]:
    """Lines of ``text`` split on ``\\n`` only, trailing whitespace (``\\r`` included) stripped.

    Splitting on ``\\n`` alone (not :meth:`str.splitlines`) keeps line numbers aligned with what
    other tools count, even when a sentence holds a Unicode line or paragraph separator.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip() for line in lines]


# --------------------------------------------------------------------------------------------------
# registry

DATASETS: dict[str, DatasetInfo] = {
    "numbers-en-de": DatasetInfo(
        name="numbers-en-de",
        summary="English <-> German number words generated with num2words (embedded, no download)",
        options=NumbersOptions,
        load=load_numbers,
        needs_data_dir=False,
    ),
    "multi30k": DatasetInfo(
        name="multi30k",
        summary="Multi30k task 1 image descriptions, German <-> English, 29,000/1,014/1,000 sentences",
        options=Multi30kOptions,
        load=load_multi30k,
        needs_data_dir=True,
        download=download_multi30k,
    ),
    "tatoeba": DatasetInfo(
        name="tatoeba",
        summary="Tatoeba sentence pairs from manythings.org/anki, English <-> another language, multi-reference",
        options=TatoebaOptions,
        load=load_tatoeba,
        needs_data_dir=True,
        download=download_tatoeba,
    ),
    "parallel": DatasetInfo(
        name="parallel",
        summary="your own parallel corpus: TSV, JSONL or two aligned text files; given splits or a seeded split",
        options=ParallelOptions,
        load=load_parallel,
        needs_data_dir=True,
    ),
}
"""Every translation dataset, by name."""
