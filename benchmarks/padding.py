"""Real target tokens per CPU-second of Multi30k training steps: the harness now, the harness at an earlier commit,
and a hand-written reference loop that batches by length as torchtext's BucketIterator does.

Three arms train the same sizes on the same 10,000 Multi30k de->en pairs (max 48 subword tokens, 8,000-piece
vocabularies), batch 64, Adam, fp32, one torch thread, each in its own subprocess, interleaved ``--repeats`` times:

- **harness**: this checkout's ``TranslationTask.loss`` and optimizer (``build_optimizer``: Adam, fused where
  PyTorch has it) on its own default batches (an epoch of the task's batch sampler);
- **earlier** (``--earlier DIR``, a checkout of an earlier commit, e.g. ``git worktree add DIR beb94b7``): the same
  calls on that code's default batches (random at beb94b7), imported from ``DIR``;
- **reference**: plain PyTorch written for this script, the models of bentrevett/pytorch-seq2seq (whose Multi30k
  figures the reports cite): a bidirectional GRU encoder and a GRU decoder with Bahdanau attention recomputed at
  every step (notebook 3), and ``torch.nn.Transformer`` (pre-norm) with sinusoidal positions, batched like
  ``BucketIterator``: pools of 100 batches sorted by source length, batches shuffled; output layer and loss over
  every target position with ``ignore_index``; ``torch.optim.Adam`` with its defaults.

Models: GRU with additive attention (hidden 256, embeddings 128) and a 2+2-layer Transformer (d 256, 8 heads,
feed-forward 1024). Each arm times ``--steps`` optimizer steps after 3 warm-up steps with ``time.process_time``, and
counts the real target tokens and the padded target and source positions of those batches.

``--validation`` times one validation pass instead (greedy decoding of the 1,014 sentences and the teacher-forced
loss) of the freshly seeded models, in this checkout and the earlier one, and checks that both give the same BLEU.

    python benchmarks/padding.py --data-dir ../shared/data --earlier ../wt-old [--repeats 3] [--steps 40] [--quick]
    python benchmarks/padding.py --data-dir ../shared/data --earlier ../wt-old --validation
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HIDDEN, EMBED, HEADS, LAYERS, BATCH = 256, 128, 8, 2, 64


def spec_for(model: str) -> dict:
    search = ({"model": "rnn", "attention": "additive", "cell": "gru", "hidden_size": HIDDEN, "embedding_size": EMBED,
               "dropout": 0.1} if model == "rnn" else
              {"model": "transformer", "transformer_layers": LAYERS, "hidden_size": HIDDEN, "heads": HEADS, "dropout": 0.1})
    return {"study": {"name": "padding", "task": "translation", "metric": "bleu"},
            "dataset": {"name": "multi30k", "source_lang": "de", "target_lang": "en", "vocab_size": 8000, "max_len": 48},
            "budget": {"max_epochs": 1, "max_train_examples": 10_000, "threads": 1},
            "search": {**search, "schedule": "constant", "lr": 1e-3, "batch_size": BATCH}}


def measure_validation(model: str, data_dir: str) -> dict:
    """In a subprocess: CPU seconds of one validation pass (greedy decoding of the 1,014 sentences, teacher-forced
    loss) of the freshly seeded model, which is the same in every checkout whose model code builds the same weights."""
    import optuna
    import torch

    from harness.spec import build_space, parse_spec
    from harness.study import load_data
    from harness.training import seeded_model

    torch.set_num_threads(1)
    spec = parse_spec(spec_for(model))
    task, data = load_data(spec, Path(data_dir))
    net = seeded_model(task, build_space(spec).suggest(optuna.trial.FixedTrial({})), data, 0)
    start = time.process_time()
    metrics = task.evaluate(net, data, "valid")
    return {"model": model, "cpu": time.process_time() - start, "bleu": metrics["bleu"], "loss": metrics["loss"]}


def measure(arm: str, model: str, steps: int, data_dir: str) -> dict:
    """In a subprocess: time ``steps`` training steps of one arm and count its positions."""
    import optuna
    import torch

    from harness.spec import build_space, parse_spec
    from harness.study import load_data

    torch.set_num_threads(1)
    spec = parse_spec(spec_for(model))
    task, data = load_data(spec, Path(data_dir))
    generator = torch.Generator().manual_seed(0)
    if arm == "reference":
        from harness_tasks.translation.task import collate

        reference_gru, reference_transformer = _reference_models()
        net = (reference_gru if model == "rnn" else reference_transformer)(data.src_tok.vocab_size, data.tgt_tok.vocab_size)
        batches = [collate([data.train[i] for i in b]) for b in bucket_iterator(data.train, BATCH, generator)]

        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

        def loss_of(batch):
            src, src_lens, tgt_in, tgt_out = batch
            logits = net(src, src_lens, tgt_in)
            return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=0)
    else:
        from harness.data import train_loader
        from harness.training import build_optimizer, seeded_model

        config = build_space(spec).suggest(optuna.trial.FixedTrial({}))
        net = seeded_model(task, config, data, 0)
        optimizer = build_optimizer(net, config)  # the checkout's own Adam (lr 1e-3, no weight decay)
        batches = list(train_loader(task, data, BATCH, generator))

        def loss_of(batch):
            return task.loss(net, batch)[0]

    net.train()
    picked = batches[: steps + 3]

    def step(batch):
        optimizer.zero_grad(set_to_none=True)
        loss_of(batch).backward()
        optimizer.step()

    for batch in picked[:3]:
        step(batch)
    start = time.process_time()
    for batch in picked[3:]:
        step(batch)
    cpu = time.process_time() - start
    timed = picked[3:]
    real = sum(int((b[3] != 0).sum()) for b in timed)
    return {"arm": arm, "model": model, "cpu": cpu, "tokens": real, "target_positions": sum(b[3].numel() for b in timed),
            "source_positions": sum(b[0].numel() for b in timed), "source_real": sum(int((b[0] != 0).sum()) for b in timed),
            "steps": len(timed), "torch_threads": torch.get_num_threads()}


def bucket_iterator(pairs, batch_size: int, generator, pool_batches: int = 100):
    """torchtext's ``BucketIterator`` (``sort_within_batch``, ``sort_key`` = source length): shuffle, cut pools of
    ``pool_batches`` batches, sort each pool by source length, batch, shuffle the batches."""
    import torch

    order = torch.randperm(len(pairs), generator=generator).tolist()
    pool = batch_size * pool_batches
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: len(pairs[i][0]))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def _reference_models():
    import torch
    from torch import nn

    class Encoder(nn.Module):
        def __init__(self, vocab):
            super().__init__()
            self.embed = nn.Embedding(vocab, EMBED, padding_idx=0)
            self.rnn = nn.GRU(EMBED, HIDDEN, bidirectional=True, batch_first=True)
            self.fc = nn.Linear(2 * HIDDEN, HIDDEN)

        def forward(self, src, src_lens):
            packed = nn.utils.rnn.pack_padded_sequence(self.embed(src), src_lens, batch_first=True, enforce_sorted=False)
            out, h = self.rnn(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
            return out, torch.tanh(self.fc(torch.cat([h[-2], h[-1]], dim=1)))  # (B, Ts, 2H), (B, H)

    class Attention(nn.Module):  # bentrevett notebook 3: energy = tanh(attn([hidden; encoder_outputs])) at every step
        def __init__(self):
            super().__init__()
            self.attn, self.v = nn.Linear(3 * HIDDEN, HIDDEN), nn.Linear(HIDDEN, 1, bias=False)

        def forward(self, hidden, outputs, mask):
            Ts = outputs.size(1)
            energy = torch.tanh(self.attn(torch.cat([hidden.unsqueeze(1).expand(-1, Ts, -1), outputs], dim=2)))
            return torch.softmax(self.v(energy).squeeze(2).masked_fill(~mask, float("-inf")), dim=1)

    class ReferenceGRU(nn.Module):
        def __init__(self, src_vocab, tgt_vocab):
            super().__init__()
            self.encoder, self.attention = Encoder(src_vocab), Attention()
            self.embed = nn.Embedding(tgt_vocab, EMBED, padding_idx=0)
            self.rnn = nn.GRU(2 * HIDDEN + EMBED, HIDDEN, batch_first=True)
            self.out = nn.Linear(3 * HIDDEN + EMBED, tgt_vocab)

        def forward(self, src, src_lens, tgt_in):
            outputs, hidden = self.encoder(src, src_lens)
            mask = src != 0
            logits = []
            for t in range(tgt_in.size(1)):
                embedded = self.embed(tgt_in[:, t])  # (B, E)
                a = self.attention(hidden, outputs, mask)  # (B, Ts)
                weighted = (a.unsqueeze(1) @ outputs).squeeze(1)  # (B, 2H)
                out, h = self.rnn(torch.cat([embedded, weighted], dim=1).unsqueeze(1), hidden.unsqueeze(0))
                hidden = h.squeeze(0)
                logits.append(self.out(torch.cat([out.squeeze(1), weighted, embedded], dim=1)))
            return torch.stack(logits, dim=1)  # (B, Tt, V)

    class ReferenceTransformer(nn.Module):
        def __init__(self, src_vocab, tgt_vocab):
            super().__init__()
            from harness.models.transformer import sinusoidal_positions

            self.src, self.tgt = nn.Embedding(src_vocab, HIDDEN, padding_idx=0), nn.Embedding(tgt_vocab, HIDDEN, padding_idx=0)
            self.register_buffer("pe", sinusoidal_positions(128, HIDDEN), persistent=False)
            self.net = nn.Transformer(HIDDEN, HEADS, LAYERS, LAYERS, 4 * HIDDEN, dropout=0.1, batch_first=True, norm_first=True)
            self.out = nn.Linear(HIDDEN, tgt_vocab)

        def forward(self, src, src_lens, tgt_in):
            s = self.src(src) * math.sqrt(HIDDEN) + self.pe[: src.size(1)]
            t = self.tgt(tgt_in) * math.sqrt(HIDDEN) + self.pe[: tgt_in.size(1)]
            mask = nn.Transformer.generate_square_subsequent_mask(tgt_in.size(1))
            y = self.net(s, t, tgt_mask=mask, tgt_is_causal=True, src_key_padding_mask=src == 0,
                         memory_key_padding_mask=src == 0)
            return self.out(y)

    return ReferenceGRU, ReferenceTransformer


def run_arm(arm: str, model: str, args, earlier_path: str | None) -> dict:
    env = dict(os.environ)
    if arm.startswith("earlier"):
        env["PYTHONPATH"] = earlier_path
    proc = subprocess.run([sys.executable, __file__, "--measure", arm, "--model", model, "--steps", str(args.steps),
                           "--data-dir", args.data_dir], capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{arm} {model}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--earlier", help="a checkout of an earlier commit to compare with (its harness/ and tasks/)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="one repeat of 5 steps")
    parser.add_argument("--validation", action="store_true",
                        help="time one validation pass (greedy decoding, loss) instead of training steps")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--model", default="rnn", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        validation = args.measure.endswith("-validation")
        result = measure_validation(args.model, args.data_dir) if validation else measure(
            args.measure, args.model, args.steps, args.data_dir)
        print(json.dumps(result))
        return
    from _common import median, record

    if args.quick:
        args.repeats, args.steps = 1, 5
    arms = ["harness", *(["earlier"] if args.earlier else []), "reference"]
    with tempfile.TemporaryDirectory() as shim:
        earlier_path = None
        if args.earlier:  # the earlier checkout's packages under their import names
            root = Path(args.earlier).resolve()
            os.symlink(root / "harness", Path(shim) / "harness")
            os.symlink(root / "tasks", Path(shim) / "harness_tasks")
            earlier_path = shim
            commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                                    text=True).stdout.strip()
        results: dict[tuple[str, str], list[dict]] = {}
        if args.validation:
            arms = [a for a in arms if a != "reference"]
        for _ in range(args.repeats):
            for model in ("rnn", "transformer"):
                for arm in arms:
                    name = f"{arm}-validation" if args.validation else arm
                    results.setdefault((model, arm), []).append(run_arm(name, model, args, earlier_path))
    if args.validation:
        lines = [f"Multi30k de->en validation split (1,014 sentences), one pass of the freshly seeded model (seed 0): greedy "
                 f"decoding and the teacher-forced loss, fp32, 1 torch thread, process CPU seconds, median of "
                 f"{args.repeats} interleaved runs.", "", "| model | harness | " + (f"harness at {commit} | ratio |"
                 if args.earlier else ""), "| --- | --- |" + (" --- | --- |" if args.earlier else "")]
        for model, label in (("rnn", "GRU + additive attention"), ("transformer", f"Transformer {LAYERS}+{LAYERS}")):
            now = median([r["cpu"] for r in results[model, "harness"]])
            row = f"| {label} | {now:.1f} s |"
            if args.earlier:
                then = median([r["cpu"] for r in results[model, "earlier"]])
                same = {round(r["bleu"], 6) for r in results[model, "harness"] + results[model, "earlier"]}
                row += f" {then:.1f} s | {then / now:.2f}x ({'the same' if len(same) == 1 else 'different'} BLEU) |"
            lines.append(row)
        record("Translation validation: CPU seconds of one pass against an earlier commit", lines, threads=1)
        return
    names = {"harness": "harness (this checkout, default batches)", "reference": "reference loop, BucketIterator batches",
             "earlier": f"harness at {commit if args.earlier else ''} (its default batches)"}
    lines = [f"Multi30k de->en, 10,000 pairs, batch {BATCH}, Adam, fp32, 1 torch thread; {args.steps} steps after 3 "
             f"warm-up steps, process CPU time, median of {args.repeats} interleaved runs (each arm in its own process).", ""]
    for model, label in (("rnn", f"GRU + additive attention, hidden {HIDDEN}, embeddings {EMBED}"),
                         ("transformer", f"Transformer {LAYERS}+{LAYERS} layers, d {HIDDEN}, {HEADS} heads")):
        rate = {arm: median([r["tokens"] / r["cpu"] for r in results[model, arm]]) for arm in arms}
        lines += [f"**{label}**", "", "| arm | real target tokens per CPU-second | x harness | target positions padding | "
                  "source positions padding |", "| --- | --- | --- | --- | --- |"]
        for arm in arms:
            r = results[model, arm][0]
            lines.append(f"| {names[arm]} | {rate[arm]:,.0f} | {rate[arm] / rate['harness']:.2f} | "
                         f"{1 - r['tokens'] / r['target_positions']:.1%} | {1 - r['source_real'] / r['source_positions']:.1%} |")
        lines.append("")
    record("Translation: real target tokens per CPU-second against an earlier commit and a length-batched reference loop",
           lines, threads=1)


if __name__ == "__main__":
    main()
