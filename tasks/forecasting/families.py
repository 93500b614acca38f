"""The forecasting task's built-in model families (:mod:`harness.family`): an RNN encoder-decoder forecaster with any
attention type, a channel-independent Transformer encoder (optionally PatchTST patches), attention pooling, and
DLinear. Registered in ``pyproject.toml`` (entry-point group ``harness.models``).

Each builds from the prepared data's shape: ``n_inputs``/``n_outputs`` channels, ``lookback`` L and ``horizon`` H time
steps, and the positions of the output channels among the inputs.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from harness_tasks.forecasting.space import (
    FORECAST_INPUT_FEEDING,
    FORECAST_TRANSFORMER_LAYERS,
    KERNEL,
    PATCH_LEN,
    SELF_ATTENTION,
)

from harness.errors import InvalidConfigError
from harness.family import Family
from harness.model_params import ATTENTION_TYPE, CELL, HEADS, LAYERS
from harness.task import Group


def shape(prepared: Any) -> dict[str, Any]:
    """``n_inputs``, ``n_outputs``, ``lookback``, ``horizon`` and ``output_index`` of the prepared series."""
    d = prepared.data
    return dict(n_inputs=d.n_inputs, n_outputs=d.n_outputs, lookback=d.lookback, horizon=d.horizon,
                output_index=tuple(d.input_columns.index(c) for c in d.output_columns))


def check_heads(config: dict[str, Any], *, multihead: bool) -> None:
    """Heads must divide the hidden size where multi-head attention runs."""
    heads = config.get("heads", 1)
    if multihead and config["hidden_size"] % heads:
        raise InvalidConfigError(f"heads={heads} does not divide hidden_size={config['hidden_size']}")


def sizes(config: dict[str, Any]) -> dict[str, Any]:
    """The sizes the attention forecasters share."""
    return dict(hidden_size=config["hidden_size"], dropout=config["dropout"], revin=config["revin"],
                heads=config.get("heads", 1))


class RNNForecaster(Family):
    """RNN encoder-decoder forecaster whose decoder attends over the look-back window with any attention type.

    Sources: the attention of Bahdanau et al. 2015 (arXiv:1409.0473) and Luong et al. 2015 (arXiv:1508.04025).
    """

    task: ClassVar[str] = "forecasting"
    name: ClassVar[str] = "rnn_forecaster"

    @classmethod
    def groups(cls) -> list[Group]:
        return [Group((ATTENTION_TYPE, CELL, FORECAST_INPUT_FEEDING, LAYERS)),
                Group((HEADS,), lambda c: c.get("attention") == "multihead", "attention = multihead")]

    @classmethod
    def check(cls, config: dict[str, Any], data: Any) -> None:
        check_heads(config, multihead=config["attention"] == "multihead")

    @classmethod
    def build(cls, config: dict[str, Any], data: Any):
        from harness.attention import build_attention
        from harness.models.forecasting.rnn import RNNForecastConfig, RNNForecaster

        cfg = RNNForecastConfig(**shape(data), **sizes(config),
                                layers=config["layers"], cell=config["cell"], input_feeding=config["input_feeding"])
        return RNNForecaster(cfg, functools.partial(build_attention, config["attention"]))


class TransformerForecaster(Family):
    """Channel-independent Transformer encoder forecaster, optional PatchTST patching (Nie et al. 2023).

    Sources: Vaswani et al. 2017 (arXiv:1706.03762); Nie et al. 2023, PatchTST (arXiv:2211.14730).
    """

    task: ClassVar[str] = "forecasting"
    name: ClassVar[str] = "transformer_forecaster"

    @classmethod
    def groups(cls) -> list[Group]:
        return [Group((SELF_ATTENTION, PATCH_LEN, FORECAST_TRANSFORMER_LAYERS)),
                Group((HEADS,), lambda c: c.get("self_attention") == "multihead", "self_attention = multihead")]

    @classmethod
    def check(cls, config: dict[str, Any], data: Any) -> None:
        check_heads(config, multihead=config["self_attention"] == "multihead")
        if config["patch_len"] > data.data.lookback:
            raise InvalidConfigError(f"patch_len={config['patch_len']} is longer than the look-back window "
                                     f"({data.data.lookback})")

    @classmethod
    def build(cls, config: dict[str, Any], data: Any):
        from harness.attention import build_attention
        from harness.models.forecasting.transformer import TransformerForecastConfig, TransformerForecaster

        cfg = TransformerForecastConfig(**shape(data), **sizes(config), layers=config["transformer_layers"],
                                        patch_len=config["patch_len"])
        return TransformerForecaster(cfg, functools.partial(build_attention, config["self_attention"]))


class AttentionPooling(Family):
    """Feed-forward attention pooling over the look-back window, linear head (Raffel & Ellis 2015)."""

    task: ClassVar[str] = "forecasting"
    name: ClassVar[str] = "attention_pooling"

    @classmethod
    def build(cls, config: dict[str, Any], data: Any):
        from harness.models.forecasting._base import ForecastConfig
        from harness.models.forecasting.pooling import AttentionPoolingForecaster

        return AttentionPoolingForecaster(ForecastConfig(**shape(data), **sizes(config)))


class DLinear(Family):
    """DLinear: moving-average decomposition and linear layers, the linear reference (Zeng et al. 2023)."""

    task: ClassVar[str] = "forecasting"
    name: ClassVar[str] = "dlinear"

    @classmethod
    def groups(cls) -> list[Group]:
        return [Group((KERNEL,))]

    @classmethod
    def check(cls, config: dict[str, Any], data: Any) -> None:
        if config["kernel"] % 2 == 0:
            raise InvalidConfigError(f"kernel={config['kernel']} must be odd")

    @classmethod
    def build(cls, config: dict[str, Any], data: Any):
        from harness.models.forecasting.dlinear import DLinear, DLinearConfig

        return DLinear(DLinearConfig(**shape(data), kernel=config["kernel"]))
