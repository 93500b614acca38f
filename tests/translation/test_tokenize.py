"""Tests of harness_tasks.translation.tokenize: SentencePiece trained in memory on real Multi30k text."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from harness_tasks.translation.data import Corpus, Multi30kOptions, NumbersOptions, load_multi30k, load_numbers
from harness_tasks.translation.tokenize import BOS_ID, EOS_ID, PAD_ID, UNK_ID, SubwordTokenizer

from harness.errors import DataError, UnknownNameError


@pytest.fixture(scope="module")
def multi30k(data_dir: Path) -> Corpus:
    return load_multi30k(Multi30kOptions(), data_dir)


@pytest.fixture(scope="module")
def german(multi30k: Corpus) -> SubwordTokenizer:
    """Unigram model, 8,000 pieces, trained on the 29,000 German training sentences."""
    return SubwordTokenizer.train([source for source, _ in multi30k.train], vocab_size=8000)


@pytest.fixture(scope="module")
def english(multi30k: Corpus) -> SubwordTokenizer:
    """BPE model, 4,000 pieces, trained on the 29,000 English training sentences."""
    return SubwordTokenizer.train([target for _, target in multi30k.train], vocab_size=4000, model_type="bpe")


def _sentencepiece_normal_form(text: str) -> str:
    """What nmt_nfkc normalisation makes of Multi30k text: NFKC, whitespace runs collapsed, ends stripped."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def test_special_ids_and_their_pieces(german: SubwordTokenizer):
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    assert german.pieces([PAD_ID, UNK_ID, BOS_ID, EOS_ID]) == ["<pad>", "<unk>", "<s>", "</s>"]
    assert german.vocab_size == 8000
    ids = german.encode(["Zwei Hunde spielen im Schnee."])[0]
    assert BOS_ID not in ids and EOS_ID not in ids and PAD_ID not in ids  # encode adds no specials
    assert min(ids) > EOS_ID


def test_german_round_trip_on_validation_and_test_sentences(german: SubwordTokenizer, multi30k: Corpus):
    sentences = [e.source for e in multi30k.valid + multi30k.test]
    decoded = [german.decode(ids) for ids in german.encode(sentences)]
    # Every sentence comes back as its SentencePiece-normalised form ...
    assert decoded == [_sentencepiece_normal_form(s) for s in sentences]
    # ... which is the sentence itself for 2,013 of 2,014: one has a no-break space (U+00A0) before "cm".
    differing = [(s, d) for s, d in zip(sentences, decoded) if s != d]
    assert len(sentences) == 2014 and len(differing) == 1
    assert "120\xa0cm" in differing[0][0] and "120 cm" in differing[0][1]


def test_english_bpe_round_trip_is_exact(english: SubwordTokenizer, multi30k: Corpus):
    sentences = [ref for e in multi30k.valid + multi30k.test for ref in e.references]
    assert english.decode_batch(english.encode(sentences)) == sentences
    assert english.vocab_size == 4000


def test_decode_stops_at_eos_and_skips_pad_and_bos(german: SubwordTokenizer):
    text = "Ein Mann fährt Fahrrad."
    ids = german.encode([text])[0]
    assert german.decode([BOS_ID, *ids, EOS_ID, *german.encode(["Danach kommt nichts."])[0], PAD_ID]) == text
    assert german.decode([BOS_ID, *ids, PAD_ID, PAD_ID]) == text
    assert german.decode([EOS_ID, *ids]) == ""


def test_unseen_characters_map_to_unk(german: SubwordTokenizer):
    ids = german.encode(["Ein Hund 🐕 rennt."])[0]
    assert UNK_ID in ids
    assert german.decode(ids) == "Ein Hund  ⁇  rennt."  # the unknown surface is " ⁇ ", spaces included


def test_pieces_label_every_token(german: SubwordTokenizer):
    text = "Zwei junge weiße Männer sind im Freien."
    ids = german.encode([text])[0]
    pieces = german.pieces([BOS_ID, *ids, EOS_ID])
    assert pieces[0] == "<s>" and pieces[-1] == "</s>" and len(pieces) == len(ids) + 2
    assert "".join(pieces[1:-1]).replace("▁", " ").strip() == text
    assert pieces[1] == "▁Zwei"  # frequent words are single pieces with the word-start mark


def test_out_of_range_ids_are_rejected(german: SubwordTokenizer):
    with pytest.raises(ValueError, match=r"token id 8000 is outside the vocabulary \[0, 8000\)"):
        german.decode([5, 8000])
    with pytest.raises(ValueError, match="token id -1"):
        german.pieces([-1])


def test_training_is_deterministic_and_silent(multi30k: Corpus, capfd):
    sentences = [source for source, _ in multi30k.train[:5000]]
    first = SubwordTokenizer.train(sentences, vocab_size=2000)
    second = SubwordTokenizer.train(iter(sentences), vocab_size=2000)  # a one-shot iterator works too
    assert first.to_bytes() == second.to_bytes()
    assert SubwordTokenizer.train(sentences, vocab_size=1500).to_bytes() != first.to_bytes()
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""  # SentencePiece's training log is silenced


def test_bytes_round_trip_gives_the_same_tokenizer(german: SubwordTokenizer, multi30k: Corpus):
    data = german.to_bytes()
    restored = SubwordTokenizer.from_bytes(data)
    sentences = [e.source for e in multi30k.valid[:100]]
    assert restored.encode(sentences) == german.encode(sentences)
    assert restored.vocab_size == german.vocab_size and restored.to_bytes() == data


def test_tiny_corpus_with_too_large_vocab_still_trains():
    corpus = load_numbers(NumbersOptions(train_size=2000, valid_size=200, test_size=1))
    tokenizer = SubwordTokenizer.train([target for _, target in corpus.train], vocab_size=8000)
    assert 4 < tokenizer.vocab_size < 8000  # the soft limit shrinks the vocabulary
    references = [e.references[0] for e in corpus.valid]
    assert tokenizer.decode_batch(tokenizer.encode(references)) == references


def test_training_errors_are_one_line_bad_input():
    with pytest.raises(DataError, match="no non-empty training sentence"):
        SubwordTokenizer.train(["", "   "], vocab_size=100)
    with pytest.raises(DataError, match=r"vocab_size 10 is too small .*\(10 vs 31"):
        SubwordTokenizer.train(["abcdefghijklmnopqrstuvwxyz"], vocab_size=10)
    with pytest.raises(UnknownNameError, match="did you mean 'unigram'"):
        SubwordTokenizer.train(["a b c"], vocab_size=100, model_type="unigam")
    with pytest.raises(DataError, match="not a SentencePiece model"):
        SubwordTokenizer.from_bytes(b"not a model proto")
