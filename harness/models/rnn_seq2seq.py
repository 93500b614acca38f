"""RNN encoder-decoder with attention: bidirectional encoder, Luong-style attentional decoder.

- Encoder: embeddings, a bidirectional GRU or LSTM (Bahdanau et al. 2015), outputs projected to
  ``hidden_size`` to form the memory the decoder attends over.
- Decoder: at step ``t`` the RNN reads ``[embed(y_{t-1}); h~_{t-1}]`` (input feeding, Luong et al. 2015,
  section 3.3), attends with its new state ``h_t`` over the memory, and predicts from the attentional
  state ``h~_t = tanh(W_c [c_t; h_t])``. Every attention type plugs in as the score function (Luong et
  al. compare dot, general, location and concat = Bahdanau's additive score this way).
- Without input feeding the decoder RNN runs over the whole target at once and attends for all steps in
  one call.
- The memory's keys are projected once per batch (:meth:`Attention.project`), not at every decoder step, and the
  output layer runs once after the loop, on the target positions the caller keeps (``keep``: real tokens only).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from harness.attention import AttentionConfig, Memory
from harness.models._base import AttentionFactory, Seq2Seq, Seq2SeqConfig, finished, mask_after_eos, padding_mask

CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}


@dataclass(frozen=True)
class RNNConfig(Seq2SeqConfig):
    """:class:`Seq2SeqConfig` plus the RNN's own options.

    Args:
        cell: ``"gru"`` or ``"lstm"``.
        input_feeding: Feed the previous attentional state to the decoder RNN (Luong et al. 2015).
    """

    cell: str = "gru"
    input_feeding: bool = True


class Encoder(nn.Module):
    """Bidirectional RNN encoder; returns the memory ``(B, Ts, H)`` and the decoder's initial state."""

    def __init__(self, cfg: RNNConfig):
        super().__init__()
        H = cfg.hidden_size
        self.cell = cfg.cell
        self.embed = nn.Embedding(cfg.src_vocab, cfg.embedding_size, padding_idx=cfg.pad_id)
        self.drop = nn.Dropout(cfg.dropout)
        self.rnn = CELLS[cfg.cell](
            cfg.embedding_size, H, num_layers=cfg.layers, batch_first=True, bidirectional=True,
            dropout=cfg.dropout if cfg.layers > 1 else 0.0,
        )
        self.to_memory = nn.Linear(2 * H, H)
        self.to_state = nn.Linear(2 * H, H)

    def forward(self, src: Tensor, src_lens: Tensor) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
        B, Ts = src.shape
        x = self.drop(self.embed(src))  # (B, Ts, E)
        packed = pack_padded_sequence(x, src_lens.cpu(), batch_first=True, enforce_sorted=False)
        out, state = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=Ts)  # (B, Ts, 2H)
        memory = self.to_memory(out)  # (B, Ts, H)
        init = (self._bridge(state[0]), self._bridge(state[1])) if self.cell == "lstm" else self._bridge(state)
        return memory, init

    def _bridge(self, state: Tensor) -> Tensor:
        """Final forward and backward states ``(2L, B, H)`` -> the decoder's initial state ``(L, B, H)``."""
        return torch.tanh(self.to_state(torch.cat([state[0::2], state[1::2]], dim=-1)))


class AttentionalDecoder(nn.Module):
    """Luong-style decoder: RNN step, attention with the new state, attentional state, output layer."""

    def __init__(self, cfg: RNNConfig, make_attention: AttentionFactory):
        super().__init__()
        H = cfg.hidden_size
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.tgt_vocab, cfg.embedding_size, padding_idx=cfg.pad_id)
        self.drop = nn.Dropout(cfg.dropout)
        rnn_input = cfg.embedding_size + (H if cfg.input_feeding else 0)
        self.rnn = CELLS[cfg.cell](
            rnn_input, H, num_layers=cfg.layers, batch_first=True, dropout=cfg.dropout if cfg.layers > 1 else 0.0
        )
        self.attention = make_attention(
            AttentionConfig(query_size=H, key_size=H, heads=cfg.heads, max_len=cfg.max_len, dropout=cfg.dropout)
        )
        self.W_c = nn.Linear(2 * H, H)
        self.out = nn.Linear(H, cfg.tgt_vocab)

    def step(self, y: Tensor, feed: Tensor, state, memory: Memory, mask: Tensor, need_weights: bool):
        """One or more decoder steps, up to the output layer (``out``).

        Args:
            y: ``(B, T)`` previous target ids (``T = 1`` with input feeding).
            feed: ``(B, T, H)`` previous attentional states (ignored without input feeding).
            state: RNN state ``(L, B, H)`` (a pair for LSTM).
            memory: The encoder output ``(B, Ts, H)`` as the attention projected it (:meth:`Attention.project`, once
                per batch); mask: ``(B, Ts)`` source padding mask.

        Returns:
            ``(output-layer input (B, T, H), attentional state (B, T, H), new state, weights (B, T, Ts) or None)``:
            the output-layer input is the attentional state after dropout.
        """
        x = self.drop(self.embed(y))  # (B, T, E)
        if self.cfg.input_feeding:
            x = torch.cat([x, feed], dim=-1)  # (B, T, E + H)
        h, state = self.rnn(x, state)  # (B, T, H)
        context, weights = self.attention.attend(h, memory, mask, need_weights=need_weights)  # (B, T, H)
        h_att = torch.tanh(self.W_c(torch.cat([context, h], dim=-1)))  # (B, T, H)
        return self.drop(h_att), h_att, state, weights


class RNNSeq2Seq(Seq2Seq):
    """RNN encoder-decoder with attention (Bahdanau et al. 2015; Luong et al. 2015).

    Args:
        config: :class:`RNNConfig`.
        make_attention: Builds the decoder's attention module from an :class:`AttentionConfig`.
    """

    #: What the weights ``greedy`` returns are, for the attention example of a report.
    attention_shown = "the decoder's attention over the encoder states"

    def __init__(self, config: RNNConfig, make_attention: AttentionFactory):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = AttentionalDecoder(config, make_attention)

    #: ``forward`` takes ``keep`` and runs the output layer on the kept positions only.
    selects_positions = True

    def forward(self, src: Tensor, src_lens: Tensor, tgt_in: Tensor, keep: Tensor | None = None) -> Tensor:
        encoded, state = self.encoder(src, src_lens)  # (B, Ts, H)
        memory = self.decoder.attention.project(encoded, encoded)  # the keys' projections, once per batch
        mask = padding_mask(src, self.config.pad_id)  # (B, Ts)
        B, Tt = tgt_in.shape
        if not self.config.input_feeding:  # all steps at once
            outputs, _, _, _ = self.decoder.step(tgt_in, None, state, memory, mask, need_weights=False)
        else:
            feed = encoded.new_zeros(B, 1, self.config.hidden_size)  # (B, 1, H)
            steps = []
            for t in range(Tt):
                step_out, feed, state, _ = self.decoder.step(tgt_in[:, t : t + 1], feed, state, memory, mask, False)
                steps.append(step_out)
            outputs = torch.cat(steps, dim=1)  # (B, Tt, H)
        return self.decoder.out(outputs if keep is None else outputs[keep])  # (B, Tt, V) or (N, V)

    @torch.no_grad()
    def greedy(self, src: Tensor, src_lens: Tensor, max_len: int) -> tuple[Tensor, Tensor]:
        cfg = self.config
        encoded, state = self.encoder(src, src_lens)
        memory = self.decoder.attention.project(encoded, encoded)
        mask = padding_mask(src, cfg.pad_id)
        B = src.size(0)
        y = torch.full((B, 1), cfg.bos_id, dtype=torch.long, device=src.device)  # (B, 1)
        feed = encoded.new_zeros(B, 1, cfg.hidden_size)
        tokens, weights = [], []
        for _ in range(max_len):
            out, feed, state, w = self.decoder.step(y, feed, state, memory, mask, need_weights=True)
            y = self.decoder.out(out).argmax(dim=-1)  # (B, 1)
            tokens.append(y)
            weights.append(w)
            if finished(torch.cat(tokens, dim=1), cfg.eos_id).all():
                break
        out = mask_after_eos(torch.cat(tokens, dim=1), cfg.eos_id, cfg.pad_id)  # (B, T)
        return out, torch.cat(weights, dim=1)  # (B, T), (B, T, Ts)
