"""Attention kernels: forward + backward time and allocated memory of every attention type.

For query and key lengths T in 16..512 (self-attention shape, Tq = Tk = T) and the batch sizes of the
tasks, each registered attention type runs forward and backward on random inputs (d = 128, 4 heads for
multi-head). Scaled dot-product and multi-head run through ``torch.nn.functional.scaled_dot_product_attention``
(``need_weights=False``) and through the explicit matmul-softmax-matmul path (``need_weights=True``), and
the ratio of the two is reported. Memory: bytes allocated during one forward + backward (torch
profiler, CPU). Times: median of 5 interleaved repetitions. A configuration whose memory, extrapolated
quadratically in T from the previous length, would exceed ``--max-gib`` is skipped and said so (additive
attention materialises B x T x T x d features: 8 GiB at B = 64, T = 512).

    python benchmarks/attention_kernels.py [--threads 2] [--max-gib 4] [--quick]
"""

from __future__ import annotations

import argparse

import torch
from _common import interleaved, median, record

from harness.attention import AttentionConfig, build_attention
from harness.registry import ATTENTION

D = 128


def step(module, q, k, v, need_weights: bool):
    def run() -> None:
        q.grad = k.grad = v.grad = None
        context, _ = module(q, k, v, None, need_weights=need_weights)
        context.sum().backward()
    return run


def allocated_bytes(fn) -> int:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    return sum(max(0, e.cpu_memory_usage) for e in prof.key_averages())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-gib", type=float, default=4.0, help="skip configurations expected to allocate more")
    parser.add_argument("--quick", action="store_true", help="two lengths, one batch size, 2 repetitions")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    lengths = [16, 64] if args.quick else [16, 64, 128, 256, 512]
    batches = [16] if args.quick else [16, 64]
    repeats = 2 if args.quick else 5
    lines = ["Forward + backward per call, self-attention shape (Tq = Tk = T), d = 128; fused = "
             "`scaled_dot_product_attention`, explicit = matmul-softmax-matmul returning the weights.", "",
             "| attention | batch | T | ms (fused or only path) | ms explicit | explicit / fused | MB allocated |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    torch.manual_seed(0)
    for name in ATTENTION.names():
        for B in batches:
            previous: tuple[int, float] | None = None  # (T, MiB) of the last length measured
            for T in lengths:
                if previous is not None:
                    expected = previous[1] * (T / previous[0]) ** 2 / 1024
                    if expected > args.max_gib:
                        lines.append(f"| {name} | {B} | {T} | skipped: about {expected:.0f} GiB expected (> --max-gib "
                                     f"{args.max_gib:g}) | – | – | – |")
                        continue
                module = build_attention(name, AttentionConfig(D, D, heads=4, max_len=max(lengths)))
                q, k, v = (torch.randn(B, T, D, requires_grad=True) for _ in range(3))
                fns = {"main": step(module, q, k, v, need_weights=False)}
                if module.fused:
                    fns["explicit"] = step(module, q, k, v, need_weights=True)
                for fn in fns.values():
                    fn()  # warm-up
                times = interleaved(fns, repeats)
                main_ms = median(times["main"]) * 1e3
                explicit = f"{median(times['explicit']) * 1e3:.3f}" if "explicit" in times else "–"
                ratio = f"{median(times['explicit']) / median(times['main']):.2f}" if "explicit" in times else "–"
                memory = allocated_bytes(fns["main"]) / 2**20
                previous = (T, memory)
                lines.append(f"| {name} | {B} | {T} | {main_ms:.3f} | {explicit} | {ratio} | {memory:.1f} |")
    record("Attention kernels", lines, threads=args.threads)


if __name__ == "__main__":
    main()
