"""Tests of harness_tasks.translation.data on the real Multi30k and Tatoeba files (see ../shared/data/README.md)."""

from __future__ import annotations

import gzip
import re
import shutil
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest
from harness_tasks.translation.data import (
    MULTI30K_FILES,
    Corpus,
    Example,
    Multi30kOptions,
    NumbersOptions,
    TatoebaOptions,
    download_multi30k,
    download_tatoeba,
    load_multi30k,
    load_numbers,
    load_tatoeba,
)
from num2words import num2words
from pydantic import ValidationError

from harness.errors import BadInputError, DataError
from harness.task import registered_datasets

DATASETS = registered_datasets("translation")  # the task's datasets, as pyproject.toml registers them

FIRST_PAIR_EN = "Two young, White males are outside near many bushes."
FIRST_PAIR_DE = "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche."
TATOEBA_PAIRS = 50_001  # lines after the "1<TAB>2" header (the shared README says 50,000)
TATOEBA_SOURCES = 37_678  # distinct English sentences among them


def _all_numbers_pairs(corpus: Corpus) -> list[tuple[str, str]]:
    return corpus.train + [(e.source, e.references[0]) for e in corpus.valid + corpus.test]


def _write_gzip(path: Path, data: bytes) -> None:
    path.write_bytes(gzip.compress(data))


# ------------------------------------------------------------------------------------------------
# registry


def test_registry_lists_the_datasets_with_their_options_and_downloads():
    assert sorted(DATASETS) == ["multi30k", "numbers-en-de", "parallel", "tatoeba"]
    assert DATASETS["numbers-en-de"].needs_data_dir is False
    assert DATASETS["numbers-en-de"].download is None
    assert DATASETS["multi30k"].needs_data_dir and DATASETS["multi30k"].download is download_multi30k
    assert DATASETS["tatoeba"].needs_data_dir and DATASETS["tatoeba"].download is download_tatoeba
    for name, info in DATASETS.items():
        assert info.name == name
        assert "\n" not in info.summary and info.summary
        with pytest.raises(ValidationError, match="no_such_option"):
            info.options(**({"source_lang": "de", "target_lang": "en", "file": "x.tsv"} if name == "parallel" else {}),
                         no_such_option=1)


def test_registry_load_from_default_options():
    corpus = DATASETS["numbers-en-de"].load(DATASETS["numbers-en-de"].options(), None)
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (6000, 500, 500)


# ------------------------------------------------------------------------------------------------
# numbers-en-de


def test_numbers_default_sizes_languages_and_char_bleu():
    corpus = load_numbers(NumbersOptions())
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (6000, 500, 500)
    assert (corpus.name, corpus.source_lang, corpus.target_lang) == ("numbers-en-de", "en", "de")
    assert corpus.bleu_tokenize == "char"
    assert all(len(e.references) == 1 for e in corpus.valid + corpus.test)
    assert "num2words" in corpus.citation


def test_numbers_splits_hold_disjoint_numbers():
    corpus = load_numbers(NumbersOptions(train_size=900, valid_size=50, test_size=50, max_number=999))
    train = {s for s, _ in corpus.train}
    valid = {e.source for e in corpus.valid}
    test = {e.source for e in corpus.test}
    assert (len(train), len(valid), len(test)) == (900, 50, 50)  # no number twice inside a split
    assert not train & valid and not train & test and not valid & test


def test_numbers_text_is_exactly_what_num2words_gives():
    # 100 numbers drawn from [0, 99] without replacement: every number appears exactly once.
    corpus = load_numbers(NumbersOptions(train_size=80, valid_size=10, test_size=10, max_number=99))
    expected = {(num2words(n, lang="en"), num2words(n, lang="de")) for n in range(100)}
    assert set(_all_numbers_pairs(corpus)) == expected
    assert ("forty-five", "fünfundvierzig") in expected
    assert ("seventeen", "siebzehn") in expected


def test_numbers_german_below_a_million_is_one_word():
    corpus = load_numbers(NumbersOptions(train_size=300, valid_size=10, test_size=10))
    german = [target for _, target in corpus.train]
    assert all(" " not in g for g in german)
    assert max(len(g) for g in german) > 40  # compounds like "neunhundertsechsundsiebzigtausend..."


def test_numbers_are_deterministic_for_a_seed_and_change_with_it():
    options = NumbersOptions(train_size=200, valid_size=20, test_size=20, seed=7)
    assert load_numbers(options) == load_numbers(options)
    other = load_numbers(options.model_copy(update={"seed": 8}))
    assert other.train != load_numbers(options).train


def test_numbers_de_en_swaps_the_sides():
    en_de = load_numbers(NumbersOptions(train_size=50, valid_size=5, test_size=5))
    de_en = load_numbers(NumbersOptions(train_size=50, valid_size=5, test_size=5, direction="de-en"))
    assert (de_en.source_lang, de_en.target_lang) == ("de", "en")
    assert de_en.train == [(t, s) for s, t in en_de.train]
    assert [(e.source, e.references) for e in de_en.test] == [(e.references[0], (e.source,)) for e in en_de.test]


def test_numbers_sizes_beyond_the_range_are_a_data_error():
    with pytest.raises(DataError, match=r"= 11 exceeds the 10 distinct numbers in \[0, max_number=9\]"):
        load_numbers(NumbersOptions(train_size=8, valid_size=2, test_size=1, max_number=9))
    corpus = load_numbers(NumbersOptions(train_size=8, valid_size=1, test_size=1, max_number=9))
    assert len(set(_all_numbers_pairs(corpus))) == 10  # exactly the whole range is fine


@pytest.mark.parametrize(
    "bad", [{"direction": "en-fr"}, {"train_size": 0}, {"max_number": -1}, {"seed": -1}, {"test_sizes": 5}]
)
def test_numbers_options_reject_bad_values(bad):
    with pytest.raises(ValidationError):
        NumbersOptions(**bad)


# ------------------------------------------------------------------------------------------------
# multi30k: the real files


@pytest.fixture(scope="module")
def multi30k(data_dir: Path) -> Corpus:
    return load_multi30k(Multi30kOptions(), data_dir)


def test_multi30k_split_sizes(multi30k: Corpus):
    assert (len(multi30k.train), len(multi30k.valid), len(multi30k.test)) == (29_000, 1_014, 1_000)
    assert (multi30k.source_lang, multi30k.target_lang) == ("de", "en")
    assert multi30k.bleu_tokenize == "13a"
    assert "W16-3210" in multi30k.citation


def test_multi30k_first_pairs_are_the_raw_sentences(multi30k: Corpus):
    assert multi30k.train[0] == (FIRST_PAIR_DE, FIRST_PAIR_EN)
    assert multi30k.valid[0] == Example(
        "Eine Gruppe von Männern lädt Baumwolle auf einen Lastwagen",
        ("A group of men are loading cotton onto a truck",),
    )
    assert multi30k.test[0].references == ("A man in an orange hat starring at something.",)


def test_multi30k_strips_trailing_whitespace_only(multi30k: Corpus):
    # train.de.gz line 5280 ends with a space in the raw file; 40 German training lines do.
    assert multi30k.train[5279][0] == (
        "Ein blondes Mädchen in einem weißen Kleid streitet mit einem anderen Mädchen "
        "in einem pfirsichfarben-weißen Kleid"
    )
    sentences = [s for pair in multi30k.train for s in pair]
    assert all(s == s.rstrip() and s for s in sentences)
    assert sum("\xa0" in s for s in sentences) > 0  # inner no-break spaces are kept as they are


def test_multi30k_en_de_direction(data_dir: Path, multi30k: Corpus):
    en_de = load_multi30k(Multi30kOptions(source_lang="en", target_lang="de"), data_dir)
    assert (en_de.source_lang, en_de.target_lang) == ("en", "de")
    assert en_de.train[0] == (FIRST_PAIR_EN, FIRST_PAIR_DE)
    assert en_de.train == [(t, s) for s, t in multi30k.train]
    assert [e.source for e in en_de.valid] == [e.references[0] for e in multi30k.valid]


def test_multi30k_options_need_two_different_languages():
    with pytest.raises(ValidationError, match="both 'en'"):
        Multi30kOptions(source_lang="en", target_lang="en")
    with pytest.raises(ValidationError):
        Multi30kOptions(source_lang="fr")


def test_multi30k_download_via_file_url_gives_the_same_files_and_corpus(data_dir: Path, tmp_path: Path, multi30k):
    base_url = (data_dir / "multi30k").as_uri() + "/"
    download_multi30k(tmp_path, base_url=base_url)
    folder = tmp_path / "multi30k"
    assert sorted(p.name for p in folder.iterdir()) == sorted(MULTI30K_FILES)  # no temporary files left
    for name in MULTI30K_FILES:
        assert (folder / name).read_bytes() == (data_dir / "multi30k" / name).read_bytes()
    assert load_multi30k(Multi30kOptions(), tmp_path) == multi30k
    # Files already present are kept: a second run does not even contact the (now broken) URL.
    download_multi30k(tmp_path, base_url=(tmp_path / "nowhere").as_uri())


def test_multi30k_download_failure_leaves_no_partial_file(data_dir: Path, tmp_path: Path):
    source = tmp_path / "mirror"
    source.mkdir()
    for name in MULTI30K_FILES[:2]:
        shutil.copy(data_dir / "multi30k" / name, source / name)
    (source / MULTI30K_FILES[2]).write_bytes(b"<html>404 Not Found</html>")  # an error page, not gzip
    target = tmp_path / "data"
    with pytest.raises(DataError, match=rf"{re.escape(str(MULTI30K_FILES[2]))} did not return a valid gzip file"):
        download_multi30k(target, base_url=source.as_uri())
    assert sorted(p.name for p in (target / "multi30k").iterdir()) == sorted(MULTI30K_FILES[:2])
    (source / MULTI30K_FILES[2]).unlink()
    with pytest.raises(DataError, match=rf"could not download .*{re.escape(str(MULTI30K_FILES[2]))} to "):
        download_multi30k(target, base_url=source.as_uri())
    assert sorted(p.name for p in (target / "multi30k").iterdir()) == sorted(MULTI30K_FILES[:2])


# ------------------------------------------------------------------------------------------------
# multi30k: broken files


@pytest.fixture
def multi30k_copy(data_dir: Path, tmp_path: Path) -> Path:
    """A data folder in tmp_path holding a copy of the six Multi30k files, to be broken by a test."""
    shutil.copytree(data_dir / "multi30k", tmp_path / "multi30k", ignore=shutil.ignore_patterns("*.txt"))
    for path in (tmp_path / "multi30k").iterdir():
        path.chmod(0o644)
    return tmp_path


def _load_copy(data_dir: Path) -> Corpus:
    return load_multi30k(Multi30kOptions(), data_dir)


def test_multi30k_missing_data_dir_says_how_to_get_the_data(tmp_path: Path):
    missing = tmp_path / "no-such-dir"
    with pytest.raises(DataError) as info:
        _load_copy(missing)
    message = str(info.value)
    assert f"data directory {missing} does not exist" in message
    assert f"harness download multi30k --data-dir {missing}" in message
    assert "https://raw.githubusercontent.com/multi30k/dataset/" in message
    assert "\n" not in message and isinstance(info.value, BadInputError)


def test_multi30k_missing_subfolder_and_no_data_dir(tmp_path: Path):
    with pytest.raises(DataError, match=rf"no multi30k folder at {re.escape(str(tmp_path / 'multi30k'))}"):
        _load_copy(tmp_path)
    with pytest.raises(DataError, match="pass --data-dir DIR or set HARNESS_DATA_DIR"):
        _load_copy(None)


def test_multi30k_missing_file(multi30k_copy: Path):
    missing = multi30k_copy / "multi30k" / "val.en.gz"
    missing.unlink()
    with pytest.raises(DataError, match=rf"missing file {re.escape(str(missing))}; run `harness download multi30k"):
        _load_copy(multi30k_copy)


@pytest.mark.parametrize("content", [b"", gzip.compress(b"")], ids=["zero-bytes", "empty-gzip"])
def test_multi30k_empty_file(multi30k_copy: Path, content: bytes):
    path = multi30k_copy / "multi30k" / "test_2016_flickr.de.gz"
    path.write_bytes(content)
    with pytest.raises(DataError, match=rf"{re.escape(str(path))} is empty"):
        _load_copy(multi30k_copy)


def test_multi30k_corrupt_gzip(multi30k_copy: Path):
    path = multi30k_copy / "multi30k" / "train.en.gz"
    path.write_bytes(b"this is plain text, not gzip\n")
    with pytest.raises(DataError, match=rf"{re.escape(str(path))} is not a valid gzip file"):
        _load_copy(multi30k_copy)


def test_multi30k_truncated_gzip(data_dir: Path, multi30k_copy: Path):
    path = multi30k_copy / "multi30k" / "train.de.gz"
    path.write_bytes((data_dir / "multi30k" / "train.de.gz").read_bytes()[:10_000])
    with pytest.raises(DataError, match=rf"{re.escape(str(path))} is not a valid gzip file"):
        _load_copy(multi30k_copy)


def test_multi30k_text_that_is_not_utf8(multi30k_copy: Path):
    path = multi30k_copy / "multi30k" / "val.de.gz"
    _write_gzip(path, b"Ein Satz.\n" + "Noch ein Satz für".encode("latin-1") + b"\n")
    expected = rf"{re.escape(str(path))} is not UTF-8 text: byte 0xfc at byte offset 25 \(line 2\)"
    with pytest.raises(DataError, match=expected):
        _load_copy(multi30k_copy)


def test_multi30k_line_counts_differ(data_dir: Path, multi30k_copy: Path):
    en = multi30k_copy / "multi30k" / "val.en.gz"
    lines = gzip.decompress((data_dir / "multi30k" / "val.en.gz").read_bytes()).splitlines(keepends=True)
    _write_gzip(en, b"".join(lines[:-1]))
    de = multi30k_copy / "multi30k" / "val.de.gz"
    with pytest.raises(DataError, match=rf"{re.escape(str(de))} has 1014 lines but {re.escape(str(en))} has 1013"):
        _load_copy(multi30k_copy)


def test_multi30k_empty_sentence_names_the_line(multi30k_copy: Path):
    path = multi30k_copy / "multi30k" / "test_2016_flickr.en.gz"
    _write_gzip(path, b"A dog runs.\n   \nA cat sleeps.\n")
    with pytest.raises(DataError, match=rf"{re.escape(str(path))} line 2 is empty"):
        _load_copy(multi30k_copy)


# ------------------------------------------------------------------------------------------------
# tatoeba: the real file


@pytest.fixture(scope="module")
def tatoeba_file_pairs(data_dir: Path) -> list[tuple[str, str]]:
    """The real file's pairs, read independently of the loader (header line dropped)."""
    lines = (data_dir / "tatoeba" / "deu.txt").read_bytes().decode("utf-8").split("\r\n")
    assert lines[0] == "1\t2" and lines[-1] == ""
    return [tuple(line.split("\t")) for line in lines[1:-1]]


@pytest.fixture(scope="module")
def tatoeba(data_dir: Path) -> Corpus:
    return load_tatoeba(TatoebaOptions(), data_dir)


def test_tatoeba_every_pair_is_accounted_for(tatoeba: Corpus, tatoeba_file_pairs):
    assert len(tatoeba_file_pairs) == TATOEBA_PAIRS
    evaluated = [(e.source, r) for e in tatoeba.valid + tatoeba.test for r in e.references]
    assert len(tatoeba.train) + len(evaluated) == TATOEBA_PAIRS
    assert sorted(tatoeba.train + evaluated) == sorted(tatoeba_file_pairs)
    assert ("1", "2") not in tatoeba.train  # the header line is detected and skipped
    assert (tatoeba.source_lang, tatoeba.target_lang, tatoeba.bleu_tokenize) == ("en", "de", "13a")
    assert "CC-BY 2.0 FR" in tatoeba.citation


def test_tatoeba_splits_by_source_sentence(tatoeba: Corpus):
    train = {s for s, _ in tatoeba.train}
    valid = [e.source for e in tatoeba.valid]
    test = [e.source for e in tatoeba.test]
    assert len(train) + len(valid) + len(test) == TATOEBA_SOURCES
    assert len(valid) == len(set(valid)) == round(0.05 * TATOEBA_SOURCES) == 1884
    assert len(test) == len(set(test)) == 1884
    assert not train & set(valid) and not train & set(test) and not set(valid) & set(test)


def test_tatoeba_examples_carry_all_translations(tatoeba: Corpus, tatoeba_file_pairs):
    translations = defaultdict(list)
    for source, target in tatoeba_file_pairs:
        translations[source].append(target)
    for example in tatoeba.valid + tatoeba.test:
        assert list(example.references) == translations[example.source]
    multi = [e for e in tatoeba.valid + tatoeba.test if len(e.references) > 1]
    assert len(multi) > 500  # about a fifth of the sources have several translations
    assert max(len(translations[s]) for s in translations) == 19  # "Go away." has 19


def test_tatoeba_is_deterministic_for_a_seed(data_dir: Path, tatoeba: Corpus):
    assert load_tatoeba(TatoebaOptions(), data_dir) == tatoeba
    reseeded = load_tatoeba(TatoebaOptions(seed=1), data_dir)
    assert {e.source for e in reseeded.test} != {e.source for e in tatoeba.test}


def test_tatoeba_xx_en_direction(data_dir: Path):
    corpus = load_tatoeba(TatoebaOptions(direction="xx-en", max_pairs=2000), data_dir)
    assert (corpus.source_lang, corpus.target_lang) == ("de", "en")
    evaluated = [(r, e.source) for e in corpus.valid + corpus.test for r in e.references]
    assert ("Go.", "Geh.") in [(t, s) for s, t in corpus.train] + evaluated
    assert len(corpus.train) + len(evaluated) == 2000


def test_tatoeba_max_pairs_takes_the_first_lines(data_dir: Path, tatoeba_file_pairs):
    corpus = load_tatoeba(TatoebaOptions(max_pairs=1000, valid_fraction=0.1, test_fraction=0.1), data_dir)
    evaluated = [(e.source, r) for e in corpus.valid + corpus.test for r in e.references]
    assert sorted(corpus.train + evaluated) == sorted(tatoeba_file_pairs[:1000])


def test_tatoeba_header_false_reads_the_header_as_a_pair(data_dir: Path):
    corpus = load_tatoeba(TatoebaOptions(header=False), data_dir)
    evaluated = [(e.source, r) for e in corpus.valid + corpus.test for r in e.references]
    assert len(corpus.train) + len(evaluated) == TATOEBA_PAIRS + 1
    assert ("1", "2") in corpus.train + evaluated


# ------------------------------------------------------------------------------------------------
# tatoeba: format variants and broken files (built in tmp_path)

SMALL_PAIRS = [
    ("Go.", "Geh."),
    ("Hi.", "Hallo!"),
    ("Hi.", "Grüß Gott!"),
    ("Run!", "Lauf!"),
    ("Wow!", "Potzdonner!"),
    ("Wow!", "Donnerwetter!"),
    ("Fire!", "Feuer!"),
    ("Help!", "Hilfe!"),
    ("Stop!", "Stopp!"),
    ("Wait!", "Warte!"),
]


def _write_pairs(path: Path, lines: list[str], newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((newline.join(lines) + newline).encode("utf-8"))
    return path


def _small(tmp_path: Path, lines: list[str], newline: str = "\n", **options) -> Corpus:
    _write_pairs(tmp_path / "tatoeba" / "deu.txt", lines, newline)
    return load_tatoeba(TatoebaOptions(valid_fraction=0.2, test_fraction=0.2, **options), tmp_path)


def _pairs_of(corpus: Corpus) -> list[tuple[str, str]]:
    return sorted(corpus.train + [(e.source, r) for e in corpus.valid + corpus.test for r in e.references])


def test_tatoeba_three_columns_with_attribution(tmp_path: Path):
    attribution = "CC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #8597805 (Roujin)"
    corpus = _small(tmp_path, [f"{s}\t{t}\t{attribution}" for s, t in SMALL_PAIRS])
    assert _pairs_of(corpus) == sorted(SMALL_PAIRS)
    assert (len({s for s, _ in corpus.train}), len(corpus.valid), len(corpus.test)) == (4, 2, 2)


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_tatoeba_line_ends_give_the_same_corpus(tmp_path: Path, newline: str):
    corpus = _small(tmp_path, [f"{s}\t{t}" for s, t in SMALL_PAIRS], newline)
    assert _pairs_of(corpus) == sorted(SMALL_PAIRS)
    assert all("\r" not in s + t for s, t in corpus.train)


def test_tatoeba_header_detection(tmp_path: Path):
    lines = [f"{s}\t{t}" for s, t in SMALL_PAIRS]
    assert _pairs_of(_small(tmp_path, ["1\t2", *lines])) == sorted(SMALL_PAIRS)  # auto: numeric header skipped
    assert _pairs_of(_small(tmp_path, lines)) == sorted(SMALL_PAIRS)  # auto: no header, first pair kept
    assert _pairs_of(_small(tmp_path, ["English\tGerman", *lines], header=True)) == sorted(SMALL_PAIRS)
    with pytest.raises(DataError):  # a textual header is not guessed: "auto" keeps it, and then
        _small(tmp_path, ["English", *lines])  # its single column is an error


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("Only English here.", "line 3 has 1 tab-separated fields; expected 2 or 3"),
        ("a\tb\tc\td", "line 3 has 4 tab-separated fields; expected 2 or 3"),
        ("\tLeer.", r"line 3: the first \(English\) field is empty"),
        ("Empty.\t  ", r"line 3: the second \(translation\) field is empty"),
        ("", "line 3 has 1 tab-separated fields"),
    ],
    ids=["one-column", "four-columns", "empty-english", "empty-translation", "blank-line"],
)
def test_tatoeba_malformed_line_reports_file_and_line(tmp_path: Path, bad_line: str, message: str):
    lines = ["1\t2", "Go.\tGeh.", bad_line, "Hi.\tHallo!"]
    path = tmp_path / "tatoeba" / "deu.txt"
    with pytest.raises(DataError, match=rf"{re.escape(str(path))} {message}") as info:
        _small(tmp_path, lines, "\r\n")
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_tatoeba_broken_files(tmp_path: Path):
    path = tmp_path / "tatoeba" / "deu.txt"
    command = re.escape(f"run `harness download tatoeba --data-dir {tmp_path}`")
    expected = rf"missing file {re.escape(str(path))}; {command}"
    with pytest.raises(DataError, match=expected):
        load_tatoeba(TatoebaOptions(), tmp_path)
    path.parent.mkdir()
    path.write_bytes(b"")
    with pytest.raises(DataError, match=rf"{re.escape(str(path))} is empty"):
        load_tatoeba(TatoebaOptions(), tmp_path)
    path.write_bytes(b"Go.\tGeh.\nCheers!\tProst!\nNo.\t" + "Nö".encode("cp1252") + b".\n")
    expected = rf"{re.escape(str(path))} is not UTF-8 text: byte 0xf6 at byte offset 29 \(line 3\)"
    with pytest.raises(DataError, match=expected):
        load_tatoeba(TatoebaOptions(), tmp_path)
    with pytest.raises(DataError, match="does not exist; run `harness download tatoeba"):
        load_tatoeba(TatoebaOptions(), tmp_path / "absent")


def test_tatoeba_too_few_sources_for_three_splits(tmp_path: Path):
    with pytest.raises(DataError, match="3 distinct source sentences give train/valid/test = 3/0/0"):
        _write_pairs(tmp_path / "tatoeba" / "deu.txt", ["Go.\tGeh.", "Hi.\tHallo!", "Hi.\tServus!", "Run!\tLauf!"])
        load_tatoeba(TatoebaOptions(), tmp_path)


def test_tatoeba_options_reject_bad_values():
    with pytest.raises(ValidationError, match="leaves nothing for training"):
        TatoebaOptions(valid_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ValidationError):
        TatoebaOptions(direction="en-de")
    with pytest.raises(ValidationError):
        TatoebaOptions(header="maybe")
    with pytest.raises(ValidationError):
        TatoebaOptions(max_pairs=0)


# ------------------------------------------------------------------------------------------------
# tatoeba: download


def _archive(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return path


def test_tatoeba_download_via_file_url(data_dir: Path, tmp_path: Path, tatoeba: Corpus):
    original = (data_dir / "tatoeba" / "deu.txt").read_bytes()
    archive = _archive(tmp_path / "deu-eng.zip", {"_about.txt": b"about", "deu.txt": original})
    target = tmp_path / "data"
    download_tatoeba(target, url=archive.as_uri())
    assert sorted(p.name for p in (target / "tatoeba").iterdir()) == ["deu.txt"]  # no archive, no temp files
    assert (target / "tatoeba" / "deu.txt").read_bytes() == original
    assert load_tatoeba(TatoebaOptions(), target) == tatoeba
    archive.unlink()
    download_tatoeba(target, url=archive.as_uri())  # the file is present: nothing is fetched


def test_tatoeba_download_errors_leave_nothing_behind(tmp_path: Path):
    target = tmp_path / "data"
    wrong = _archive(tmp_path / "deu-eng.zip", {"fra.txt": b"Go.\tVa !\n"})
    with pytest.raises(DataError, match=r"deu-eng.zip has no deu.txt; it holds: fra.txt"):
        download_tatoeba(target, url=wrong.as_uri())
    not_zip = tmp_path / "page.zip"
    not_zip.write_bytes(b"<html>Forbidden</html>")
    with pytest.raises(DataError, match="page.zip is not a valid zip archive"):
        download_tatoeba(target, url=not_zip.as_uri(), member="deu.txt")
    with pytest.raises(DataError, match="could not download .*absent-eng.zip"):
        download_tatoeba(target, url=(tmp_path / "absent-eng.zip").as_uri())
    assert list((target / "tatoeba").iterdir()) == []
