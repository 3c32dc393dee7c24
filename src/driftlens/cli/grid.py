"""``driftlens grid``: rendered rows (``.npz``) into one labelled grid, e.g. ``merged.png``."""

import numpy as np

from driftlens.artifacts import read_row
from driftlens.figures import image_grid
from driftlens.io import save_image


def add_parser(subparsers):
    parser = subparsers.add_parser("grid", help="tile rendered rows (.npz) into a labelled grid")
    parser.add_argument("--rows", nargs="+", required=True, help="npz files written by `driftlens render --raw`")
    parser.add_argument("--label-layers", action="store_true", help="put the layer name in each row label")
    parser.add_argument("-o", "--output", required=True, help="PNG to write")
    parser.set_defaults(func=run)


def run(args):
    rows = [read_row(path) for path in args.rows]
    labels = [f"{row.layer}  epoch {row.epoch}" if args.label_layers else f"epoch {row.epoch}" for row in rows]
    same_channels = all(np.array_equal(row.channels, rows[0].channels) for row in rows)
    columns = [f"ch {c}" for c in rows[0].channels] if same_channels else None
    if not same_channels:
        labels = [f"{label}  ch {','.join(map(str, row.channels))}" for label, row in zip(labels, rows)]
    save_image(image_grid([row.images for row in rows], labels, columns), args.output)
