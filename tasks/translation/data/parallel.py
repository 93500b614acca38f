"""The ``parallel`` dataset: the user's own parallel corpus.

TSV, JSONL or two line-aligned text files; given train/valid/test splits or one file split by
distinct source sentence with a seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from harness_tasks.translation.data.corpus import Corpus, Example, group_by_source, split_sources, text_lines
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.datafiles import DataPath, resolve_data_path
from harness.errors import DataError
from harness.task import DatasetInfo


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
        by_source = group_by_source(pairs)
        where = resolve_data_path(data_dir, options.file, "parallel")
        train_sources, valid_sources, test_sources = split_sources(list(by_source), options, where)
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
    return [Example(s, tuple(dict.fromkeys(targets))) for s, targets in group_by_source(pairs).items()]


def _read_parallel(path: Path, options: ParallelOptions) -> list[tuple[str, str]]:
    """``(source, target)`` pairs of one file (or aligned pair of files) in the options' format, in file order."""
    if options.format == "aligned":
        source_path = path.with_name(f"{path.name}.{options.source_lang}")
        target_path = path.with_name(f"{path.name}.{options.target_lang}")
        sources = [line.strip() for line in text_lines(source_path)]
        targets = [line.strip() for line in text_lines(target_path)]
        if len(sources) != len(targets):
            raise DataError(f"{source_path} has {len(sources)} lines but {target_path} has {len(targets)}; the two "
                            "languages must be line-aligned")
        pairs = list(zip(sources, targets))
        for number, (s, t) in enumerate(pairs, start=1):
            if not s or not t:
                raise DataError(f"{source_path if not s else target_path} line {number} is empty; every line must hold "
                                "one sentence")
        return pairs
    lines = text_lines(path)
    if options.format == "tsv":
        return [_parse_tsv_line(line, path, number) for number, line in enumerate(lines, start=1)
                if not (options.header and number == 1)]
    source_key, target_key = options.source_key or options.source_lang, options.target_key or options.target_lang
    return [_parse_jsonl_line(line, path, number, source_key, target_key) for number, line in enumerate(lines, start=1)]


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


PARALLEL = DatasetInfo(
    name="parallel",
    summary="your own parallel corpus: TSV, JSONL or two aligned text files; given splits or a seeded split",
    options=ParallelOptions,
    load=load_parallel,
    needs_data_dir=True,
)
"""The ``parallel`` dataset, registered as ``translation.parallel`` in the ``harness.datasets`` entry points."""
