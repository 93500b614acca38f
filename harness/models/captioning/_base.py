"""What every captioner shares: its config, the training contract, and the step interface beam search drives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from harness.models.captioning.backbones import PretrainedEncoderConfig
from harness.models.captioning.encoder import EncoderConfig


@dataclass(frozen=True)
class CaptionerConfig:
    """Sizes of a captioner.

    Args:
        vocab: Vocabulary size (ids ``0..vocab-1``; PAD 0, BOS 2, EOS 3).
        encoder: The image encoder: a CNN trained from scratch (:class:`EncoderConfig`) or a pretrained backbone
            (:class:`~harness.models.captioning.backbones.PretrainedEncoderConfig`); ``encoder.build()`` makes it.
        hidden_size: LSTM hidden size, or the Transformer's ``d_model``.
        embedding_size: Word embedding size (LSTM).
        layers: Decoder layers (Transformer).
        heads: Attention heads.
        dropout: Dropout probability.
        max_len: Longest caption in tokens (with EOS).
        beam_size: Beam size when decoding (1 = greedy).
        alpha_c: Weight of the doubly stochastic attention penalty in the training loss (Xu et al. 2015).
    """

    vocab: int
    encoder: EncoderConfig | PretrainedEncoderConfig
    hidden_size: int = 256
    embedding_size: int = 128
    layers: int = 2
    heads: int = 4
    dropout: float = 0.3
    max_len: int = 40
    beam_size: int = 1
    alpha_c: float = 0.0
    pad_id: int = 0
    bos_id: int = 2
    eos_id: int = 3


@dataclass
class DecodeState:
    """What a decoder carries from one generated word to the next, for every row being decoded.

    Attributes:
        regions: ``(N, R, D)`` the encoded regions (keys and values of the attention).
        tensors: Decoder-specific tensors whose first axis is the row (LSTM ``h``/``c``, Transformer caches), or
            lists and tuples of them (a :class:`~harness.attention.Memory` per layer).
        step: Words generated so far.
    """

    regions: Tensor
    tensors: dict[str, Any]
    step: int = 0

    def select(self, index: Tensor) -> DecodeState:
        """The state of rows ``index`` (beam search reorders and repeats rows)."""
        return DecodeState(self.regions[index], {k: _rows(v, index) for k, v in self.tensors.items()}, self.step)


def _rows(value: Any, index: Tensor) -> Any:
    """Rows ``index`` of a tensor, or of every tensor in a list or (named) tuple of them."""
    if isinstance(value, list):
        return [_rows(v, index) for v in value]
    if isinstance(value, tuple):
        return type(value)(*(_rows(v, index) for v in value))
    return value[index]


class Captioner(nn.Module):
    """Base class: an encoder and a decoder with :meth:`forward` (teacher forcing) and :meth:`step`."""

    def __init__(self, config: CaptionerConfig):
        super().__init__()
        self.config = config
        self.encoder = config.encoder.build()

    def encode(self, images: Tensor) -> Tensor:
        """``(B, C, H, W)`` -> regions ``(B, R, D)``."""
        return self.encoder(images)

    def forward(self, images: Tensor, captions_in: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover
        """Teacher-forced ``(logits (B, T, V), attention over regions (B, T, R))`` for ``captions_in (B, T)``
        starting with BOS."""
        raise NotImplementedError

    def start(self, regions: Tensor) -> DecodeState:  # pragma: no cover
        """The decoding state before the first word."""
        raise NotImplementedError

    def step(self, tokens: Tensor, state: DecodeState) -> tuple[Tensor, DecodeState, Tensor]:  # pragma: no cover
        """One word: ``tokens (N,)`` the previous words -> ``(log-probabilities (N, V), next state, weights (N, R))``."""
        raise NotImplementedError

    @property
    def grid(self) -> tuple[int, int]:
        """``(h, w)`` of the region grid, for drawing attention over the image."""
        return self.encoder.grid
