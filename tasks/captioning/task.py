"""The captioning task: images to captions with soft-attention decoders; BLEU-1..4, exact match, loss.

Metrics on a split (validation during the search, test once for the best configuration), computed on
each image's decoded caption (greedy or beam search) against ALL its references, both lowercased and
tokenised like the vocabulary (Karpathy-style preprocessing, as the COCO caption evaluation does):

- ``bleu1`` .. ``bleu4``: sacrebleu corpus BLEU with maximum n-gram order 1..4 (Papineni et al. 2002);
- ``exact``: percentage of images whose caption equals one of its references (the digits task's goal);
- ``loss``: teacher-forced cross-entropy per word over every (image, reference) pair, in nats.
"""

from __future__ import annotations

import base64
import functools
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from harness_tasks.captioning import space
from harness_tasks.captioning.data import CaptionCorpus, ImageSplit
from harness_tasks.captioning.vocab import BOS_ID, EOS_ID, PAD_ID, Vocabulary, tokenize
from pydantic import BaseModel, ConfigDict, Field

from harness.errors import BadInputError, SpecError
from harness.task import Budget, Group, Task, TrainData

#: Published Show, Attend and Tell results on Flickr8k (Xu et al. 2015, Table 1), not rerun here.
SHOW_ATTEND_TELL_FLICKR8K = {
    "setting": "Flickr8k test split (Karpathy), full 6,000 training images, ImageNet-pretrained VGG encoder",
    "metrics": ["bleu1", "bleu2", "bleu3", "bleu4"],
    "min_train": ["train_images", 6000],
    "config": {"encoder": ["vgg", "an ImageNet-pretrained VGG (Simonyan & Zisserman 2015), 14 x 14 regions"]},
    "rows": [{"model": "Show, Attend and Tell, soft attention", "bleu1": 67.0, "bleu2": 44.8, "bleu3": 29.9, "bleu4": 19.5},
             {"model": "Show, Attend and Tell, hard attention", "bleu1": 67.0, "bleu2": 45.7, "bleu3": 31.4, "bleu4": 21.3}],
    "note": "published figures, not reruns",
}


class Preprocessing(BaseModel):
    """Options every captioning dataset accepts in ``[dataset]``, besides its own.

    Args:
        min_count: Words seen fewer times in the training captions become UNK (Xu et al. keep >= 5).
        max_len: Longest caption in words; longer training captions are cut.
        augment_shift: Training-time augmentation: each training image is translated by a random whole
            number of pixels in ``[-augment_shift, augment_shift]`` along each axis (zero fill), drawn anew
            every epoch. Validation and test images are never changed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    min_count: int = Field(5, ge=1)
    max_len: int = Field(30, ge=2, le=200)
    augment_shift: int = Field(0, ge=0, le=64)


@dataclass
class Split:
    """An encoded split: the images as decoded, encoded references, and the (image, reference) pairs.

    ``images`` is a ``uint8`` tensor of the shape (N, C, H, W) sharing memory with the corpus's pixels: one copy of
    every image, 1 byte per value, never one per caption. :meth:`normalised` makes the float32 batches the models
    take, normalised per channel with the training statistics ``mean`` and ``std`` (of values in [0, 1]).
    """

    images: Any  # torch.Tensor (N, C, H, W) uint8
    split: ImageSplit | None
    references: list[list[str]]  # per image, the references tokenised like the vocabulary, joined by spaces
    pairs: list[tuple[int, list[int]]]  # (image index, encoded caption)
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    def normalised(self, index: Any):
        """The images ``self.images[index]`` as float32 ``(x / 255 - mean) / std``, shape (B, C, H, W), on the CPU."""
        import torch

        cpu = torch.device("cpu")
        shift = torch.tensor(self.mean, dtype=torch.float32, device=cpu).view(1, -1, 1, 1)
        scale = torch.tensor(self.std, dtype=torch.float32, device=cpu).view(1, -1, 1, 1)
        return (self.images[index].float() / 255.0 - shift) / scale

    def subset(self, picks: list[int]) -> Split:
        """The images ``picks`` with their references (no pairs)."""
        return Split(self.images[picks], self.split, [self.references[i] for i in picks], [], self.mean, self.std)


@dataclass
class CaptionData:
    corpus: CaptionCorpus | None  # None for a model restored from its checkpoint (harness predict)
    vocab: Vocabulary
    train: Split
    valid: Split
    test: Split
    max_len: int
    mean: list[float]
    std: list[float]
    augment_shift: int = 0


class CaptioningTask(Task):
    """Image captioning with Show, Attend and Tell decoders (every attention type) and a Transformer decoder."""

    name: ClassVar[str] = "captioning"
    summary: ClassVar[str] = "image captioning: composed handwritten digits (embedded), Flickr8k, COCO; BLEU-1..4"
    metrics: ClassVar[dict[str, str]] = {"bleu1": "maximize", "bleu2": "maximize", "bleu3": "maximize",
                                         "bleu4": "maximize", "exact": "maximize", "loss": "minimize"}
    default_metric: ClassVar[str] = "bleu4"
    model_families: ClassVar[tuple[str, ...]] = space.FAMILIES
    shared_dataset_options: ClassVar[type[BaseModel]] = Preprocessing

    @classmethod
    def space(cls) -> list[Group]:
        return space.groups(cls)

    @classmethod
    def check_search(cls, search: Any, where: str) -> None:
        """A pretrained encoder's weights (and, for EfficientNet-Lite0, its packages) must be there before anything runs:
        every asked encoder with every asked ``encoder_weights``."""
        from harness.models.captioning.backbones import BACKBONES

        def asked(name: str) -> list[Any]:
            domain = search.domain(search.params[name])
            return list(domain.choices) if domain is not None else [search.params[name].default]

        for encoder in (e for e in asked("encoder") if e != "cnn"):
            info = BACKBONES[encoder]
            try:
                info.check()
                for weights in asked("encoder_weights"):
                    info.weights_file(weights)
            except BadInputError as exc:
                raise SpecError(f"{where} {exc}") from None

    # -- data ---------------------------------------------------------------------------------------
    def prepare(self, dataset: str, options: BaseModel, data_dir: Path | None, budget: Budget, seed: int) -> CaptionData:
        import torch

        info = self.datasets()[dataset]
        corpus = info.load(info.own_options(options), data_dir)
        vocab = Vocabulary.build((c for caps in corpus.train.captions for c in caps), min_count=options.min_count)
        mean, std = channel_statistics(corpus.train.pixels)
        std = std + 1e-6

        def encode(split: ImageSplit, limit: int | None) -> Split:
            n = len(split.ids) if limit is None else min(limit, len(split.ids))
            references = [[" ".join(tokenize(c)) for c in caps] for caps in split.captions[:n]]
            pairs = [(i, vocab.encode(c)[: options.max_len - 1]) for i, caps in enumerate(split.captions[:n]) for c in caps]
            return Split(torch.from_numpy(split.pixels[:n]), split, references, [(i, ids) for i, ids in pairs if ids],
                         tuple(float(m) for m in mean), tuple(float(s) for s in std))

        train = encode(corpus.train, None)
        if budget.max_train_examples is not None and budget.max_train_examples < len(train.pairs):
            keep = np.sort(np.random.default_rng(seed).permutation(len(train.pairs))[: budget.max_train_examples])
            train.pairs = [train.pairs[i] for i in keep]
        return CaptionData(corpus, vocab, train, encode(corpus.valid, budget.max_valid_examples), encode(corpus.test, None),
                           options.max_len, [float(m) for m in mean], [float(s) for s in std], options.augment_shift)

    def train_size(self, data: CaptionData) -> int:
        return len(data.train.pairs)

    def describe(self, data: CaptionData) -> dict[str, Any]:
        c = data.corpus
        out = {
            "corpus": c.name, "image_shape": list(data.train.images.shape[1:]),
            "train_images": len(c.train.ids), "valid_images": int(data.valid.images.shape[0]),
            "test_images": len(c.test.ids), "train_pairs": len(data.train.pairs),
            "valid_references": sum(len(r) for r in data.valid.references),
            "vocabulary": len(data.vocab), "max_len": data.max_len,
            "pixel_mean": [round(m, 6) for m in data.mean], "pixel_std": [round(s, 6) for s in data.std],
            "citation": c.citation, "notes": list(c.notes),
        }
        if c.name.startswith("flickr8k"):
            out["published"] = SHOW_ATTEND_TELL_FLICKR8K
        return out

    # -- model --------------------------------------------------------------------------------------
    def build_model(self, config: dict[str, Any], data: CaptionData):
        """``config["model"]``'s family builds it (:mod:`harness.family`; built-ins in :mod:`.families`)."""
        from harness import family

        return family.build(self.name, config, data)

    def train_data(self, data: CaptionData, batch_size: int, generator: Any) -> TrainData:
        """The (image, caption) pairs in a fresh random order every epoch; a batch gathers its images from the split's
        one copy (never one per caption) and, with ``augment_shift``, shifts them with the trial's generator (with
        ``data_workers`` > 0 each loader process draws the shifts from its own copy of the generator)."""
        from harness.data import ShuffledBatches

        fill = [-m / s for m, s in zip(data.mean, data.std)]
        make = functools.partial(_train_batch, data.train, data.augment_shift, generator, fill)
        return TrainData(data.train.pairs, ShuffledBatches(len(data.train.pairs), batch_size, generator), make)

    def loss(self, model, batch):
        import torch.nn.functional as F

        from harness.models.captioning.lstm import doubly_stochastic_penalty

        images, captions_in, captions_out = batch
        alpha_c = model.config.alpha_c
        logits, weights = model(images, captions_in)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), captions_out.reshape(-1), ignore_index=PAD_ID)
        if alpha_c:
            loss = loss + alpha_c * doubly_stochastic_penalty(weights, captions_out != PAD_ID)
        return loss, int((captions_out != PAD_ID).sum())

    # -- the kept model ---------------------------------------------------------------------------
    input_kind: ClassVar[str] = "an image file, a folder of images, or a text file listing image paths"

    def inference_state(self, data: CaptionData) -> dict[str, Any]:
        """The vocabulary, the image shape (C, H, W) and the training pixel statistics, the longest caption."""
        return {"vocabulary": data.vocab.to_dict(), "image_shape": list(data.train.images.shape[1:]),
                "mean": list(data.mean), "std": list(data.std), "max_len": data.max_len}

    def restored_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """A pretrained encoder is rebuilt without reading its weights file: the kept state dict holds its weights."""
        return {**config, "encoder_weights": "none"} if config.get("encoder", "cnn") != "cnn" else config

    def from_inference_state(self, state: dict[str, Any]) -> CaptionData:
        import torch

        C, H, W = (int(v) for v in state["image_shape"])
        empty = Split(torch.zeros((0, C, H, W), dtype=torch.uint8, device="cpu"), None, [], [], tuple(state["mean"]),
                      tuple(state["std"]))
        return CaptionData(None, Vocabulary.from_dict(state["vocabulary"]), empty, empty, empty, int(state["max_len"]),
                           list(state["mean"]), list(state["std"]))

    def predict_inputs(self, model, data: CaptionData, path: Path) -> str:
        """``image path<TAB>caption`` per image (:func:`harness_tasks.captioning.predict.read_images` says what is read)."""
        from harness_tasks.captioning.predict import read_images

        paths, images = read_images(path, data.train.images.shape[1:])
        texts, _, _ = self.caption(model, data, Split(images, None, [], [], tuple(data.mean), tuple(data.std)))
        return "".join(f"{p}\t{t}\n" for p, t in zip(paths, texts))

    # -- evaluation ---------------------------------------------------------------------------------
    def caption(self, model, data: CaptionData, split: Split, batch_size: int = 100):
        """Decoded captions (strings) and, per image, the words and their attention over regions (CPU float32)."""
        from harness.device import evaluating
        from harness.models.captioning import beam_search

        beam = model.config.beam_size
        texts, words, weights = [], [], []
        with evaluating(model) as device:
            for i in range(0, split.images.shape[0], batch_size):
                images = split.normalised(slice(i, i + batch_size)).to(device)
                tokens, attention = beam_search(model, images, beam, data.max_len)
                for row, att in zip(tokens.tolist(), attention.float().cpu()):
                    w = data.vocab.words(row)
                    texts.append(data.vocab.decode(row))
                    words.append(w)
                    weights.append(att[: len(w)])
        return texts, words, weights

    def predict(self, model, data: CaptionData, split: Literal["valid", "test"]) -> dict[str, list[str]]:
        """``{"captions": [...]}``: the decoded caption (greedy or beam search) of every image of the split."""
        texts, _, _ = self.caption(model, data, data.valid if split == "valid" else data.test)
        return {"captions": texts}

    def references(self, data: CaptionData, split: Literal["valid", "test"]) -> dict[str, Any]:
        """``{"image_ids", "references"}``: per image its id and every reference, tokenised like the vocabulary."""
        part = data.valid if split == "valid" else data.test
        n = len(part.references)
        return {"image_ids": list(part.split.ids[:n]), "references": [list(r) for r in part.references]}

    @classmethod
    def score(cls, references: dict[str, Any], outputs: dict[str, list[str]]) -> dict[str, float]:
        """sacrebleu corpus BLEU-1..4 (``tokenize="none"``: text is tokenised already) and exact match.

        Raises:
            ValueError: a different number of captions and images.
        """
        return cls._scores(references, outputs, ("bleu1", "bleu2", "bleu3", "bleu4", "exact"))

    @classmethod
    def score_one(cls, references: dict[str, Any], outputs: dict[str, list[str]], metric: str) -> float:
        """One metric of :meth:`score`, computed alone."""
        return cls._scores(references, outputs, (metric,))[metric]

    @classmethod
    def _scores(cls, references: dict[str, Any], outputs: dict[str, list[str]], metrics: tuple[str, ...]) -> dict[str, float]:
        hyps, refs = cls._pairs(references, outputs)
        streams = reference_streams(refs)
        return {m: 100.0 * sum(h in set(r) for h, r in zip(hyps, refs)) / len(hyps) if m == "exact"
                else _bleu(m).corpus_score(hyps, streams).score for m in metrics}

    @staticmethod
    def _pairs(references: dict[str, Any], outputs: dict[str, list[str]]) -> tuple[list[str], list[list[str]]]:
        hyps, refs = list(outputs["captions"]), references["references"]
        if len(hyps) != len(refs) or not hyps:
            raise ValueError(f"{len(hyps)} captions for {len(refs)} images")
        return hyps, refs

    @classmethod
    def example_statistics(cls, references: dict[str, Any], outputs: dict[str, list[str]], metric: str):
        """Per image: sacrebleu's n-gram statistics of BLEU-n against every reference, or ``[exact match, 1]``."""
        import numpy as np

        from harness.bootstrap import sacrebleu_statistics

        hyps, refs = cls._pairs(references, outputs)
        if metric == "exact":
            return np.array([[float(h in set(r)), 1.0] for h, r in zip(hyps, refs)])
        return sacrebleu_statistics(_bleu(metric), hyps, reference_streams(refs))

    @classmethod
    def score_statistics(cls, references: dict[str, Any], totals, metric: str) -> float:
        from harness.bootstrap import sacrebleu_score

        if metric == "exact":
            return 100.0 * float(totals[0]) / float(totals[1])
        return sacrebleu_score(_bleu(metric), totals)

    def model_scores(self, model, data: CaptionData, split: Literal["valid", "test"]) -> dict[str, float]:
        """Teacher-forced cross-entropy per word (nats) over every (image, reference) pair."""
        import torch.nn.functional as F

        from harness.device import evaluating, to_device

        part = data.valid if split == "valid" else data.test
        total, count = 0.0, 0
        with evaluating(model) as device:
            for i in range(0, len(part.pairs), 200):
                images, captions_in, captions_out = to_device(collate(part, part.pairs[i : i + 200]), device)
                logits, _ = model(images, captions_in)
                total += F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), captions_out.reshape(-1),
                                         ignore_index=PAD_ID, reduction="sum").item()
                count += int((captions_out != PAD_ID).sum())
        return {"loss": total / max(1, count)}

    def examples(self, model, data: CaptionData) -> dict[str, dict[str, Any]]:
        """Three test images with their generated caption, references, and the attention of each word."""
        part = data.test
        picks = sorted({int(q * (len(part.split.ids) - 1)) for q in (0.0, 0.5, 1.0)})
        texts, words, weights = self.caption(model, data, part.subset(picks))
        h, w = model.grid
        out: dict[str, dict[str, Any]] = {"caption_example": {
            "description": "generated and reference captions of three test images by the tested best model, "
                           "with the attention over image regions behind each generated word",
            "grid": [h, w], "samples": len(picks),
        }}
        for k, i in enumerate(picks):
            out[f"caption_sample_{k}"] = {
                "image_id": part.split.ids[i],
                "png_base64": png_base64(part.split.pixels[i]),
                "hypothesis": texts[k],
                "references": list(part.split.captions[i]),
                "words": words[k],
                "attention": [[round(float(v), 4) for v in row] for row in weights[k].reshape(len(words[k]), h * w).tolist()],
            }
        return out


def _train_batch(split: Split, shift: int, generator: Any, fill: list[float], pairs: list[tuple[int, list[int]]]):
    """A training batch of ``pairs`` (:func:`collate`), its images randomly shifted when ``shift`` > 0."""
    images, captions_in, captions_out = collate(split, pairs)
    if shift:
        images = random_shift(images, shift, generator, fill=fill)
    return images, captions_in, captions_out


def collate(split: Split, pairs: list[tuple[int, list[int]]]):
    """``(images (B, C, H, W), captions_in (B, T) with BOS first, captions_out (B, T) with EOS last)``."""
    import torch

    cpu = torch.device("cpu")
    index = torch.tensor([i for i, _ in pairs], dtype=torch.long, device=cpu)
    T = max(len(ids) for _, ids in pairs) + 1
    captions_in = torch.full((len(pairs), T), PAD_ID, dtype=torch.long, device=cpu)
    captions_out = torch.full((len(pairs), T), PAD_ID, dtype=torch.long, device=cpu)
    for row, (_, ids) in enumerate(pairs):
        captions_in[row, : len(ids) + 1] = torch.tensor([BOS_ID, *ids], device=cpu)
        captions_out[row, : len(ids) + 1] = torch.tensor([*ids, EOS_ID], device=cpu)
    return split.normalised(index), captions_in, captions_out


def channel_statistics(pixels: np.ndarray, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of ``pixels`` (N, C, H, W) ``uint8`` scaled to [0, 1], in float64,
    accumulated over ``chunk`` images at a time (two passes), so no float copy of the whole array is made.

    Returns:
        ``(mean, std)``, each of the shape (C,).
    """
    n, channels = pixels.shape[:2]
    count = n * pixels.shape[2] * pixels.shape[3]
    total = np.zeros(channels, dtype=np.float64)
    for i in range(0, n, chunk):
        total += (pixels[i : i + chunk].astype(np.float64) / 255.0).sum(axis=(0, 2, 3))
    mean = total / max(1, count)
    squares = np.zeros(channels, dtype=np.float64)
    for i in range(0, n, chunk):
        squares += ((pixels[i : i + chunk].astype(np.float64) / 255.0 - mean.reshape(1, -1, 1, 1)) ** 2).sum(axis=(0, 2, 3))
    return mean, np.sqrt(squares / max(1, count))


def random_shift(images, shift: int, generator, fill: list[float]):
    """Translate each image ``(B, C, H, W)`` by random whole pixels in ``[-shift, shift]`` per axis; the
    uncovered border takes ``fill`` (the normalised value of a black pixel, per channel)."""
    import torch

    B, C, H, W = images.shape
    out = torch.tensor(fill, dtype=images.dtype, device=images.device).view(1, C, 1, 1).expand(B, C, H, W).clone()
    offsets = torch.randint(-shift, shift + 1, (B, 2), generator=generator, device=generator.device).tolist()
    for b, (dy, dx) in enumerate(offsets):
        out[b, :, max(0, dy) : H + min(0, dy), max(0, dx) : W + min(0, dx)] = \
            images[b, :, max(0, -dy) : H + min(0, -dy), max(0, -dx) : W + min(0, -dx)]
    return out


def _bleu(metric: str):
    """sacrebleu's BLEU of order ``n`` for ``bleun`` on pre-tokenised captions (``tokenize="none"``)."""
    from sacrebleu.metrics import BLEU

    return BLEU(tokenize="none", max_ngram_order=int(metric.removeprefix("bleu")))


def reference_streams(references: list[list[str]]) -> list[list[str | None]]:
    """sacrebleu's layout: one stream per reference index; ``None`` where an image has fewer references."""
    n = max(len(r) for r in references)
    return [[r[k] if k < len(r) else None for r in references] for k in range(n)]


def png_base64(pixels: np.ndarray) -> str:
    """An image ``(C, H, W)`` uint8 as a base64 PNG (lossless, so reports redraw it exactly)."""
    from PIL import Image

    array = pixels[0] if pixels.shape[0] == 1 else np.transpose(pixels, (1, 2, 0))
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
