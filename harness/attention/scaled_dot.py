"""Scaled dot-product attention: ``softmax(Q K^T / sqrt(d)) V``, one head, no projections.

Vaswani et al., 2017, "Attention Is All You Need", NeurIPS, section 3.2.1. The training path calls
the fused kernel ``torch.nn.functional.scaled_dot_product_attention``; the explicit path (matmul,
softmax, matmul) runs when the caller needs the weights, and gives the same context.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor

from harness.attention._base import Attention, AttentionConfig, Causal, causal_mask, expand_mask, masked_softmax


def scaled_dot_product(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | Causal | None, dropout: float, need_weights: bool
) -> tuple[Tensor, Tensor | None]:
    """``softmax(q k^T / sqrt(d)) v`` over the last two axes; any leading axes (batch, heads).

    Args:
        q: ``(..., Tq, d)``; k: ``(..., Tk, d)``; v: ``(..., Tk, dv)``.
        mask: Boolean, broadcastable to ``(..., Tq, Tk)``, ``True`` = attend; or :data:`~harness.attention._base.CAUSAL`,
            which the fused kernel runs as ``is_causal=True``.
        dropout: Dropout probability on the weights (pass 0.0 in evaluation).
        need_weights: ``False`` runs the fused kernel and returns ``None`` weights.

    Returns:
        ``(context (..., Tq, dv), weights (..., Tq, Tk) or None)``.
    """
    if not need_weights:
        if isinstance(mask, Causal):
            return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True), None
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout), None
    if isinstance(mask, Causal):
        mask = causal_mask(q, k)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (..., Tq, Tk)
    weights = masked_softmax(scores, mask)
    dropped = F.dropout(weights, p=dropout) if dropout > 0.0 else weights
    return dropped @ v, weights  # (..., Tq, dv)


class ScaledDotAttention(Attention):
    """Scaled dot-product attention (Vaswani et al. 2017), single head, through the fused SDPA kernel.

    Raises:
        ValueError: ``query_size != key_size``.
    """

    fused = True

    def __init__(self, config: AttentionConfig):
        super().__init__(config)
        if config.query_size != config.key_size:
            raise ValueError(
                f"scaled dot-product attention needs query_size == key_size, got {config.query_size} and {config.key_size}"
            )

    def forward(
        self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None, need_weights: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        p = self.config.dropout if self.training else 0.0
        mask = mask if isinstance(mask, Causal) else expand_mask(mask, query, key)
        return scaled_dot_product(query, key, value, mask, p, need_weights)
