"""``driftlens screen``: the change screen of one layer, every channel at every checkpoint against epoch 0.

The rule (minimum effect, bootstrap noise references, false-discovery rate) is in
:mod:`driftlens.change.screen`.

Example:
    driftlens screen --layer blocks.14 --responses results/demo/representation/probe_*.npz \\
        --volcano results/demo/blocks.14/volcano.png -o results/demo/blocks.14/screen.csv
"""

from driftlens.change import defaults
from driftlens.cli._options import positive_float, positive_int, probability


def add_parser(subparsers):
    """Register ``screen``."""
    parser = subparsers.add_parser("screen")
    parser.add_argument("--layer", required=True)
    parser.add_argument("--responses", nargs="+", required=True, metavar="NPZ",
                        help="probe responses of every checkpoint (driftlens representation --responses); the "
                             "lowest epoch is the reference")
    parser.add_argument("--min-effect", type=positive_float, default=None,
                        help=f"minimum rank shift that counts as change (default: {defaults.MIN_EFFECT})")
    parser.add_argument("--alpha", type=probability, default=None,
                        help=f"false-discovery rate (default: {defaults.ALPHA})")
    parser.add_argument("--top-k", type=positive_int, default=None,
                        help=f"size of the top-exemplar sets (default: {defaults.TOP_K})")
    parser.add_argument("--bootstrap", type=positive_int, default=None,
                        help=f"bootstrap resamples (default: {defaults.BOOTSTRAP})")
    parser.add_argument("--volcano", metavar="PNG", help="also draw the screen's volcano plot (effect size against q)")
    parser.add_argument("-o", "--output", required=True, help="the CSV, e.g. results/demo/blocks.14/screen.csv")
    parser.set_defaults(func=run)


def run(args):
    """Write the screen of one layer."""
    from driftlens.artifacts import read_probe_responses, write_screen_table
    from driftlens.change.screen import screen_table
    from driftlens.errors import ConfigError

    by_epoch = {}
    for path in args.responses:
        epoch, responses, _ = read_probe_responses(path, layers=[args.layer])
        if epoch in by_epoch:
            raise ConfigError(f"two probe-responses files of epoch {epoch}: {path} and another")
        by_epoch[epoch] = responses[args.layer]
    options = {"min_effect": args.min_effect, "alpha": args.alpha, "top_k": args.top_k, "resamples": args.bootstrap}
    table = screen_table(by_epoch, **{key: value for key, value in options.items() if value is not None})
    write_screen_table(args.output, table, args.layer)
    if args.volcano:
        from driftlens.figures import plot_volcano, save_figure

        save_figure(plot_volcano(table, args.layer), args.volcano)
    last = table[table.epoch == table.epoch.max()]
    print(f"{args.layer}: {int(last.changed.sum())} of {len(last)} channels changed by epoch {int(last.epoch.max())} "
          f"(rank shift > {last.min_effect.iloc[0]:g}, q <= {last.alpha.iloc[0]:g})")
