"""``driftlens report``: the self-contained HTML page of one experiment, from exactly the files it is given.

Example:
    driftlens report --title demo --layers blocks.12 --epochs 0,3 \\
        --frames results/demo/blocks.12/epoch_000.png results/demo/blocks.12/epoch_003.png \\
        --merged results/demo/blocks.12/merged.png --exemplars results/demo/blocks.12/exemplars.png \\
        --change results/demo/blocks.12/change.csv --before-after results/demo/before_after.png \\
        --change-plot results/demo/change.png --training-plot results/demo/training.png \\
        --depth-plot results/demo/depth.png --screens blocks.12=results/demo/blocks.12/screen.csv \\
        --volcanoes blocks.12=results/demo/blocks.12/volcano.png \\
        --metrics results/demo/metrics/epoch_000.json results/demo/metrics/epoch_003.json \\
        --config results/demo/config.json --benchmarks logs/benchmarks/demo -o results/demo/report.html
"""

from pathlib import Path

from driftlens.cli._options import comma_list, layer_and_path
from driftlens.errors import ConfigError


def add_parser(subparsers):
    """Register ``driftlens report`` on an argparse sub-parsers object.

    Args:
        subparsers (argparse._SubParsersAction): From ``ArgumentParser.add_subparsers()``.

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser()
        >>> add_parser(parser.add_subparsers())
        >>> files = ["--frames", "a0.png", "a1.png", "--merged", "m.png", "--exemplars", "x.png", "--change", "c.csv",
        ...          "--before-after", "b.png", "--change-plot", "c.png", "--training-plot", "t.png", "--depth-plot", "d.png",
        ...          "--metrics", "0.json", "1.json", "--config", "config.json", "-o", "report.html"]
        >>> parser.parse_args(["report", "--title", "demo", "--layers", "a", "--epochs", "0,1", *files]).epochs
        [0, 1]
    """
    parser = subparsers.add_parser("report")
    parser.add_argument("--title", required=True, help="the page's title, e.g. the experiment's name")
    parser.add_argument("--layers", required=True, type=comma_list(), help="comma-separated layers, e.g. a,b")
    parser.add_argument("--epochs", required=True, type=comma_list(int), help="comma-separated epochs, e.g. 0,1,3")
    parser.add_argument("--frames", nargs="+", required=True, metavar="PNG",
                        help="every layer's render picture of every epoch, layer by layer, epochs in order")
    for option, what in (("--merged", "merged grid"), ("--exemplars", "exemplars figure"),
                         ("--change", "change table")):
        parser.add_argument(option, nargs="+", required=True, metavar="FILE", help=f"every layer's {what}, in layer order")
    parser.add_argument("--before-after", required=True, metavar="PNG", help="before_after.png")
    parser.add_argument("--change-plot", required=True, metavar="PNG", help="change.png")
    parser.add_argument("--training-plot", metavar="PNG", help="training.png (none: a run without accuracy)")
    parser.add_argument("--depth-plot", required=True, metavar="PNG", help="depth.png (the change atlas)")
    parser.add_argument("--screens", nargs="*", default=[], metavar="LAYER=CSV",
                        help="every screened layer's screen.csv (the headline reads them)")
    parser.add_argument("--volcanoes", nargs="*", default=[], metavar="LAYER=PNG", help="every screened layer's volcano.png")
    parser.add_argument("--representation", nargs="*", default=[], metavar="JSON",
                        help="representation/epoch_NNN.json of every epoch (marks layers whose weights never moved)")
    parser.add_argument("--features", nargs="*", default=[], metavar="LAYER=JSON",
                        help="every visualised layer's features.json (the feature diff; the headline reads them)")
    parser.add_argument("--feature-figures", nargs="*", default=[], metavar="LAYER=PNG",
                        help="every visualised layer's features.png")
    parser.add_argument("--metrics", nargs="+", required=True, metavar="JSON", help="the metrics file of every epoch, in order")
    parser.add_argument("--config", required=True, metavar="JSON", help="the experiment's config.json")
    parser.add_argument("--attribution-grid", metavar="PNG", help="attribution/merged.png (shows the section)")
    parser.add_argument("--benchmarks", metavar="DIR",
                        help="Snakemake's benchmark records of the experiment (every .tsv below DIR): the "
                             "pipeline's wall time")
    parser.add_argument("-o", "--output", required=True, help="the page to write, e.g. results/demo/report.html")
    parser.set_defaults(func=run)


def run(args):
    """Write the page and print its path.

    Example:
        >>> run(parser.parse_args(["report", "--title", "demo", ...]))  # doctest: +SKIP
        results/demo/report.html
    """
    from driftlens.report import ReportFiles, write_report

    files = ReportFiles(
        frames=dict(zip(args.layers, _per_layer(args.frames, args.layers, len(args.epochs), "--frames"))),
        merged=dict(zip(args.layers, _per_layer(args.merged, args.layers, 1, "--merged"))),
        exemplars=dict(zip(args.layers, _per_layer(args.exemplars, args.layers, 1, "--exemplars"))),
        change=dict(zip(args.layers, _per_layer(args.change, args.layers, 1, "--change"))),
        figures={"before_after": args.before_after, "change": args.change_plot, "depth": args.depth_plot,
                 **({"training": args.training_plot} if args.training_plot else {})},
        metrics=args.metrics,
        config=args.config,
        attribution={"merged": args.attribution_grid} if args.attribution_grid else {},
        benchmarks=sorted(Path(args.benchmarks).rglob("*.tsv")) if args.benchmarks else [],
        screens=_by_layer(args.screens, "--screens"),
        volcanoes=_by_layer(args.volcanoes, "--volcanoes"),
        representation=args.representation,
        features=_by_layer(args.features, "--features"),
        feature_figures=_by_layer(args.feature_figures, "--feature-figures"),
    )
    print(write_report(args.title, args.layers, args.epochs, files, args.output))


def _per_layer(paths, layers, count: int, option: str) -> list:
    """``paths`` split into one group of ``count`` per layer (one path each when ``count`` is 1)."""
    if len(paths) != len(layers) * count:
        raise ConfigError(f"{option} needs {count} file(s) for each of the {len(layers)} layers "
                          f"({len(layers) * count}), got {len(paths)}")
    groups = [paths[i * count:(i + 1) * count] for i in range(len(layers))]
    return groups if count > 1 else [group[0] for group in groups]


def _by_layer(items, option: str) -> dict:
    """``LAYER=PATH`` items as ``{layer: path}``."""
    return dict(layer_and_path(item, option) for item in items)
