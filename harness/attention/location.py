"""Luong location attention: ``a_t = softmax(W_a h_t)``, weights computed from the query alone.

Luong, Pham & Manning, 2015, "Effective Approaches to Attention-based Neural Machine Translation",
EMNLP (global attention, the *location*-based function). The weights depend on the target state and
the source positions, not on the source content.
"""

from __future__ import annotations

from torch import Tensor, nn

from harness.attention._base import Attention, AttentionConfig, expand_mask, masked_softmax


class LocationAttention(Attention):
    """Luong location attention (Luong et al. 2015): one learned score per source position from the query.

    Raises:
        ValueError: (in ``forward``) the keys are longer than ``config.max_len`` positions.
    """

    def __init__(self, config: AttentionConfig):
        super().__init__(config)
        self.W_a = nn.Linear(config.query_size, config.max_len)

    def forward(
        self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None, need_weights: bool = True
    ) -> tuple[Tensor, Tensor]:
        Tk = key.size(1)
        if Tk > self.config.max_len:
            raise ValueError(f"location attention was built for at most {self.config.max_len} positions, got {Tk}")
        scores = self.W_a(query)[..., :Tk]  # (B, Tq, max_len) -> (B, Tq, Tk)
        weights = masked_softmax(scores, expand_mask(mask, query, key))  # (B, Tq, Tk)
        return weights @ value, weights  # (B, Tq, key_size)
