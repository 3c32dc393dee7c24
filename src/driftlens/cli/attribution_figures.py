"""``driftlens attribution-grid`` and ``attribution-drift``: where the network looks, epoch by epoch."""

from driftlens.artifacts import read_attribution_maps, read_probe, read_probe_classes, write_drift_table
from driftlens.attribution.drift import drift_table
from driftlens.attribution.overlay import overlay
from driftlens.cli._options import non_negative_int
from driftlens.errors import ArtifactError
from driftlens.grids import image_grid
from driftlens.io import save_image


def add_parser(subparsers):
    grid = subparsers.add_parser("attribution-grid")
    grid.add_argument("--probe", required=True, help="the probe set (probe.npz of `driftlens probe`)")
    grid.add_argument("--maps", nargs="+", required=True, help="epoch_NNN.npz files of `driftlens attribution-maps`")
    grid.add_argument("--method", default="gradcam", help="which map of the npz files to show (default: gradcam)")
    grid.add_argument("-o", "--output", required=True, help="PNG to write")
    grid.set_defaults(func=run_grid)
    drift = subparsers.add_parser("attribution-drift")
    drift.add_argument("--maps", nargs="+", required=True, help="epoch_NNN.npz files of `driftlens attribution-maps`")
    drift.add_argument("--reference-epoch", type=non_negative_int, default=0,
                       help="the epoch compared with: the first whose classification head was trained (default: 0)")
    drift.add_argument("-o", "--output", required=True, help="CSV to write: epoch, method, image, spearman")
    drift.add_argument("--png", help="also plot the mean correlation per method against epochs")
    drift.add_argument("--metrics", nargs="*", default=[], metavar="JSON",
                       help="metrics/epoch_NNN.json files: mark where training stages start in the plot")
    drift.set_defaults(func=run_drift)


def run_grid(args):
    images, labels = read_probe(args.probe)
    rows, epochs = [], []
    for path in args.maps:
        epoch, maps = read_attribution_maps(path)
        if args.method not in maps:
            raise ArtifactError(f"{path} has no {args.method!r} maps (it has: {', '.join(maps)})")
        rows.append(overlay(images[: len(maps[args.method])], maps[args.method]))
        epochs.append(epoch)
    classes = read_probe_classes(args.probe)
    columns = [classes[label] for label in labels[: len(rows[0])]]
    save_image(image_grid(rows, [f"epoch {e}" for e in epochs], columns), args.output)


def run_drift(args):
    table = drift_table(dict(map(read_attribution_maps, args.maps)), args.reference_epoch)
    write_drift_table(args.output, table)
    if args.png:
        from driftlens.artifacts import read_metrics_table
        from driftlens.figures import plot_attribution_drift, save_figure

        metrics = read_metrics_table(args.metrics) if args.metrics else None
        save_figure(plot_attribution_drift(table, metrics), args.png)
