"""Transformer encoder-decoder (Vaswani et al., 2017, "Attention Is All You Need", NeurIPS).

Self- and cross-attention are the registry's multi-head attention modules, which run through
``torch.nn.functional.scaled_dot_product_attention``. Layers are pre-norm by default (LayerNorm before each
sub-layer, a final LayerNorm after each stack; Xiong et al. 2020, "On Layer Normalization in the Transformer
Architecture"), which Xiong et al. show trains without learning-rate warmup, or post-norm as in the original
paper (LayerNorm after each residual addition, no final LayerNorm), for which warmup is reported to be needed
(Vaswani et al. 2017; Liu et al. 2020, "Understanding the Difficulty of Training Transformers"). Positions use
the sinusoidal encoding of the original paper.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from harness.attention import CAUSAL, AttentionConfig, Causal, Memory
from harness.models._base import AttentionFactory, Seq2Seq, Seq2SeqConfig, finished, mask_after_eos, padding_mask


def sinusoidal_positions(max_len: int, d: int) -> Tensor:
    """``(max_len, d)`` sinusoidal position encodings (Vaswani et al. 2017, section 3.5)."""
    position = torch.arange(max_len).unsqueeze(1)  # (T, 1)
    div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))  # (d/2,)
    pe = torch.zeros(max_len, d)
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div[: d // 2])
    return pe


class FeedForward(nn.Sequential):
    """Position-wise feed-forward block ``W_2 ReLU(W_1 x)``, 4x wider inside."""

    def __init__(self, d: int, dropout: float):
        super().__init__(nn.Linear(d, 4 * d), nn.ReLU(), nn.Dropout(dropout), nn.Linear(4 * d, d))


def residual(x: Tensor, norm: nn.LayerNorm, norm_first: bool, sublayer) -> Tensor:
    """One residual sub-layer: ``x + f(LN(x))`` pre-norm (Xiong et al. 2020), ``LN(x + f(x))`` post-norm (Vaswani et
    al. 2017). ``sublayer`` maps ``(B, T, d)`` to ``(B, T, d)`` (dropout included)."""
    return x + sublayer(norm(x)) if norm_first else norm(x + sublayer(x))


class EncoderLayer(nn.Module):
    """Self-attention, then feed-forward, each a residual sub-layer (:func:`residual`).

    Args:
        d: Model width; heads: attention heads; dropout: dropout probability.
        make_attention: Builds the self-attention module.
        norm_first: Pre-norm (``True``) or post-norm.
    """

    def __init__(self, d: int, heads: int, dropout: float, make_attention: AttentionFactory, norm_first: bool = True):
        super().__init__()
        self.norm_first = norm_first
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_attn = make_attention(AttentionConfig(d, d, heads=heads, dropout=dropout))
        self.ff = FeedForward(d, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor | None, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """``(B, T, d)`` -> ``(B, T, d)``, and the self-attention weights ``(B, T, T)`` if asked."""
        weights = None

        def attend(h: Tensor) -> Tensor:
            nonlocal weights
            context, weights = self.self_attn(h, h, h, mask, need_weights=need_weights)
            return self.drop(context)

        x = residual(x, self.norm1, self.norm_first, attend)  # (B, T, d)
        return residual(x, self.norm2, self.norm_first, lambda h: self.drop(self.ff(h))), weights


class DecoderLayer(nn.Module):
    """Causal self-attention, cross-attention over the encoder output, feed-forward; each a residual sub-layer,
    pre-norm or post-norm (:func:`residual`)."""

    def __init__(self, d: int, heads: int, dropout: float, make_attention: AttentionFactory, norm_first: bool = True):
        super().__init__()
        self.norm_first = norm_first
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_attn = make_attention(AttentionConfig(d, d, heads=heads, dropout=dropout))
        self.cross_attn = make_attention(AttentionConfig(d, d, heads=heads, dropout=dropout))
        self.ff = FeedForward(d, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(
        self, y: Tensor, memory: Tensor, causal: Tensor | Causal, src_mask: Tensor | None, need_weights: bool
    ) -> tuple[Tensor, Tensor | None]:
        weights = None

        def cross(h: Tensor) -> Tensor:
            nonlocal weights
            context, weights = self.cross_attn(h, memory, memory, src_mask, need_weights=need_weights)
            return self.drop(context)

        y = residual(y, self.norm1, self.norm_first, lambda h: self.drop(self.self_attn(h, h, h, causal, need_weights=False)[0]))
        y = residual(y, self.norm2, self.norm_first, cross)  # (B, Tt, d)
        return residual(y, self.norm3, self.norm_first, lambda h: self.drop(self.ff(h))), weights  # (B, Tt, d), (B, Tt, Ts)

    def empty_cache(self, like: Tensor) -> Memory:
        """The self-attention cache before the first position: no keys or values, ``like``'s batch, dtype and device."""
        empty = like.new_zeros(like.size(0), 0, like.size(-1))
        return self.self_attn.project(empty, empty)

    def step(
        self, x: Tensor, cache: Memory, memory: Memory, src_mask: Tensor | None, need_weights: bool
    ) -> tuple[Tensor, Memory, Tensor | None]:
        """The layer's output at one new position (incremental decoding with a key/value cache).

        Earlier outputs never change (the self-attention is causal), so only the new position is computed: its
        self-attention keys and values are projected once and appended to ``cache``, and the cross-attention reads
        the encoder output projected once per sentence batch.

        Args:
            x: ``(B, 1, d)`` the layer's input at the new position.
            cache: The self-attention's projected keys and values of the earlier positions (:meth:`empty_cache` at
                the first).
            memory: The encoder output as this layer's cross-attention projected it (:meth:`Attention.project`).
            src_mask: ``(B, Ts)`` source padding mask.

        Returns:
            ``(output (B, 1, d), cache with the new position, cross-attention weights (B, 1, Ts) or None)``.
        """
        h = self.norm1(x) if self.norm_first else x  # (B, 1, d); LayerNorm acts on each position alone
        new = self.self_attn.project(h, h)
        cache = cache.extend(new)  # (B, t, d) keys and values
        attended = self.self_attn.attend(h, cache, None, need_weights=False)[0]  # (B, 1, d)
        y = x + attended if self.norm_first else self.norm1(x + attended)
        weights = None

        def cross(h: Tensor) -> Tensor:
            nonlocal weights
            context, weights = self.cross_attn.attend(h, memory, src_mask, need_weights=need_weights)
            return context

        y = residual(y, self.norm2, self.norm_first, cross)
        return residual(y, self.norm3, self.norm_first, self.ff), cache, weights  # (B, 1, d), cache, (B, 1, Ts)


class TransformerSeq2Seq(Seq2Seq):
    """Transformer encoder-decoder (Vaswani et al. 2017), pre-norm or post-norm, sinusoidal positions.

    Args:
        config: :class:`Seq2SeqConfig` (``hidden_size`` is ``d_model`` and must be divisible by ``heads``).
        make_attention: Builds each self- and cross-attention module (multi-head in the harness).
        norm_first: Pre-norm layers and a final LayerNorm after each stack (the default; Xiong et al. 2020), or
            post-norm layers and no final LayerNorm (``False``; Vaswani et al. 2017).
    """

    #: What the weights ``greedy`` returns are, for the attention example of a report.
    attention_shown = "the last decoder layer's cross-attention, averaged over heads"
    #: ``forward`` takes ``keep`` and runs the output layer on the kept positions only.
    selects_positions = True

    def __init__(self, config: Seq2SeqConfig, make_attention: AttentionFactory, norm_first: bool = True):
        super().__init__()
        self.config = config
        d = config.hidden_size
        self.src_embed = nn.Embedding(config.src_vocab, d, padding_idx=config.pad_id)
        self.tgt_embed = nn.Embedding(config.tgt_vocab, d, padding_idx=config.pad_id)
        self.register_buffer("positions", sinusoidal_positions(config.max_len + 2, d), persistent=False)
        self.drop = nn.Dropout(config.dropout)
        layer = (d, config.heads, config.dropout, make_attention, norm_first)
        self.encoder = nn.ModuleList(EncoderLayer(*layer) for _ in range(config.layers))
        self.decoder = nn.ModuleList(DecoderLayer(*layer) for _ in range(config.layers))
        final = nn.LayerNorm if norm_first else (lambda d: nn.Identity())  # post-norm stacks end normalised
        self.enc_norm, self.dec_norm = final(d), final(d)
        self.out = nn.Linear(d, config.tgt_vocab)
        for embed in (self.src_embed, self.tgt_embed):  # N(0, 1/d): unit scale after the sqrt(d) factor
            nn.init.normal_(embed.weight, mean=0.0, std=d**-0.5)
            nn.init.zeros_(embed.weight[config.pad_id])

    def _embed(self, embed: nn.Embedding, ids: Tensor, offset: int = 0) -> Tensor:
        T = offset + ids.size(1)
        if T > self.positions.size(0):
            raise ValueError(f"sequence of {T} tokens is longer than max_len={self.config.max_len}")
        x = embed(ids) * math.sqrt(self.config.hidden_size) + self.positions[offset:T]  # (B, T - offset, d)
        return self.drop(x)

    def encode(self, src: Tensor) -> tuple[Tensor, Tensor]:
        """Encoder output ``(B, Ts, d)`` and the source padding mask ``(B, Ts)``."""
        mask = padding_mask(src, self.config.pad_id)
        x = self._embed(self.src_embed, src)
        for layer in self.encoder:
            x, _ = layer(x, mask)
        return self.enc_norm(x), mask

    def decode(
        self, tgt_in: Tensor, memory: Tensor, src_mask: Tensor, need_weights: bool, keep: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """Logits ``(B, Tt, V)`` (``(N, V)`` at the ``N`` positions ``keep`` ``(B, Tt)`` selects) and, if asked, the
        last layer's cross-attention weights ``(B, Tt, Ts)``."""
        y = self._embed(self.tgt_embed, tgt_in)
        weights = None
        for i, layer in enumerate(self.decoder):
            y, weights = layer(y, memory, CAUSAL, src_mask, need_weights and i == len(self.decoder) - 1)
        y = self.dec_norm(y)
        return self.out(y if keep is None else y[keep]), weights

    def forward(self, src: Tensor, src_lens: Tensor, tgt_in: Tensor, keep: Tensor | None = None) -> Tensor:
        memory, src_mask = self.encode(src)
        return self.decode(tgt_in, memory, src_mask, need_weights=False, keep=keep)[0]  # (B, Tt, V) or (N, V)

    @torch.no_grad()
    def greedy(self, src: Tensor, src_lens: Tensor, max_len: int) -> tuple[Tensor, Tensor]:
        """Greedy decoding with a key/value cache per decoder layer (:meth:`DecoderLayer.step`): each step computes
        one position, and the encoder output is projected for cross-attention once."""
        cfg = self.config
        encoded, src_mask = self.encode(src)
        B = src.size(0)
        y = torch.full((B, 1), cfg.bos_id, dtype=torch.long, device=src.device)  # (B, 1)
        memories = [layer.cross_attn.project(encoded, encoded) for layer in self.decoder]
        caches = [layer.empty_cache(encoded) for layer in self.decoder]
        tokens, weights = [], []
        for t in range(min(max_len, cfg.max_len)):
            x = self._embed(self.tgt_embed, y, offset=t)  # (B, 1, d)
            for i, layer in enumerate(self.decoder):
                x, caches[i], w = layer.step(x, caches[i], memories[i], src_mask,
                                             need_weights=i == len(self.decoder) - 1)
            y = self.out(self.dec_norm(x)).argmax(dim=-1)  # (B, 1)
            tokens.append(y)
            weights.append(w)
            if finished(torch.cat(tokens, dim=1), cfg.eos_id).all():
                break
        return mask_after_eos(torch.cat(tokens, dim=1), cfg.eos_id, cfg.pad_id), torch.cat(weights, dim=1)
