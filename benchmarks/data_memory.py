"""Peak memory of one training epoch of a full-size Flickr8k-format captioning corpus.

Builds a Flickr8k-format folder of ``--images`` images (default 8,091, the full Flickr8k) with the real captions of
``flickr8k_1k/flickr8k_all_captions.txt`` (40,455 on the full set); the image files are links to the 1,000 real
Flickr8k photographs of ``flickr8k_1k/images``, in turn, since only those are here. A fresh process then prepares the
captioning data at ``--image-size`` pixels (decoding every image), and iterates one epoch of the training
DataLoader (every batch of ``--batch-size`` (image, caption) pairs, collated and normalised, no model), and reports
its peak resident memory (``ru_maxrss``) after preparing and after the epoch, with the seconds of each. A checkout
from before the DataLoader pipeline is measured as its training loop ran: the epoch's batches held in one list.

``--code DIR`` measures another checkout of the harness (its commit is recorded), for a before/after comparison.
Goal: below 4 GB at 128 px.

    python benchmarks/data_memory.py [--data-dir ../shared/data] [--image-size 128] [--images 8091] [--code DIR] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import record

REPO = Path(__file__).resolve().parents[1]

EPOCH = """
import json, resource, sys, time
import torch
from harness.spec import parse_spec
from harness.study import load_data
try:
    from harness.data import train_loader
except ImportError:  # a checkout before the DataLoader pipeline
    train_loader = None
torch.set_num_threads(1)
data_dir, size, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
spec = parse_spec({"study": {"name": "m", "task": "captioning"},
                   "dataset": {"name": "flickr8k", "subdir": "flickr8k_full", "image_size": size, "min_count": 5}},
                  source="bench")
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes
start = time.perf_counter()
task, data = load_data(spec, __import__("pathlib").Path(data_dir))
prepared, prepared_s = peak(), time.perf_counter() - start
start = time.perf_counter()
generator = torch.Generator().manual_seed(0)
if hasattr(task, "train_batches"):  # a checkout before the DataLoader pipeline: its fit held the epoch as a list
    batches = len(list(task.train_batches(data, batch, generator)))
else:
    batches = sum(1 for _ in train_loader(task, data, batch, generator))
facts = task.describe(data)
print(json.dumps({"prepared_bytes": prepared, "epoch_bytes": peak(), "prepare_s": prepared_s,
                  "epoch_s": time.perf_counter() - start, "batches": batches, "train_pairs": facts["train_pairs"],
                  "train_images": facts["train_images"], "image_shape": facts["image_shape"]}))
"""


def build_corpus(source: Path, target: Path, images: int) -> int:
    """A Flickr8k-format folder ``target`` (captions.txt, images/) of the first ``images`` images of the full caption
    file, each image a link to one of the real photographs in turn. Returns the number of captions."""
    lines = (source / "flickr8k_all_captions.txt").read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    names = sorted({row.split(",", 1)[0] for row in rows})[:images]
    keep = set(names)
    kept_rows = [row for row in rows if row.split(",", 1)[0] in keep]
    (target / "images").mkdir(parents=True)
    (target / "captions.txt").write_text("\n".join([header, *kept_rows]) + "\n", encoding="utf-8")
    photos = sorted((source / "images").iterdir())
    for k, name in enumerate(names):
        os.symlink(photos[k % len(photos)].resolve(), target / "images" / name)
    return len(kept_rows)


def commit_of(code: Path) -> str:
    """The checkout's short commit, with ``+ uncommitted changes`` when its tracked files differ from it."""
    head = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(code), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True)
    return (head.stdout.strip() or "unknown") + (" + uncommitted changes" if dirty.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--images", type=int, default=8091)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--code", default=str(REPO), help="the harness checkout to measure (default: this one)")
    parser.add_argument("--quick", action="store_true", help="300 images at 64 px, to check the script runs")
    args = parser.parse_args()
    if args.quick:
        args.images, args.image_size = 300, 64
    code = Path(args.code).resolve()
    with tempfile.TemporaryDirectory() as folder:
        captions = build_corpus(Path(args.data_dir) / "flickr8k_1k", Path(folder) / "flickr8k_full", args.images)
        env = {**os.environ, "PYTHONPATH": str(code), "OMP_WAIT_POLICY": "PASSIVE"}
        proc = subprocess.run([sys.executable, "-c", EPOCH, folder, str(args.image_size), str(args.batch_size)],
                              capture_output=True, text=True, env=env, cwd=code)
        if proc.returncode != 0:
            sys.exit(f"the measured process failed:\n{proc.stderr}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    gb = 1024 ** 3
    pixels = out["train_images"] * int(__import__("math").prod(out["image_shape"]))
    record(f"Captioning data memory: one epoch of {args.images:,} Flickr8k-format images at {args.image_size} px", [
        f"- harness checkout: commit {commit_of(code)} ({code})",
        f"- corpus: {args.images:,} images (links to the 1,000 real Flickr8k photographs in turn), {captions:,} real "
        f"captions; seeded split, {out['train_images']:,} training images, {out['train_pairs']:,} training pairs",
        f"- one epoch: {out['batches']:,} batches of {args.batch_size} pairs, collated and normalised (no model); "
        "torch threads 1, no DataLoader workers",
        f"- training pixels as uint8: {pixels / gb:.2f} GB; as float32: {4 * pixels / gb:.2f} GB",
        f"- peak RSS after preparing the data: {out['prepared_bytes'] / gb:.2f} GB ({out['prepare_s']:.0f} s)",
        f"- peak RSS after the epoch: {out['epoch_bytes'] / gb:.2f} GB ({out['epoch_s']:.0f} s); goal < 4 GB",
    ], threads=1)


if __name__ == "__main__":
    main()
