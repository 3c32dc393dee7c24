"""Check: the feature diff's crosscoder trains deterministically on a device, and how fast against the CPU.

Trains the demo-sized crosscoder (192 channels, 2 checkpoints, 2,304 positions; the defaults of
driftlens.features.FeatureSettings) twice with one seed on ``--device`` and once on the CPU, and prints whether the
two device dictionaries are equal bit for bit, the largest difference from the CPU's, and the seconds of each.

Usage:
    .venv/bin/python benchmarks/crosscoder_check.py --device cuda
"""

import argparse
import time

import torch

from driftlens.devices import deterministic
from driftlens.features import FeatureSettings
from driftlens.features.crosscoder import train_crosscoder


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="the device to check (default: cuda)")
    parser.add_argument("--steps", type=int, default=FeatureSettings().training_steps(2304),
                        help="optimiser steps (default: the default for these 2,304 positions)")
    return parser.parse_args(argv)


def timed_training(vectors, settings, steps):
    latents, k = settings.size(vectors.shape[2], len(vectors))
    start = time.perf_counter()
    coder = train_crosscoder(vectors, latents, k, steps=steps, batch_size=settings.batch_size, lr=settings.lr,
                             seed=settings.seed, progress=False)
    if vectors.is_cuda:
        torch.cuda.synchronize()
    return coder, time.perf_counter() - start


def main(argv=None):
    args = parse_args(argv)
    deterministic(args.device)  # as the feature diff's jobs do
    settings = FeatureSettings()
    vectors = torch.randn(2304, 2, 192, generator=torch.Generator().manual_seed(0))
    first, seconds = timed_training(vectors.to(args.device), settings, args.steps)
    again, _ = timed_training(vectors.to(args.device), settings, args.steps)
    cpu, cpu_seconds = timed_training(vectors, settings, args.steps)
    same = torch.equal(first.decoder, again.decoder) and torch.equal(first.threshold, again.threshold)
    print(f"{args.device}: two trainings with one seed {'identical' if same else 'DIFFER'}; {seconds:.2f} s "
          f"({args.steps} steps) against {cpu_seconds:.2f} s on the CPU; largest decoder difference from the CPU's "
          f"{(first.decoder.cpu() - cpu.decoder).abs().max():.2e}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
