"""No attention: a fixed context, the encoder state at the last source position.

The RNN encoder-decoder without attention hands the decoder one summary of the source, the encoder's
final state, at every step (Cho et al., 2014, "Learning Phrase Representations using RNN
Encoder-Decoder for Statistical Machine Translation", EMNLP; Sutskever et al., 2014). Written as an
attention variant, its weights are one-hot on the last unmasked key, so the baseline plugs into the
same decoder and plots as every other variant.
"""

from __future__ import annotations

import torch
from torch import Tensor

from harness.attention._base import Attention, expand_mask


class NoAttention(Attention):
    """No attention (Cho et al. 2014): the context is the value at the last unmasked key, for every query."""

    def forward(
        self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None, need_weights: bool = True
    ) -> tuple[Tensor, Tensor]:
        B, Tq, _ = query.shape
        Tk = key.size(1)
        mask = expand_mask(mask, query, key)
        positions = torch.arange(Tk, device=key.device)  # (Tk,)
        if mask is None:
            last = torch.full((B, Tq), Tk - 1, device=key.device, dtype=torch.long)
        else:
            last = torch.where(mask, positions, -1).amax(dim=-1).expand(B, Tq)  # (B, Tq)
        weights = torch.nn.functional.one_hot(last, Tk).to(value.dtype)  # (B, Tq, Tk)
        return weights @ value, weights  # (B, Tq, key_size), (B, Tq, Tk)
