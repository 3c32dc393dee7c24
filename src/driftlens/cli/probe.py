"""``driftlens probe``: a fixed, class-balanced set of validation images for comparing checkpoints."""

import numpy as np

from driftlens.cli._options import positive_int
from driftlens.data import probe_images, read_splits
from driftlens.io import save_npz


def add_parser(subparsers):
    parser = subparsers.add_parser("probe", help="write a fixed probe set of validation images (.npz)")
    parser.add_argument("--splits", required=True, help="splits.json written by `driftlens prepare-data`")
    parser.add_argument("--count", type=positive_int, default=64, help="number of images (default: 64)")
    parser.add_argument("--size", type=positive_int, default=224, help="image side in pixels (default: 224)")
    parser.add_argument("--split", default="val", choices=["train", "val", "test"], help="default: val")
    parser.add_argument("-o", "--output", required=True,
                        help="npz with `images` (n,3,S,S), `labels` and the data set's class names `classes`")
    parser.set_defaults(func=run)


def run(args):
    images, labels = probe_images(args.splits, args.count, args.size, split=args.split)
    classes = np.array(read_splits(args.splits)["classes"])
    save_npz(args.output, images=images.numpy(), labels=labels.numpy(), classes=classes)
