"""``driftlens probe``: a fixed, class-balanced set of validation images for comparing checkpoints."""

from driftlens.artifacts import write_probe
from driftlens.cli._options import positive_int
from driftlens.data import probe_images, read_splits


def add_parser(subparsers):
    parser = subparsers.add_parser("probe")
    parser.add_argument("--splits", required=True, help="splits.json written by `driftlens prepare-data`")
    parser.add_argument("--count", type=positive_int, default=256,
                        help="most images: the split's images up to this many (default: 256)")
    parser.add_argument("--size", type=positive_int, default=224, help="image side in pixels (default: 224)")
    parser.add_argument("--split", default="val", choices=["train", "val", "test"], help="default: val")
    parser.add_argument("-o", "--output", required=True,
                        help="the probe set to write (.npz: images (n,3,S,S), labels, the data set's class names)")
    parser.set_defaults(func=run)


def run(args):
    """Draw the probe images and write them with the data set's class names."""
    available = len(read_splits(args.splits)[args.split])
    images, labels = probe_images(args.splits, min(args.count, available), args.size, split=args.split)
    write_probe(args.output, images.numpy(), labels.numpy(), read_splits(args.splits)["classes"],
                {"splits": str(args.splits), "split": args.split, "size": args.size})
