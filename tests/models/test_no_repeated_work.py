"""Nothing computed on padding, nothing computed twice: each shortcut pinned against the computation it replaces.

The memory's keys projected once per batch (:meth:`Attention.project`), the output layer on real target tokens only
(``keep``), and the Transformer's key/value cache give the same numbers in fp32 as the code they replaced: the RNN
decoder attending over the raw memory and projecting every position at every step, and greedy decoding that runs
the whole prefix through the decoder again at every step.
"""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F

from harness.attention import AttentionConfig, Memory, build_attention
from harness.models import Seq2SeqConfig
from harness.models.rnn_seq2seq import RNNConfig, RNNSeq2Seq
from harness.models.transformer import TransformerSeq2Seq
from harness.registry import ATTENTION

V, PAD, BOS, EOS = 60, 0, 2, 3


def padded_batch(B=6, Ts=9, Tt=11, seed=1):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, V, (B, Ts), generator=g)
    tgt = torch.randint(4, V, (B, Tt), generator=g)
    src_lens = torch.randint(2, Ts + 1, (B,), generator=g)
    tgt_lens = torch.randint(2, Tt + 1, (B,), generator=g)
    src_lens[0], tgt_lens[0] = Ts, Tt
    for b in range(B):
        src[b, src_lens[b]:] = PAD
        tgt[b, tgt_lens[b]:] = PAD
    tgt_in = torch.cat([torch.full((B, 1), BOS), tgt[:, :-1]], dim=1).masked_fill(tgt == PAD, PAD)
    return src, src_lens, tgt_in, tgt


def rnn(attention: str) -> RNNSeq2Seq:
    torch.manual_seed(0)
    cfg = RNNConfig(V, V, hidden_size=16, embedding_size=8, heads=2, max_len=20, dropout=0.0)
    return RNNSeq2Seq(cfg, functools.partial(build_attention, attention)).eval()


def transformer(norm_first: bool) -> TransformerSeq2Seq:
    torch.manual_seed(0)
    cfg = Seq2SeqConfig(V, V, hidden_size=16, heads=2, layers=2, max_len=24, dropout=0.0)
    return TransformerSeq2Seq(cfg, functools.partial(build_attention, "multihead"), norm_first=norm_first).eval()


def rnn_logits_step_by_step(model: RNNSeq2Seq, src, src_lens, tgt_in) -> torch.Tensor:
    """The replaced computation: attention over the raw memory and the output layer at every decoder step."""
    d = model.decoder
    memory, state = model.encoder(src, src_lens)
    mask = src != PAD
    feed = memory.new_zeros(src.size(0), 1, model.config.hidden_size)
    logits = []
    for t in range(tgt_in.size(1)):
        x = torch.cat([d.drop(d.embed(tgt_in[:, t : t + 1])), feed], dim=-1)
        h, state = d.rnn(x, state)
        context, _ = d.attention(h, memory, memory, mask, need_weights=False)
        feed = torch.tanh(d.W_c(torch.cat([context, h], dim=-1)))
        logits.append(d.out(d.drop(feed)))
    return torch.cat(logits, dim=1)


@pytest.mark.parametrize("attention", ATTENTION.names())
def test_rnn_keys_projected_once_and_output_on_real_tokens_only_give_identical_logits(attention):
    model = rnn(attention)
    src, src_lens, tgt_in, tgt_out = padded_batch()
    keep = tgt_out != PAD
    with torch.no_grad():
        reference = rnn_logits_step_by_step(model, src, src_lens, tgt_in)  # (B, Tt, V)
        full = model(src, src_lens, tgt_in)
        kept = model(src, src_lens, tgt_in, keep)
    assert torch.equal(full, reference)
    assert kept.shape == (int(keep.sum()), V)
    assert torch.equal(kept, reference[keep])


@pytest.mark.parametrize("norm_first", [True, False])
def test_transformer_output_on_real_tokens_only_gives_identical_logits(norm_first):
    model = transformer(norm_first)
    src, src_lens, tgt_in, tgt_out = padded_batch()
    keep = tgt_out != PAD
    with torch.no_grad():
        assert torch.equal(model(src, src_lens, tgt_in, keep), model(src, src_lens, tgt_in)[keep])


@pytest.mark.parametrize("family", ["rnn", "transformer"])
def test_translation_loss_on_real_tokens_equals_the_loss_that_ignores_padding(family):
    from harness_tasks.translation.task import TranslationTask

    model = rnn("additive") if family == "rnn" else transformer(True)
    batch = padded_batch()
    src, src_lens, tgt_in, tgt_out = batch
    with torch.no_grad():
        logits = model(src, src_lens, tgt_in)
        reference = F.cross_entropy(logits.reshape(-1, V), tgt_out.reshape(-1), ignore_index=PAD)
        loss, tokens = TranslationTask().loss(model, batch)
    assert tokens == int((tgt_out != PAD).sum())
    torch.testing.assert_close(loss, reference, rtol=1e-6, atol=1e-7)


def greedy_by_recomputing_the_prefix(model: TransformerSeq2Seq, src, max_len: int):
    """The replaced decoding: the whole prefix through every decoder layer at every step (teacher forcing on the
    model's own output so far)."""
    memory, src_mask = model.encode(src)
    y = torch.full((src.size(0), 1), BOS)
    weights = None
    for _ in range(max_len):
        logits, weights = model.decode(y, memory, src_mask, need_weights=True)
        y = torch.cat([y, logits[:, -1:].argmax(-1)], dim=1)
    return y[:, 1:], weights


@pytest.mark.parametrize("norm_first", [True, False])
def test_transformer_greedy_with_a_key_value_cache_matches_recomputing_the_prefix(norm_first):
    model = transformer(norm_first)
    src, src_lens, _, _ = padded_batch(B=5)
    steps = 12
    model.config = model.config.__class__(**{**model.config.__dict__, "eos_id": V + 1})  # never stop early
    with torch.no_grad():
        tokens, weights = model.greedy(src, src_lens, max_len=steps)
        expected, expected_weights = greedy_by_recomputing_the_prefix(model, src, steps)
    assert torch.equal(tokens, expected)
    torch.testing.assert_close(weights, expected_weights, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("attention", ATTENTION.names())
def test_attending_over_an_extended_memory_equals_attending_over_the_whole(attention):
    torch.manual_seed(0)
    module = build_attention(attention, AttentionConfig(16, 16, heads=4, max_len=20)).eval()
    query, keys = torch.randn(3, 2, 16), torch.randn(3, 7, 16)
    whole = module.project(keys, keys)
    grown = module.project(keys[:, :4], keys[:, :4]).extend(module.project(keys[:, 4:], keys[:, 4:]))
    assert isinstance(grown, Memory)
    for a, b in zip(grown, whole):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
    with torch.no_grad():
        context, weights = module.attend(query, grown, None, need_weights=True)
        expected, expected_weights = module(query, keys, keys, None, need_weights=True)
    torch.testing.assert_close(context, expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(weights, expected_weights, rtol=1e-6, atol=1e-6)


def test_a_variant_written_as_forward_alone_still_attends_over_a_memory():
    from harness.attention import Attention, masked_softmax

    class Plain(Attention):  # a plugin's variant that predates project/attend
        def forward(self, query, key, value, mask=None, need_weights=True):
            weights = masked_softmax(query @ key.transpose(1, 2), None)
            return weights @ value, weights

    module = Plain(AttentionConfig(4, 4))
    query, keys = torch.randn(2, 3, 4), torch.randn(2, 5, 4)
    context, _ = module.attend(query, module.project(keys, keys))
    torch.testing.assert_close(context, module(query, keys, keys)[0])

    class Neither(Attention):
        pass

    with pytest.raises(NotImplementedError, match="Neither implements neither"):
        Neither(AttentionConfig(4, 4))(query, keys, keys)


def test_additive_attention_in_blocks_of_queries_gives_the_scores_of_one_piece(monkeypatch):
    """Bounded memory: the (B, Tq, Tk, A) tanh is built a block of queries at a time; the result is unchanged."""
    from harness.attention import additive

    torch.manual_seed(0)
    module = build_attention("additive", AttentionConfig(32, 32)).eval()
    query, keys = torch.randn(4, 96, 32), torch.randn(4, 96, 32)
    mask = torch.ones(4, 96, dtype=torch.bool)
    mask[1, 50:] = False
    one_piece = module(query, keys, keys, mask)
    monkeypatch.setattr(additive, "BLOCK_ELEMENTS", 4 * 96 * 32 * 7)  # blocks of 7 queries (the last one shorter)
    blocks = module(query, keys, keys, mask)
    torch.testing.assert_close(blocks[0], one_piece[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(blocks[1], one_piece[1], rtol=0, atol=1e-6)
    grad = torch.autograd.grad(module(query, keys, keys, mask)[0].sum(), module.v.weight)[0]
    monkeypatch.setattr(additive, "BLOCK_ELEMENTS", 2**23)
    expected = torch.autograd.grad(module(query, keys, keys, mask)[0].sum(), module.v.weight)[0]
    torch.testing.assert_close(grad, expected, rtol=1e-4, atol=1e-4)  # the blocks' gradients add up in another order
