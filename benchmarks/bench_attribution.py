"""Attribution: cost of every method, integrated-gradients completeness, and agreement with captum.

``speed``: EfficientNet-Lite0 (ImageNet) on 4 photos; for every method with its default options,
seconds per image and the cost in bare forward+backward passes of the same batch (measured in the
same run, so CPU load from other jobs affects both alike).

``completeness``: the integrated-gradients error |sum(map) - (f(x) - f(0))| / |f(x) - f(0)| against
the number of steps, on Lite0.

``captum``: if captum can be imported (e.g. ``pip install --no-deps --target /tmp/peers captum`` and
``--peers /tmp/peers``), the same maps from captum side by side: rank correlation of the maps and
time ratio. Also guided backprop on GoogLeNet (functional ReLUs) and Lite0 (ReLU6 modules): how far
each library's guided map is from its plain gradient (rank correlation 1.0 means guided backprop
did nothing).

Other jobs may share the CPU: compare ratios within one run, not seconds across runs. The load
average is printed with the figures.

Usage:
    .venv/bin/python benchmarks/bench_attribution.py [--size 224] [--repeats 3] [--peers /tmp/peers]
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np
import skimage.data
import torch
import torch.nn.functional as F

from driftlens import models
from driftlens.attribution import METHODS, attribute
from driftlens.attribution.base import input_gradients
from driftlens.attribution.drift import rank_correlation


def photos(size: int) -> torch.Tensor:
    """Four real photos from scikit-image as a ``(4, 3, size, size)`` batch in [0, 1]."""
    arrays = [skimage.data.chelsea(), skimage.data.coffee(), skimage.data.astronaut(), skimage.data.rocket()]
    batch = [torch.from_numpy(a[:300, :300]).permute(2, 0, 1).float() / 255 for a in arrays]
    return F.interpolate(torch.stack(batch), size=(size, size), mode="bilinear", antialias=True)


def timed(function) -> float:
    """Wall time of one call of ``function()``."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def ratio(function, reference, repeats: int) -> tuple[float, float]:
    """Median seconds of ``function`` and median ratio to ``reference``, the two run alternately.

    Alternating keeps a change of CPU load from other jobs out of the ratio. One warm-up run each.
    """
    function(), reference()
    pairs = [(timed(function), timed(reference)) for _ in range(repeats)]
    return statistics.median(t for t, _ in pairs), statistics.median(t / r for t, r in pairs)


def speed(model, x, classes, repeats):
    def bare():
        return input_gradients(model, x, torch.tensor(classes))

    print(f"bare forward+backward: {ratio(bare, bare, repeats)[0] / len(x):.3f} s per image (batch {len(x)})")
    print(f"{'method':<22}{'s/image':>9}{'bare passes':>13}")
    for name in METHODS:
        took, passes = ratio(lambda name=name: attribute(model, x, classes, name), bare, repeats)
        print(f"{name:<22}{took / len(x):>9.3f}{passes:>13.1f}")


def completeness(model, x, classes):
    with torch.no_grad():
        gain = (model(x) - model(torch.zeros_like(x))).gather(1, torch.tensor(classes)[:, None])[:, 0]
    print("integrated gradients, steps -> max relative completeness error over 4 photos")
    for steps in (8, 32, 128):
        total = attribute(model, x, classes, "integrated_gradients", steps=steps).sum((1, 2))
        print(f"  {steps:>4}: {((total - gain) / gain).abs().max().item():.4f}")


def against_captum(model, x, classes, repeats):
    from captum.attr import GuidedBackprop, IntegratedGradients, LayerAttribution, LayerGradCam, NoiseTunnel, Saliency

    target = torch.tensor(classes)
    head = model.module("head")

    def captum_gradcam():
        cam = LayerGradCam(model, head).attribute(x, target=target, relu_attributions=True)
        return LayerAttribution.interpolate(cam, x.shape[-2:], "bilinear")[:, 0]

    # Same settings on both sides: 64 trapezoid intervals, 50 samples at 15 % noise, 8 copies per pass.
    pairs = {
        "gradient": lambda: Saliency(model).attribute(x, target=target, abs=True).amax(1),
        "integrated_gradients": lambda: IntegratedGradients(model).attribute(
            x, target=target, n_steps=65, method="riemann_trapezoid", internal_batch_size=32).sum(1),
        "smoothgrad": lambda: NoiseTunnel(Saliency(model)).attribute(
            x, target=target, nt_type="smoothgrad", nt_samples=50, stdevs=0.15, nt_samples_batch_size=8,
            abs=False).abs().amax(1),
        "gradcam": captum_gradcam,
    }
    print(f"{'method':<22}{'rank corr':>10}{'driftlens/captum time':>23}")
    for name, theirs in pairs.items():
        ours_map, theirs_map = attribute(model, x, classes, name), theirs().detach()
        _, relative = ratio(lambda name=name: attribute(model, x, classes, name), theirs, repeats)
        print(f"{name:<22}{np.nanmean(rank_correlation(ours_map, theirs_map)):>10.3f}{relative:>23.2f}")

    reseeded = rank_correlation(attribute(model, x, classes, "smoothgrad"),
                                attribute(model, x, classes, "smoothgrad", seed=1))
    print(f"  (smoothgrad: driftlens seed 0 vs seed 1 agree to {np.mean(reseeded):.3f}: noise samples differ)")

    print("guided backprop vs plain gradient, rank correlation (1.000 = guided had no effect)")
    for name in ("googlenet", "efficientnet_lite0"):
        net = models.load(name, weights="random" if name == "googlenet" else "imagenet")
        ours = rank_correlation(attribute(net, x, classes, "guided_backprop"), attribute(net, x, classes, "gradient"))
        plain = Saliency(net).attribute(x, target=target, abs=True).amax(1)
        guided = GuidedBackprop(net).attribute(x, target=target).abs().amax(1)
        print(f"  {name:<20} driftlens {np.mean(ours):.3f}   captum {np.mean(rank_correlation(guided, plain)):.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peers", help="folder holding captum (added to sys.path)")
    args = parser.parse_args()
    if args.peers:
        sys.path.insert(0, args.peers)
    torch.manual_seed(0)
    model = models.load("efficientnet_lite0")
    x = photos(args.size)
    with torch.no_grad():
        classes = model(x).argmax(1).tolist()
    print(f"EfficientNet-Lite0, {len(x)} photos at {args.size} px, classes {classes}, "
          f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}")
    speed(model, x, classes, args.repeats)
    completeness(model, x, classes)
    try:
        import captum  # noqa: F401
    except ImportError:
        print("captum not importable: side-by-side comparison skipped")
        return
    against_captum(model, x, classes, args.repeats)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
