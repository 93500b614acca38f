"""Training time of a captioner with a frozen ImageNet-pretrained encoder, with and without the region-feature cache.

On the Flickr8k subset in ``flickr8k_1k`` (800 training images x 5 captions) at ``--image-size`` pixels, a Show,
Attend and Tell decoder (hidden 256) over the frozen EfficientNet-Lite0 regions at ``--stride``: optimizer steps of
``--batch-size`` (image, caption) pairs in the training order of one epoch, timed as

- ``uncached``: the backbone runs on every batch (the cache off);
- ``first epoch``: the cache on and empty: each image's regions are computed on its first caption;
- ``later epochs``: the cache on and full: the decoder alone.

Also the backbone's own forward time per image. Medians of ``--repeats`` runs of ``--batches`` steps each, the
modes interleaved, with torch threads ``--threads``.

    python benchmarks/frozen_encoder.py [--data-dir ../shared/data] [--image-size 128] [--stride 32] [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import median, record

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--stride", type=int, default=32, choices=(8, 16, 32))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=40, help="optimizer steps per timed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="10 steps, 1 repeat: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.batches, args.repeats = 10, 1

    import torch

    from harness.data import train_loader
    from harness.models.captioning import backbones
    from harness.spec import parse_spec
    from harness.study import load_data
    from harness.training import build_optimizer, seeded_model

    torch.set_num_threads(args.threads)
    spec = parse_spec({"study": {"name": "bench", "task": "captioning"},
                       "dataset": {"name": "flickr8k", "image_size": args.image_size, "min_count": 3}})
    task, data = load_data(spec, Path(args.data_dir))
    config = {"model": "show_attend_tell", "attention": "additive", "gate": True, "alpha_c": 1.0, "embedding_size": 128,
              "encoder": "efficientnet_lite0", "encoder_weights": "default", "freeze_encoder": True,
              "encoder_stride": args.stride, "hidden_size": 256, "dropout": 0.3, "beam_size": 1, "heads": 4,
              "lr": 1e-3, "optimizer": "adam", "weight_decay": 0.0}
    model = seeded_model(task, config, data, 0).train()
    optimizer = build_optimizer(model, config)
    loader = train_loader(task, data, args.batch_size, torch.Generator(device="cpu").manual_seed(0))
    batches = [batch for _, batch in zip(range(args.batches), iter(loader))]

    def steps() -> float:
        start = time.perf_counter()
        for batch in batches:
            loss, _ = task.loss(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    times: dict[str, list[float]] = {"uncached": [], "first epoch": [], "later epochs": []}
    for _ in range(args.repeats):
        backbones.FEATURES = backbones.FeatureCache(max_bytes=0)
        times["uncached"].append(steps())
        backbones.FEATURES = backbones.FeatureCache()
        times["first epoch"].append(steps())
        times["later epochs"].append(steps())
    images = data.train.normalised(list(range(32)))
    encoder = model.encoder
    with torch.no_grad():
        start = time.perf_counter()
        encoder._regions(images)
        per_image = (time.perf_counter() - start) / len(images)

    n = args.batches
    lines = [f"Flickr8k subset, {args.image_size} px, EfficientNet-Lite0 frozen at stride {args.stride} "
             f"(grid {encoder.grid[0]} x {encoder.grid[1]}), Show, Attend and Tell decoder (hidden 256), batches of "
             f"{args.batch_size} pairs; median of {args.repeats} runs of {n} optimizer steps.", "",
             "| mode | seconds per step | relative to uncached |", "| --- | --- | --- |"]
    base = median(times["uncached"]) / n
    for mode, values in times.items():
        lines.append(f"| {mode} | {median(values) / n:.3f} | {median(values) / n / base:.2f}x |")
    lines += ["", f"Backbone forward alone: {per_image * 1000:.1f} ms per image (a batch of 32)."]
    record("Frozen pretrained encoder: region-feature cache", lines, threads=args.threads)


if __name__ == "__main__":
    main()
