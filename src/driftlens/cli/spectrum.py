"""``driftlens spectrum``: the mean Fourier magnitude of a data set's training images, for ``--method maco``.

Example:
    driftlens spectrum --splits resources/flowers17/splits.json --size 224 -o resources/flowers17/spectrum.npz
"""

import sys

from torch.utils.data import DataLoader

from driftlens.cli._options import add_progress
from driftlens.data import SplitDataset
from driftlens.optvis.spectrum import estimate, save


def add_parser(subparsers):
    """Register ``spectrum`` on the ``driftlens`` command line.

    Example:
        >>> import argparse
        >>> add_parser(argparse.ArgumentParser().add_subparsers())
    """
    parser = subparsers.add_parser("spectrum")
    parser.add_argument("--splits", required=True, help="the data set's splits.json")
    parser.add_argument("--split", default="train", choices=["train", "val", "test"], help="default: train")
    parser.add_argument("--size", type=int, default=224,
                        help="image side; the spectrum serves renders up to this size (default: 224)")
    add_progress(parser)
    parser.add_argument("-o", "--output", required=True, help="the spectrum file (.npz)")
    parser.set_defaults(func=run)


def run(args):
    """Estimate the spectrum of one split (resized, centre square) and write it.

    Example:
        >>> from driftlens.cli import main
        >>> main(["spectrum", "--splits", "resources/flowers17/splits.json", "-o", "s.npz"])  # doctest: +SKIP
    """
    data = SplitDataset(args.splits, args.split, args.size)
    images = (batch for batch, _ in DataLoader(data, batch_size=32))
    spectrum = estimate(images, source=f"{args.splits}:{args.split}", progress=not args.no_progress)
    save(spectrum, args.output)
    print(f"spectrum of {spectrum.count} {args.split} images at {spectrum.size} px written to {args.output}",
          file=sys.stderr)
