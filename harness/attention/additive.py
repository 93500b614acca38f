"""Bahdanau additive attention: ``score(s, h) = v^T tanh(W_q s + W_k h)``.

Bahdanau, Cho & Bengio, 2015, "Neural Machine Translation by Jointly Learning to Align and Translate",
ICLR (Luong et al. 2015 call it the *concat* score).

The score needs ``tanh(W_q s + W_k h)`` for every query-key pair, a ``(B, Tq, Tk, A)`` tensor: 604 MB in fp32 for a
batch of 512 forecasting windows with 96 queries, 96 keys and A = 128. It is computed a block of queries at a time,
each block at most :data:`BLOCK_ELEMENTS` values, so memory stays bounded whatever the batch and sequence lengths;
every score is the same arithmetic as in one piece.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from harness.attention._base import Attention, AttentionConfig, Memory, expand_mask, masked_softmax

#: Most values of ``tanh(W_q s + W_k h)`` held at once (a block of queries): 2**23, 32 MiB in fp32.
BLOCK_ELEMENTS = 2**23


class AdditiveAttention(Attention):
    """Bahdanau additive attention (Bahdanau et al. 2015): a one-hidden-layer MLP scores each query-key pair."""

    def __init__(self, config: AttentionConfig):
        super().__init__(config)
        hidden = config.key_size
        self.W_q = nn.Linear(config.query_size, hidden)
        self.W_k = nn.Linear(config.key_size, hidden, bias=False)
        self.v = nn.Linear(hidden, 1, bias=False)

    def project(self, key: Tensor, value: Tensor) -> Memory:
        """``W_k h`` of every key ``(B, Tk, A)``, computed once for all queries."""
        return Memory(key, value, self.W_k(key), value)

    def attend(
        self, query: Tensor, memory: Memory, mask: Tensor | None = None, need_weights: bool = True
    ) -> tuple[Tensor, Tensor]:
        q = self.W_q(query).unsqueeze(2)  # (B, Tq, 1, A)
        k = memory.scored.unsqueeze(1)  # (B, 1, Tk, A)
        B, Tq, _, A = q.shape
        block = max(1, BLOCK_ELEMENTS // max(1, B * k.size(2) * A))  # queries per block
        scores = torch.cat([self.v(torch.tanh(q[:, i : i + block] + k)).squeeze(-1)  # (B, block, Tk)
                            for i in range(0, Tq, block)], dim=1)  # (B, Tq, Tk)
        weights = masked_softmax(scores, expand_mask(mask, query, memory.key))  # (B, Tq, Tk)
        return weights @ memory.value, weights  # (B, Tq, key_size)
