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

Memory attended over by many queries (an encoder's output read at every decoder step, the keys and values of a
decoder's earlier positions) is projected once: ``memory = attention.project(key, value)`` returns a
:class:`Memory` holding what the variant's score and context read (``W_k h`` of additive attention, ``W_a h`` of
Luong's general score, the key and value projections of multi-head attention), and
``attention.attend(query, memory, mask)`` scores queries against it. ``attention(query, key, value, mask)`` is
``attend(query, project(key, value), mask)``, so both paths run the same arithmetic; :meth:`Memory.extend` appends
new positions (a key/value cache for incremental decoding).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

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


class Memory(NamedTuple):
    """Keys and values as one attention variant reads them, projected once for any number of queries.

    Attributes:
        key: ``(B, Tk, key_size)`` the keys as given (their length and device).
        value: ``(B, Tk, key_size)`` the values as given.
        scored: ``(B, Tk, S)`` what the score reads of each key (the key itself where the variant projects nothing).
        summed: ``(B, Tk, V)`` what the context sums (the value itself where the variant projects nothing).
    """

    key: Tensor
    value: Tensor
    scored: Tensor
    summed: Tensor

    def extend(self, new: Memory) -> Memory:
        """This memory with ``new``'s positions appended along the time axis (a key/value cache growing by one
        decoded position); ``new`` comes from the same variant's :meth:`Attention.project`."""
        return Memory(*(torch.cat([old, more], dim=1) for old, more in zip(self, new)))


class Attention(nn.Module):
    """Base class: subclasses implement :meth:`attend` (and :meth:`project` where they project keys or values), or
    :meth:`forward` alone with the module-level signature."""

    #: Whether ``need_weights=False`` selects a fused kernel that returns no weights.
    fused: bool = False

    def __init__(self, config: AttentionConfig):
        super().__init__()
        self.config = config

    def project(self, key: Tensor, value: Tensor) -> Memory:
        """What :meth:`attend` reads of ``key`` and ``value`` ``(B, Tk, key_size)``, computed once; the base class
        projects nothing."""
        return Memory(key, value, key, value)

    def attend(
        self, query: Tensor, memory: Memory, mask: Tensor | Causal | None = None, need_weights: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        """``(context (B, Tq, key_size), weights (B, Tq, Tk) or None)`` of ``query`` ``(B, Tq, query_size)`` over a
        projected :class:`Memory`; ``mask`` as in the module docstring.

        Raises:
            NotImplementedError: the subclass implements neither this nor :meth:`forward`.
        """
        if type(self).forward is Attention.forward:
            raise NotImplementedError(f"{type(self).__name__} implements neither attend() nor forward()")
        return self(query, memory.key, memory.value, mask, need_weights=need_weights)  # a variant written as forward()

    def forward(
        self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | Causal | None = None, need_weights: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        """:meth:`attend` over :meth:`project` of ``key`` and ``value``: the module-level signature."""
        return self.attend(query, self.project(key, value), mask, need_weights)


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
