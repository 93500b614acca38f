"""The translation task: subword tokenisation, bucketed batches, teacher-forced loss, greedy decoding,
BLEU and chrF (sacrebleu, on detokenised output), perplexity and exact match.

Metrics on a split (validation during the search, test once for the best configuration):

- ``bleu``: corpus BLEU (Papineni et al. 2002) with sacrebleu (Post 2018) against all references, with
  the corpus's tokenizer (``13a``; ``char`` for numbers-en-de, whose German numbers are single words);
- ``bleu_lc``: the same BLEU on lowercased hypotheses and references (sacrebleu ``lowercase=True``), the
  case setting of published Multi30k figures that lowercase their text;
- ``chrf``: chrF (Popovic 2015) with sacrebleu;
- ``exact``: percentage of hypotheses equal to one of their references;
- ``loss``: teacher-forced cross-entropy per target token (nats); ``ppl``: ``exp(loss)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from harness_tasks.translation import space
from harness_tasks.translation.data import Corpus, Example
from harness_tasks.translation.tokenize import BOS_ID, EOS_ID, PAD_ID, SubwordTokenizer
from pydantic import BaseModel, ConfigDict, Field

from harness.task import Budget, Group, Task, TrainData

#: Published Multi30k German -> English results to show beside a study's own (not rerun here).
MULTI30K_DE_EN = {
    "setting": "Multi30k de->en, test_2016_flickr, all 29,000 training pairs, 10 epochs, greedy decoding; "
               "bentrevett/pytorch-seq2seq, BLEU on lowercased spaCy tokens (torchtext's bleu_score)",
    "metrics": ["bleu"],
    "compare": {"bleu": "bleu_lc"},  # lowercased sacrebleu (13a tokens) is the closest setting here
    "min_train": ["train_pairs", 28_500],
    "max_epochs": 10,
    "rows": [{"model": "GRU encoder-decoder + Bahdanau attention", "family": "rnn", "bleu": 28.3},
             {"model": "Transformer, 3+3 layers, d=256", "family": "transformer", "bleu": 36.5}],
    "note": "published figures, not reruns",
}


class Preprocessing(BaseModel):
    """Options every translation dataset accepts in ``[dataset]``, besides its own.

    Args:
        vocab_size: SentencePiece vocabulary per language (a soft limit on small corpora).
        tokenizer: SentencePiece model type, ``unigram`` (Kudo 2018) or ``bpe`` (Sennrich et al. 2016).
        max_len: Longest sequence in subword tokens; longer training pairs are dropped, longer
            evaluation sources truncated.
        batches: ``bucketed`` (the default): pairs of similar source and target length batched together
            (:class:`BucketBatches`); ``random``: each epoch's batches are consecutive slices of a random permutation.
            Settled by ``benchmarks/batching.py`` on 10,000 Multi30k pairs (batch 64, constant learning rate, 3
            seeds, 1 thread): padding falls from 49% to 6.5% of target positions and an epoch from 63 to 41 CPU
            seconds (GRU + additive attention) and from 106 to 66 (2+2-layer Transformer); after equal epochs
            validation BLEU does not differ detectably (+0.64 [-2.22, +3.51] and -0.76 [-4.29, +2.76]), within the
            random run's CPU time it is higher (+3.91 [+0.80, +7.01] and +2.03 [+0.52, +3.54]).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    vocab_size: int = Field(8000, ge=16, le=64000)
    tokenizer: Literal["unigram", "bpe"] = "unigram"
    max_len: int = Field(64, ge=4, le=1024)
    batches: Literal["random", "bucketed"] = "bucketed"


@dataclass
class Split:
    """An evaluation split: examples (with all references), encoded sources, and (source, target) pairs."""

    examples: list[Example]
    sources: list[list[int]]
    pairs: list[tuple[list[int], list[int]]]


@dataclass
class TranslationData:
    """Everything a trial needs, prepared once per process."""

    corpus: Corpus | None  # None for a model restored from its checkpoint (harness predict)
    src_tok: SubwordTokenizer
    tgt_tok: SubwordTokenizer
    train: list[tuple[list[int], list[int]]]
    valid: Split
    test: Split
    max_len: int
    dropped: int
    length_ratio: float = 1.0
    #: The raw target sentence of each pair of ``train`` (same subset, filter and order), for the baselines.
    train_targets: list[str] = field(default_factory=list)
    #: How training batches are drawn (``Preprocessing.batches``).
    batches: str = "random"

    def decode_limit(self, src_len: int) -> int:
        """Longest greedy output for a source of ``src_len`` tokens: 1.5 x the training target/source
        length ratio, plus 5, at most ``max_len`` (bounds the cost of models that never emit EOS)."""
        return min(self.max_len, math.ceil(1.5 * self.length_ratio * src_len) + 5)


class TranslationTask(Task):
    """Neural machine translation with RNN encoder-decoders (every attention type) and Transformers."""

    name: ClassVar[str] = "translation"
    summary: ClassVar[str] = "neural machine translation: numbers-en-de, Multi30k, Tatoeba; BLEU and chrF"
    metrics: ClassVar[dict[str, str]] = {"bleu": "maximize", "bleu_lc": "maximize", "chrf": "maximize",
                                         "exact": "maximize", "loss": "minimize", "ppl": "minimize"}
    model_metrics: ClassVar[tuple[str, ...]] = ("loss", "ppl")
    default_metric: ClassVar[str] = "bleu"
    model_families: ClassVar[tuple[str, ...]] = space.FAMILIES
    shared_dataset_options: ClassVar[type[BaseModel]] = Preprocessing

    @classmethod
    def space(cls) -> list[Group]:
        return space.groups(cls)

    # -- data ---------------------------------------------------------------------------------------
    def prepare(self, dataset: str, options: BaseModel, data_dir: Path | None, budget: Budget, seed: int) -> TranslationData:
        info = self.datasets()[dataset]
        corpus = info.load(info.own_options(options), data_dir)
        train = corpus.train
        if budget.max_train_examples is not None and budget.max_train_examples < len(train):
            import numpy as np

            keep = np.random.default_rng(seed).permutation(len(train))[: budget.max_train_examples]
            train = [train[i] for i in sorted(keep)]
        src_tok = SubwordTokenizer.train([s for s, _ in train], options.vocab_size, options.tokenizer, seed=seed)
        tgt_tok = SubwordTokenizer.train([t for _, t in train], options.vocab_size, options.tokenizer, seed=seed)
        L = options.max_len
        encoded = zip(src_tok.encode([s for s, _ in train]), tgt_tok.encode([t for _, t in train]), (t for _, t in train))
        kept = [(s, t, raw) for s, t, raw in encoded if 0 < len(s) <= L and len(t) + 1 <= L]
        pairs = [(s, t) for s, t, _ in kept]
        valid = corpus.valid[: budget.max_valid_examples] if budget.max_valid_examples else corpus.valid
        ratio = sum(len(t) for _, t in pairs) / max(1, sum(len(s) for s, _ in pairs))
        return TranslationData(corpus, src_tok, tgt_tok, pairs, self._split(valid, src_tok, tgt_tok, L),
                               self._split(corpus.test, src_tok, tgt_tok, L), L, len(train) - len(pairs), ratio,
                               train_targets=[raw for _, _, raw in kept], batches=options.batches)

    @staticmethod
    def _split(examples: list[Example], src_tok: SubwordTokenizer, tgt_tok: SubwordTokenizer, L: int) -> Split:
        sources = [s[:L] or [PAD_ID] for s in src_tok.encode([e.source for e in examples])]
        pairs = []
        for example, src in zip(examples, sources):
            for target in tgt_tok.encode(list(example.references)):
                pairs.append((src, target[: L - 1]))
        return Split(examples, sources, pairs)

    def train_size(self, data: TranslationData) -> int:
        return len(data.train)

    def describe(self, data: TranslationData) -> dict[str, Any]:
        c = data.corpus
        return {
            "corpus": c.name, "source_lang": c.source_lang, "target_lang": c.target_lang, "citation": c.citation,
            "train_pairs": len(data.train), "train_pairs_dropped_over_max_len": data.dropped,
            "valid_examples": len(data.valid.examples), "test_examples": len(data.test.examples),
            "valid_references": len(data.valid.pairs), "test_references": len(data.test.pairs),
            "src_vocab": data.src_tok.vocab_size, "tgt_vocab": data.tgt_tok.vocab_size, "max_len": data.max_len,
            "target_source_length_ratio": round(data.length_ratio, 4),
            **signatures(data.valid.examples, c.bleu_tokenize),
            **({"published": MULTI30K_DE_EN} if (c.name, c.source_lang, c.target_lang) == ("multi30k", "de", "en") else {}),
        }

    def train_data(self, data: TranslationData, batch_size: int, generator: Any) -> TrainData:
        """The training pairs in random batches (``ShuffledBatches``), or length-bucketed ones (:class:`BucketBatches`)
        with ``[dataset] batches = "bucketed"``; :func:`collate`."""
        from harness.data import ShuffledBatches

        if data.batches == "bucketed":
            lengths = [(len(s), len(t) + 1) for s, t in data.train]  # the target with its EOS
            return TrainData(data.train, BucketBatches(lengths, batch_size, generator), collate)
        return TrainData(data.train, ShuffledBatches(len(data.train), batch_size, generator), collate)

    # -- the kept model ---------------------------------------------------------------------------
    input_kind: ClassVar[str] = "a UTF-8 text file, one source sentence per line"

    def inference_state(self, data: TranslationData) -> dict[str, Any]:
        """The two SentencePiece models (serialised protos), ``max_len``, the length ratio bounding greedy output,
        and the language pair."""
        c = data.corpus
        return {"src_tokenizer": data.src_tok.to_bytes(), "tgt_tokenizer": data.tgt_tok.to_bytes(),
                "max_len": data.max_len, "length_ratio": data.length_ratio,
                "source_lang": c.source_lang, "target_lang": c.target_lang, "corpus": c.name}

    def from_inference_state(self, state: dict[str, Any]) -> TranslationData:
        empty = Split([], [], [])
        return TranslationData(None, SubwordTokenizer.from_bytes(state["src_tokenizer"]),
                               SubwordTokenizer.from_bytes(state["tgt_tokenizer"]), [], empty, empty,
                               int(state["max_len"]), 0, float(state["length_ratio"]))

    def predict_inputs(self, model, data: TranslationData, path: Path) -> str:
        """Greedy translations of the lines of ``path``, one per line (an empty line stays empty); sources longer
        than ``max_len`` subword tokens are truncated, as in evaluation.

        Raises:
            DataError: the file is missing or not UTF-8 text.
        """
        from harness.errors import DataError

        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise DataError(f"input file '{path}' does not exist") from None
        except UnicodeDecodeError as exc:
            raise DataError(f"input file '{path}' is not UTF-8 text (byte {exc.start})") from None
        except OSError as exc:
            raise DataError(f"cannot read input file '{path}': {exc.strerror}") from None
        keep = [i for i, line in enumerate(lines) if line.strip()]
        sources = [s[: data.max_len] or [PAD_ID] for s in data.src_tok.encode([lines[i] for i in keep])]
        out = [""] * len(lines)
        for i, hypothesis in zip(keep, self.translate(model, data, sources) if sources else []):
            out[i] = hypothesis
        return "".join(line + "\n" for line in out)

    # -- model --------------------------------------------------------------------------------------
    def build_model(self, config: dict[str, Any], data: TranslationData):
        """``config["model"]``'s family builds it (:mod:`harness.family`; built-ins in :mod:`.families`)."""
        from harness import family

        return family.build(self.name, config, data)

    def loss(self, model, batch):
        """Mean cross-entropy per real target token; the output layer runs on real tokens only where the model
        can select positions (``selects_positions``), on every position otherwise (padding ignored by the loss)."""
        import torch.nn.functional as F

        logits, targets = _real_token_logits(model, *batch)  # (N, V), (N,)
        return F.cross_entropy(logits, targets), len(targets)

    # -- evaluation ---------------------------------------------------------------------------------
    def predict(self, model, data: TranslationData, split: Literal["valid", "test"]) -> dict[str, list[str]]:
        """``{"hypotheses": [...]}``: the greedy translation (detokenised text) of every example of the split."""
        part = data.valid if split == "valid" else data.test
        return {"hypotheses": self.translate(model, data, part.sources)}

    def references(self, data: TranslationData, split: Literal["valid", "test"]) -> dict[str, Any]:
        """``{"sources", "references", "bleu_tokenize"}``: per example its source text and every reference."""
        part = data.valid if split == "valid" else data.test
        return {"sources": [e.source for e in part.examples], "references": [list(e.references) for e in part.examples],
                "bleu_tokenize": data.corpus.bleu_tokenize}

    @classmethod
    def score(cls, references: dict[str, Any], outputs: dict[str, list[str]]) -> dict[str, float]:
        """BLEU, lowercased BLEU and chrF (sacrebleu corpus scores against every reference) and exact match.

        Raises:
            ValueError: a different number of hypotheses and examples.
        """
        return cls._scores(references, outputs, ("bleu", "bleu_lc", "chrf", "exact"))

    @classmethod
    def score_one(cls, references: dict[str, Any], outputs: dict[str, list[str]], metric: str) -> float:
        """One metric of :meth:`score`, computed alone."""
        return cls._scores(references, outputs, (metric,))[metric]

    @classmethod
    def _scores(cls, references: dict[str, Any], outputs: dict[str, list[str]], metrics: tuple[str, ...]) -> dict[str, float]:
        hyps, refs = cls._pairs(references, outputs)
        streams = _reference_streams(refs)
        return {m: 100.0 * sum(_exact(h, rs) for h, rs in zip(hyps, refs)) / len(hyps) if m == "exact"
                else _scorer(m, references["bleu_tokenize"]).corpus_score(hyps, streams).score for m in metrics}

    @staticmethod
    def _pairs(references: dict[str, Any], outputs: dict[str, list[str]]) -> tuple[list[str], list[list[str]]]:
        hyps, refs = list(outputs["hypotheses"]), references["references"]
        if len(hyps) != len(refs) or not hyps:
            raise ValueError(f"{len(hyps)} hypotheses for {len(refs)} examples")
        return hyps, refs

    @classmethod
    def example_statistics(cls, references: dict[str, Any], outputs: dict[str, list[str]], metric: str):
        """Per sentence: sacrebleu's n-gram statistics of BLEU, lowercased BLEU or chrF against every reference, or
        ``[exact match, 1]``."""
        import numpy as np

        from harness.bootstrap import sacrebleu_statistics

        hyps, refs = cls._pairs(references, outputs)
        if metric == "exact":
            return np.array([[float(_exact(h, rs)), 1.0] for h, rs in zip(hyps, refs)])
        return sacrebleu_statistics(_scorer(metric, references["bleu_tokenize"]), hyps, _reference_streams(refs))

    @classmethod
    def score_statistics(cls, references: dict[str, Any], totals, metric: str) -> float:
        from harness.bootstrap import sacrebleu_score

        if metric == "exact":
            return 100.0 * float(totals[0]) / float(totals[1])
        return sacrebleu_score(_scorer(metric, references["bleu_tokenize"]), totals)

    def model_scores(self, model, data: TranslationData, split: Literal["valid", "test"]) -> dict[str, float]:
        """Teacher-forced cross-entropy per target token (nats) over every reference, and its perplexity."""
        part = data.valid if split == "valid" else data.test
        loss = self._teacher_forced_loss(model, part.pairs)
        return {"loss": loss, "ppl": math.exp(min(loss, 50.0))}

    @staticmethod
    def _teacher_forced_loss(model, pairs, batch_size: int = 128) -> float:

        from harness.device import evaluating, to_device

        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]))
        total, tokens = 0.0, 0
        with evaluating(model) as device:
            for start in range(0, len(order), batch_size):
                src, src_lens, tgt_in, tgt_out = to_device(collate([pairs[i] for i in order[start : start + batch_size]]), device)
                total += _summed_loss(model, src, src_lens, tgt_in, tgt_out)
                tokens += int((tgt_out != PAD_ID).sum())
        return total / max(1, tokens)

    def translate(self, model, data: TranslationData, sources: list[list[int]], batch_size: int = 128) -> list[str]:
        """Greedy translations (detokenised text) of encoded sources, in their order (on the model's device)."""
        from harness.device import evaluating

        order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
        out: list[str] = [""] * len(sources)
        with evaluating(model) as device:
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                src, src_lens = pad([sources[i] for i in idx])
                tokens, _ = model.greedy(src.to(device), src_lens.to(device),
                                         max_len=data.decode_limit(int(src_lens.max())))
                for i, row in zip(idx, tokens.tolist()):
                    out[i] = data.tgt_tok.decode(row)
        return out

    def examples(self, model, data: TranslationData) -> dict[str, dict[str, Any]]:
        """The attention weights behind the greedy translation of one validation sentence (6-16 source tokens)."""
        from harness.device import evaluating

        part = data.valid
        candidates = [i for i, s in enumerate(part.sources) if 6 <= len(s) <= 16] or list(range(len(part.sources)))
        if not candidates:
            return {}
        i = candidates[0]
        with evaluating(model) as device:
            src, src_lens = pad([part.sources[i]])
            tokens, weights = model.greedy(src.to(device), src_lens.to(device),
                                           max_len=data.decode_limit(len(part.sources[i])))
        ids = tokens[0].tolist()
        n = ids.index(EOS_ID) + 1 if EOS_ID in ids else len(ids)
        what = getattr(model, "attention_shown", "the model's attention weights")  # a plugin's model may lack it
        return {"attention_example": {
            "description": f"{what} while the tested best model translates validation sentence {i} greedily",
            "source": part.examples[i].source,
            "reference": part.examples[i].references[0],
            "hypothesis": data.tgt_tok.decode(ids),
            "source_tokens": data.src_tok.pieces(part.sources[i]),
            "target_tokens": data.tgt_tok.pieces(ids[:n]),
            "weights": [[round(w, 4) for w in row] for row in weights[0, :n].float().tolist()],
        }}


class BucketBatches:
    """Length-bucketing batch sampler: every epoch shuffles the pairs (``torch.randperm`` with the trial's generator),
    sorts each pool of 50 batches' worth by length and cuts it into batches (little padding), then shuffles the
    batches (a second ``torch.randperm``), so batch composition and order are still random. As torchtext's
    ``BucketIterator`` (pools of 100 batches sorted within) and fairseq's length-ordered batches do.

    Pairs sort on the longer of their source and target, then source, then target: on 10,000 Multi30k pairs at 64
    pairs a batch, 8.5% of source and 6.5% of target positions are padding, against 52% and 49% in random batches
    (sorting on the source alone leaves 31% of the target padding).

    Args:
        lengths: ``(source, target)`` length of every training pair in subword tokens (a bare source length also
            works: then pairs sort on it alone).
        batch_size: Pairs per batch.
        generator: The trial's data-order ``torch.Generator`` (CPU).
    """

    POOL_BATCHES = 50

    def __init__(self, lengths: list[tuple[int, int]] | list[int], batch_size: int, generator: Any):
        self.lengths = [(max(n), *n) if isinstance(n, tuple) else (n,) for n in lengths]
        self.batch_size, self.generator = batch_size, generator

    def __iter__(self):
        import torch

        order = torch.randperm(len(self.lengths), generator=self.generator, device="cpu").tolist()
        pool = self.batch_size * self.POOL_BATCHES
        batches = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start : start + pool], key=self.lengths.__getitem__)
            batches += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        for b in torch.randperm(len(batches), generator=self.generator, device="cpu").tolist():
            yield batches[b]

    def __len__(self) -> int:
        pool = self.batch_size * self.POOL_BATCHES
        n = len(self.lengths)
        return sum(math.ceil(min(pool, n - start) / self.batch_size) for start in range(0, n, pool))


def pad(sequences: list[list[int]]):
    """``(B, T)`` padded ids and ``(B,)`` lengths, on the CPU (the fit loop or the caller moves them)."""
    import torch

    cpu = torch.device("cpu")
    lens = torch.tensor([len(s) for s in sequences], dtype=torch.long, device=cpu)
    out = torch.full((len(sequences), int(lens.max())), PAD_ID, dtype=torch.long, device=cpu)
    for row, seq in enumerate(sequences):
        out[row, : len(seq)] = torch.tensor(seq, dtype=torch.long, device=cpu)
    return out, lens


def _real_token_logits(model, src, src_lens, tgt_in, tgt_out):
    """``(logits (N, V), targets (N,))`` at the ``N`` real (non-pad) target tokens of a batch, in row-major order;
    the output layer runs on those tokens only where the model can select positions (``selects_positions``)."""
    keep = tgt_out != PAD_ID  # (B, Tt)
    if getattr(model, "selects_positions", False):
        return model(src, src_lens, tgt_in, keep), tgt_out[keep]
    return model(src, src_lens, tgt_in)[keep], tgt_out[keep]  # a plugin's model: every position, then the real ones


def _summed_loss(model, src, src_lens, tgt_in, tgt_out) -> float:
    """Summed teacher-forced cross-entropy (nats) of a batch over its real target tokens."""
    import torch.nn.functional as F

    logits, targets = _real_token_logits(model, src, src_lens, tgt_in, tgt_out)
    return F.cross_entropy(logits.float(), targets, reduction="sum").item()


def _scorer(metric: str, tokenize: str):
    """The sacrebleu metric object of ``bleu``, ``bleu_lc`` or ``chrf``."""
    from sacrebleu.metrics import BLEU, CHRF

    if metric == "chrf":
        return CHRF()
    return BLEU(tokenize=tokenize, lowercase=metric == "bleu_lc")


def _exact(hypothesis: str, references: list[str]) -> bool:
    """Whether the hypothesis equals one of the references (surrounding white space ignored)."""
    return hypothesis.strip() in {r.strip() for r in references}


def collate(pairs: list[tuple[list[int], list[int]]]):
    """``(src, src_lens, tgt_in, tgt_out)``: ``tgt_in`` starts with BOS, ``tgt_out`` ends with EOS."""
    src, src_lens = pad([s for s, _ in pairs])
    tgt_in, _ = pad([[BOS_ID, *t] for _, t in pairs])
    tgt_out, _ = pad([[*t, EOS_ID] for _, t in pairs])
    return src, src_lens, tgt_in, tgt_out


def signatures(examples: list[Example], tokenize: str) -> dict[str, str]:
    """sacrebleu's signatures of BLEU and chrF as computed on these examples (number of references included)."""
    from sacrebleu.metrics import BLEU, CHRF

    refs = _reference_streams([list(e.references) for e in examples])
    out = {}
    for key, metric in (("bleu_signature", BLEU(tokenize=tokenize)),
                        ("bleu_lc_signature", BLEU(tokenize=tokenize, lowercase=True)), ("chrf_signature", CHRF())):
        metric.corpus_score(refs[0], refs)  # the signature records the reference count once scored
        out[key] = str(metric.get_signature())
    return out


def _reference_streams(references: list[list[str]]) -> list[list[str | None]]:
    """sacrebleu's layout: one stream per reference index; ``None`` where an example has fewer references."""
    n = max(len(r) for r in references)
    return [[r[k] if k < len(r) else None for r in references] for k in range(n)]
