"""``driftlens accentuate``: make what a channel sees in given images stronger (feature accentuation).

Example:
    driftlens accentuate --model efficientnet_lite0 --layer blocks.10 --channel 3 a.jpg b.jpg -o accentuated.png
    driftlens accentuate --checkpoints epoch_000.pt epoch_005.pt --probe probe.npz --count 4 \\
        --layer blocks.10 --channel 3 -o accentuation.png
"""


import numpy as np
import torch

from driftlens import models
from driftlens.artifacts import read_channels, read_probe
from driftlens.cli._imaging import read_images
from driftlens.cli._options import add_model_arguments, add_progress, device_of, model_from_args
from driftlens.errors import ConfigError
from driftlens.grids import image_grid
from driftlens.io import save_image, save_npz
from driftlens.optvis import accentuate
from driftlens.optvis.objectives import channel


def add_parser(subparsers):
    """Register ``accentuate`` on the ``driftlens`` command line.

    Example:
        >>> import argparse
        >>> add_parser(argparse.ArgumentParser().add_subparsers())
    """
    parser = subparsers.add_parser("accentuate")
    parser.add_argument("images", nargs="*", help="image files (or use --probe)")
    parser.add_argument("--probe", help="a probe set (.npz from `driftlens probe`) instead of image files")
    parser.add_argument("--count", type=int, default=4, help="with --probe: its first N images (default: 4)")
    add_model_arguments(parser, default_model="efficientnet_lite0")
    parser.add_argument("--checkpoints", nargs="+",
                        help="several training checkpoints: one accentuated row each, labelled by file name")
    parser.add_argument("--layer", required=True, help="layer name or alias (logits: a class)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--channel", type=int, help="channel (or class) to accentuate")
    which.add_argument("--channels-file", metavar="TXT",
                       help="or the first channel of a channels file (as select-channels writes it)")
    parser.add_argument("--size", type=int, help="image side in pixels (default: the model's input size)")
    parser.add_argument("--steps", type=int, default=64, help="optimisation steps (default: 64)")
    parser.add_argument("--penalty", type=float, default=10.0,
                        help="weight of the distance to the original images (default: 10)")
    parser.add_argument("--seed", type=int, default=0, help="default: 0")
    parser.add_argument("--raw", help="also write the floats (originals, accentuated rows, row labels) to this .npz")
    add_progress(parser)
    parser.add_argument("-o", "--output", required=True, help="PNG to write: originals above, accentuated below")
    parser.set_defaults(func=run)


def run(args):
    """Accentuate the channel in every image (one batched optimisation per model) and write the grid.

    Example:
        >>> from driftlens.cli import main
        >>> main(["accentuate", "--model", "tiny", "--weights", "random", "--layer", "conv3", "--channel", "1",
        ...       "x.png", "-o", "out.png"])  # doctest: +SKIP
    """
    if args.channels_file:
        args.channel = read_channels(args.channels_file)[0]
    named = list(load_models(args))
    images = input_images(args, args.size or named[0][1].input_size)
    rows, labels = [images.permute(0, 2, 3, 1).numpy()], ["original"]
    for label, model in named:
        result = accentuate(model, channel(args.layer, args.channel), images, steps=args.steps,
                            penalty=args.penalty, seed=args.seed, progress=not args.no_progress)
        rows.append(result.images)
        labels.append(label)
    save_image(image_grid(rows, row_labels=labels), args.output)
    if args.raw:
        save_npz(args.raw, originals=rows[0], accentuated=np.stack(rows[1:]), rows=np.array(labels[1:]))


def load_models(args):
    """``(row label, model)`` pairs: one per ``--checkpoints`` file, else the ``--model``/``--checkpoint`` one.

    Raises:
        ConfigError: ``--checkpoints`` together with ``--checkpoint``.

    Example:
        >>> import argparse
        >>> args = argparse.Namespace(checkpoints=None, checkpoint=None, model="tiny", weights="random",
        ...                           layer="conv3", channel=1, device="cpu")
        >>> [label for label, _ in load_models(args)]
        ['conv3:1']
    """
    if not args.checkpoints:
        return [(f"{args.layer}:{args.channel}", model_from_args(args))]
    if args.checkpoint:
        raise ConfigError("give --checkpoint or --checkpoints, not both")
    checkpoints = [models.from_checkpoint(path).to(device_of(args)).eval() for path in args.checkpoints]
    return [(f"epoch {model.epoch}", model) for model in checkpoints]


def input_images(args, size: int) -> torch.Tensor:
    """The images to accentuate: the files given, or the first ``--count`` of ``--probe``, at ``size``.

    Raises:
        ConfigError: Neither or both of image files and ``--probe``, or fewer probe images than ``--count``.

    Example:
        >>> import argparse, tempfile, os, numpy as np
        >>> from driftlens.artifacts import write_probe
        >>> path = os.path.join(tempfile.mkdtemp(), "probe.npz")
        >>> write_probe(path, np.zeros((5, 3, 8, 8), np.float32), np.zeros(5, int), ["a"])
        >>> input_images(argparse.Namespace(images=[], probe=path, count=2), 16).shape
        torch.Size([2, 3, 16, 16])
    """
    if bool(args.images) == bool(args.probe):
        raise ConfigError("give image files or --probe (one of the two)")
    if args.images:
        return read_images(args.images, size)
    images = torch.from_numpy(read_probe(args.probe, args.count)[0])
    if len(images) < args.count:
        raise ConfigError(f"{args.probe} holds {len(images)} images, fewer than --count {args.count}")
    return torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear", antialias=True).clamp(0, 1)
