"""Translation corpora: an embedded numbers corpus, Multi30k and Tatoeba, with their download code.

Every dataset has a pydantic options model (unknown keys are rejected) and a loader that turns validated options
and a data folder into a :class:`Corpus` of raw, untokenised text. Each dataset's module ends with its
:class:`~harness.task.DatasetInfo` (``MULTI30K``), registered as ``translation.<name>`` in the ``harness.datasets``
entry points of pyproject.toml, the same way a plugin registers a dataset; the task's :meth:`datasets` reads them
from there.

Modules:
    ``corpus``: :class:`Example`, :class:`Corpus` and the helpers that several datasets share.
    ``numbers``: ``numbers-en-de``, English number words to German number words, generated offline
        with num2words (https://github.com/savoirfairelinux/num2words); needs no files.
    ``multi30k``: ``multi30k``, Multi30k task 1, English-German image descriptions (Elliott et al.,
        2016, "Multi30K: Multilingual English-German Image Descriptions", ACL VL workshop, W16-3210),
        read from the raw gzip files of https://github.com/multi30k/dataset (``data/task1/raw/``).
    ``tatoeba``: ``tatoeba``, sentence pairs of the Tatoeba Project (https://tatoeba.org, CC-BY 2.0
        FR) in the tab-separated "Anki" format of https://www.manythings.org/anki/.
    ``parallel``: ``parallel``, the user's own corpus (TSV, JSONL or two aligned text files; given
        splits or a seeded split).

Every public name is re-exported here, so ``from harness_tasks.translation.data import X`` works for
all of them.

Every problem with the files (missing folder or file, empty file, corrupt gzip or zip, text that is
not UTF-8, misaligned or malformed lines) raises :class:`~harness.errors.DataError` with a one-line
message naming the file and how to fix it.
"""

from __future__ import annotations

from harness_tasks.translation.data.corpus import Corpus, Example
from harness_tasks.translation.data.multi30k import (
    MULTI30K,
    MULTI30K_FILES,
    MULTI30K_SPLITS,
    MULTI30K_URL,
    Multi30kOptions,
    download_multi30k,
    load_multi30k,
)
from harness_tasks.translation.data.numbers import NUMBERS_EN_DE, NumbersOptions, load_numbers
from harness_tasks.translation.data.parallel import PARALLEL, ParallelOptions, load_parallel
from harness_tasks.translation.data.tatoeba import TATOEBA, TATOEBA_URL, TatoebaOptions, download_tatoeba, load_tatoeba

__all__ = [
    "MULTI30K",
    "MULTI30K_FILES",
    "MULTI30K_SPLITS",
    "MULTI30K_URL",
    "NUMBERS_EN_DE",
    "PARALLEL",
    "TATOEBA",
    "TATOEBA_URL",
    "Corpus",
    "Example",
    "Multi30kOptions",
    "NumbersOptions",
    "ParallelOptions",
    "TatoebaOptions",
    "download_multi30k",
    "download_tatoeba",
    "load_multi30k",
    "load_numbers",
    "load_parallel",
    "load_tatoeba",
]
