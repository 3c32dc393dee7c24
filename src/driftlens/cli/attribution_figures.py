"""``driftlens attribution-grid`` and ``attribution-drift``: where the network looks, epoch by epoch."""

import numpy as np
import pandas as pd

from driftlens.artifacts import epoch_of, read_probe
from driftlens.attribution.drift import rank_correlation
from driftlens.attribution.overlay import overlay
from driftlens.errors import ArtifactError
from driftlens.figures import image_grid
from driftlens.io import atomic_path, save_image


def add_parser(subparsers):
    grid = subparsers.add_parser("attribution-grid", help="overlays of one method: rows = epochs, columns = images")
    grid.add_argument("--probe", required=True, help="npz with the probe `images`, `labels` and class names `classes`")
    grid.add_argument("--maps", nargs="+", required=True, help="epoch_NNN.npz files of `driftlens attribution-maps`")
    grid.add_argument("--method", default="gradcam", help="which map of the npz files to show (default: gradcam)")
    grid.add_argument("-o", "--output", required=True, help="PNG to write")
    grid.set_defaults(func=run_grid)
    drift = subparsers.add_parser("attribution-drift", help="rank correlation of every epoch's maps to epoch 0")
    drift.add_argument("--maps", nargs="+", required=True, help="epoch_NNN.npz files, the first is the reference")
    drift.add_argument("-o", "--output", required=True, help="CSV to write: epoch, method, image, spearman")
    drift.add_argument("--png", help="also plot the mean correlation per method against epochs")
    drift.add_argument("--metrics", nargs="*", default=[], metavar="JSON",
                       help="metrics/epoch_NNN.json files: mark where training stages start in the plot")
    drift.set_defaults(func=run_drift)


def run_grid(args):
    images, labels = read_probe(args.probe)
    rows, epochs = [], []
    for path in args.maps:
        with np.load(path) as maps:
            if args.method not in maps:
                raise ArtifactError(f"{path} has no {args.method!r} maps (it has: {', '.join(maps.files)})")
            rows.append(overlay(images[: len(maps[args.method])], maps[args.method]))
        epochs.append(epoch_of(path))
    columns = class_names(args.probe, labels[: len(rows[0])])
    save_image(image_grid(rows, [f"epoch {e}" for e in epochs], columns), args.output)


def class_names(probe, labels) -> list[str]:
    """The class name of each label, from the probe file's ``classes`` (``class N`` where it has none).

    Args:
        probe (str or Path): The probe ``.npz`` of ``driftlens probe``.
        labels (sequence of int): Labels to name.

    Returns:
        list[str]: One name per label.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "probe.npz")
        >>> np.savez(path, classes=np.array(["daisy", "tulip"]))
        >>> class_names(path, [1, 0])
        ['tulip', 'daisy']
    """
    with np.load(probe) as arrays:
        classes = [str(name) for name in arrays["classes"]] if "classes" in arrays else None
    return [classes[label] if classes else f"class {label}" for label in labels]


def drift_table(paths) -> pd.DataFrame:
    """Spearman rank correlation of each epoch's maps to the first file's, per method and image.

    Args:
        paths (list[str]): ``epoch_NNN.npz`` files of ``driftlens attribution-maps``, reference first.

    Returns:
        pandas.DataFrame: Columns ``epoch, method, image, spearman``.

    Example:
        >>> drift_table(["attribution/epoch_000.npz", "attribution/epoch_003.npz"])  # doctest: +SKIP
    """
    with np.load(paths[0]) as first:
        reference = {name: first[name] for name in first.files}
    rows = []
    for path in paths:
        with np.load(path) as maps:
            for name, ref in reference.items():
                for image, value in enumerate(rank_correlation(ref, maps[name])):
                    rows.append({"epoch": epoch_of(path), "method": name, "image": image, "spearman": value})
    return pd.DataFrame(rows)


def run_drift(args):
    table = drift_table(args.maps)
    with atomic_path(args.output) as tmp:
        table.to_csv(tmp, index=False)
    if args.png:
        from driftlens.cli.plots import read_metrics
        from driftlens.figures import plot_attribution_drift, save_figure

        metrics = read_metrics(args.metrics) if args.metrics else None
        save_figure(plot_attribution_drift(table, metrics), args.png)
