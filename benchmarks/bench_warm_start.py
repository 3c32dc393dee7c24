"""Study: do warm-started renders (``visualize.warm_start``) reach what cold renders reach, and what do they hide?

A warm-started render of epoch *e* continues from epoch *e - 1*'s render for fewer steps. Its danger is
hysteresis (staying near an old optimum after the feature moved) and a bias of the render evidence towards
"unchanged" (renders descending from epoch 0's look alike by construction). Three parts, each against cold
renders (from noise, at the full steps) measured in the same run. Warm renders follow the pipeline's restart rule
(``driftlens.optvis.warm``: a channel whose start lost most of its score restarts from noise; ``--restart-below 0``
switches it off, to see the warm start alone):

- ``--chain``: a real fine-tune's trained layers (``flowers17_lite0``'s checkpoints; blocks.12 and blocks.15, 16
  channels each, evenly spaced). Epoch 0 cold, then a warm chain over the rendered epochs 4, 6, 8 (epochs 1-3
  train the head only, so their renders are epoch 0's). Per epoch: the objective each warm render reaches (the
  channel's mean response to its render, no transforms) over the cold render's, per channel; and the control,
  epoch 0's render on the epoch's weights over the cold render's.
- ``--planted``: ``bench_change.py``'s planted swap (channels 3-40, 77-150) and re-initialisation (12, 99) of
  ImageNet Lite0's blocks.11: the planted channels' warm render (from the unplanted model's) over the cold one.
- ``--evidence``: ``bench_change.py``'s blends (10-100 %) of blocks.11: the render evidence (cross-activation
  and its verdict, SSIM to epoch 0 against the seeds' SSIM) of warm against cold later renders.

Usage:
    .venv/bin/python benchmarks/bench_warm_start.py --chain --planted --evidence
"""

import argparse
import glob
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import driftlens  # noqa: E402
from bench_change import BLENDS, FRACTIONS, REINIT, SWAPS, probe_photos  # noqa: E402
from driftlens import change  # noqa: E402
from driftlens.change.pixels import ssim  # noqa: E402
from driftlens.optvis import visualize_units  # noqa: E402
from driftlens.optvis.warm import RESTART_BELOW, continue_units  # noqa: E402

CHAIN_EPOCHS = (4, 6, 8)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", action="store_true", help="a warm chain over a real fine-tune's epochs")
    parser.add_argument("--planted", action="store_true", help="planted swaps and re-initialisations")
    parser.add_argument("--evidence", action="store_true", help="render evidence of warm renders on planted blends")
    parser.add_argument("--checkpoints", default="results/flowers17_lite0/checkpoints/epoch_*.pt",
                        help="--chain: the fine-tune's checkpoints (default: flowers17_lite0's)")
    parser.add_argument("--steps", type=int, default=256, help="cold render steps (default: 256, flowers17_lite0's)")
    parser.add_argument("--warm-steps", type=int, default=64, help="warm render steps (default: 64)")
    parser.add_argument("--size", type=int, default=128, help="render size (default: 128)")
    parser.add_argument("--channels", type=int, default=16, help="--chain: channels per layer (default: 16)")
    parser.add_argument("--restart-below", type=float, default=RESTART_BELOW,
                        help=f"the restart rule's share (default: {RESTART_BELOW}; 0 never restarts)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    return parser.parse_args(argv)


def reached(model, rows: dict, units: dict) -> np.ndarray:
    """Each unit's mean response to its own renders, averaged over seeds, layers concatenated."""
    return np.concatenate([change.unit_responses(model, rows[layer], layer, channels).mean(axis=0)
                           for layer, channels in units.items()])


def render(model, units, args, seeds=(0,), starts=None, previous=None):
    """Rows of ``units`` and the seconds: cold at ``args.steps``; or continued from ``starts`` (rendered on
    ``previous``) at ``args.warm_steps`` with the restart rule (``continue_units``), which it reports."""
    began = time.perf_counter()
    if starts is None:
        rows = visualize_units(model, units, list(seeds), steps=args.steps, size=args.size, progress=False)
    else:
        rows, restarted = continue_units(previous, model, units, list(seeds), starts, args.steps, args.warm_steps,
                                         restart_below=args.restart_below, size=args.size, progress=False)
        print(f"    restarted from noise: {sum(map(len, restarted.values()))} of {sum(map(len, units.values()))} "
              f"channels {restarted}")
    return rows, time.perf_counter() - began


def summary(reached_here, cold) -> str:
    """Per-channel ratios of the objective reached to the cold render's, and the ratio of their sums."""
    ratios = reached_here / cold
    return (f"median {np.median(ratios):.3f}, min {ratios.min():.3f}, {np.mean(ratios >= 0.95):.0%} >= 0.95, "
            f"{np.mean(ratios >= 0.9):.0%} >= 0.90, of the sum {reached_here.sum() / cold.sum():.3f}")


def chain_study(args):
    files = sorted(glob.glob(args.checkpoints))
    if not files:
        sys.exit(f"--chain: no checkpoints match {args.checkpoints}; run flowers17_lite0 first")
    load = {int(Path(f).stem.split("_")[1]): f for f in files}
    models = {epoch: driftlens.models.from_checkpoint(load[epoch]) for epoch in (0, *CHAIN_EPOCHS)}
    units = {layer: list(np.linspace(0, shape[0] - 1, args.channels).round().astype(int))
             for layer, shape in models[0].output_shapes(["blocks.12", "blocks.15"]).items()}
    print(f"chain: {args.checkpoints}, layers {list(units)}, {args.channels} channels each, cold {args.steps} steps, "
          f"warm {args.warm_steps}, {args.size} px")
    first, cold_seconds = render(models[0], units, args)
    warm, warm_seconds, previous = first, [], models[0]
    for epoch in CHAIN_EPOCHS:
        warm, seconds = render(models[epoch], units, args, starts=warm, previous=previous)
        previous = models[epoch]
        warm_seconds.append(seconds)
        cold_rows, seconds = render(models[epoch], units, args)
        cold = reached(models[epoch], cold_rows, units)
        print(f"  epoch {epoch}: warm/cold {summary(reached(models[epoch], warm, units), cold)}; "
              f"control, epoch 0's render/cold: {summary(reached(models[epoch], first, units), cold)}")
    print(f"  render time: cold {cold_seconds:.0f} s, warm {np.mean(warm_seconds):.0f} s per epoch "
          f"(warm/cold {np.mean(warm_seconds) / cold_seconds:.2f})")


def planted_study(args):
    model = driftlens.models.load("efficientnet_lite0", weights="imagenet")
    layer = "blocks.11"
    swapped = model
    for a, b in SWAPS:
        swapped = change.swap_channels(swapped, layer, a, b)
    cases = {"swap": (swapped, [c for pair in SWAPS for c in pair]),
             "reinit": (change.reinitialise_channels(model, layer, REINIT, seed=1), REINIT)}
    untouched = [0, 1, 2, 4, 5, 6, 8, 9]
    print(f"planted ({layer}, cold {args.steps} steps, warm {args.warm_steps}, {args.size} px, seeds 0, 1; rendered "
          f"with untouched channels {untouched}, which must not restart):")
    for name, (planted, channels) in cases.items():
        units = {layer: channels + untouched}
        start, _ = render(model, units, args, seeds=(0, 1))
        cold = reached(planted, render(planted, units, args, seeds=(0, 1))[0], units)
        warm = reached(planted, render(planted, units, args, seeds=(0, 1), starts=start, previous=model)[0], units)
        stale = reached(planted, start, units)
        print(f"  {name} {channels}: warm/cold {np.round(warm / cold, 3)[:len(channels)].tolist()}, untouched "
              f"{np.round(warm / cold, 3)[len(channels):].tolist()}; control, unplanted render/cold "
              f"{np.round(stale / cold, 3)[:len(channels)].tolist()}")


def evidence_study(args):
    model = driftlens.models.load("efficientnet_lite0", weights="imagenet")
    layer, channels = "blocks.11", list(BLENDS)
    units, seeds = {layer: channels}, (0, 1, 2)
    probe, source = probe_photos(64, 96)
    print(f"evidence ({layer} blends of channels {channels}, probe: 64 {source} images, seeds 0-2, "
          f"cold {args.steps} steps, warm {args.warm_steps}, {args.size} px):")
    first = render(model, units, args, seeds=seeds)[0]
    for fraction in FRACTIONS:
        planted = change.perturb(change.blend_channels(model, layer, BLENDS, fraction), 1e-3, seed=13, relative=True)
        line = []
        for name, starts in (("cold", None), ("warm", first)):
            later = render(planted, units, args, seeds=seeds, starts=starts, previous=model)[0]
            table = change.rendered_table(model, planted, layer, channels, probe, first[layer], later[layer])
            at_one = table.query("epoch == 1")
            line.append(f"{name}: cross-activation {at_one.cross_activation.mean():.2f} (seed noise "
                        f"{at_one.cross_activation_noise.mean():.2f}), render verdict "
                        f"{int(at_one.render_changed.sum())}/{len(channels)}, SSIM to epoch 0 "
                        f"{_ssim_to_first(first[layer], later[layer]):.2f} (between seeds "
                        f"{_ssim_between_seeds(later[layer]):.2f})")
        print(f"  blend {fraction:.0%}: " + "; ".join(line))


def _ssim_to_first(first, later) -> float:
    return float(np.mean([ssim(a, b) for s in range(len(first)) for a, b in zip(first[s], later[s])]))


def _ssim_between_seeds(images) -> float:
    return float(np.mean([ssim(a, b) for s in range(len(images)) for t in range(s + 1, len(images))
                          for a, b in zip(images[s], images[t])]))


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"{torch.get_num_threads()} torch threads, {time.strftime('%Y-%m-%d')}")
    for wanted, study in ((args.chain, chain_study), (args.planted, planted_study), (args.evidence, evidence_study)):
        if wanted:
            began = time.perf_counter()
            study(args)
            print(f"  ({time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
