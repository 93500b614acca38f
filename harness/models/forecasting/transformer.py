"""Transformer encoder forecaster, channel-independent, over time steps or patches.

Each forecast channel is modelled from its own history, as in PatchTST (Nie et al. 2023, "A Time Series
is Worth 64 Words", ICLR): the window of one channel is cut into patches of ``patch_len`` steps with
stride ``patch_len // 2`` (the end padded by repeating the last value, as PatchTST does), each patch is
embedded linearly, a learned position is added, pre-norm Transformer encoder layers (Vaswani et al.
2017) attend over the patches, and a linear head maps the flattened encoder output to the horizon.
``patch_len = 1`` is the unpatched model: one token per time step. Self-attention is the registry's
scaled dot-product or multi-head attention, through ``torch.nn.functional.scaled_dot_product_attention``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from harness.models._base import AttentionFactory
from harness.models.forecasting._base import ForecastConfig, Forecaster
from harness.models.transformer import EncoderLayer


@dataclass(frozen=True)
class TransformerForecastConfig(ForecastConfig):
    """:class:`ForecastConfig` plus ``patch_len`` (time steps per token; 1 = no patching)."""

    patch_len: int = 16

    @property
    def stride(self) -> int:
        return max(1, self.patch_len // 2)

    @property
    def n_patches(self) -> int:
        """Tokens per channel: ``(L - P) / S + 1``, plus one for the padded end when patching."""
        if self.patch_len > self.lookback:
            raise ValueError(f"patch_len={self.patch_len} is longer than the look-back window ({self.lookback})")
        return (self.lookback - self.patch_len) // self.stride + 1 + (1 if self.patch_len > 1 else 0)


class TransformerForecaster(Forecaster):
    """Channel-independent Transformer encoder forecaster with optional PatchTST patching."""

    def __init__(self, config: TransformerForecastConfig, make_attention: AttentionFactory):
        super().__init__(config)
        d, N = config.hidden_size, config.n_patches
        self.register_buffer("channels", torch.tensor(config.output_index, dtype=torch.long), persistent=False)
        self.embed = nn.Linear(config.patch_len, d)
        self.position = nn.Parameter(torch.randn(N, d) * 0.02)  # (N, d)
        self.drop = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(
            EncoderLayer(d, config.heads, config.dropout, make_attention) for _ in range(config.layers)
        )
        self.final = nn.LayerNorm(d)
        self.head = nn.Linear(N * d, config.horizon)

    def patches(self, x: Tensor) -> Tensor:
        """``(B, L, C_in)`` -> ``(B * C_out, N, patch_len)`` patches of the forecast channels."""
        cfg = self.config
        series = x[..., self.channels].transpose(1, 2).reshape(-1, cfg.lookback)  # (B * C_out, L)
        if cfg.patch_len > 1:
            series = torch.cat([series, series[:, -1:].expand(-1, cfg.stride)], dim=1)  # (B * C_out, L + S)
        return series.unfold(1, cfg.patch_len, cfg.stride)  # (B * C_out, N, P)

    def key_labels(self) -> list[str]:
        """One label per patch: the look-back steps it covers (``t-96..t-81``; the last is padded)."""
        cfg, L = self.config, self.config.lookback
        if cfg.patch_len == 1:
            return super().key_labels()
        labels = []
        for i in range(cfg.n_patches):
            first = i * cfg.stride
            last = min(first + cfg.patch_len, L) - 1
            labels.append(f"t-{L - first}..t-{L - last}")
        return labels

    def query_labels(self) -> list[str]:
        return self.key_labels()

    def predict(self, x: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        B, C = x.size(0), self.config.n_outputs
        z = self.drop(self.embed(self.patches(x)) + self.position)  # (B * C, N, d)
        weights = None
        for i, layer in enumerate(self.layers):
            z, weights = layer(z, None, need_weights and i == len(self.layers) - 1)
        y = self.head(self.final(z).flatten(1))  # (B * C, H)
        y = y.view(B, C, -1).transpose(1, 2)  # (B, H, C)
        if weights is not None:  # last layer, first forecast channel: (B, N, N) over patches
            weights = weights.view(B, C, *weights.shape[1:])[:, 0]
        return y, weights
