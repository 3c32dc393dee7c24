"""Benchmark: driftlens feature visualisation against the bare model and torch-lucent, on EfficientNet-Lite0.

Prints figures (not a timed test); the CPU may be shared, so ratios are measured side by side in one run
and each timing is the median of interleaved repetitions.

1. Seconds per image-step of ``visualize_channels`` (lucid method) at batch 1, 4 and 8, against the floor:
   a bare forward + backward of the model (to the input) at the same batch and size, in the same
   channels-last memory order that driftlens renders in; and the same in PyTorch's default order.
2. torch-lucent 0.1.8 ``render_vis`` (its defaults: FFT, decorrelated colour, standard transforms, Adam 0.05),
   one channel at a time, seconds per image-step; with ``fixed_image_size`` = the render size and with its
   default upsampling to 224 px; and, to separate the memory order from the rest, at the render size on a
   model whose weights are channels-last.
3. Activation reached per channel after the same number of steps (driftlens batched vs lucent at the same
   size), measured on the final images without transforms.
4. Class visualisations (lucid method) classified by Lite0 itself.

lucent is not a dependency; install it aside and point ``--lucent-path`` at it::

    .venv/bin/pip install --no-deps --target /tmp/lucent-site torch-lucent==0.1.8 kornia==0.4.1 decorator
    .venv/bin/python benchmarks/bench_optvis.py --lucent-path /tmp/lucent-site
"""

import argparse
import statistics
import sys
import time
import types

import numpy as np
import torch

import driftlens
from driftlens.models import channel_means
from driftlens.optvis import visualize_channels
from driftlens.models import eval_mode
from driftlens.optvis.render import channels_last, layer_outputs

CLASSES = [285, 967, 309, 1, 130, 948, 417, 980]  # Egyptian cat, espresso, bee, goldfish, flamingo, apple, balloon, volcano


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lucent-path", help="folder holding torch-lucent 0.1.8 (pip --target); omit to skip lucent")
    parser.add_argument("--layer", default="blocks.15",
                        help="Lite0 layer whose channels are visualised (default: blocks.15, the last block)")
    parser.add_argument("--size", type=int, default=128, help="image side (default: 128)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    parser.add_argument("--timing-steps", type=int, default=16, help="steps per timing (default: 16)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timing repetitions (default: 3)")
    parser.add_argument("--steps", type=int, default=512, help="steps for the activation and class checks (default: 512)")
    parser.add_argument("--channels", type=int, default=8, help="channels for the activation check (default: 8)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["speed", "activation", "classes"],
                        help="parts to skip")
    return parser.parse_args(argv)


def import_lucent(path):
    """torch-lucent's render and param modules, or None (with a message) when it is not available."""
    if not path:
        print("lucent: not compared (no --lucent-path)")
        return None
    sys.path.insert(0, path)
    try:
        import IPython.display  # noqa: F401  (lucent imports it for notebooks only)
    except ImportError:
        ipython = types.ModuleType("IPython")
        ipython.display = types.ModuleType("IPython.display")
        sys.modules.update({"IPython": ipython, "IPython.display": ipython.display})
    try:
        from lucent.optvis import param, render
    except ImportError as err:
        print(f"lucent: not found in {path} ({err}); install it with\n  .venv/bin/pip install --no-deps --target "
              f"{path} torch-lucent==0.1.8 kornia==0.4.1 decorator")
        return None
    return types.SimpleNamespace(render=render, param=param)


def lucent_channel(lucent, model, layer, channel, size, steps, seed, fixed_size):
    """One lucent render of one channel; returns the (size, size, 3) image.

    lucent leaves a hook on every module of ``model``: give it a model of its own.
    """
    np.random.seed(seed)
    torch.manual_seed(seed)
    objective = f"net_{layer.replace('.', '_')}:{channel}"
    images = lucent.render.render_vis(model, objective, param_f=lambda: lucent.param.image(size), thresholds=(steps,),
                                      preprocess=False, progress=False, show_image=False, fixed_image_size=fixed_size)
    return images[-1][0]


def floor_step(model, batch, size, layer=None, memory_format=torch.channels_last, device="cpu"):
    """One bare forward + backward pass to the input: through ``layer`` only, or (None) the whole model.

    Images (made on ``device``) and weights are in ``memory_format`` (the model's weights must already be).
    """
    images = torch.rand(batch, 3, size, size, device=device).contiguous(memory_format=memory_format).requires_grad_()
    if layer is None:
        output = model(images)
    else:
        with layer_outputs(model, [layer]) as forward:
            output = forward(images)[layer]
    output.sum().backward(inputs=[images])


def in_channels_last(model, run):
    """``run()`` with the weights of ``model`` in channels-last order."""
    with channels_last(model):
        return run()


def seconds(run):
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def speed(args, model, lucent, lucent_model):
    steps, size, layer = args.timing_steps, args.size, args.layer
    runs = {}
    for batch in (1, 4, 8):
        runs[f"driftlens b{batch}"] = (batch * steps, lambda b=batch: visualize_channels(
            model, layer, list(range(b)), steps=steps, size=size, progress=False))
        runs[f"floor b{batch}"] = (batch * steps, lambda b=batch: in_channels_last(
            model, lambda: [floor_step(model, b, size, layer) for _ in range(steps)]))
        runs[f"default b{batch}"] = (batch * steps, lambda b=batch: [
            floor_step(model, b, size, layer, torch.contiguous_format) for _ in range(steps)])
        runs[f"full b{batch}"] = (batch * steps, lambda b=batch: in_channels_last(
            model, lambda: [floor_step(model, b, size) for _ in range(steps)]))
    if lucent:
        runs["lucent"] = (steps, lambda: lucent_channel(lucent, lucent_model, layer, 0, size, steps, 0, size))
        runs["lucent 224"] = (steps, lambda: lucent_channel(lucent, lucent_model, layer, 0, size, steps, 0, None))
        runs["lucent channels-last"] = (steps, lambda: in_channels_last(
            lucent_model, lambda: lucent_channel(lucent, lucent_model, layer, 0, size, steps, 0, size)))
    for _, run in runs.values():  # warm-up
        run()
    times = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, (image_steps, run) in runs.items():
            times[name].append(seconds(run) / image_steps)
    per_image_step = {name: statistics.median(values) for name, values in times.items()}

    print(f"\n## Speed: s per image-step, {layer} channels, {size} px, {torch.get_num_threads()} threads "
          f"(median of {args.repeats}, {steps} steps each)")
    print("floor: bare forward + backward to the input through the layer (driftlens stops there too), "
          "channels-last like driftlens; default: the same in PyTorch's default memory order; "
          "full: channels-last through the whole model")
    print(f"{'batch':>5} {'driftlens':>10} {'floor':>8} {'ratio':>6} {'default':>8} {'ratio':>6} {'full':>8} {'ratio':>6}")
    for batch in (1, 4, 8):
        ours, floor, default, full = (per_image_step[f"{name} b{batch}"]
                                      for name in ("driftlens", "floor", "default", "full"))
        print(f"{batch:>5} {ours:>10.4f} {floor:>8.4f} {ours / floor:>6.2f} {default:>8.4f} {ours / default:>6.2f} "
              f"{full:>8.4f} {ours / full:>6.2f}")
    if lucent:
        for name in ("lucent", "lucent 224", "lucent channels-last"):
            print(f"{name + ':':<12} {per_image_step[name]:.4f} s per image-step; driftlens batch 8 is "
                  f"{per_image_step[name] / per_image_step['driftlens b8']:.2f}x faster per image")
    ratio = per_image_step["driftlens b8"] / per_image_step["floor b8"]
    print(f"target batch 8 <= 1.15x floor: {'met' if ratio <= 1.15 else 'MISSED'} ({ratio:.2f}x)")
    if lucent:
        gain = per_image_step["lucent"] / per_image_step["driftlens b8"]
        print(f"target >= 3x faster per image than lucent: {'met' if gain >= 3 else 'MISSED'} ({gain:.2f}x)")


@torch.no_grad()
def channel_activation(model, layer, images, channels):
    """Mean activation of ``channels[k]`` on image ``k`` (images (N, H, W, 3), no transforms)."""
    batch = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    with eval_mode(model), layer_outputs(model, [layer]) as forward:
        means = channel_means(forward(batch)[layer])
    return means[torch.arange(len(channels)), torch.tensor(channels)].tolist()


def activation(args, model, lucent, lucent_model):
    channels = list(range(args.channels))
    start = time.perf_counter()
    ours = visualize_channels(model, args.layer, channels, steps=args.steps, size=args.size, progress=False)
    ours_seconds = time.perf_counter() - start
    print(f"\n## Activation reached after {args.steps} steps, {args.layer} channels {channels}, {args.size} px")
    print(f"driftlens (one batch): {ours_seconds:.0f} s")
    ours_act = channel_activation(model, args.layer, ours, channels)
    if not lucent:
        print("per channel:", " ".join(f"{a:.2f}" for a in ours_act), f"median {statistics.median(ours_act):.3f}")
        return
    start = time.perf_counter()
    theirs = np.stack([lucent_channel(lucent, lucent_model, args.layer, c, args.size, args.steps, c, args.size)
                       for c in channels])
    print(f"lucent (one at a time): {time.perf_counter() - start:.0f} s")
    theirs_act = channel_activation(model, args.layer, theirs, channels)
    print(f"{'channel':>7} {'driftlens':>10} {'lucent':>8}")
    for channel, a, b in zip(channels, ours_act, theirs_act):
        print(f"{channel:>7} {a:>10.3f} {b:>8.3f}")
    ours_median, theirs_median = statistics.median(ours_act), statistics.median(theirs_act)
    print(f"{'median':>7} {ours_median:>10.3f} {theirs_median:>8.3f}")
    print(f"target median activation >= lucent's: {'met' if ours_median >= theirs_median else 'MISSED'}")


def classes(args, model):
    start = time.perf_counter()
    images = visualize_channels(model, "logits", CLASSES, steps=args.steps, size=args.size, progress=False)
    print(f"\n## Class visualisations (lucid, {args.steps} steps, {args.size} px, one batch: "
          f"{time.perf_counter() - start:.0f} s), classified by Lite0")
    batch = torch.from_numpy(images).permute(0, 3, 1, 2)
    for label, size in (("at render size", args.size), ("resized to 224", 224)):
        resized = torch.nn.functional.interpolate(batch, size=size, mode="bilinear", align_corners=False)
        with torch.no_grad():
            probabilities = model(resized).softmax(dim=1)
        top = probabilities.argmax(dim=1).tolist()
        hits = sum(t == c for t, c in zip(top, CLASSES))
        details = ", ".join(f"{c}->{t} ({probabilities[k, c]:.2f})" for k, (c, t) in enumerate(zip(CLASSES, top)))
        print(f"{label}: {hits}/{len(CLASSES)} classified as their own class; class->top-1 (p(class)): {details}")


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    model = driftlens.models.load("efficientnet_lite0", weights="imagenet")
    lucent = import_lucent(args.lucent_path)
    lucent_model = driftlens.models.load("efficientnet_lite0", weights="imagenet") if lucent else None
    print(f"EfficientNet-Lite0 (ImageNet), CPU, torch {torch.__version__}, {args.threads} threads; "
          "the machine may be shared with other jobs")
    if "speed" not in args.skip:
        speed(args, model, lucent, lucent_model)
    if "activation" not in args.skip:
        activation(args, model, lucent, lucent_model)
    if "classes" not in args.skip:
        classes(args, model)


if __name__ == "__main__":
    main()
