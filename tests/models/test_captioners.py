"""Captioners: shapes for every attention type, attention over regions, beam search, incremental decoding."""

from __future__ import annotations

import functools

import pytest
import torch

from harness.attention import build_attention
from harness.models.captioning import CaptionerConfig, beam_search
from harness.models.captioning.encoder import EncoderConfig
from harness.models.captioning.lstm import ShowAttendTell, ShowAttendTellConfig, doubly_stochastic_penalty
from harness.models.captioning.transformer import TransformerCaptioner
from harness.registry import ATTENTION

V, PAD, BOS, EOS = 15, 0, 2, 3
ENCODER = EncoderConfig(channels=1, height=16, width_px=32, blocks=2, width=8)  # 4 x 8 = 32 regions


def sat(attention: str, **kw) -> ShowAttendTell:
    torch.manual_seed(0)
    cfg = ShowAttendTellConfig(V, ENCODER, hidden_size=16, embedding_size=8, heads=2, dropout=0.0, **kw)
    return ShowAttendTell(cfg, functools.partial(build_attention, attention)).eval()


def transformer() -> TransformerCaptioner:
    torch.manual_seed(0)
    cfg = CaptionerConfig(V, ENCODER, hidden_size=16, heads=2, layers=2, dropout=0.0)
    return TransformerCaptioner(cfg, functools.partial(build_attention, "multihead")).eval()


def inputs():
    torch.manual_seed(1)
    images = torch.randn(3, 1, 16, 32)
    captions = torch.randint(4, V, (3, 5))
    captions[:, 0] = BOS
    return images, captions


MODELS = [(f"sat/{a}", functools.partial(sat, a)) for a in ATTENTION.names()] + [("transformer", transformer)]


def test_encoder_grid_and_features():
    assert ENCODER.grid == (4, 8) and ENCODER.features == 16
    with pytest.raises(ValueError, match="halve a 16x32 image to nothing"):
        EncoderConfig(1, 16, 32, blocks=5)


@pytest.mark.parametrize("name,make", MODELS, ids=[m[0] for m in MODELS])
def test_teacher_forcing_shapes_and_attention_over_regions(name, make):
    model = make()
    images, captions = inputs()
    logits, weights = model(images, captions)
    assert logits.shape == (3, 5, V) and weights.shape == (3, 5, 32)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 5))
    assert torch.all(weights >= 0)


@pytest.mark.parametrize("name,make", MODELS, ids=[m[0] for m in MODELS])
def test_beam_of_one_is_greedy_and_matches_teacher_forcing(name, make):
    model = make()
    images, _ = inputs()
    tokens, weights = beam_search(model, images, beam_size=1, max_len=6)
    # greedy by hand through the step interface
    state = model.start(model.encode(images))
    y, greedy = torch.full((3,), BOS), []
    for _ in range(tokens.size(1)):
        log_probs, state, _ = model.step(y, state)
        y = log_probs.argmax(-1)
        greedy.append(y)
    greedy = torch.stack(greedy, 1)
    finished = torch.cumsum((greedy == EOS).int(), 1) - (greedy == EOS).int() > 0
    assert torch.equal(tokens, greedy.masked_fill(finished, PAD))
    # the step interface agrees with teacher forcing on the generated prefix
    prefix = torch.cat([torch.full((3, 1), BOS), greedy[:, :-1]], 1)
    logits, tf_weights = model(images, prefix)
    assert torch.equal(logits.argmax(-1), greedy)
    torch.testing.assert_close(weights, tf_weights, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,make", MODELS, ids=[m[0] for m in MODELS])
def test_wider_beams_never_score_worse(name, make):
    model = make()
    images, _ = inputs()

    def log_prob(tokens):
        prefix = torch.cat([torch.full((3, 1), BOS), tokens[:, :-1]], 1)
        logits, _ = model(images, prefix)
        lp = torch.log_softmax(logits, -1).gather(2, tokens.unsqueeze(-1)).squeeze(-1)
        keep = (torch.cumsum((tokens == EOS).int(), 1) - (tokens == EOS).int()) == 0
        return (lp * keep).sum(1)

    greedy, _ = beam_search(model, images, beam_size=1, max_len=6)
    beam, weights = beam_search(model, images, beam_size=4, max_len=6)
    assert weights.shape[:2] == beam.shape
    assert torch.all(log_prob(beam) >= log_prob(greedy) - 1e-5)


def test_gate_and_doubly_stochastic_penalty():
    assert sat("additive", gate=True).f_beta is not None and sat("additive", gate=False).f_beta is None
    weights = torch.full((2, 4, 8), 1 / 8)  # 4 steps spread evenly over 8 regions: each region gets 0.5
    mask = torch.ones(2, 4, dtype=torch.bool)
    assert doubly_stochastic_penalty(weights, mask).item() == pytest.approx(0.25)
    mask[:, 2:] = False  # padded steps do not count: each region gets 0.25
    assert doubly_stochastic_penalty(weights, mask).item() == pytest.approx(0.5625)


def test_beam_size_must_be_positive():
    with pytest.raises(ValueError, match="beam_size must be >= 1, got 0"):
        beam_search(sat("dot"), inputs()[0], beam_size=0)
