"""``driftlens probe``: a fixed set of held-out images for comparing checkpoints: class-balanced validation images
of a prepared data set, or the images of a folder (labelled by their class sub-folders, when they have them)."""

from driftlens.artifacts import write_probe
from driftlens.cli._options import positive_int
from driftlens.data import folder_probe_files, folder_probe_images, probe_files, probe_images, read_splits


def add_parser(subparsers):
    parser = subparsers.add_parser("probe")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--splits", help="splits.json written by `driftlens prepare-data`")
    source.add_argument("--folder", help="a folder of images (class sub-folders optional) instead of a data set")
    parser.add_argument("--count", type=positive_int, default=256,
                        help="most images: the split's (or folder's) images up to this many (default: 256)")
    parser.add_argument("--size", type=positive_int, default=224, help="image side in pixels (default: 224)")
    parser.add_argument("--split", default="val", choices=["train", "val", "test"], help="default: val")
    parser.add_argument("-o", "--output", required=True,
                        help="the probe set to write (.npz: images (n,3,S,S), labels, the data set's class names)")
    parser.set_defaults(func=run)


def run(args):
    """Draw the probe images and write them with their class names."""
    if args.folder:
        images, labels, classes = folder_probe_images(args.folder, args.count, args.size)
        files = folder_probe_files(args.folder, args.count)
        source = {"folder": str(args.folder), "size": args.size}
    else:
        count = min(args.count, len(read_splits(args.splits)[args.split]))
        images, labels = probe_images(args.splits, count, args.size, split=args.split)
        files = probe_files(args.splits, count, split=args.split)
        classes, source = read_splits(args.splits)["classes"], {"splits": str(args.splits), "split": args.split,
                                                                  "size": args.size}
    write_probe(args.output, images.numpy(), labels.numpy(), classes, source, files)
