"""Multi-head attention: ``h`` scaled dot-product heads over learned projections, then ``W_o``.

Vaswani et al., 2017, "Attention Is All You Need", NeurIPS, section 3.2.2. The heads run through the
fused ``torch.nn.functional.scaled_dot_product_attention`` kernel unless the weights are needed; the
returned weights are averaged over heads.
"""

from __future__ import annotations

from torch import Tensor, nn

from harness.attention._base import Attention, AttentionConfig, Causal, Memory, expand_mask
from harness.attention.scaled_dot import scaled_dot_product


class MultiHeadAttention(Attention):
    """Multi-head scaled dot-product attention (Vaswani et al. 2017) with query, key, value and output projections."""

    fused = True

    def __init__(self, config: AttentionConfig):
        super().__init__(config)
        d = config.key_size
        self.W_q = nn.Linear(config.query_size, d)
        self.W_k = nn.Linear(config.key_size, d)
        self.W_v = nn.Linear(config.key_size, d)
        self.W_o = nn.Linear(d, d)

    def project(self, key: Tensor, value: Tensor) -> Memory:
        """The key and value projections ``W_k h``, ``W_v h`` ``(B, Tk, key_size)``, computed once for all queries
        (the cross-attention memory of a decoder, or its self-attention key/value cache)."""
        return Memory(key, value, self.W_k(key), self.W_v(value))

    def attend(
        self, query: Tensor, memory: Memory, mask: Tensor | None = None, need_weights: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        B, Tq, _ = query.shape
        Tk = memory.key.size(1)
        H = self.config.heads
        d = self.config.key_size // H
        q = self.W_q(query).view(B, Tq, H, d).transpose(1, 2)  # (B, H, Tq, d)
        k = memory.scored.view(B, Tk, H, d).transpose(1, 2)  # (B, H, Tk, d)
        v = memory.summed.view(B, Tk, H, d).transpose(1, 2)  # (B, H, Tk, d)
        if not isinstance(mask, Causal):  # the causal mask stays a name, for the fused kernel's is_causal
            mask = expand_mask(mask, query, memory.key)
            mask = mask.unsqueeze(1) if mask is not None else None  # (B, 1, Tq|1, Tk), broadcast over heads
        p = self.config.dropout if self.training else 0.0
        context, weights = scaled_dot_product(q, k, v, mask, p, need_weights)  # (B, H, Tq, d), (B, H, Tq, Tk)
        context = context.transpose(1, 2).reshape(B, Tq, H * d)  # (B, Tq, key_size)
        return self.W_o(context), (weights.mean(dim=1) if weights is not None else None)  # (B, Tq, Tk)
