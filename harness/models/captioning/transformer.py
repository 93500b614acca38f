"""Transformer decoder over image regions (Vaswani et al. 2017), as in captioning Transformers
(e.g. Cornia et al. 2020 without the meshed memory).

The regions, projected to ``d_model`` with a learned position per grid cell, are the memory; pre-norm
decoder layers apply causal self-attention over the words so far, cross-attention over the regions and
a feed-forward block, all attention through the registry's multi-head module (fused SDPA kernel). The
attention over the image for a word is the last layer's cross-attention, averaged over heads.
Generation keeps a key/value cache per layer and projects the regions for cross-attention once, so every step
computes one position.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from harness.attention import CAUSAL
from harness.models._base import AttentionFactory
from harness.models.captioning._base import Captioner, CaptionerConfig, DecodeState
from harness.models.transformer import DecoderLayer, sinusoidal_positions


class TransformerCaptioner(Captioner):
    """Transformer decoder over CNN region features."""

    def __init__(self, config: CaptionerConfig, make_attention: AttentionFactory):
        super().__init__(config)
        d = config.hidden_size
        R = self.grid[0] * self.grid[1]
        self.memory = nn.Linear(config.encoder.features, d)
        self.region_position = nn.Parameter(torch.randn(R, d) * 0.02)  # (R, d)
        self.embed = nn.Embedding(config.vocab, d, padding_idx=config.pad_id)
        nn.init.normal_(self.embed.weight, std=d**-0.5)
        self.register_buffer("positions", sinusoidal_positions(config.max_len + 1, d), persistent=False)
        self.layers = nn.ModuleList(DecoderLayer(d, config.heads, config.dropout, make_attention)
                                    for _ in range(config.layers))
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, config.vocab)
        self.drop = nn.Dropout(config.dropout)

    def _memory(self, regions: Tensor) -> Tensor:
        return self.drop(self.memory(regions) + self.region_position)  # (B, R, d)

    def _embed(self, tokens: Tensor, offset: int = 0) -> Tensor:
        T = tokens.size(1)
        return self.drop(self.embed(tokens) * math.sqrt(self.config.hidden_size) + self.positions[offset : offset + T])

    def forward(self, images: Tensor, captions_in: Tensor) -> tuple[Tensor, Tensor]:
        memory = self._memory(self.encode(images))
        y, weights = self._embed(captions_in), None
        for i, layer in enumerate(self.layers):
            y, weights = layer(y, memory, CAUSAL, None, need_weights=i == len(self.layers) - 1)
        return self.out(self.norm(y)), weights  # (B, T, V), (B, T, R)

    def start(self, regions: Tensor) -> DecodeState:
        memory = self._memory(regions)  # (N, R, d)
        return DecodeState(regions, {"memories": [layer.cross_attn.project(memory, memory) for layer in self.layers],
                                     "caches": [layer.empty_cache(memory) for layer in self.layers]})

    def step(self, tokens: Tensor, state: DecodeState) -> tuple[Tensor, DecodeState, Tensor]:
        memories, caches = state.tensors["memories"], list(state.tensors["caches"])
        x = self._embed(tokens.unsqueeze(1), offset=state.step)  # (N, 1, d)
        weights = None
        for i, layer in enumerate(self.layers):
            x, caches[i], weights = layer.step(x, caches[i], memories[i], None, need_weights=i == len(self.layers) - 1)
        log_probs = torch.log_softmax(self.out(self.norm(x[:, 0])), dim=-1)  # (N, V)
        tensors = {"memories": memories, "caches": caches}
        return log_probs, DecodeState(state.regions, tensors, state.step + 1), weights[:, 0]
