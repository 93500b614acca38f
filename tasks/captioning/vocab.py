"""The word vocabulary of captions, and the one tokeniser every caption goes through.

:func:`tokenize` lowercases a caption, splits it with sacrebleu's ``13a`` tokenizer (the one BLEU
uses by default) and drops tokens that hold no letter or digit (punctuation). :class:`Vocabulary`
maps those words to ids; four special ids come first:

=====  ===========  ==============================================
id     token        use
=====  ===========  ==============================================
0      ``<pad>``    padding (:data:`PAD_ID`)
1      ``<unk>``    a word not in the vocabulary (:data:`UNK_ID`)
2      ``<bos>``    start of a caption (:data:`BOS_ID`)
3      ``<eos>``    end of a caption (:data:`EOS_ID`)
=====  ===========  ==============================================

The vocabulary keeps the training words seen at least ``min_count`` times (Xu et al., 2015, "Show,
Attend and Tell", keep words seen at least 5 times on Flickr8k), most frequent first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

PAD_ID = 0
UNK_ID = 1
BOS_ID = 2
EOS_ID = 3
SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")
"""The special tokens, in id order (``SPECIALS[PAD_ID] == "<pad>"``)."""

FORMAT = "harness-caption-vocabulary/1"
"""The ``format`` field of :meth:`Vocabulary.to_dict`."""


@cache
def _tokenizer_13a():
    """sacrebleu's 13a tokenizer, imported on first use (``harness list`` must not pay for sacrebleu)."""
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    return Tokenizer13a()


def tokenize(caption: str) -> list[str]:
    """The words of a caption: lowercased, 13a-tokenised, punctuation-only tokens dropped.

    ``'A dog\\'s "red" ball, in the t-shirt .'`` -> ``["a", "dog's", "red", "ball", "in", "the", "t-shirt"]``
    (13a splits off punctuation but keeps apostrophes and hyphens inside words).
    """
    return [token for token in _tokenizer_13a()(caption.lower()).split() if any(ch.isalnum() for ch in token)]


class Vocabulary:
    """Word <-> id mapping with the special ids :data:`PAD_ID`, :data:`UNK_ID`, :data:`BOS_ID`, :data:`EOS_ID`.

    Args:
        words: The ordinary words, in id order; they get ids 4, 5, ... They must be distinct,
            non-empty, and not special tokens.

    Raises:
        ValueError: A word is repeated, empty or a special token.
    """

    def __init__(self, words: Sequence[str]):
        words = list(words)
        seen: set[str] = set()
        for word in words:
            if not isinstance(word, str) or not word or word in SPECIALS or word in seen:
                problem = "a special token" if word in SPECIALS else "repeated" if word in seen else "not a non-empty string"
                raise ValueError(f"vocabulary words must be distinct non-empty non-special strings, but {word!r} is {problem}")
            seen.add(word)
        self._tokens: tuple[str, ...] = SPECIALS + tuple(words)
        self._ids: dict[str, int] = {token: i for i, token in enumerate(self._tokens)}

    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = 5, max_size: int | None = None) -> Vocabulary:
        """The words of ``captions`` (after :func:`tokenize`) seen at least ``min_count`` times.

        Words are ordered by count, most frequent first, ties alphabetically, so the same captions
        always give the same ids.

        Args:
            captions: Training captions, raw.
            min_count: Fewest occurrences for a word to be kept (5 for Flickr8k, 1 for digits).
            max_size: Most entries in all, the 4 special tokens included (the most frequent words
                are kept); ``None``: no limit.

        Raises:
            ValueError: ``min_count < 1`` or ``max_size < 4``.
        """
        if min_count < 1:
            raise ValueError(f"min_count >= 1 must hold, but got min_count={min_count}")
        if max_size is not None and max_size < len(SPECIALS):
            raise ValueError(f"max_size >= {len(SPECIALS)} (the special tokens) must hold, but got max_size={max_size}")
        counts = Counter(word for caption in captions for word in tokenize(caption))
        kept = sorted((word for word, count in counts.items() if count >= min_count), key=lambda w: (-counts[w], w))
        if max_size is not None:
            kept = kept[: max_size - len(SPECIALS)]
        return cls(kept)

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, word: object) -> bool:
        return word in self._ids

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self._tokens == other._tokens

    def __hash__(self) -> int:
        return hash(self._tokens)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} entries: {', '.join(self._tokens[4:9])}{', ...' if len(self) > 9 else ''})"

    @property
    def tokens(self) -> tuple[str, ...]:
        """Every entry in id order, the special tokens first."""
        return self._tokens

    def id(self, word: str) -> int:
        """The id of ``word``, :data:`UNK_ID` when it is not in the vocabulary."""
        return self._ids.get(word, UNK_ID)

    def token(self, index: int) -> str:
        """The entry with id ``index`` (a special token for ids 0..3).

        Raises:
            ValueError: ``index`` is not in ``[0, len(self))``.
        """
        index = int(index)
        if not 0 <= index < len(self._tokens):
            raise ValueError(f"0 <= id < {len(self._tokens)} must hold, but got id={index}")
        return self._tokens[index]

    def encode(self, caption: str) -> list[int]:
        """The ids of a raw caption's words (:func:`tokenize`), :data:`UNK_ID` for unknown words; no BOS/EOS."""
        return [self._ids.get(word, UNK_ID) for word in tokenize(caption)]

    def decode(self, ids: Iterable[int]) -> str:
        """The words of ``ids`` joined by spaces: stops at the first EOS, skips PAD and BOS, UNK is ``<unk>``."""
        words = []
        for index in ids:
            index = int(index)
            if index == EOS_ID:
                break
            if index not in (PAD_ID, BOS_ID):
                words.append(self.token(index))
        return " ".join(words)

    def words(self, ids: Iterable[int]) -> list[str]:
        """One entry per id, up to and including the first EOS (``"<eos>"``) and nothing after.

        Unlike :meth:`decode`, special tokens are kept, so the list lines up with the decoding
        steps (for attention plots: row t of the weights belongs to ``words(ids)[t]``).
        """
        words = []
        for index in ids:
            words.append(self.token(index))
            if int(index) == EOS_ID:
                break
        return words

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description, read back by :meth:`from_dict`."""
        return {"format": FORMAT, "specials": list(SPECIALS), "words": list(self._tokens[len(SPECIALS):])}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        """The vocabulary :meth:`to_dict` described.

        Raises:
            ValueError: ``data`` is not such a description (other format or special tokens, no word list).
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"not a caption vocabulary: expected format {FORMAT!r}, but got {found!r}")
        if tuple(data.get("specials", ())) != SPECIALS:
            raise ValueError(f"the vocabulary's special tokens must be {list(SPECIALS)}, but got {data.get('specials')}")
        if not isinstance(data.get("words"), list):
            raise ValueError("the vocabulary description has no 'words' list")
        return cls(data["words"])
