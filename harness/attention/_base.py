"""The one signature every attention variant shares.

``attention(query, key, value, mask) -> (context, weights)``:

- ``query``: ``(B, Tq, query_size)``, the states that ask (decoder states, or the sequence itself for
  self-attention).
- ``key``: ``(B, Tk, key_size)`` and ``value``: ``(B, Tk, key_size)``, the memory attended over.
- ``mask``: optional boolean, ``True`` where a key may be attended to; shape ``(B, Tk)`` (key padding)
  or anything broadcastable to ``(B, Tq, Tk)``; or :data:`CAUSAL`, the causal mask by name (query ``i`` attends
  keys ``0..i``), which the fused kernel runs as ``is_causal=True`` without building a mask. Every query
  row must keep at least one key.
- ``context``: ``(B, Tq, key_size)``, the weighted sum of values.
- ``weights``: ``(B, Tq, Tk)``, each row a probability distribution over the keys (zero on masked keys),
  averaged over heads for multi-head attention; ``None`` only when the caller passed
  ``need_weights=False`` to a variant with a fused kernel.

Variants are built from one :class:`AttentionConfig`, passed whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class AttentionConfig:
    """Sizes and options of an attention module.

    Args:
        query_size: Feature size of the queries.
        key_size: Feature size of keys and values; the context has this size too.
        heads: Number of heads (multi-head attention only); must divide ``key_size``.
        max_len: Longest key sequence (Luong location attention only), in positions.
        dropout: Dropout probability on the attention weights (scaled dot-product and multi-head only).
    """

    query_size: int
    key_size: int
    heads: int = 1
    max_len: int = 256
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.query_size <= 0 or self.key_size <= 0:
            raise ValueError(f"attention sizes must be positive, got query_size={self.query_size}, key_size={self.key_size}")
        if self.heads <= 0 or self.key_size % self.heads:
            raise ValueError(f"heads must divide key_size, got heads={self.heads}, key_size={self.key_size}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


class Attention(nn.Module):
    """Base class: subclasses implement :meth:`forward` with the module-level signature."""

    #: Whether ``need_weights=False`` selects a fused kernel that returns no weights.
    fused: bool = False

    def __init__(self, config: AttentionConfig):
        super().__init__()
        self.config = config

    def forward(  # pragma: no cover - abstract
        self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None, need_weights: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError


class Causal:
    """The causal mask by name (:data:`CAUSAL`): query ``i`` attends keys ``0..i``, aligned at the top left as in
    ``torch.nn.functional.scaled_dot_product_attention(..., is_causal=True)``. A fused kernel runs it as
    ``is_causal=True``, which lets SDPA choose its causal kernels (on GPU, FlashAttention's block skipping); variants
    that compute weights get it as a boolean ``(1, Tq, Tk)`` tensor from :func:`expand_mask`."""

    def __repr__(self) -> str:
        return "CAUSAL"


#: The causal mask, passed as ``mask`` to any attention variant.
CAUSAL = Causal()


def causal_mask(query: Tensor, key: Tensor) -> Tensor:
    """The causal mask as a boolean tensor ``(1, Tq, Tk)`` on the query's device, ``True`` = attend."""
    return torch.ones(query.size(-2), key.size(-2), dtype=torch.bool, device=query.device).tril().unsqueeze(0)


def expand_mask(mask: Tensor | Causal | None, query: Tensor, key: Tensor) -> Tensor | None:
    """Bring a key-padding mask ``(B, Tk)`` to ``(B, 1, Tk)`` and :data:`CAUSAL` to ``(1, Tq, Tk)``; pass 3-D masks
    through.

    Raises:
        TypeError: a mask tensor that is not boolean.
    """
    if mask is None:
        return None
    if isinstance(mask, Causal):
        return causal_mask(query, key)
    if mask.dtype != torch.bool:
        raise TypeError(f"attention masks must be boolean (True = attend), got {mask.dtype}")
    return mask.unsqueeze(1) if mask.dim() == 2 else mask


def masked_softmax(scores: Tensor, mask: Tensor | None) -> Tensor:
    """Softmax over the last axis of ``scores`` ``(B, Tq, Tk)`` with masked keys at exactly zero weight."""
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1)
