"""What every sequence-to-sequence model family provides to a task.

A model family is an ``nn.Module`` class built from a config dataclass and an attention factory
(``Callable[[AttentionConfig], Attention]``): models receive attention modules, never attention names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from harness.attention import Attention, AttentionConfig

AttentionFactory = Callable[[AttentionConfig], Attention]


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Sizes shared by the encoder-decoder families.

    Args:
        src_vocab: Source vocabulary size (token ids ``0..src_vocab-1``).
        tgt_vocab: Target vocabulary size.
        hidden_size: RNN hidden size, or the Transformer's ``d_model``.
        embedding_size: Token embedding size (RNN; the Transformer uses ``hidden_size``).
        layers: Encoder layers, and as many decoder layers.
        dropout: Dropout probability on embeddings and between layers.
        heads: Attention heads (multi-head attention and the Transformer).
        max_len: Longest source or target sequence, in tokens (positional encodings, location attention).
        pad_id, bos_id, eos_id: Special token ids.
    """

    src_vocab: int
    tgt_vocab: int
    hidden_size: int = 256
    embedding_size: int = 256
    layers: int = 1
    dropout: float = 0.1
    heads: int = 1
    max_len: int = 256
    pad_id: int = 0
    bos_id: int = 2
    eos_id: int = 3


class Seq2Seq(nn.Module):
    """Base class of encoder-decoder models.

    Subclasses implement :meth:`forward` (teacher forcing) and :meth:`greedy` (decoding).
    """

    #: What the weights :meth:`greedy` returns are (a report's attention example names them so).
    attention_shown: str = "the model's attention weights"

    #: Whether :meth:`forward` takes ``keep`` (a capability: a plugin's model without it gets every position).
    selects_positions: bool = False

    config: Seq2SeqConfig

    def forward(self, src: Tensor, src_lens: Tensor, tgt_in: Tensor, keep: Tensor | None = None) -> Tensor:  # pragma: no cover
        """Teacher-forced logits.

        Args:
            src: ``(B, Ts)`` source ids, padded with ``pad_id``.
            src_lens: ``(B,)`` source lengths (int64, on CPU).
            tgt_in: ``(B, Tt)`` target ids starting with ``bos_id``.
            keep: ``(B, Tt)`` boolean, the positions whose logits are wanted (the real target tokens); only where
                :attr:`selects_positions` is true.

        Returns:
            ``(B, Tt, tgt_vocab)`` logits of the next target token at each position, or ``(N, tgt_vocab)`` at the
            ``N`` kept positions in row-major order when ``keep`` is given: the output layer, the costliest
            matrix product of a step at real vocabulary sizes, never runs on padding.
        """
        raise NotImplementedError

    def greedy(self, src: Tensor, src_lens: Tensor, max_len: int) -> tuple[Tensor, Tensor]:  # pragma: no cover
        """Greedy decoding.

        Returns:
            ``(tokens (B, T), weights (B, T, Ts))``: generated ids (without BOS; EOS then padding after
            it) and the attention weights over source positions behind each generated token.
        """
        raise NotImplementedError

    def parameter_count(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def padding_mask(src: Tensor, pad_id: int) -> Tensor:
    """``(B, Ts)`` boolean, ``True`` at real tokens."""
    return src != pad_id


def finished(tokens: Tensor, eos_id: int) -> Tensor:
    """``(B,)`` whether each generated row ``(B, T)`` already holds an EOS."""
    return (tokens == eos_id).any(dim=1)


def mask_after_eos(tokens: Tensor, eos_id: int, pad_id: int) -> Tensor:
    """Replace everything after the first EOS of each row of ``(B, T)`` with ``pad_id``."""
    seen = torch.cumsum((tokens == eos_id).int(), dim=1)
    after = (seen - (tokens == eos_id).int()) > 0  # positions strictly after the first EOS
    return tokens.masked_fill(after, pad_id)
