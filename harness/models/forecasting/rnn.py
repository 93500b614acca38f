"""RNN encoder-decoder forecaster whose decoder attends over the encoder states at every horizon step.

The encoder (GRU or LSTM) reads the look-back window; the decoder runs over the ``H`` horizon steps with a
learned embedding of each step as input (a direct multi-horizon decoder, no feedback of its own
forecasts, as in MQ-RNN, Wen et al. 2017), attends with its state over the encoder states using any
attention type of the registry (Bahdanau et al. 2015; Luong et al. 2015), and maps the attentional state
``tanh(W_c [c_t; h_t])`` to the forecast channels. With input feeding (Luong et al. 2015) the previous
attentional state joins the decoder input and the steps run one at a time; without it, all at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from harness.attention import AttentionConfig
from harness.models._base import AttentionFactory
from harness.models.forecasting._base import ForecastConfig, Forecaster

CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}


@dataclass(frozen=True)
class RNNForecastConfig(ForecastConfig):
    """:class:`ForecastConfig` plus ``cell`` (``gru``/``lstm``) and ``input_feeding``."""

    cell: str = "gru"
    input_feeding: bool = False


class RNNForecaster(Forecaster):
    """RNN encoder-decoder forecaster with attention over the look-back window."""

    def __init__(self, config: RNNForecastConfig, make_attention: AttentionFactory):
        super().__init__(config)
        H, cfg = config.hidden_size, config
        rnn = CELLS[cfg.cell]
        drop = cfg.dropout if cfg.layers > 1 else 0.0
        self.input = nn.Linear(cfg.n_inputs, H)
        self.encoder = rnn(H, H, num_layers=cfg.layers, batch_first=True, dropout=drop)
        self.steps = nn.Parameter(torch.randn(cfg.horizon, H) * 0.02)  # (H_steps, H) horizon-step embeddings
        self.decoder = rnn(H + (H if cfg.input_feeding else 0), H, num_layers=cfg.layers, batch_first=True, dropout=drop)
        self.attention_module = make_attention(
            AttentionConfig(query_size=H, key_size=H, heads=cfg.heads, max_len=cfg.lookback, dropout=cfg.dropout)
        )
        self.W_c = nn.Linear(2 * H, H)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(H, cfg.n_outputs)

    def predict(self, x: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        B = x.size(0)
        memory, state = self.encoder(self.drop(self.input(x)))  # (B, L, H)
        steps = self.steps.unsqueeze(0).expand(B, -1, -1)  # (B, H_steps, H)
        if not self.config.input_feeding:
            h, _ = self.decoder(steps, state)  # (B, H_steps, H)
            context, weights = self.attention_module(h, memory, memory, None, need_weights=need_weights)
            h_att = torch.tanh(self.W_c(torch.cat([context, h], dim=-1)))  # (B, H_steps, H)
            return self.out(self.drop(h_att)), weights  # (B, H_steps, C_out), (B, H_steps, L)
        feed = memory.new_zeros(B, 1, self.config.hidden_size)
        outputs, all_weights = [], []
        for t in range(self.config.horizon):
            h, state = self.decoder(torch.cat([steps[:, t : t + 1], feed], dim=-1), state)  # (B, 1, H)
            context, weights = self.attention_module(h, memory, memory, None, need_weights=need_weights)
            feed = torch.tanh(self.W_c(torch.cat([context, h], dim=-1)))  # (B, 1, H)
            outputs.append(self.out(self.drop(feed)))
            all_weights.append(weights)
        weights = torch.cat(all_weights, dim=1) if need_weights else None
        return torch.cat(outputs, dim=1), weights  # (B, H_steps, C_out), (B, H_steps, L)
