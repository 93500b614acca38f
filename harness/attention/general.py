"""Luong general attention: ``score(h_t, h_s) = h_t^T W_a h_s``.

Luong, Pham & Manning, 2015, "Effective Approaches to Attention-based Neural Machine Translation",
EMNLP (global attention, the *general* score).
"""

from __future__ import annotations

from torch import Tensor, nn

from harness.attention._base import Attention, AttentionConfig, Memory, expand_mask, masked_softmax


class GeneralAttention(Attention):
    """Luong general attention (Luong et al. 2015): a bilinear score through a learned matrix ``W_a``."""

    def __init__(self, config: AttentionConfig):
        super().__init__(config)
        self.W_a = nn.Linear(config.key_size, config.query_size, bias=False)

    def project(self, key: Tensor, value: Tensor) -> Memory:
        """``W_a h_s`` of every key ``(B, Tk, query_size)``, computed once for all queries."""
        return Memory(key, value, self.W_a(key), value)

    def attend(
        self, query: Tensor, memory: Memory, mask: Tensor | None = None, need_weights: bool = True
    ) -> tuple[Tensor, Tensor]:
        scores = query @ memory.scored.transpose(1, 2)  # (B, Tq, Dq) @ (B, Dq, Tk) -> (B, Tq, Tk)
        weights = masked_softmax(scores, expand_mask(mask, query, memory.key))  # (B, Tq, Tk)
        return weights @ memory.value, weights  # (B, Tq, key_size)
