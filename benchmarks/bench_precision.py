"""Benchmark: bf16 autocast against fp32, on EfficientNet-Lite0: a render's and a training epoch's tolerance, and speed.

Prints figures (not a timed test). Runs on ``--device`` (default: cuda when available, else the CPU, where
bf16 is emulated on most processors: the tolerance figures hold, the speed ones show why ``auto`` keeps
fp32 there). Needs the demo's outputs (``snakemake --cores 2`` first): its probe set, its start checkpoint
and the textures data set.

1. **Render tolerance**, judged as the change verdict judges checkpoints (:mod:`driftlens.change`): the
   demo's units are rendered from the same seeds in fp32 and in bf16; each unit's fp32 response to the
   bf16 picture of seed ``s``, relative to its own fp32 pictures of the other seeds, is the cross sample,
   and the same ratio for the fp32 picture of seed ``s`` is the noise sample. The verdict (one-sided
   Mann-Whitney U against the layer's noise, Benjamini-Hochberg at 0.05) must flag no channel.
2. **Training tolerance**: one epoch from the demo's start checkpoint (training from blocks.11, Adam
   1e-3), in fp32 and in bf16: training loss, validation and test accuracy.
3. **Speed**: seconds per image-step of a render (lucid method) at batch 1, 8 (and 64 on a GPU), against
   the bare forward + backward floor through the same layer, each in fp32 and bf16.

Usage:
    .venv/bin/python benchmarks/bench_precision.py                    # on the GPU when there is one
    .venv/bin/python benchmarks/bench_precision.py --device cpu --threads 2
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench_optvis import floor_step, in_channels_last

import driftlens
from driftlens.artifacts import read_metrics, read_probe
from driftlens.change import cross_activation_samples, unit_responses, verdict
from driftlens.optvis import visualize_units
from driftlens.precision import autocast
from driftlens.train import TrainConfig, train_epoch

DEMO = Path("results/demo")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    parser.add_argument("--units", default="blocks.12=0,1,2,3;blocks.14=0,1,2,3",
                        help="LAYER=channels;... (default: the demo's)")
    parser.add_argument("--seeds", type=int, default=3, help="image seeds (default: 3)")
    parser.add_argument("--steps", type=int, default=64, help="render steps (default: 64, the demo's)")
    parser.add_argument("--size", type=int, default=96, help="render side (default: 96, the demo's)")
    parser.add_argument("--timing-steps", type=int, default=8, help="steps per speed timing (default: 8)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["render", "training", "speed"])
    return parser.parse_args(argv)


def render_tolerance(args, model):
    units = {layer: [int(c) for c in channels.split(",")]
             for layer, channels in (item.split("=") for item in args.units.split(";"))}
    probe = read_probe(DEMO / "probe.npz")[0].transpose(0, 2, 3, 1)  # (n, S, S, 3), as unit_responses takes
    seeds = list(range(args.seeds))
    rows = {}
    for precision in ("fp32", "bf16"):
        start = time.perf_counter()
        rows[precision] = visualize_units(model, units, seeds, steps=args.steps, size=args.size, precision=precision,
                                          progress=False)
        print(f"render {precision}: {time.perf_counter() - start:.1f} s")
    print("layer       cross (bf16 vs fp32) mean/min   seed noise mean/min   flagged   mean |pixel diff|: bf16 vs fp32,"
          " seed vs seed")
    for layer, channels in units.items():
        responses = {"own": unit_responses(model, rows["fp32"][layer], layer, channels),
                     "probe": unit_responses(model, probe, layer, channels)}
        bf16 = unit_responses(model, rows["bf16"][layer], layer, channels)
        cross, noise = cross_activation_samples(responses, {**responses, "cross": bf16, "reverse": bf16})
        changed = verdict({1: cross}, {0: noise, 1: noise})[2][1]
        fp32 = rows["fp32"][layer]
        pixels = np.abs(rows["bf16"][layer] - fp32).mean()
        seed_pixels = np.abs(fp32 - np.roll(fp32, 1, axis=0)).mean()  # seed s against seed s - 1, both fp32
        print(f"{layer:<11} {np.nanmean(cross):>14.3f} / {np.nanmin(cross):.3f} {np.nanmean(noise):>15.3f} / "
              f"{np.nanmin(noise):.3f} {int(changed.sum()):>6}/{len(channels)} {pixels:>12.3f}, {seed_pixels:.3f}")


def training_tolerance(args):
    base = {"model": "efficientnet_lite0", "splits": "resources/textures/splits.json", "image_size": 96,
            "stages": [{"epochs": 1, "lr": 1e-3, "optimizer": "adam", "train_from": "blocks.11"}]}
    start = DEMO / "checkpoints" / "epoch_000.pt"
    with tempfile.TemporaryDirectory() as folder:
        for precision in ("fp32", "bf16"):
            cfg = TrainConfig.from_dict({**base, "precision": precision})
            out, metrics = Path(folder) / f"{precision}.pt", Path(folder) / f"{precision}.json"
            begin = time.perf_counter()
            train_epoch(cfg, start, out, metrics, 1, device=args.device, progress=False)
            result = read_metrics(metrics, epoch=1)
            print(f"training {precision}: train loss {result['train_loss']:.4f}, validation accuracy "
                  f"{result['val_acc']:.4f}, test accuracy {result['test_acc']:.4f} "
                  f"({time.perf_counter() - begin:.1f} s with evaluation)")


def median_seconds(run, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed(args, model):
    layer, size, steps = "blocks.14", args.size, args.timing_steps
    batches = (1, 8, 64) if model.device.type == "cuda" else (1, 8)
    print(f"seconds per image-step, {layer} at {size} px ({model.device}); floor: bare forward + backward")
    print(f"{'batch':>5} {'fp32':>8} {'floor':>8} {'ratio':>6} {'bf16':>8} {'floor':>8} {'ratio':>6} {'bf16/fp32':>9}")
    for batch in batches:
        figures = {}
        for precision in ("fp32", "bf16"):
            def render():
                visualize_units(model, {layer: list(range(batch))}, [0], steps=steps, size=size, precision=precision,
                                progress=False)

            def floor():
                with autocast(precision, model.device):
                    in_channels_last(model, lambda: [floor_step(model, batch, size, layer, device=model.device)
                                                     for _ in range(steps)])

            figures[precision] = [median_seconds(run) / (batch * steps) for run in (render, floor)]
        (ours, bare), (half, half_bare) = figures["fp32"], figures["bf16"]
        print(f"{batch:>5} {ours:>8.4f} {bare:>8.4f} {ours / bare:>6.2f} {half:>8.4f} {half_bare:>8.4f} "
              f"{half / half_bare:>6.2f} {half / ours:>9.2f}")


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    model = driftlens.models.load("efficientnet_lite0", weights="imagenet").to(args.device)
    if "render" not in args.skip:
        render_tolerance(args, model)
    if "training" not in args.skip:
        training_tolerance(args)
    if "speed" not in args.skip:
        speed(args, model)


if __name__ == "__main__":
    main()
