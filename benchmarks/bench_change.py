"""Benchmark: are the change verdicts right? Planted changes and nulls on EfficientNet-Lite0, and real runs.

``--screen`` (the render-free screen, :mod:`driftlens.change.screen`) screens every channel of a residual
block (``blocks.13``) and of a plain one (``blocks.11``) of the ImageNet Lite0 on real photographs
(Flowers17 from ``../shared`` when present, else scikit-image's samples), against copies with planted
changes, each under 1e-3 relative noise on every weight (so untouched channels drift, as in fine-tuning):

- swap: two pairs of channels exchange their incoming weights (projection convolution and batch norm);
- blend: four channels blended towards another channel's weights at 10, 20, 40 and 100 %;
- reinit: two channels' incoming weights re-initialised.

Nulls: 1e-6 and 1e-3 relative noise alone (two noise seeds each), and the frozen prefix (``blocks.0`` to
``blocks.9``) of a real fine-tune (a few SGD steps of ``blocks.10`` onwards on the probe images). It prints
the detection rate per kind and dose (the dose-response table) and the false-positive rate of each null
with its count of channel tests.

``--planted`` does the same with renders (``compare_models`` with rendering) on a few channels.
Without either, it summarises the screens of a finished experiment (``results/{exp}/*/screen.csv``).

Usage:
    .venv/bin/python benchmarks/bench_change.py --screen
    .venv/bin/python benchmarks/bench_change.py --planted
    .venv/bin/python benchmarks/bench_change.py --exp flowers17_lite0
"""

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import driftlens
from driftlens import change
from driftlens.artifacts import read_screen_table
from driftlens.data.images import image_transform, load_image
from driftlens.data.textures import source_photo

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field")
FLOWERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "flowers17" / "jpg"
BLOCKS = {"residual": "blocks.13", "plain": "blocks.11"}
SWAPS, BLENDS, REINIT = [(3, 40), (77, 150)], {10: 101, 25: 160, 55: 7, 120: 66}, [12, 99]
FRACTIONS = (0.1, 0.2, 0.4, 1.0)
FROZEN = [f"blocks.{k}" for k in range(10)]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screen", action="store_true", help="planted and null cases of the screen on Lite0")
    parser.add_argument("--planted", action="store_true", help="planted and null cases with renders")
    parser.add_argument("--probe", type=int, default=256, help="probe images (default: 256)")
    parser.add_argument("--size", type=int, default=224, help="probe image side (default: 224)")
    parser.add_argument("--layer", default="blocks.11", help="--planted: Lite0 layer (default: blocks.11)")
    parser.add_argument("--channels", type=int, default=16, help="--planted: channels rendered (default: 16)")
    parser.add_argument("--steps", type=int, default=128, help="--planted: render steps (default: 128)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    parser.add_argument("--exp", default="flowers17_lite0", help="experiment whose screens to summarise")
    return parser.parse_args(argv)


def probe_photos(count, size):
    """``(count, size, size, 3)`` real photographs in [0, 1]: Flowers17 when present, else crops of skimage's."""
    if FLOWERS.is_dir():
        files = sorted(FLOWERS.glob("*.jpg"))
        files = files[:: max(1, len(files) // count)][:count]
        transform = image_transform(size)
        return np.stack([transform(load_image(f, size)).permute(1, 2, 0).numpy() for f in files]), "Flowers17"
    rng = np.random.default_rng(0)
    photos = [source_photo(name) for name in PHOTOS]
    crops = []
    for k in range(count):
        photo = photos[k % len(photos)]
        y, x = (int(rng.integers(0, side - size + 1)) for side in photo.shape[:2])
        crops.append(photo[y:y + size, x:x + size])
    return np.stack(crops).astype(np.float32), "scikit-image crops"


def planted_models(model, layer):
    """``{(kind, dose): (model, planted channels)}`` for one layer, each under 1e-3 relative noise."""
    def noisy(changed, seed):
        return change.perturb(changed, 1e-3, seed=seed, relative=True)

    swapped = model
    for a, b in SWAPS:
        swapped = change.swap_channels(swapped, layer, a, b)
    cases = {("swap", 1.0): (noisy(swapped, 11), [c for pair in SWAPS for c in pair]),
             ("reinit", 1.0): (noisy(change.reinitialise_channels(model, layer, REINIT, seed=1), 12), REINIT)}
    for k, fraction in enumerate(FRACTIONS):
        cases[("blend", fraction)] = (noisy(change.blend_channels(model, layer, BLENDS, fraction), 13 + k), list(BLENDS))
    return cases


def frozen_prefix_model(model, probe, steps=4):
    """A copy fine-tuned for a few SGD steps with ``blocks.0``-``blocks.9`` (and the stem) frozen."""
    tuned = copy.deepcopy(model)
    trainable = [p for name, p in tuned.net.named_parameters() if not name.startswith(("stem", *FROZEN))]
    for name, parameter in tuned.net.named_parameters():
        parameter.requires_grad_(not name.startswith(("stem", *FROZEN)))
    optimiser = torch.optim.SGD(trainable, lr=0.05, momentum=0.9)
    images = torch.from_numpy(probe).permute(0, 3, 1, 2)[:32]
    labels = torch.arange(len(images)) % 17
    tuned.train()
    for _ in range(steps):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(tuned(images), labels).backward()
        optimiser.step()
    return tuned.eval()


def screen_study(args):
    """Print the dose-response table and the false-positive rate of each null."""
    model = driftlens.models.load("efficientnet_lite0", weights="imagenet").eval()
    probe, source = probe_photos(args.probe, args.size)
    print(f"probe: {len(probe)} {source} images at {args.size} px; rule: rank shift > {change.MIN_EFFECT} "
          f"(BH q <= {change.ALPHA} over each layer's channels)")
    layers = list(BLOCKS.values())
    start = time.perf_counter()
    reference = change.layer_responses(model, probe, _every_channel(model, layers + FROZEN))
    detections, nulls = [], {"1e-6": [0, 0], "1e-3": [0, 0], "frozen": [0, 0]}
    for block, layer in BLOCKS.items():
        for (kind, dose), (changed, planted) in planted_models(model, layer).items():
            table = _screen(changed, probe, reference, layer)
            found = table.set_index("channel").changed
            detections.append({"block": block, "kind": kind, "dose": dose,
                               "found": int(found.loc[planted].sum()), "planted": len(planted),
                               "min shift": round(table.set_index("channel").rank_shift.loc[planted].min(), 3)})
            untouched = found.drop(index=planted)
            _count(nulls, "1e-3", untouched)  # untouched channels of planted models drift by 1e-3 too
    for scale in (1e-6, 1e-3):
        for seed in (21, 22):
            noisy = change.perturb(model, scale, seed=seed, relative=True)
            for layer in layers:
                _count(nulls, f"{scale:.0e}".replace("e-0", "e-"), _screen(noisy, probe, reference, layer).changed)
    tuned = frozen_prefix_model(model, probe)
    for layer in FROZEN:
        _count(nulls, "frozen", _screen(tuned, probe, reference, layer).changed)
    table = pd.DataFrame(detections)
    rates = table.groupby(["kind", "dose"])[["found", "planted"]].sum()
    rates["rate"] = rates.found / rates.planted
    print("\nDose-response (both blocks):\n" + rates.to_string())
    print("\nPer block:\n" + table.to_string(index=False))
    print("\nFalse positives per null:")
    for name, (flagged, tests) in nulls.items():
        print(f"  {name:>6}: {flagged}/{tests} channel tests ({flagged / tests:.2%})")
    print(f"\n{time.perf_counter() - start:.0f} s")


def _every_channel(model, layers):
    return {layer: list(range(shape[0])) for layer, shape in model.output_shapes(layers).items()}


def _screen(changed, probe, reference, layer):
    later = change.layer_responses(changed, probe, {layer: list(range(reference[layer].shape[1]))})[layer]
    table = change.screen_table({0: reference[layer], 1: later})
    return table[table.epoch == 1]


def _count(nulls, name, flags):
    nulls[name][0] += int(flags.sum())
    nulls[name][1] += len(flags)


def rendered_study(args):
    """Planted re-initialisation and a 1e-6 null with renders: one line per case."""
    model = driftlens.models.load("efficientnet_lite0", weights="imagenet")
    probe, _ = probe_photos(64, 96)
    units = {args.layer: list(range(args.channels))}
    planted = [5, 11]
    cases = {"planted": (change.reinitialise_channels(model, args.layer, planted, seed=1), set(planted)),
             "null": (change.perturb(model, 1e-6, seed=2), set())}
    for name, (changed, expected) in cases.items():
        start = time.perf_counter()
        table = change.compare_models(model, changed, units, probe, seeds=[0, 1, 2], steps=args.steps, size=64)
        verdicts = table[args.layer].query("epoch == 1").set_index("channel")
        flagged = set(verdicts.index[verdicts.changed])
        print(f"{name}: found {len(flagged & expected)}/{len(expected)}, false positives "
              f"{len(flagged - expected)}/{len(verdicts) - len(expected)} ({time.perf_counter() - start:.0f} s); "
              f"evidence: {verdicts.evidence.value_counts().to_dict()}")


def experiment_summary(exp):
    """Print the fraction of channels changed per layer and epoch of a finished experiment."""
    root = Path("results") / exp
    tables = {path.parent.name: read_screen_table(path, path.parent.name) for path in sorted(root.glob("*/screen.csv"))}
    if not tables:
        print(f"{root}: no screens (run the experiment first: snakemake --cores 2 --config targets='[{exp}]')")
        return
    rows = []
    for layer, table in tables.items():
        for epoch, group in table.groupby("epoch"):
            rows.append({"layer": layer, "epoch": epoch, "changed": f"{int(group.changed.sum())}/{len(group)}",
                         "fraction": group.changed.mean(), "median shift": group.rank_shift.median(),
                         "q90 shift": group.rank_shift.quantile(0.9)})
    with pd.option_context("display.width", 160, "display.precision", 3):
        print(pd.DataFrame(rows).to_string(index=False))


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.screen:
        screen_study(args)
    elif args.planted:
        rendered_study(args)
    else:
        experiment_summary(args.exp)


if __name__ == "__main__":
    main()
