"""The embedded ``numbers-en-de`` dataset: English number words to German number words.

The pairs are generated offline with num2words (https://github.com/savoirfairelinux/num2words,
LGPL-2.1); the dataset needs no files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from harness_tasks.translation.data.corpus import Corpus, single_reference
from num2words import num2words
from pydantic import BaseModel, ConfigDict, Field

from harness.errors import DataError
from harness.task import DatasetInfo


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
        valid=single_reference(pairs[n_train : n_train + n_valid]),
        test=single_reference(pairs[n_train + n_valid :]),
        bleu_tokenize="char",
        citation="numbers spelled out with num2words (github.com/savoirfairelinux/num2words, LGPL-2.1)",
    )


def _number_pair(n: int, direction: str) -> tuple[str, str]:
    """``(source, target)`` spellings of ``n`` for ``direction`` ("en-de" or "de-en")."""
    english, german = num2words(n, lang="en"), num2words(n, lang="de")
    return (english, german) if direction == "en-de" else (german, english)


NUMBERS_EN_DE = DatasetInfo(
    name="numbers-en-de",
    summary="English <-> German number words generated with num2words (embedded, no download)",
    options=NumbersOptions,
    load=load_numbers,
    needs_data_dir=False,
)
"""The ``numbers-en-de`` dataset, registered as ``translation.numbers-en-de`` in the ``harness.datasets`` entry points."""
