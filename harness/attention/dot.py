"""Luong dot attention: ``score(h_t, h_s) = h_t . h_s``.

Luong, Pham & Manning, 2015, "Effective Approaches to Attention-based Neural Machine Translation",
EMNLP (global attention, the *dot* score).
"""

from __future__ import annotations

from torch import Tensor

from harness.attention._base import Attention, AttentionConfig, expand_mask, masked_softmax


class DotAttention(Attention):
    """Luong dot attention (Luong et al. 2015): the score is the dot product of query and key.

    Raises:
        ValueError: ``query_size != key_size``.
    """

    def __init__(self, config: AttentionConfig):
        super().__init__(config)
        if config.query_size != config.key_size:
            raise ValueError(f"dot attention needs query_size == key_size, got {config.query_size} and {config.key_size}")

    def forward(
        self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None, need_weights: bool = True
    ) -> tuple[Tensor, Tensor]:
        scores = query @ key.transpose(1, 2)  # (B, Tq, Tk)
        weights = masked_softmax(scores, expand_mask(mask, query, key))  # (B, Tq, Tk)
        return weights @ value, weights  # (B, Tq, key_size)
