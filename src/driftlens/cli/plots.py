"""``driftlens plot-change``, ``plot-training`` and ``plot-depth``: an experiment's plots.

Example:
    driftlens plot-change --change blocks.4=results/demo/blocks.4/change.csv \
        --representation results/demo/representation/epoch_*.json --metrics results/demo/metrics/epoch_*.json \
        --attribution-drift results/demo/attribution/drift.csv -o results/demo/change.png
    driftlens plot-training --metrics results/demo/metrics/epoch_*.json -o results/demo/training.png
    driftlens plot-depth --screen blocks.12=results/demo/blocks.12/screen.csv \
        --representation results/demo/representation/epoch_*.json -o results/demo/depth.png
"""

from pathlib import Path

from driftlens.cli._options import layer_and_path

# The library modules are imported in the run functions: every `driftlens` call builds all parsers.


def add_parser(subparsers):
    """Register the ``plot-change`` and ``plot-training`` sub-commands."""
    change = subparsers.add_parser("plot-change")
    change.add_argument("--change", nargs="+", required=True, metavar="[LAYER=]CSV",
                        help="change.csv per layer (the table holds its layer, which must match); without LAYER= "
                             "the layer is the CSV's folder name")
    change.add_argument("--representation", nargs="*", default=[], metavar="JSON",
                        help="representation/epoch_NNN.json files")
    change.add_argument("--metrics", nargs="*", default=[], metavar="JSON", help="metrics/epoch_NNN.json files")
    change.add_argument("--attribution-drift", metavar="CSV",
                        help="attribution/drift.csv (driftlens attribution-drift): adds its panel")
    change.add_argument("-o", "--output", required=True, help="the image to write, e.g. results/demo/change.png")
    change.set_defaults(func=run_change)

    training = subparsers.add_parser("plot-training")
    training.add_argument("--metrics", nargs="+", required=True, metavar="JSON", help="metrics/epoch_NNN.json files")
    training.add_argument("-o", "--output", required=True, help="the image to write, e.g. results/demo/training.png")
    training.set_defaults(func=run_training)

    depth = subparsers.add_parser("plot-depth")
    depth.add_argument("--screen", nargs="+", required=True, metavar="[LAYER=]CSV",
                       help="screen.csv per layer, in depth order; without LAYER= the layer is the CSV's folder name")
    depth.add_argument("--representation", nargs="*", default=[], metavar="JSON", help="representation/epoch_NNN.json")
    depth.add_argument("--metrics", nargs="*", default=[], metavar="JSON", help="metrics/epoch_NNN.json files")
    depth.add_argument("-o", "--output", required=True, help="the image to write, e.g. results/demo/depth.png")
    depth.set_defaults(func=run_depth)


def run_change(args):
    """Write change.png from the change tables, representation files and metrics."""
    from driftlens import figures
    from driftlens.artifacts import read_change_table, read_drift_table, read_metrics_table, read_representation

    change = {layer: read_change_table(path, layer) for layer, path in map(_layer_and_path, args.change)}
    representation = read_representation(args.representation) if args.representation else None
    metrics = read_metrics_table(args.metrics) if args.metrics else None
    attribution = read_drift_table(args.attribution_drift) if args.attribution_drift else None
    figures.save_figure(figures.plot_change(change, representation, metrics, attribution), args.output)


def run_training(args):
    """Write training.png from the metrics files."""
    from driftlens import figures
    from driftlens.artifacts import read_metrics_table

    figures.save_figure(figures.plot_training(read_metrics_table(args.metrics)), args.output)


def run_depth(args):
    """Write depth.png from the screens, representation files and metrics."""
    from driftlens import figures
    from driftlens.artifacts import read_metrics_table, read_representation, read_screen_table

    screens = {layer: read_screen_table(path, layer) for layer, path in map(_layer_and_path, args.screen)}
    representation = read_representation(args.representation) if args.representation else None
    metrics = read_metrics_table(args.metrics) if args.metrics else None
    figures.save_figure(figures.plot_depth(screens, representation, metrics), args.output)


def _layer_and_path(item) -> tuple[str, str]:
    """``LAYER=PATH``, or a bare path in its layer's folder (``results/demo/blocks.12/screen.csv``)."""
    return layer_and_path(item, "--screen/--change", fallback=lambda path: Path(path).parent.name)

