"""``driftlens exemplars``: per channel, its render and the probe images it responds to most, at two epochs.

Feature visualisations are read best beside natural examples: each channel gets one row at epoch 0 and
one at the last epoch, each with the channel's render (first seed) and its top-k probe images.

Example:
    driftlens exemplars --probe results/demo/probe.npz --rows results/demo/blocks.12/epoch_000.npz \\
        results/demo/blocks.12/epoch_003.npz --responses results/demo/representation/probe_000.npz \\
        results/demo/representation/probe_003.npz -o results/demo/blocks.12/exemplars.png
"""


def add_parser(subparsers):
    """Register ``exemplars``."""
    parser = subparsers.add_parser("exemplars")
    parser.add_argument("--probe", required=True, help="probe.npz")
    parser.add_argument("--rows", nargs=2, required=True, metavar="NPZ", help="the layer's first and last render row")
    parser.add_argument("--responses", nargs=2, required=True, metavar="NPZ", help="probe responses of the same epochs (driftlens representation --responses)")
    parser.add_argument("--top-k", type=int, default=5, help="probe images per row (default: 5)")
    parser.add_argument("-o", "--output", required=True, help="PNG to write")
    parser.set_defaults(func=run)


def run(args):
    """Write the exemplar grid."""
    from driftlens.artifacts import read_probe, read_probe_responses, read_row
    from driftlens.grids import exemplar_rows, image_grid
    from driftlens.io import save_image

    probe = read_probe(args.probe)[0].transpose(0, 2, 3, 1)
    by_epoch = []
    for row_path, responses_path in zip(args.rows, args.responses):
        row = read_row(row_path)
        responses = read_probe_responses(responses_path, epoch=row.epoch, layers=[row.layer])[1][row.layer]
        cells = exemplar_rows(row.first_seed, responses[:, row.channels], probe, args.top_k)
        by_epoch.append([(f"ch {channel}  epoch {row.epoch}", cell) for channel, cell in zip(row.channels, cells)])
    interleaved = [entry for pair in zip(*by_epoch) for entry in pair]  # each channel: first epoch, last epoch
    columns = ["render"] + [f"top {k + 1}" for k in range(args.top_k)]
    save_image(image_grid([cells for _, cells in interleaved], [label for label, _ in interleaved], columns),
               args.output)
