"""Forecasters: ``(B, L, C_in)`` look-back window -> ``(B, H, C_out)`` forecast.

- :class:`~harness.models.forecasting.rnn.RNNForecaster`: GRU/LSTM encoder, attentional decoder (any attention type).
- :class:`~harness.models.forecasting.transformer.TransformerForecaster`: Transformer encoder over time steps or
  PatchTST patches, channel-independent.
- :class:`~harness.models.forecasting.pooling.AttentionPoolingForecaster`: feed-forward attention pooling.
- :class:`~harness.models.forecasting.dlinear.DLinear`: the linear reference (moving-average decomposition).
"""

from harness.models.forecasting._base import ForecastConfig, Forecaster, InstanceNorm

__all__ = ["ForecastConfig", "Forecaster", "InstanceNorm"]
