"""Training throughput of each model family against a reference written with torch.nn modules.

Translation (numbers-en-de batches): target tokens per second of one training step (forward, backward,
Adam) for the harness's RNN encoder-decoder (dot attention, with and without input feeding) against a
reference bidirectional ``torch.nn.GRU`` encoder-decoder with dot attention computed in one ``bmm``, and
for the harness's Transformer against ``torch.nn.Transformer`` of the same width, depth and
feed-forward size (pre-norm). Forecasting (ETTh1 windows, L = H = 96): windows per second of the
harness's forecasters against a ``torch.nn.GRU`` encoder-decoder and a ``torch.nn.TransformerEncoder``
over the same patches. Median of 5 interleaved repetitions of 20 steps.

    python benchmarks/throughput.py [--threads 2] [--data-dir ../shared/data] [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import math
from pathlib import Path

import torch
from _common import interleaved, median, record
from torch import nn

from harness.data import train_loader
from harness.spec import parse_spec
from harness.study import load_data


class ReferenceGRU(nn.Module):
    """Bidirectional GRU encoder, GRU decoder over the whole target, dot attention by one bmm."""

    def __init__(self, src_vocab: int, tgt_vocab: int, E: int, H: int):
        super().__init__()
        self.src, self.tgt = nn.Embedding(src_vocab, E, padding_idx=0), nn.Embedding(tgt_vocab, E, padding_idx=0)
        self.encoder = nn.GRU(E, H, batch_first=True, bidirectional=True)
        self.bridge, self.memory = nn.Linear(2 * H, H), nn.Linear(2 * H, H)
        self.decoder = nn.GRU(E, H, batch_first=True)
        self.combine, self.out = nn.Linear(2 * H, H), nn.Linear(H, tgt_vocab)

    def forward(self, src, src_lens, tgt_in):
        packed = nn.utils.rnn.pack_padded_sequence(self.src(src), src_lens, batch_first=True, enforce_sorted=False)
        out, h = self.encoder(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        memory = self.memory(out)
        h = torch.tanh(self.bridge(torch.cat([h[0], h[1]], -1))).unsqueeze(0)
        dec, _ = self.decoder(self.tgt(tgt_in), h)
        scores = dec @ memory.transpose(1, 2)
        scores = scores.masked_fill((src == 0).unsqueeze(1), float("-inf"))
        context = torch.softmax(scores, -1) @ memory
        return self.out(torch.tanh(self.combine(torch.cat([context, dec], -1))))


class ReferenceTransformer(nn.Module):
    """``torch.nn.Transformer`` with embeddings, sinusoidal positions and an output layer."""

    def __init__(self, src_vocab: int, tgt_vocab: int, d: int, heads: int, layers: int):
        super().__init__()
        from harness.models.transformer import sinusoidal_positions

        self.d = d
        self.src, self.tgt = nn.Embedding(src_vocab, d, padding_idx=0), nn.Embedding(tgt_vocab, d, padding_idx=0)
        self.register_buffer("pe", sinusoidal_positions(256, d), persistent=False)
        self.net = nn.Transformer(d, heads, layers, layers, 4 * d, dropout=0.1, batch_first=True, norm_first=True)
        self.out = nn.Linear(d, tgt_vocab)

    def forward(self, src, src_lens, tgt_in):
        s = self.src(src) * math.sqrt(self.d) + self.pe[: src.size(1)]
        t = self.tgt(tgt_in) * math.sqrt(self.d) + self.pe[: tgt_in.size(1)]
        mask = nn.Transformer.generate_square_subsequent_mask(tgt_in.size(1))
        y = self.net(s, t, tgt_mask=mask, src_key_padding_mask=src == 0, memory_key_padding_mask=src == 0)
        return self.out(y)


def translation_step(model, batch, optimizer):
    src, src_lens, tgt_in, tgt_out = batch
    logits = model(src, src_lens, tgt_in)
    loss = nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=0)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def forecast_step(model, batch, optimizer):
    x, y = batch
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


class ReferenceGRUForecaster(nn.Module):
    """GRU encoder over the window, GRU decoder over learned horizon inputs, dot attention by one bmm."""

    def __init__(self, C: int, H: int, L: int, horizon: int):
        super().__init__()
        self.inp = nn.Linear(C, H)
        self.encoder, self.decoder = nn.GRU(H, H, batch_first=True), nn.GRU(H, H, batch_first=True)
        self.steps = nn.Parameter(torch.randn(horizon, H) * 0.02)
        self.combine, self.out = nn.Linear(2 * H, H), nn.Linear(H, C)

    def forward(self, x):
        memory, h = self.encoder(self.inp(x))
        dec, _ = self.decoder(self.steps.expand(x.size(0), -1, -1), h)
        context = torch.softmax(dec @ memory.transpose(1, 2) / math.sqrt(dec.size(-1)), -1) @ memory
        return self.out(torch.tanh(self.combine(torch.cat([context, dec], -1))))


class ReferencePatchEncoder(nn.Module):
    """Channel-independent patches through ``torch.nn.TransformerEncoder``, flatten head."""

    def __init__(self, L: int, horizon: int, d: int, heads: int, layers: int, P: int = 16):
        super().__init__()
        self.P, self.S = P, P // 2
        N = (L - P) // self.S + 2
        self.embed, self.pos = nn.Linear(P, d), nn.Parameter(torch.randn(N, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, heads, 4 * d, 0.1, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.head = nn.Linear(N * d, horizon)

    def forward(self, x):
        B, L, C = x.shape
        series = x.transpose(1, 2).reshape(B * C, L)
        series = torch.cat([series, series[:, -1:].expand(-1, self.S)], 1)
        z = self.encoder(self.embed(series.unfold(1, self.P, self.S)) + self.pos)
        return self.head(z.flatten(1)).view(B, C, -1).transpose(1, 2)


def measure(models: dict, batches: list, step, units, repeats: int) -> dict[str, float]:
    optimizers = {name: torch.optim.Adam(m.parameters(), lr=1e-3) for name, m in models.items()}

    def run(name):
        def fn():
            models[name].train()
            for batch in batches:
                step(models[name], batch, optimizers[name])
        return fn

    for name in models:
        run(name)()  # warm-up
    times = interleaved({name: run(name) for name in models}, repeats)
    return {name: units / median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    repeats, steps = (2, 3) if args.quick else (5, 20)
    torch.manual_seed(0)
    lines = []
    # -- translation
    spec = parse_spec({"study": {"name": "t", "task": "translation"},
                       "dataset": {"name": "numbers-en-de", "train_size": 2000, "valid_size": 10, "test_size": 10,
                                   "max_number": 999_999_999, "vocab_size": 200}})
    task, data = load_data(spec, None)
    batches = list(itertools.islice(train_loader(task, data, 64, torch.Generator().manual_seed(0)), steps))
    tokens = sum(int((b[3] != 0).sum()) for b in batches)
    V_src, V_tgt = data.src_tok.vocab_size, data.tgt_tok.vocab_size
    base = {"hidden_size": 128, "embedding_size": 128, "layers": 1, "transformer_layers": 2, "dropout": 0.1,
            "heads": 4, "cell": "gru", "attention": "dot"}
    models = {
        "harness rnn, dot, input feeding": task.build_model({**base, "model": "rnn", "input_feeding": True}, data),
        "harness rnn, dot, no input feeding": task.build_model({**base, "model": "rnn", "input_feeding": False}, data),
        "reference nn.GRU + dot attention": ReferenceGRU(V_src, V_tgt, 128, 128),
        "harness transformer (2+2 layers, d 128)": task.build_model({**base, "model": "transformer"}, data),
        "reference nn.Transformer (2+2, d 128)": ReferenceTransformer(V_src, V_tgt, 128, 4, 2),
    }
    rates = measure(models, batches, translation_step, tokens, repeats)
    lines += ["Translation, numbers-en-de, batch 64, target tokens per second of training steps:", "",
              "| model | tokens/s |", "| --- | --- |", *[f"| {n} | {r:,.0f} |" for n, r in rates.items()], ""]
    # -- forecasting
    data_dir = Path(args.data_dir)
    if (data_dir / "ett" / "ETTh1.csv").exists():
        fspec = parse_spec({"study": {"name": "f", "task": "forecasting"}, "dataset": {"name": "ett"}})
        ftask, fdata = load_data(fspec, data_dir)
        fbatches = list(itertools.islice(train_loader(ftask, fdata, 32, torch.Generator().manual_seed(0)), steps))
        windows = sum(b[0].size(0) for b in fbatches)
        fbase = {"hidden_size": 64, "dropout": 0.1, "revin": False, "heads": 4, "attention": "scaled_dot", "cell": "gru",
                 "input_feeding": False, "layers": 1, "self_attention": "multihead", "patch_len": 16,
                 "transformer_layers": 2, "kernel": 25}
        fmodels = {
            "harness rnn_forecaster, scaled_dot": ftask.build_model({**fbase, "model": "rnn_forecaster"}, fdata),
            "reference nn.GRU + scaled dot attention": ReferenceGRUForecaster(7, 64, 96, 96),
            "harness transformer_forecaster, patch 16": ftask.build_model({**fbase, "model": "transformer_forecaster"}, fdata),
            "reference nn.TransformerEncoder, patch 16": ReferencePatchEncoder(96, 96, 64, 4, 2),
            "harness attention_pooling": ftask.build_model({**fbase, "model": "attention_pooling"}, fdata),
            "harness dlinear": ftask.build_model({**fbase, "model": "dlinear"}, fdata),
        }
        frates = measure(fmodels, fbatches, forecast_step, windows, repeats)
        lines += ["Forecasting, ETTh1 L = H = 96, batch 32, windows per second of training steps:", "",
                  "| model | windows/s |", "| --- | --- |", *[f"| {n} | {r:,.0f} |" for n, r in frates.items()]]
    record("Training throughput", lines, threads=args.threads)


if __name__ == "__main__":
    main()
