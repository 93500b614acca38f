"""Every registered attention type: shapes, masking, normalisation; each score against its formula."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from harness.attention import CAUSAL, AttentionConfig, build_attention
from harness.errors import UnknownNameError
from harness.registry import ATTENTION

B, TQ, TK, D = 3, 5, 7, 16
LENGTHS = torch.tensor([7, 4, 1])  # the last row keeps a single key


@pytest.fixture
def inputs():
    torch.manual_seed(0)
    q, k, v = torch.randn(B, TQ, D), torch.randn(B, TK, D), torch.randn(B, TK, D)
    mask = torch.arange(TK)[None, :] < LENGTHS[:, None]  # (B, TK), True = real key
    return q, k, v, mask


def make(name: str, **kw) -> torch.nn.Module:
    torch.manual_seed(1)
    return build_attention(name, AttentionConfig(query_size=D, key_size=D, heads=kw.pop("heads", 4), max_len=32, **kw)).eval()


def test_registry_holds_every_type_from_the_literature():
    built_in = ["none", "dot", "general", "location", "additive", "scaled_dot", "multihead"]
    assert ATTENTION.names()[: len(built_in)] == built_in  # installed plugins come after the built-ins


@pytest.mark.parametrize("name", ATTENTION.names())
def test_shapes_padding_and_normalisation(name, inputs):
    q, k, v, mask = inputs
    context, weights = make(name)(q, k, v, mask)
    assert context.shape == (B, TQ, D)
    assert weights.shape == (B, TQ, TK)
    assert torch.all(weights[~mask[:, None, :].expand(B, TQ, TK)] == 0.0), "padded keys must get exactly zero weight"
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, TQ))
    assert torch.all(weights >= 0)
    assert torch.isfinite(context).all()
    # a row with a single key attends to it fully
    torch.testing.assert_close(weights[2, :, 0], torch.ones(TQ))


@pytest.mark.parametrize("name", ATTENTION.names())
def test_context_is_the_weighted_sum_of_values(name, inputs):
    q, k, v, mask = inputs
    module = make(name)
    context, weights = module(q, k, v, mask)
    if name == "multihead":  # the weighted sum is taken per head, before W_o; check the head average instead
        assert context.shape == (B, TQ, D)
    else:
        torch.testing.assert_close(context, weights @ v)


@pytest.mark.parametrize("name", ATTENTION.names())
def test_causal_mask_is_respected(name):
    torch.manual_seed(0)
    x = torch.randn(2, 6, D)
    causal = torch.ones(6, 6, dtype=torch.bool).tril().unsqueeze(0)  # (1, T, T)
    _, weights = make(name)(x, x, x, causal)
    assert torch.all(weights.triu(diagonal=1) == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 6))


@pytest.mark.parametrize("name", ATTENTION.names())
@pytest.mark.parametrize("need_weights", [True, False])
def test_causal_by_name_equals_the_causal_tensor(name, need_weights):
    """CAUSAL (run as is_causal=True by the fused kernels) gives the context and weights of the explicit mask."""
    torch.manual_seed(0)
    x = torch.randn(2, 6, D)
    causal = torch.ones(6, 6, dtype=torch.bool).tril().unsqueeze(0)  # (1, T, T)
    module = make(name)
    by_name, named_weights = module(x, x, x, CAUSAL, need_weights=need_weights)
    by_tensor, tensor_weights = module(x, x, x, causal, need_weights=need_weights)
    torch.testing.assert_close(by_name, by_tensor, rtol=1e-5, atol=1e-5)
    if tensor_weights is None:
        assert named_weights is None
    else:
        torch.testing.assert_close(named_weights, tensor_weights)


@pytest.mark.parametrize("name", ATTENTION.names())
def test_gradients_reach_queries_or_parameters(name, inputs):
    q, k, v, mask = inputs
    q, v = q.clone().requires_grad_(), v.clone().requires_grad_()
    module = make(name).train()
    context, _ = module(q, k, v, mask)
    context.sum().backward()
    assert v.grad is not None and v.grad.abs().sum() > 0


@pytest.mark.parametrize("name", [n for n in ATTENTION.names() if ATTENTION.get(n).fused])
def test_fused_kernel_matches_the_explicit_path(name, inputs):
    q, k, v, mask = inputs
    module = make(name)
    explicit, weights = module(q, k, v, mask, need_weights=True)
    fused, none = module(q, k, v, mask, need_weights=False)
    assert none is None and weights is not None
    torch.testing.assert_close(fused, explicit, rtol=1e-5, atol=1e-5)


def test_dot_is_softmax_of_dot_products(inputs):
    q, k, v, mask = inputs
    _, weights = make("dot")(q, k, v, mask)
    scores = torch.einsum("bqd,bkd->bqk", q, k).masked_fill(~mask[:, None, :], -math.inf)
    torch.testing.assert_close(weights, scores.softmax(-1))


def test_scaled_dot_divides_by_sqrt_d_and_matches_sdpa(inputs):
    q, k, v, mask = inputs
    context, weights = make("scaled_dot")(q, k, v, mask)
    scores = (q @ k.transpose(1, 2) / math.sqrt(D)).masked_fill(~mask[:, None, :], -math.inf)
    torch.testing.assert_close(weights, scores.softmax(-1))
    torch.testing.assert_close(context, F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, :]))


def test_general_uses_its_bilinear_matrix(inputs):
    q, k, v, mask = inputs
    module = make("general")
    _, weights = module(q, k, v, mask)
    scores = torch.einsum("bqd,de,bke->bqk", q, module.W_a.weight, k).masked_fill(~mask[:, None, :], -math.inf)
    torch.testing.assert_close(weights, scores.softmax(-1))


def test_additive_is_bahdanaus_mlp(inputs):
    q, k, v, mask = inputs
    m = make("additive")
    _, weights = m(q, k, v, mask)
    hidden = torch.tanh(m.W_q(q)[:, :, None, :] + m.W_k(k)[:, None, :, :])  # (B, TQ, TK, A)
    scores = (hidden @ m.v.weight.T).squeeze(-1).masked_fill(~mask[:, None, :], -math.inf)
    torch.testing.assert_close(weights, scores.softmax(-1))


def test_location_weights_ignore_key_content_and_limit_length(inputs):
    q, k, v, mask = inputs
    module = make("location")
    _, w1 = module(q, k, v, mask)
    _, w2 = module(q, torch.randn_like(k), v, mask)
    torch.testing.assert_close(w1, w2)
    with pytest.raises(ValueError, match="at most 32 positions"):
        module(q, torch.randn(B, 33, D), torch.randn(B, 33, D))


def test_none_attends_to_the_last_real_key(inputs):
    q, k, v, mask = inputs
    context, weights = make("none")(q, k, v, mask)
    last = LENGTHS - 1
    torch.testing.assert_close(weights.argmax(-1), last[:, None].expand(B, TQ))
    torch.testing.assert_close(context, v[torch.arange(B), last][:, None, :].expand(B, TQ, D))


def test_multihead_with_one_head_and_identity_projections_is_scaled_dot(inputs):
    q, k, v, mask = inputs
    m = make("multihead", heads=1)
    with torch.no_grad():
        for lin in (m.W_q, m.W_k, m.W_v, m.W_o):
            lin.weight.copy_(torch.eye(D))
            lin.bias.zero_()
    expected, expected_w = make("scaled_dot")(q, k, v, mask)
    context, weights = m(q, k, v, mask)
    torch.testing.assert_close(context, expected)
    torch.testing.assert_close(weights, expected_w)


def test_config_errors_name_the_values():
    with pytest.raises(ValueError, match="heads=3, key_size=16"):
        AttentionConfig(query_size=16, key_size=16, heads=3)
    with pytest.raises(ValueError, match="query_size == key_size, got 8 and 16"):
        build_attention("dot", AttentionConfig(query_size=8, key_size=16))
    with pytest.raises(UnknownNameError, match="did you mean 'additive'"):
        build_attention("adittive", AttentionConfig(16, 16))
