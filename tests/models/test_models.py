"""Model families with every attention type: shapes, padding invariance, causality, greedy decoding."""

from __future__ import annotations

import functools

import pytest
import torch

from harness.attention import build_attention
from harness.models import Seq2SeqConfig
from harness.models._base import mask_after_eos
from harness.models.rnn_seq2seq import RNNConfig, RNNSeq2Seq
from harness.models.transformer import TransformerSeq2Seq
from harness.registry import ATTENTION, TASKS

V_SRC, V_TGT, PAD, BOS, EOS = 30, 40, 0, 2, 3


def rnn(attention: str, **kw) -> RNNSeq2Seq:
    torch.manual_seed(0)
    cfg = RNNConfig(V_SRC, V_TGT, hidden_size=16, embedding_size=8, heads=2, max_len=20, dropout=0.0, **kw)
    return RNNSeq2Seq(cfg, functools.partial(build_attention, attention)).eval()


def transformer(norm_first: bool = True, **kw) -> TransformerSeq2Seq:
    torch.manual_seed(0)
    cfg = Seq2SeqConfig(V_SRC, V_TGT, hidden_size=16, heads=2, layers=2, max_len=20, dropout=0.0, **kw)
    return TransformerSeq2Seq(cfg, functools.partial(build_attention, "multihead"), norm_first=norm_first).eval()


def batch():
    torch.manual_seed(1)
    src = torch.randint(4, V_SRC, (3, 6))
    src[1, 4:] = PAD
    src[2, 1:] = PAD
    lens = (src != PAD).sum(1)
    tgt = torch.randint(4, V_TGT, (3, 5))
    tgt[:, 0] = BOS
    return src, lens, tgt


#: (family, attention, variant): the variant is input feeding for the RNN, pre- or post-norm for the Transformer.
MODELS_UNDER_TEST = ([("rnn", a, f) for a in ATTENTION.names() for f in (True, False)]
                     + [("transformer", "multihead", "pre"), ("transformer", "multihead", "post")])


def build(family, attention, feeding, **kw):
    if family == "rnn":
        return rnn(attention, input_feeding=feeding, **kw)
    return transformer(norm_first=feeding == "pre", **kw)


@pytest.mark.parametrize("task_name,built_in", [
    ("translation", ("rnn", "transformer")),
    ("forecasting", ("rnn_forecaster", "transformer_forecaster", "attention_pooling", "dlinear")),
    ("captioning", ("show_attend_tell", "caption_transformer")),
])
def test_each_task_searches_its_registered_families_built_ins_first(task_name, built_in):
    from harness import family

    task = TASKS.get(task_name)
    names = family.family_names(task)
    assert names[: len(built_in)] == built_in  # plugin families (if any are installed) come after them
    model = next(p for g in task.space() for p in g.params if p.name == "model")
    assert model.choices == names
    for name in built_in:
        declared = family.get(task_name, name)
        assert issubclass(declared, family.Family) and (declared.task, declared.name) == (task_name, name)


def test_an_unknown_family_is_refused_with_the_task_s_families():
    from harness import family
    from harness.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="did you mean 'transformer'.*rnn, transformer"):
        family.get("translation", "transfomer")


@pytest.mark.parametrize("family,attention,feeding", MODELS_UNDER_TEST)
def test_teacher_forcing_and_greedy_shapes(family, attention, feeding):
    model = build(family, attention, feeding)
    src, lens, tgt = batch()
    logits = model(src, lens, tgt)
    assert logits.shape == (3, 5, V_TGT) and torch.isfinite(logits).all()
    tokens, weights = model.greedy(src, lens, max_len=7)
    assert tokens.shape[0] == 3 and tokens.shape[1] <= 7
    assert weights.shape == (3, tokens.shape[1], 6)
    assert torch.all(weights[1, :, 4:] == 0) and torch.all(weights[2, :, 1:] == 0), "no weight on padding"
    torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights.sum(-1)))


@pytest.mark.parametrize("family,attention,feeding", MODELS_UNDER_TEST)
def test_padding_does_not_change_the_output(family, attention, feeding):
    model = build(family, attention, feeding)
    src, lens, tgt = batch()
    alone = model(src[1:2, :4], lens[1:2], tgt[1:2])
    padded = model(src, lens, tgt)[1:2]
    torch.testing.assert_close(alone, padded, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("family,attention,feeding", MODELS_UNDER_TEST)
def test_decoder_is_causal(family, attention, feeding):
    model = build(family, attention, feeding)
    src, lens, tgt = batch()
    changed = tgt.clone()
    changed[:, 3:] = 5
    torch.testing.assert_close(model(src, lens, tgt)[:, :3], model(src, lens, changed)[:, :3])


@pytest.mark.parametrize("family,attention,feeding", MODELS_UNDER_TEST)
def test_greedy_agrees_with_teacher_forcing_on_its_own_output(family, attention, feeding):
    model = build(family, attention, feeding)
    src, lens, _ = batch()
    tokens, _ = model.greedy(src, lens, max_len=6)
    prefix = torch.cat([torch.full((3, 1), BOS), tokens[:, :-1]], dim=1)
    first_eos = [(row == EOS).nonzero()[0, 0].item() + 1 if (row == EOS).any() else len(row) for row in tokens]
    predicted = model(src, lens, prefix).argmax(-1)
    for i, n in enumerate(first_eos):
        assert predicted[i, :n].tolist() == tokens[i, :n].tolist()


def test_lstm_cell_and_layers():
    model = rnn("general", cell="lstm", layers=2)
    src, lens, tgt = batch()
    assert model(src, lens, tgt).shape == (3, 5, V_TGT)


def test_everything_after_eos_is_padding():
    tokens = torch.tensor([[5, EOS, 7, 8], [5, 6, 7, 8], [EOS, 4, EOS, 4]])
    assert mask_after_eos(tokens, EOS, PAD).tolist() == [[5, EOS, 0, 0], [5, 6, 7, 8], [EOS, 0, 0, 0]]


def test_post_norm_normalises_after_each_residual_and_has_no_final_norm():
    """Post-norm (Vaswani et al. 2017): every layer's output is a LayerNorm's, so the stacks end normalised; pre-norm
    (Xiong et al. 2020) adds a final LayerNorm to each stack instead. The two differ in their outputs, not their
    sub-layers: the same parameters but the final norms."""
    pre, post = transformer(norm_first=True), transformer(norm_first=False)
    assert isinstance(post.enc_norm, torch.nn.Identity) and isinstance(pre.enc_norm, torch.nn.LayerNorm)
    assert sum(p.numel() for p in pre.parameters()) - sum(p.numel() for p in post.parameters()) == 2 * 2 * 16
    src, lens, tgt = batch()
    memory, _ = post.encode(src)  # (B, Ts, d): LayerNorm output, zero mean and unit variance per position
    torch.testing.assert_close(memory.mean(-1), torch.zeros(3, 6), atol=1e-5, rtol=0)
    torch.testing.assert_close(memory.var(-1, unbiased=False), torch.ones(3, 6), atol=1e-3, rtol=0)
    assert not torch.allclose(pre(src, lens, tgt), post(src, lens, tgt))


def test_transformer_rejects_sequences_longer_than_max_len():
    model = transformer()
    src = torch.randint(4, V_SRC, (1, 30))
    with pytest.raises(ValueError, match="30 tokens is longer than max_len=20"):
        model(src, torch.tensor([30]), torch.tensor([[BOS]]))


def test_transformer_decoder_self_attention_reaches_sdpa_as_is_causal(monkeypatch):
    """The decoder's causal self-attention is passed to SDPA as is_causal=True without a mask tensor (so SDPA may pick
    its causal kernels), the cross-attention keeps its padding mask, and the logits equal those of the explicit mask."""
    import torch.nn.functional as F

    from harness.models import transformer as module

    calls = []
    sdpa = F.scaled_dot_product_attention

    def spy(*args, **kwargs):
        calls.append((kwargs.get("is_causal", False), kwargs.get("attn_mask") is not None))
        return sdpa(*args, **kwargs)

    model = transformer()
    src, lens, tgt = batch()
    monkeypatch.setattr(F, "scaled_dot_product_attention", spy)
    with torch.no_grad():
        logits = model(src, lens, tgt)
    assert (True, False) in calls  # decoder self-attention: is_causal, no mask
    assert all(not (causal and masked) for causal, masked in calls)
    explicit = torch.ones(tgt.size(1), tgt.size(1), dtype=torch.bool).tril().unsqueeze(0)
    monkeypatch.setattr(module, "CAUSAL", explicit)  # the tensor the decoder built before
    with torch.no_grad():
        expected = model(src, lens, tgt)
    torch.testing.assert_close(logits, expected, rtol=1e-5, atol=1e-5)
