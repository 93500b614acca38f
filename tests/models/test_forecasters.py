"""Forecasters: shapes for M, S and MS, attention over the look-back window, instance norm, DLinear's formula."""

from __future__ import annotations

import functools

import pytest
import torch

from harness.attention import build_attention
from harness.models.forecasting import ForecastConfig
from harness.models.forecasting.dlinear import DLinear, DLinearConfig, moving_average
from harness.models.forecasting.pooling import AttentionPoolingForecaster
from harness.models.forecasting.rnn import RNNForecastConfig, RNNForecaster
from harness.models.forecasting.transformer import TransformerForecastConfig, TransformerForecaster
from harness.registry import ATTENTION

L, H, C = 48, 12, 3
SETTINGS = {"M": (C, C, (0, 1, 2)), "S": (1, 1, (0,)), "MS": (C, 1, (2,))}


def build(family: str, setting: str, **kw):
    n_in, n_out, index = SETTINGS[setting]
    shape = dict(n_inputs=n_in, n_outputs=n_out, lookback=L, horizon=H, output_index=index, hidden_size=16, heads=2)
    torch.manual_seed(0)
    if family.startswith("rnn/"):
        return RNNForecaster(RNNForecastConfig(**shape, **kw), functools.partial(build_attention, family[4:]))
    if family.startswith("transformer/"):
        return TransformerForecaster(TransformerForecastConfig(**shape, layers=2, **kw),
                                     functools.partial(build_attention, family[12:]))
    if family == "pooling":
        return AttentionPoolingForecaster(ForecastConfig(**shape, **kw))
    shape.pop("heads")
    shape.pop("hidden_size")
    return DLinear(DLinearConfig(**shape, **kw))


FAMILIES = ([f"rnn/{a}" for a in ATTENTION.names()] + ["transformer/scaled_dot", "transformer/multihead", "pooling", "dlinear"])


@pytest.mark.parametrize("setting", sorted(SETTINGS))
@pytest.mark.parametrize("family", FAMILIES)
def test_forecast_shapes(family, setting):
    n_in, n_out, _ = SETTINGS[setting]
    model = build(family, setting).eval()
    x = torch.randn(5, L, n_in)
    y = model(x)
    assert y.shape == (5, H, n_out) and torch.isfinite(y).all()
    y.sum().backward()


@pytest.mark.parametrize("family", [f for f in FAMILIES if f != "dlinear"])
def test_attention_over_the_look_back_window(family):
    model = build(family, "M").eval()
    weights = model.attention(torch.randn(2, L, C))
    assert weights.shape == (2, len(model.query_labels()), len(model.key_labels()))
    torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:2]))


@pytest.mark.parametrize("patch_len,tokens", [(1, L), (8, 12), (16, 6)])
def test_patching_follows_patchtst(patch_len, tokens):
    model = build("transformer/multihead", "M", patch_len=patch_len)
    assert model.config.n_patches == tokens  # (L - P) / (P / 2) + 1, plus the padded end
    patches = model.patches(torch.arange(L, dtype=torch.float32).view(1, L, 1).expand(1, L, C))
    assert patches.shape == (C, tokens, patch_len)
    if patch_len > 1:
        assert patches[0, 1, 0] == patch_len // 2  # stride P / 2
        assert torch.all(patches[0, -1, -patch_len // 2:] == L - 1)  # end padded by repeating the last value


def test_channel_independent_models_forecast_a_channel_from_its_own_history():
    for family in ("transformer/multihead", "dlinear"):
        model = build(family, "M").eval()
        x = torch.randn(2, L, C)
        changed = x.clone()
        changed[..., 0] += 5.0
        torch.testing.assert_close(model(x)[..., 1:], model(changed)[..., 1:])


def test_instance_norm_makes_forecasts_shift_equivariant():
    model = build("pooling", "M").eval()
    x = torch.randn(2, L, C)
    torch.testing.assert_close(model(x + 10.0), model(x) + 10.0, rtol=1e-4, atol=1e-4)


def test_dlinear_is_the_sum_of_two_linear_maps_of_trend_and_remainder():
    model = build("dlinear", "S", kernel=5).eval()
    x = torch.randn(2, L, 1)
    trend = moving_average(x, 5)
    expected = (model.trend(trend[..., 0]) + model.seasonal((x - trend)[..., 0])).unsqueeze(-1)
    torch.testing.assert_close(model(x), expected)
    constant = torch.full((1, 9, 1), 3.0)
    torch.testing.assert_close(moving_average(constant, 5), constant)
    ramp = torch.arange(9.0).view(1, 9, 1)
    assert moving_average(ramp, 3)[0, 4, 0] == 4.0 and moving_average(ramp, 3)[0, 0, 0] == pytest.approx(1 / 3)
