"""Benchmark: is the per-channel change verdict right? Planted changes and null cases on EfficientNet-Lite0,
and the verdicts of a finished experiment.

``--planted`` renders CHANNELS channels of LAYER of the ImageNet Lite0 (SEEDS seeds each) and compares
the model with two changed copies, exactly as the workflow compares epoch 0 with a later checkpoint:

- planted: the incoming weights of two channels re-initialised (``driftlens.change.reinitialise_channels``),
  everything else identical; those two must be flagged, and few of the others;
- null: every weight moved by normal noise of standard deviation 1e-6; no channel may be flagged.

Without ``--planted`` it reads ``results/{exp}/{layer}/change.csv`` of an experiment (default flowers17_lite0)
and prints the fraction of channels flagged per layer and epoch, with the seed-noise floor.

Usage:
    .venv/bin/python benchmarks/bench_change.py --planted
    .venv/bin/python benchmarks/bench_change.py --exp flowers17_lite0
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import driftlens
from driftlens import change
from driftlens.artifacts import read_change_table
from driftlens.data.textures import source_photo

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planted", action="store_true", help="run the planted and null cases on Lite0")
    parser.add_argument("--layer", default="blocks.11",
                        help="Lite0 layer (default: blocks.11, a block without a residual path, 192 channels)")
    parser.add_argument("--channels", type=int, default=32, help="channels tested (default: 32)")
    parser.add_argument("--planted-channels", default="5,17", help="channels re-initialised (default: 5,17)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per channel (default: 3)")
    parser.add_argument("--steps", type=int, default=128, help="render steps (default: 128)")
    parser.add_argument("--size", type=int, default=64, help="render size (default: 64)")
    parser.add_argument("--method", default="lucid", help="visualisation method (default: lucid)")
    parser.add_argument("--probe", type=int, default=64, help="natural probe images (default: 64)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    parser.add_argument("--exp", default="flowers17_lite0", help="experiment whose change tables to summarise")
    return parser.parse_args(argv)


def planted_and_null(args):
    """Print one line per case: detected planted channels and false positives."""
    model = driftlens.models.load("efficientnet_lite0", weights="imagenet")
    planted_channels = [int(c) for c in args.planted_channels.split(",")]
    probe = photo_crops(args.probe, 96)
    units = {args.layer: list(range(args.channels))}
    render = {"seeds": list(range(args.seeds)), "method": args.method, "steps": args.steps, "size": args.size,
              "progress": True}
    cases = {"planted": change.reinitialise_channels(model, args.layer, planted_channels, seed=1),
             "null": change.perturb(model, 1e-6, seed=2)}
    for name, changed in cases.items():
        start = time.perf_counter()
        table = change.compare_models(model, changed, units, probe, **render)[args.layer]
        verdicts = table[table.epoch == 1].set_index("channel")
        flagged = set(verdicts.index[verdicts.changed])
        expected = set(planted_channels) if name == "planted" else set()
        others = len(verdicts) - len(expected)
        detected = f"detected {len(flagged & expected)}/{len(expected)}, " if expected else ""
        print(f"{name}: {detected}false positives {len(flagged - expected)}/{others}"
              f"  ({time.perf_counter() - start:.0f} s; cross-activation of planted "
              f"{_values(verdicts, expected, 'cross_activation')}, others median "
              f"{verdicts.drop(index=list(expected)).cross_activation.median():.3f}, seed-noise low "
              f"{verdicts.cross_activation_noise_low.min():.3f})")


def photo_crops(count, size, seed=0):
    """``count`` random ``size`` px crops of scikit-image's sample photographs, ``(count, size, size, 3)`` in [0, 1]."""
    rng = np.random.default_rng(seed)
    photos = [source_photo(name) for name in PHOTOS]
    crops = []
    for k in range(count):
        photo = photos[k % len(photos)]
        y, x = (int(rng.integers(0, side - size + 1)) for side in photo.shape[:2])
        crops.append(photo[y:y + size, x:x + size])
    return np.stack(crops).astype(np.float32)


def _values(table, channels, column):
    return "[" + ", ".join(f"{table.loc[c, column]:.3f}" for c in sorted(channels)) + "]" if channels else "-"


def experiment_summary(exp):
    """Print the fraction of channels flagged per layer and epoch of a finished experiment."""
    root = Path("results") / exp
    tables = {path.parent.name: read_change_table(path, path.parent.name) for path in sorted(root.glob("*/change.csv"))}
    if not tables:
        print(f"{root}: no change tables (run the experiment first: snakemake --cores 2 --config targets='[{exp}]')")
        return
    rows = []
    for layer, table in tables.items():
        for epoch, group in table.groupby("epoch"):
            rows.append({"layer": layer, "epoch": epoch, "flagged": f"{int(group.changed.sum())}/{len(group)}",
                         "fraction": group.changed.mean(), "cross_activation": group.cross_activation.mean(),
                         "noise_mean": group.cross_activation_noise.mean(),
                         "noise_low": group.cross_activation_noise_low.min(), "exemplar_rho": group.exemplar_rho.mean()})
    with pd.option_context("display.width", 160, "display.precision", 3):
        print(pd.DataFrame(rows).to_string(index=False))


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    np.set_printoptions(precision=3)
    if args.planted:
        planted_and_null(args)
    else:
        experiment_summary(args.exp)


if __name__ == "__main__":
    main()
