"""The ``parallel`` dataset: the user's own corpus as TSV, JSONL or two aligned files, given splits or a seeded split.

The corpora are real sentences: the first lines of Multi30k's German-English training, validation and test files.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from harness_tasks.translation.data import ParallelOptions, load_parallel

from harness.errors import DataError, SpecError
from harness.spec import parse_spec
from harness.task import registered_datasets
from tests.conftest import harness_cli

DATASETS = registered_datasets("translation")  # the task's datasets, as pyproject.toml registers them


def multi30k(data_dir: Path, stem: str, n: int) -> list[tuple[str, str]]:
    read = lambda lang: gzip.decompress((data_dir / "multi30k" / f"{stem}.{lang}.gz").read_bytes()).decode().split("\n")[:n]
    return list(zip(read("de"), read("en")))


def write(folder: Path, name: str, pairs: list[tuple[str, str]], fmt: str) -> str:
    """The corpus file(s) of ``pairs`` in ``fmt``; returns the path to give in the spec (relative to ``folder``)."""
    if fmt == "tsv":
        (folder / f"{name}.tsv").write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
        return f"{name}.tsv"
    if fmt == "jsonl":
        (folder / f"{name}.jsonl").write_text("".join(json.dumps({"de": s, "en": t}, ensure_ascii=False) + "\n"
                                                      for s, t in pairs), encoding="utf-8")
        return f"{name}.jsonl"
    (folder / f"{name}.de").write_text("".join(s + "\n" for s, _ in pairs), encoding="utf-8")
    (folder / f"{name}.en").write_text("".join(t + "\n" for _, t in pairs), encoding="utf-8")
    return name


@pytest.fixture(scope="module")
def splits(data_dir):
    return {"train": multi30k(data_dir, "train", 400), "valid": multi30k(data_dir, "val", 40),
            "test": multi30k(data_dir, "test_2016_flickr", 40)}


@pytest.mark.parametrize("fmt", ["tsv", "jsonl", "aligned"])
def test_given_splits_in_every_format_read_the_same_corpus(fmt, splits, tmp_path):
    paths = {split: write(tmp_path, split, pairs, fmt) for split, pairs in splits.items()}
    corpus = load_parallel(ParallelOptions(source_lang="de", target_lang="en", format=fmt, **paths), tmp_path)
    assert corpus.name == "parallel" and (corpus.source_lang, corpus.target_lang) == ("de", "en")
    assert corpus.train == splits["train"]
    assert [(e.source, e.references) for e in corpus.test] == [(s, (t,)) for s, t in splits["test"]]
    assert corpus.citation.startswith("user-supplied parallel corpus (train train")


def test_one_file_is_split_by_source_and_repeated_sources_become_references(splits, tmp_path):
    pairs = splits["train"] + [(s, t.upper()) for s, t in splits["train"][:50]]  # 50 sources with a second translation
    write(tmp_path, "all", pairs, "tsv")
    options = ParallelOptions(source_lang="de", target_lang="en", file="all.tsv", valid_fraction=0.1, test_fraction=0.1,
                              seed=3, citation="My corpus (2026)")
    corpus = load_parallel(options, tmp_path)
    sources = {split: {e.source for e in getattr(corpus, split)} for split in ("valid", "test")}
    sources["train"] = {s for s, _ in corpus.train}
    assert not (sources["train"] & sources["valid"] or sources["train"] & sources["test"] or sources["valid"] & sources["test"])
    assert len(sources["valid"]) == len(sources["test"]) == 40 and len(sources["train"]) == 320
    doubled = [e for e in corpus.valid + corpus.test if len(e.references) == 2]
    assert doubled and all(e.references[1] == e.references[0].upper() for e in doubled)
    assert corpus.citation == "My corpus (2026)"
    assert load_parallel(options, tmp_path) == corpus  # the seed fixes the split


def test_absolute_paths_need_no_data_directory_entry(splits, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    paths = {split: str(elsewhere / write(elsewhere, split, pairs, "tsv")) for split, pairs in splits.items()}
    corpus = load_parallel(ParallelOptions(source_lang="de", target_lang="en", **paths), tmp_path / "data")
    assert len(corpus.train) == 400
    from harness.study import load_data

    spec = parse_spec({"study": {"name": "abs", "task": "translation"},
                       "dataset": {"name": "parallel", "source_lang": "de", "target_lang": "en", "vocab_size": 100, **paths}})
    _, data = load_data(spec, tmp_path / "no-data-dir-here")  # absolute files need no data directory
    assert data.corpus.name == "parallel" and len(data.corpus.train) == 400


@pytest.mark.parametrize("content, fragment", [
    ("Ein Hund.\tA dog.\nkein Tab hier\n", "line 2 has no tab; expected source<TAB>target"),
    ("Ein Hund.\t \n", "line 1: the target field is empty"),
])
def test_malformed_tsv_names_file_and_line(content, fragment, tmp_path):
    (tmp_path / "bad.tsv").write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=fragment):
        load_parallel(ParallelOptions(source_lang="de", target_lang="en", file="bad.tsv"), tmp_path)


def test_malformed_jsonl_and_misaligned_files(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"de": "Ein Hund.", "en": "A dog."}\n{"de": "Eine Katze."}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl line 2 has no key 'en' \(its keys: de\); set source_key"):
        load_parallel(ParallelOptions(source_lang="de", target_lang="en", file="bad.jsonl", format="jsonl"), tmp_path)
    (tmp_path / "c.de").write_text("Ein Hund.\nEine Katze.\n", encoding="utf-8")
    (tmp_path / "c.en").write_text("A dog.\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"c.de has 2 lines but .*c.en has 1; the two languages must be line-aligned"):
        load_parallel(ParallelOptions(source_lang="de", target_lang="en", file="c", format="aligned"), tmp_path)
    with pytest.raises(DataError, match="missing file .*nothing.tsv"):
        load_parallel(ParallelOptions(source_lang="de", target_lang="en", file="nothing.tsv"), tmp_path)


@pytest.mark.parametrize("dataset, fragment", [
    ({"file": "a.tsv", "train": "b.tsv"}, "give file (split with a seed) or train, valid and test, not both"),
    ({"train": "b.tsv"}, "missing: valid, test"),
    ({"file": "../a.tsv"}, "a relative path must stay inside the data directory"),
    ({"file": "a.tsv", "target_lang": "de"}, "source_lang and target_lang are both 'de'"),
])
def test_bad_options_are_spec_errors(dataset, fragment):
    with pytest.raises(SpecError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse_spec({"study": {"name": "p", "task": "translation"},
                    "dataset": {"name": "parallel", "source_lang": "de", "target_lang": "en", **dataset}})


def test_a_study_on_an_own_corpus_cites_it_and_shows_no_published_table(splits, tmp_path):
    """End to end through the command line: the report cites the user's corpus, not Multi30k, and prints no
    published Multi30k numbers (the sentences are Multi30k's, the setting is not)."""
    data = tmp_path / "data"
    data.mkdir()
    for split, pairs in splits.items():
        write(data, split, pairs, "jsonl")
    spec = tmp_path / "own.toml"
    spec.write_text('[study]\nname = "own"\ntask = "translation"\nmetric = "chrf"\nn_trials = 1\n\n'
                    '[dataset]\nname = "parallel"\nsource_lang = "de"\ntarget_lang = "en"\nformat = "jsonl"\n'
                    'train = "train.jsonl"\nvalid = "valid.jsonl"\ntest = "test.jsonl"\nvocab_size = 200\n'
                    'citation = "Own test corpus (first lines of Multi30k)"\n\n'
                    '[budget]\nmax_epochs = 1\nthreads = 1\n\n[search]\nmodel = "rnn"\nattention = "dot"\n'
                    'schedule = "constant"\nhidden_size = 16\nembedding_size = 8\n')
    url = f"sqlite:///{tmp_path / 'own.db'}"
    run = harness_cli("run-study", str(spec), "--storage", url, "--data-dir", str(data), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    report = harness_cli("report", "own", "--storage", url, "--out", str(tmp_path / "own.md"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "own.md").read_text()
    assert "Own test corpus (first lines of Multi30k)" in text
    assert "Published reference numbers" not in text and "bentrevett" not in text


def test_parallel_is_registered_with_its_options():
    info = DATASETS["parallel"]
    assert info.needs_data_dir and info.download is None and "own parallel corpus" in info.summary
    assert info.options is ParallelOptions and info.load is load_parallel
