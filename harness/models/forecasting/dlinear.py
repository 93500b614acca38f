"""DLinear, the linear reference: moving-average decomposition, then one linear map per component.

Zeng, Chen, Zhang & Xu, 2023, "Are Transformers Effective for Time Series Forecasting?", AAAI. The
window of each channel is split into a trend (moving average of ``kernel`` steps, ends padded by
repeating the first and last values) and a remainder; a linear layer ``L -> H`` shared by all channels
maps each, and the forecast is their sum. Channel-independent, no instance normalisation (as published).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from harness.models.forecasting._base import ForecastConfig, Forecaster


@dataclass(frozen=True)
class DLinearConfig(ForecastConfig):
    """:class:`ForecastConfig` plus the moving-average ``kernel`` (time steps, odd; 25 as published)."""

    kernel: int = 25
    revin: bool = False


def moving_average(x: Tensor, kernel: int) -> Tensor:
    """``(B, L, C)`` -> ``(B, L, C)`` centred moving average, ends padded by repetition."""
    front = x[:, :1].expand(-1, (kernel - 1) // 2, -1)
    back = x[:, -1:].expand(-1, kernel // 2, -1)
    padded = torch.cat([front, x, back], dim=1).transpose(1, 2)  # (B, C, L + kernel - 1)
    return F.avg_pool1d(padded, kernel_size=kernel, stride=1).transpose(1, 2)  # (B, L, C)


class DLinear(Forecaster):
    """DLinear (Zeng et al. 2023): trend and remainder, each mapped by a shared linear layer over time."""

    def __init__(self, config: DLinearConfig):
        super().__init__(config)
        self.register_buffer("channels", torch.tensor(config.output_index, dtype=torch.long), persistent=False)
        self.trend = nn.Linear(config.lookback, config.horizon)
        self.seasonal = nn.Linear(config.lookback, config.horizon)

    def predict(self, x: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        x = x[..., self.channels]  # (B, L, C_out)
        trend = moving_average(x, self.config.kernel)
        seasonal = x - trend
        y = self.seasonal(seasonal.transpose(1, 2)) + self.trend(trend.transpose(1, 2))  # (B, C_out, H)
        return y.transpose(1, 2), None  # (B, H, C_out)
