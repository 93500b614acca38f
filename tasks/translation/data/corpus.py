"""What every translation dataset returns, and the helpers that more than one dataset shares.

:class:`Corpus` holds a dataset's raw, untokenised text: training pairs and evaluation examples
(:class:`Example`). The helpers build single-reference examples, read UTF-8 text files line by
line, and group and split distinct source sentences with a seed (Tatoeba and ``parallel``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.datafiles import decode_utf8, require_file
from harness.errors import DataError

if TYPE_CHECKING:
    from harness_tasks.translation.data.parallel import ParallelOptions
    from harness_tasks.translation.data.tatoeba import TatoebaOptions


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


def single_reference(pairs: Iterable[tuple[str, str]]) -> list[Example]:
    """Evaluation examples with one reference each."""
    return [Example(source, (target,)) for source, target in pairs]


def group_by_source(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Targets of each distinct source, sources in order of first appearance."""
    by_source: dict[str, list[str]] = {}
    for source, target in pairs:
        by_source.setdefault(source, []).append(target)
    return by_source


def split_sources(sources: list[str], options: TatoebaOptions | ParallelOptions,
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


def text_lines(path: Path, missing_hint: str = "check the path in [dataset] (relative to --data-dir, or absolute)",
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
