"""``driftlens prepare-data``: download or generate a dataset and write its ``splits.json``."""

from driftlens import data


def add_parser(subparsers):
    parser = subparsers.add_parser("prepare-data")
    parser.add_argument("--dataset", required=True, choices=data.DATASETS)
    parser.add_argument("--root", required=True, help="dataset folder, e.g. resources/textures")
    parser.add_argument("--source", help="flowers17: a local folder with jpg/ or a local .tgz; "
                                         "imagefolder: the class-per-folder image tree (default: --root)")
    parser.add_argument("--url", help="flowers17: archive URL instead of the official one")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the train/val/test split (default: 0)")
    parser.add_argument("--skip-corrupt", action="store_true",
                        help="imagefolder: leave unreadable images out (counted in the log) instead of failing")
    parser.set_defaults(func=run)


def run(args):
    splits = data.prepare(args.dataset, args.root, source=args.source, url=args.url, split_seed=args.split_seed,
                          skip_corrupt=args.skip_corrupt)
    print(splits)
