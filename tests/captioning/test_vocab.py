"""Tests of harness_tasks.captioning.vocab: the caption tokeniser and the word vocabulary, on real Flickr8k captions."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest
from harness_tasks.captioning.data import DigitsOptions, load_digits_captions
from harness_tasks.captioning.vocab import BOS_ID, EOS_ID, PAD_ID, SPECIALS, UNK_ID, Vocabulary, tokenize


@pytest.fixture(scope="module")
def flickr_captions(data_dir) -> list[str]:
    path = data_dir / "flickr8k_1k" / "captions.txt"
    if not path.is_file():
        pytest.skip(f"no Flickr8k subset at {path}")
    with open(path, encoding="utf-8", newline="") as f:
        return [caption for _, caption in list(csv.reader(f))[1:]]


def test_special_ids_come_first():
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    vocab = Vocabulary([])
    assert len(vocab) == 4 and vocab.tokens == SPECIALS == ("<pad>", "<unk>", "<bos>", "<eos>")
    assert [vocab.token(i) for i in range(4)] == list(SPECIALS)
    assert vocab.encode("anything at all") == [UNK_ID] * 3


def test_tokenize_lowercases_splits_punctuation_and_drops_it():
    assert tokenize('A dog\'s "red" ball, in the T-shirt .') == ["a", "dog's", "red", "ball", "in", "the", "t-shirt"]
    assert tokenize("Two dogs play ; one wins !") == ["two", "dogs", "play", "one", "wins"]
    assert tokenize('A " 4 " jersey , 3.5 feet') == ["a", "4", "jersey", "3.5", "feet"]
    assert tokenize(" . , ") == [] and tokenize("") == []


def test_build_keeps_words_seen_min_count_times_ordered_by_count_then_alphabet():
    captions = ["the dog runs", "The dog sits .", "the cat sits", "a bird", "zebra zebra"]
    vocab = Vocabulary.build(captions, min_count=2)
    assert vocab.tokens[4:] == ("the", "dog", "sits", "zebra")  # 3, then 2 x3 in alphabetical order
    assert "cat" not in vocab and "the" in vocab
    assert Vocabulary.build(captions, min_count=1).tokens[4:] == (
        "the", "dog", "sits", "zebra", "a", "bird", "cat", "runs")
    assert Vocabulary.build(captions, min_count=1, max_size=6).tokens[4:] == ("the", "dog")
    assert Vocabulary.build(reversed(captions), min_count=2) == vocab  # order of captions does not matter


def test_unknown_words_encode_to_unk_and_decode_as_unk_token():
    vocab = Vocabulary.build(["a dog runs", "a dog sits"], min_count=2)
    assert vocab.encode("A cat runs .") == [vocab.id("a"), UNK_ID, UNK_ID]
    assert vocab.id("cat") == UNK_ID and vocab.id("dog") == 5
    assert vocab.decode(vocab.encode("A cat")) == "a <unk>"


def test_decode_stops_at_eos_and_skips_pad_and_bos_words_keeps_one_entry_per_step():
    vocab = Vocabulary(["a", "dog"])
    ids = [BOS_ID, 4, PAD_ID, 5, EOS_ID, 4, 4, PAD_ID]
    assert vocab.decode(ids) == "a dog"
    assert vocab.words(ids) == ["<bos>", "a", "<pad>", "dog", "<eos>"]
    assert vocab.words([4, 5]) == ["a", "dog"] and vocab.decode([]) == ""
    import numpy as np

    assert vocab.decode(np.array([4, 5, EOS_ID])) == "a dog"  # numpy / tensor rows work too
    with pytest.raises(ValueError, match="0 <= id < 6 must hold, but got id=6"):
        vocab.decode([6])


def test_round_trip_on_real_flickr_captions(flickr_captions):
    vocab = Vocabulary.build(flickr_captions, min_count=5)
    counts = Counter(w for c in flickr_captions for w in tokenize(c))
    assert len(vocab) == 4 + sum(1 for n in counts.values() if n >= 5) == 913
    assert vocab.tokens[4:8] == ("a", "in", "the", "on")  # the most frequent Flickr8k words
    assert all(counts[w] >= 5 for w in vocab.tokens[4:])
    known = unknown = 0
    for caption in flickr_captions:
        words = tokenize(caption)
        ids = vocab.encode(caption)
        assert len(ids) == len(words) and BOS_ID not in ids and EOS_ID not in ids
        if UNK_ID in ids:
            unknown += 1
        else:
            known += 1
            assert vocab.decode([BOS_ID, *ids, EOS_ID, PAD_ID]) == " ".join(words)
    assert known > 2000 and unknown > 2000  # 1,000 images: 909 words, 7 % of running words are <unk>
    restored = Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert restored == vocab and restored.encode(flickr_captions[0]) == vocab.encode(flickr_captions[0])


def test_digit_captions_need_min_count_one():
    corpus = load_digits_captions(DigitsOptions(train_size=200, valid_size=5, test_size=5))
    vocab = Vocabulary.build((c for caps in corpus.train.captions for c in caps), min_count=1)
    assert len(vocab) == 14
    caption = corpus.train.captions[0][0]
    assert vocab.decode(vocab.encode(caption)) == caption


@pytest.mark.parametrize("words, message", [
    (["a", "a"], "'a' is repeated"),
    (["<unk>"], "'<unk>' is a special token"),
    ([""], "'' is not a non-empty string"),
])
def test_invalid_word_lists(words, message):
    with pytest.raises(ValueError, match=message):
        Vocabulary(words)


def test_invalid_build_arguments_and_dicts():
    with pytest.raises(ValueError, match="min_count >= 1 must hold, but got min_count=0"):
        Vocabulary.build(["a"], min_count=0)
    with pytest.raises(ValueError, match="max_size >= 4"):
        Vocabulary.build(["a"], min_count=1, max_size=3)
    with pytest.raises(ValueError, match="not a caption vocabulary"):
        Vocabulary.from_dict({"words": ["a"]})
    good = Vocabulary(["a"]).to_dict()
    with pytest.raises(ValueError, match="special tokens must be"):
        Vocabulary.from_dict({**good, "specials": ["<pad>"]})
    with pytest.raises(ValueError, match="no 'words' list"):
        Vocabulary.from_dict({**good, "words": "a b"})
