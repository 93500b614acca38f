"""Subword tokenisation with SentencePiece, trained in memory.

:class:`SubwordTokenizer` wraps a SentencePiece model (Kudo & Richardson, 2018, "SentencePiece: A
simple and language independent subword tokenizer and detokenizer for Neural Text Processing",
EMNLP demo, https://github.com/google/sentencepiece). The model is trained from an iterable of
sentences straight into memory (nothing is written to disk) and serialises to the model proto's
bytes, so a trained tokenizer can be stored next to a checkpoint.

The special ids are fixed for every model: :data:`PAD_ID` = 0, :data:`UNK_ID` = 1,
:data:`BOS_ID` = 2, :data:`EOS_ID` = 3.

Text goes through SentencePiece's default ``nmt_nfkc`` normalisation (Unicode NFKC plus collapsing
runs of whitespace and stripping it at both ends), so ``decode(encode(s))`` returns the normalised
``s``; e.g. a no-break space (U+00A0) comes back as a plain space. Characters never seen in
training encode as :data:`UNK_ID` and decode as ``" ⁇ "`` (U+2047 between two spaces, SentencePiece's
default unknown surface).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import sentencepiece as spm

from harness.errors import DataError, UnknownNameError

PAD_ID = 0
"""Padding id."""
UNK_ID = 1
"""Id of unknown pieces (characters outside the trained alphabet)."""
BOS_ID = 2
"""Beginning-of-sentence id (decoder start token); :meth:`SubwordTokenizer.encode` does not add it."""
EOS_ID = 3
"""End-of-sentence id; :meth:`SubwordTokenizer.encode` does not add it, :meth:`SubwordTokenizer.decode` stops at it."""

MODEL_TYPES = ("unigram", "bpe", "char", "word")
"""SentencePiece model types (``--model_type``)."""

_SPECIALS = {"pad_id": PAD_ID, "unk_id": UNK_ID, "bos_id": BOS_ID, "eos_id": EOS_ID}


class SubwordTokenizer:
    """A SentencePiece model with fixed special ids.

    Build one with :meth:`train` or :meth:`from_bytes`.

    Args:
        model_proto: A serialised SentencePiece ``ModelProto`` whose pad/unk/bos/eos ids are
            0/1/2/3.

    Raises:
        DataError: ``model_proto`` is not a SentencePiece model, or its special ids differ.
    """

    def __init__(self, model_proto: bytes):
        self._proto = bytes(model_proto)
        self._sp = _load_processor(self._proto)

    @classmethod
    def train(
        cls,
        sentences: Iterable[str],
        vocab_size: int,
        model_type: str = "unigram",
        character_coverage: float = 1.0,
        seed: int = 0,
        num_threads: int = 1,
    ) -> SubwordTokenizer:
        """Train a SentencePiece model in memory.

        The vocabulary limit is soft (``hard_vocab_limit=False``): a corpus with fewer distinct
        pieces than ``vocab_size`` (the numbers dataset has a few dozen words) yields a smaller
        vocabulary instead of an error. Training is deterministic for the same sentences, options,
        seed and ``num_threads``: the model proto is byte-identical. ``num_threads`` is written into
        the proto, so keep it fixed (default 1) to get the same bytes on every machine.
        SentencePiece's training log is silenced (``minloglevel=2``: errors only).

        Args:
            sentences: Raw training sentences; empty ones are skipped.
            vocab_size: Requested vocabulary size, special ids included (an upper bound).
            model_type: ``"unigram"`` (Kudo, 2018), ``"bpe"`` (Sennrich et al., 2016), ``"char"``
                or ``"word"``.
            character_coverage: Fraction of characters covered by the alphabet; 1.0 keeps every
                character seen, rarer ones map to :data:`UNK_ID` otherwise.
            seed: Seed of SentencePiece's global random generator (used when it samples or shuffles
                input sentences).
            num_threads: Training threads.

        Returns:
            The trained tokenizer.

        Raises:
            UnknownNameError: ``model_type`` is not a SentencePiece model type.
            DataError: No non-empty sentence, ``vocab_size`` too small for the alphabet, or another
                training failure reported by SentencePiece.
        """
        if model_type not in MODEL_TYPES:
            raise UnknownNameError("sentencepiece model type", model_type, MODEL_TYPES)
        spm.set_random_generator_seed(seed)
        writer = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=(s for s in sentences if s.strip()),
                model_writer=writer,
                vocab_size=vocab_size,
                model_type=model_type,
                character_coverage=character_coverage,
                hard_vocab_limit=False,
                num_threads=num_threads,
                minloglevel=2,
                **_SPECIALS,
            )
        except (RuntimeError, ValueError) as e:
            raise DataError(_training_error_message(e, vocab_size)) from e
        return cls(writer.getvalue())

    @classmethod
    def from_bytes(cls, data: bytes) -> SubwordTokenizer:
        """Load a tokenizer from :meth:`to_bytes` output (a serialised SentencePiece model proto)."""
        return cls(data)

    def to_bytes(self) -> bytes:
        """The serialised SentencePiece model proto."""
        return self._proto

    @property
    def vocab_size(self) -> int:
        """Number of ids, the four special ids included."""
        return self._sp.get_piece_size()

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, without BOS or EOS.

        Args:
            texts: Raw sentences.

        Returns:
            One id list per text.
        """
        return self._sp.encode(list(texts), out_type=int)

    def decode(self, ids: Sequence[int]) -> str:
        """Detokenised text of ``ids``: stops at the first EOS, skips PAD and BOS.

        Args:
            ids: Token ids (a list, or a 1-D tensor / array of integers).

        Returns:
            The text; each unknown piece comes out as ``" ⁇ "`` (spaces included).

        Raises:
            ValueError: An id is outside ``[0, vocab_size)``.
        """
        kept: list[int] = []
        for value in ids:
            i = int(value)
            if i == EOS_ID:
                break
            if i in (PAD_ID, BOS_ID):
                continue
            self._check_id(i)
            kept.append(i)
        return self._sp.decode(kept)

    def decode_batch(self, batch: Iterable[Sequence[int]]) -> list[str]:
        """:meth:`decode` of every id sequence in ``batch``."""
        return [self.decode(ids) for ids in batch]

    def pieces(self, ids: Sequence[int]) -> list[str]:
        """The piece of every id, specials included (``<pad>``, ``<unk>``, ``<s>``, ``</s>``).

        Word-initial pieces start with ``▁`` (U+2581), SentencePiece's whitespace mark; suitable
        as attention-heatmap axis labels.

        Raises:
            ValueError: An id is outside ``[0, vocab_size)``.
        """
        labels = []
        for value in ids:
            i = int(value)
            self._check_id(i)
            labels.append(self._sp.id_to_piece(i))
        return labels

    def _check_id(self, i: int) -> None:
        if not 0 <= i < self.vocab_size:
            raise ValueError(f"token id {i} is outside the vocabulary [0, {self.vocab_size})")

    def __repr__(self) -> str:
        return f"SubwordTokenizer(vocab_size={self.vocab_size})"


def _load_processor(proto: bytes) -> spm.SentencePieceProcessor:
    """A processor for ``proto``, checked to use the fixed special ids."""
    try:
        sp = spm.SentencePieceProcessor(model_proto=proto)
    except (RuntimeError, OSError, TypeError) as e:
        raise DataError(f"not a SentencePiece model ({len(proto)} bytes): {_first_line(e)}") from e
    found = {"pad_id": sp.pad_id(), "unk_id": sp.unk_id(), "bos_id": sp.bos_id(), "eos_id": sp.eos_id()}
    if found != _SPECIALS:
        raise DataError(f"SentencePiece model has special ids {found}; this harness needs {_SPECIALS}")
    return sp


def _training_error_message(error: Exception, vocab_size: int) -> str:
    """One-line message for a SentencePiece training failure."""
    text = _first_line(error)
    if "!sentences_.empty()" in text:
        return "cannot train a SentencePiece model: no non-empty training sentence"
    if "Vocabulary size is smaller than required_chars" in text:
        needed = text.split("required_chars.", 1)[1].split(".", 1)[0].strip()
        return (
            f"vocab_size {vocab_size} is too small for the training text's alphabet "
            f"({needed}: vocab_size vs characters + 4 special ids); raise vocab_size or lower character_coverage"
        )
    return f"SentencePiece training failed (vocab_size {vocab_size}): {text}"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
