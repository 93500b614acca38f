"""Show, Attend and Tell: an LSTM decoder with soft attention over image regions.

Xu et al., 2015, "Show, Attend and Tell: Neural Image Caption Generation with Visual Attention", ICML.
At step ``t`` the attention (any type of the registry; the paper's is Bahdanau's additive form) scores the
regions with the previous state ``h_{t-1}``; the context ``z_t`` is scaled by the gating scalar
``beta_t = sigmoid(f_beta(h_{t-1}))`` (section 4.2.1, optional); the LSTM reads ``[E y_{t-1}; z_t]``; the
deep output layer predicts the word from ``E y_{t-1} + L_h h_t + L_z z_t`` (eq. 7). The initial state is an
MLP of the mean region (section 3.1.2). The attention memory is the projected regions plus a learned
embedding of each region's place in the grid: convolutional features alone say little about where they
are, and without it the decoder mixes up the order of objects (measured on the digits task: 76 % exact
captions without it). Training may add the doubly stochastic penalty
``alpha_c * sum_i (1 - sum_t a_ti)^2`` (eq. 14), which asks every region to be attended about once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from harness.attention import AttentionConfig
from harness.models._base import AttentionFactory
from harness.models.captioning._base import Captioner, CaptionerConfig, DecodeState


@dataclass(frozen=True)
class ShowAttendTellConfig(CaptionerConfig):
    """:class:`CaptionerConfig` plus ``gate`` (the gating scalar beta)."""

    gate: bool = True


class ShowAttendTell(Captioner):
    """LSTM decoder with soft attention over regions (Xu et al. 2015)."""

    def __init__(self, config: ShowAttendTellConfig, make_attention: AttentionFactory):
        super().__init__(config)
        H, E, D = config.hidden_size, config.embedding_size, config.encoder.features
        self.keys = nn.Linear(D, H)  # regions -> attention memory of size H
        self.position = nn.Parameter(torch.randn(self.grid[0] * self.grid[1], H) * 0.02)  # (R, H) place in the grid
        self.attention = make_attention(
            AttentionConfig(query_size=H, key_size=H, heads=config.heads, max_len=self.grid[0] * self.grid[1],
                            dropout=config.dropout)
        )
        self.init_h, self.init_c = nn.Linear(D, H), nn.Linear(D, H)
        self.f_beta = nn.Linear(H, 1) if config.gate else None
        self.embed = nn.Embedding(config.vocab, E, padding_idx=config.pad_id)
        self.lstm = nn.LSTMCell(E + H, H)
        self.L_h, self.L_z = nn.Linear(H, E), nn.Linear(H, E)
        self.L_o = nn.Linear(E, config.vocab)
        self.drop = nn.Dropout(config.dropout)

    def start(self, regions: Tensor) -> DecodeState:
        mean = regions.mean(dim=1)  # (N, D)
        h, c = torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean))  # (N, H)
        return DecodeState(regions, {"h": h, "c": c, "keys": self.keys(regions) + self.position})

    def _step(self, y: Tensor, state: DecodeState) -> tuple[Tensor, DecodeState, Tensor]:
        h, c, keys = state.tensors["h"], state.tensors["c"], state.tensors["keys"]
        z, a = self.attention(h.unsqueeze(1), keys, keys, None, need_weights=True)  # (N, 1, H), (N, 1, R)
        z, a = z.squeeze(1), a.squeeze(1)
        if self.f_beta is not None:
            z = torch.sigmoid(self.f_beta(h)) * z  # gating scalar beta_t
        e = self.embed(y)  # (N, E)
        h, c = self.lstm(torch.cat([e, z], dim=-1), (h, c))  # (N, H)
        logits = self.L_o(self.drop(e + self.L_h(h) + self.L_z(z)))  # deep output, (N, V)
        return logits, DecodeState(state.regions, {"h": h, "c": c, "keys": keys}, state.step + 1), a

    def forward(self, images: Tensor, captions_in: Tensor) -> tuple[Tensor, Tensor]:
        state = self.start(self.encode(images))
        logits, weights = [], []
        for t in range(captions_in.size(1)):
            step_logits, state, a = self._step(captions_in[:, t], state)
            logits.append(step_logits)
            weights.append(a)
        return torch.stack(logits, dim=1), torch.stack(weights, dim=1)  # (B, T, V), (B, T, R)

    def step(self, tokens: Tensor, state: DecodeState) -> tuple[Tensor, DecodeState, Tensor]:
        logits, state, a = self._step(tokens, state)
        return torch.log_softmax(logits, dim=-1), state, a


def doubly_stochastic_penalty(weights: Tensor, mask: Tensor) -> Tensor:
    """``(1 - sum_t a_ti)^2`` averaged over regions ``i`` and images, over the real (unpadded) steps.

    Xu et al. 2015, eq. 14 sums over regions; the mean (as in the common PyTorch implementations) keeps
    the penalty's scale independent of the grid size.

    Args:
        weights: ``(B, T, R)`` attention over regions.
        mask: ``(B, T)`` True at real caption steps.
    """
    attended = (weights * mask.unsqueeze(-1)).sum(dim=1)  # (B, R)
    return ((1.0 - attended) ** 2).mean()
