"""Attention-pooling forecaster: feed-forward attention over the look-back window, then a linear head.

Raffel & Ellis, 2015, "Feed-Forward Networks with Attention Can Solve Some Long-Term Memory Problems"
(arXiv:1512.08756), the pooling form of Bahdanau et al.'s additive attention without a query:

1. ``h_t = tanh(W x_t + p_t)``: a tanh layer over each time step (``p_t`` a learned position embedding,
   so that the pooling knows where in the window a step lies);
2. ``e_t = v^T h_t``: a learned attention score per time step;
3. ``a = softmax_t(e)`` over the look-back window;
4. ``c = sum_t a_t h_t``: the weighted sum;
5. ``y = W_o c``: a linear head to all ``H x C_out`` forecast values.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from harness.models.forecasting._base import ForecastConfig, Forecaster


class AttentionPoolingForecaster(Forecaster):
    """Feed-forward attention pooling over the look-back window (Raffel & Ellis 2015) and a linear head."""

    def __init__(self, config: ForecastConfig):
        super().__init__(config)
        d = config.hidden_size
        self.W = nn.Linear(config.n_inputs, d)
        self.position = nn.Parameter(torch.randn(config.lookback, d) * 0.02)  # (L, d)
        self.v = nn.Linear(d, 1, bias=False)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(d, config.horizon * config.n_outputs)

    def predict(self, x: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        B = x.size(0)
        h = torch.tanh(self.W(x) + self.position)  # (B, L, d)
        weights = torch.softmax(self.v(h).squeeze(-1), dim=-1)  # (B, L)
        context = (weights.unsqueeze(-1) * h).sum(dim=1)  # (B, d)
        y = self.head(self.drop(context)).view(B, self.config.horizon, self.config.n_outputs)  # (B, H, C_out)
        return y, weights.unsqueeze(1) if need_weights else None  # (B, 1, L)

    def query_labels(self) -> list[str]:
        return ["pool"]
