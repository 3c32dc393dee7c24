"""``driftlens change``: one layer's change table, per (epoch, channel), with seed-noise references and a verdict.

Example:
    driftlens change --layer blocks.12 --rows results/demo/blocks.12/epoch_*.npz \\
        --responses results/demo/representation/responses_*.npz -o results/demo/blocks.12/change.csv
"""


from driftlens.cli._options import add_device, device_of


def add_parser(subparsers):
    """Register ``change``."""
    parser = subparsers.add_parser("change", help="per-channel change table of a layer: semantic "
                                                  "metrics, seed-noise references, p-values and verdicts")
    parser.add_argument("--layer", required=True)
    parser.add_argument("--rows", nargs="+", required=True, metavar="NPZ", help="the layer's render rows, every epoch")
    parser.add_argument("--responses", nargs="+", required=True, metavar="NPZ",
                        help="unit responses of the same epochs (driftlens representation --responses)")
    parser.add_argument("--perceptual", choices=["auto", "lpips", "lite0"], default="auto",
                        help="perceptual distance: LPIPS if available offline, else Lite0 features (default: auto)")
    add_device(parser)
    parser.add_argument("-o", "--output", required=True, help="the CSV, e.g. results/demo/blocks.12/change.csv")
    parser.set_defaults(func=run)


def run(args):
    """Write the change table of one layer."""
    from driftlens import change, compare
    from driftlens.artifacts import read_responses, read_row, write_change_table
    from driftlens.errors import ConfigError

    rows = {row.epoch: row for row in (read_row(path, layer=args.layer) for path in args.rows)}
    responses = {}
    for path in args.responses:
        layer = read_responses(path, layer=args.layer)[args.layer]
        responses[layer["epoch"]] = layer
    if sorted(rows) != sorted(responses):
        raise ConfigError(f"render rows of epochs {sorted(rows)} but responses of epochs {sorted(responses)}")
    perceptual = compare.PerceptualDistance(backend=args.perceptual, device=device_of(args))
    first = rows[min(rows)]
    scores = {epoch: compare.pixel_scores(row.images, first.images, perceptual) for epoch, row in rows.items()}
    write_change_table(args.output, change.change_table(responses, first.channels, scores), args.layer,
                       perceptual.name)
