"""What every forecaster shares: its config, the ``(B, L, C_in) -> (B, H, C_out)`` contract, instance norm."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class ForecastConfig:
    """Shapes and sizes of a forecaster.

    Args:
        n_inputs: Input channels ``C_in``.
        n_outputs: Forecast channels ``C_out``.
        lookback: Look-back window ``L``, in time steps.
        horizon: Forecast horizon ``H``, in time steps.
        output_index: For each forecast channel, its index among the input channels (channel-independent
            models forecast a channel from its own history).
        hidden_size: Model width.
        layers: Encoder layers.
        heads: Attention heads (multi-head attention).
        dropout: Dropout probability.
        revin: Normalise each input window by its own mean and standard deviation per channel, and undo
            it on the forecast (reversible instance normalisation, Kim et al. 2022, ICLR).
    """

    n_inputs: int
    n_outputs: int
    lookback: int
    horizon: int
    output_index: tuple[int, ...]
    hidden_size: int = 64
    layers: int = 1
    heads: int = 4
    dropout: float = 0.1
    revin: bool = True

    def __post_init__(self) -> None:
        if len(self.output_index) != self.n_outputs or any(not 0 <= i < self.n_inputs for i in self.output_index):
            raise ValueError(f"output_index {self.output_index} does not pick {self.n_outputs} of {self.n_inputs} inputs")


class InstanceNorm(nn.Module):
    """Reversible instance normalisation without affine parameters (RevIN, Kim et al. 2022)."""

    def __init__(self, output_index: tuple[int, ...], eps: float = 1e-5):
        super().__init__()
        self.register_buffer("index", torch.tensor(output_index, dtype=torch.long), persistent=False)
        self.eps = eps

    def normalise(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``x (B, L, C_in)`` -> ``(normalised x, mean (B, 1, C_in), std (B, 1, C_in))``."""
        mean = x.mean(dim=1, keepdim=True)
        std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + self.eps)
        return (x - mean) / std, mean, std

    def denormalise(self, y: Tensor, mean: Tensor, std: Tensor) -> Tensor:
        """``y (B, H, C_out)`` back to the input scale of the output channels."""
        return y * std[..., self.index] + mean[..., self.index]


class Forecaster(nn.Module):
    """Base class: subclasses implement :meth:`predict` on (optionally) instance-normalised windows."""

    def __init__(self, config: ForecastConfig):
        super().__init__()
        self.config = config
        self.norm = InstanceNorm(config.output_index) if config.revin else None

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, L, C_in)`` -> forecast ``(B, H, C_out)``."""
        if self.norm is None:
            return self.predict(x)[0]
        z, mean, std = self.norm.normalise(x)
        return self.norm.denormalise(self.predict(z)[0], mean, std)

    def predict(self, x: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:  # pragma: no cover
        """``(forecast (B, H, C_out), attention weights (B, Q, L) or None)`` on the model's input scale."""
        raise NotImplementedError

    @torch.no_grad()
    def attention(self, x: Tensor) -> Tensor | None:
        """Attention weights over the look-back window ``(B, Q, L)`` (``Q`` query rows), or ``None``."""
        if self.norm is not None:
            x = self.norm.normalise(x)[0]
        return self.predict(x, need_weights=True)[1]

    def key_labels(self) -> list[str]:
        """Labels of the attended positions: look-back steps ``t-L`` .. ``t-1``."""
        L = self.config.lookback
        return [f"t-{L - i}" for i in range(L)]

    def query_labels(self) -> list[str]:
        """Labels of the rows of :meth:`attention`: horizon steps ``t+1`` .. ``t+H`` by default."""
        return [f"t+{h + 1}" for h in range(self.config.horizon)]

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
