"""``driftlens change``: one layer's change table of its rendered channels, per (epoch, channel).

Render evidence (cross-activation with its seed-noise reference, pixel measures) is measured here from
the renders and the checkpoints; the screen's verdict comes from ``screen.csv``; the table combines both
(:func:`driftlens.change.change_table`). Warm-started renders (``visualize.warm_start``) descend from epoch
0's, so their pixel likeness to epoch 0 says nothing about change: for them the pixel columns stay empty.

Example:
    driftlens change --layer blocks.12 --rows results/demo/blocks.12/epoch_*.npz \\
        --checkpoints results/demo/checkpoints/epoch_*.pt --responses results/demo/representation/probe_*.npz \\
        --screen results/demo/blocks.12/screen.csv -o results/demo/blocks.12/change.csv
"""

import sys

from driftlens.cli._options import add_device, device_of


def add_parser(subparsers):
    """Register ``change``."""
    parser = subparsers.add_parser("change")
    parser.add_argument("--layer", required=True)
    parser.add_argument("--rows", nargs="+", required=True, metavar="NPZ", help="the layer's render rows, every epoch")
    parser.add_argument("--checkpoints", nargs="+", required=True, metavar="PT", help="the checkpoints of those epochs")
    parser.add_argument("--responses", nargs="+", required=True, metavar="NPZ",
                        help="probe responses of the same epochs (driftlens representation --responses)")
    parser.add_argument("--screen", required=True, metavar="CSV", help="the layer's screen.csv")
    parser.add_argument("--perceptual", choices=["auto", "lpips", "lite0"], default="auto",
                        help="perceptual distance: LPIPS if available offline, else Lite0 features (default: auto)")
    add_device(parser)
    parser.add_argument("-o", "--output", required=True, help="the CSV, e.g. results/demo/blocks.12/change.csv")
    parser.set_defaults(func=run)


def run(args):
    """Write the change table of one layer."""
    from driftlens import change, models
    from driftlens.artifacts import read_probe_responses, read_row, read_screen_table, write_change_table
    from driftlens.errors import ConfigError

    device = device_of(args)
    rows = {row.epoch: row for row in (read_row(path, layer=args.layer) for path in args.rows)}
    nets = {net.epoch: net for net in (models.from_checkpoint(path).to(device) for path in args.checkpoints)}
    probe = {}
    for path in args.responses:
        epoch, responses, _ = read_probe_responses(path, layers=[args.layer])
        probe[epoch] = responses[args.layer]
    if not sorted(rows) == sorted(nets) == sorted(probe):
        raise ConfigError(f"render rows of epochs {sorted(rows)}, checkpoints of {sorted(nets)} and probe responses "
                          f"of {sorted(probe)}: they must be the same epochs")
    first = min(rows)
    measured = {epoch: epoch_responses(nets[first], nets[epoch], rows[first], rows[epoch], probe[epoch])
                for epoch in rows}
    if rows[first].settings.get("warm_steps"):
        print("pixel measures left empty: warm-started renders descend from epoch 0's (docs/warm-start.md)",
              file=sys.stderr)
        scores, metric = None, ""
    else:
        perceptual = change.PerceptualDistance(backend=args.perceptual, device=device)
        scores = {epoch: change.pixel_scores(row.images, rows[first].images, perceptual) for epoch, row in rows.items()}
        metric = perceptual.name
    table = change.change_table(measured, rows[first].channels, scores, read_screen_table(args.screen, args.layer))
    write_change_table(args.output, table, args.layer, metric)


def epoch_responses(first, model, first_row, row, probe) -> dict:
    """The responses the render evidence needs at one epoch (see :func:`driftlens.change.cross_activation_samples`).

    Args:
        first (ModelWrapper): The epoch-0 model.
        model (ModelWrapper): The epoch-e model (``first`` itself at epoch 0).
        first_row (RenderedRow): Epoch 0's renders of the layer.
        row (RenderedRow): Epoch e's renders, the same channels and seeds.
        probe (np.ndarray): ``(N, C_all)`` epoch e's responses of every channel of the layer to the probe images.

    Returns:
        dict: ``own``, ``cross``, ``reverse`` (each ``(S, C)``) and ``probe`` (``(N, C)``).

    Example:
        >>> measured = epoch_responses(first, model, first_row, row, probe)  # doctest: +SKIP
    """
    from driftlens.change import render_responses
    from driftlens.errors import ConfigError

    if row.channels != first_row.channels or row.seeds != first_row.seeds:
        raise ConfigError(f"the renders of epochs {first_row.epoch} and {row.epoch} hold different channels or seeds")
    return {**render_responses(first, model, first_row.images, row.images, row.layer, row.channels),
            "probe": probe[:, row.channels]}
