"""Speed and sanity of the change metrics (driftlens.compare) on the CPU.

Prints: the one-off cost of loading the perceptual network; the perceptual distance batched against
one pair per forward pass, side by side in this run; SSIM per pair; one epoch's pixel scores at the
paper's scale; linear CKA on a probe set; and, as a sanity check, how both picture metrics rank
increasingly noisy copies of a photograph against a different photograph.

Other jobs may share the CPU: compare the ratios, not the absolute seconds, across runs. The load
average is printed with the figures.

Usage:
    .venv/bin/python benchmarks/compare_metrics.py [--threads 2]
"""

import argparse
import os
import time

import numpy as np
import torch
from skimage import data
from skimage.transform import resize

from driftlens import change as compare


def seconds(function, repeats=3):
    """Best of ``repeats`` wall-clock times of ``function()``, after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def photo(name, size):
    return resize(getattr(data, name)(), (size, size), anti_aliasing=True).astype(np.float32)


def noisy(image, sigma, seed=0):
    return np.clip(image + np.random.default_rng(seed).normal(scale=sigma, size=image.shape), 0, 1).astype(np.float32)


def perceptual_speed():
    start = time.perf_counter()
    distance = compare.PerceptualDistance(backend="lite0", device="cpu")
    first_build = time.perf_counter() - start
    start = time.perf_counter()
    compare.PerceptualDistance(backend="lite0", device="cpu")
    print(f"Lite0 perceptual network: first build {first_build:.2f} s, "
          f"later builds in the same process {time.perf_counter() - start:.4f} s")
    one_pair = compare.PerceptualDistance(backend="lite0", device="cpu", batch_size=1)
    for size in (64, 128):
        a = np.stack([noisy(photo("chelsea", size), 0.05, seed) for seed in range(8)])
        b = np.stack([noisy(photo("chelsea", size), 0.05, seed + 8) for seed in range(8)])
        batched, single = seconds(lambda: distance(a, b)), seconds(lambda: one_pair(a, b))
        print(f"perceptual distance, 8 pairs at {size} px: batched {batched:.3f} s per call, one pair per pass "
              f"{single:.3f} s -> batching {single / batched:.1f}x faster")
    a, b = photo("chelsea", 128), noisy(photo("chelsea", 128), 0.05)
    print(f"SSIM, one pair at 128 px: {seconds(lambda: compare.ssim(a, b)) * 1000:.1f} ms")


def table_speed(seeds=3, channels=5, size=128):
    """Pixel scores of one checkpoint's renders against epoch 0's, as ``driftlens change`` computes per epoch."""
    base = photo("astronaut", size)
    first = np.stack([np.stack([noisy(base, 0.02, seed=10 * s + c) for c in range(channels)]) for s in range(seeds)])
    later = noisy(first, 0.05, seed=99)
    distance = compare.PerceptualDistance(backend="lite0", device="cpu")
    start = time.perf_counter()
    compare.pixel_scores(later, first, distance)
    elapsed = time.perf_counter() - start
    pairs = channels * (seeds + seeds * (seeds - 1) // 2)
    print(f"pixel scores of one epoch, {seeds} seeds x {channels} channels at {size} px: "
          f"{elapsed:.1f} s ({pairs} pairs, {1000 * elapsed / pairs:.0f} ms per pair for SSIM + perceptual)")


def cka_speed(examples=256, features=100_000):
    x = torch.randn(examples, features)
    y = x + torch.randn(examples, features)
    print(f"linear CKA, {examples} probe images x {features} features: "
          f"{seconds(lambda: compare.linear_cka(x, y)):.2f} s")


def sanity():
    size = 128
    cat, coffee = photo("chelsea", size), photo("coffee", size)
    distance = compare.PerceptualDistance(backend="lite0", device="cpu")
    others = {f"noise sigma={sigma}": noisy(cat, sigma) for sigma in (0.02, 0.05, 0.1, 0.2)}
    others["a different photo (coffee)"] = coffee
    perceptual = distance(np.stack([cat] * len(others)), np.stack(list(others.values())))
    print(f"\nchelsea ({size} px) against ...     1 - SSIM   {distance.name}")
    for (name, other), value in zip(others.items(), perceptual):
        print(f"  {name:<30} {1 - compare.ssim(cat, other):8.3f}   {value:8.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores\n")
    perceptual_speed()
    table_speed()
    cka_speed()
    sanity()


if __name__ == "__main__":
    main()
