"""Figures: labelled image grids, change plots and the pieces of the report."""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from PIL import Image, ImageDraw, ImageFont

from driftlens.io import atomic_path, to_uint8


def image_grid(rows, row_labels=None, col_labels=None, gap: int = 2, label_size: int = 12) -> Image.Image:
    """Tile rows of equally sized images into one picture, with optional row and column labels.

    Args:
        rows (list[np.ndarray]): One ``(N, H, W, 3)`` float array in [0, 1] (or uint8) per row; all
            rows share ``H`` and ``W``. A shorter row leaves blank cells.
        row_labels (list[str], optional): Written left of each row. Default: None
        col_labels (list[str], optional): Written above each column. Default: None
        gap (int, optional): White pixels between cells. Default: 2
        label_size (int, optional): Font size of the labels. Default: 12

    Returns:
        PIL.Image.Image: RGB image.

    Example:
        >>> grid = image_grid([np.zeros((3, 8, 8, 3))] * 2, ["epoch 0", "epoch 1"], ["0", "1", "2"])
        >>> grid.size[1] > 16
        True
    """
    rows = [to_uint8(r) if r.dtype != np.uint8 else r for r in map(np.asarray, rows)]
    height, width = rows[0].shape[1:3]
    columns = max(len(r) for r in rows)
    font = _font(label_size)
    left = _text_width(row_labels, font) + 2 * gap if row_labels else 0
    top = label_size + 2 * gap if col_labels else 0
    canvas = Image.new("RGB", (left + columns * (width + gap) + gap, top + len(rows) * (height + gap) + gap), "white")
    draw = ImageDraw.Draw(canvas)
    for i, row in enumerate(rows):
        y = top + gap + i * (height + gap)
        if row_labels:
            draw.text((gap, y + height // 2), str(row_labels[i]), fill="black", font=font, anchor="lm")
        for j, cell in enumerate(row):
            canvas.paste(Image.fromarray(cell), (left + gap + j * (width + gap), y))
    for j, label in enumerate(col_labels or []):
        draw.text((left + gap + j * (width + gap) + width // 2, gap), str(label), fill="black", font=font, anchor="mt")
    return canvas


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no scalable default font
        return ImageFont.load_default()


def _text_width(labels, font) -> int:
    return int(max(font.getlength(str(label)) for label in labels))


PICTURE_PANELS = [
    ("ssim_to_first", "ssim_noise", "Pictures: 1 − SSIM to epoch 0", "1 − SSIM"),
    ("perceptual_to_first", "perceptual_noise", "Pictures: perceptual distance to epoch 0", "{metric}"),
    ("ssim_to_previous", "ssim_noise", "Pictures: 1 − SSIM to the previous epoch", "1 − SSIM"),
    ("perceptual_to_previous", "perceptual_noise", "Pictures: perceptual distance to the previous epoch", "{metric}"),
]
"""The picture-change panels of :func:`plot_change`: column, its noise column, title, y label."""


def plot_change(similarity, representation=None, metrics=None, attribution=None) -> Figure:
    """Change of each layer against epochs: pictures, representation, weights, and validation accuracy.

    Picture panels show the mean over channels of 1 − SSIM and of the perceptual distance (to epoch
    0 and to the previous epoch), with the noise floor as a band of the layer's colour across all
    epochs: mean ± standard deviation of the noise values (same checkpoint, second seed) over
    channels. Below: linear CKA of the probe-set activations to epoch 0, relative weight change,
    validation accuracy and, when given, how far the attribution maps moved (as in
    :func:`plot_attribution_drift`). Dashed vertical lines mark where a new training stage starts.

    Args:
        similarity (dict[str, pandas.DataFrame]): Layer to its ``similarity.csv`` table
            (:func:`driftlens.compare.layer_similarity_table`).
        representation (pandas.DataFrame, optional): Columns ``epoch``, ``layer``, ``cka``,
            ``weight_change`` (:func:`driftlens.compare.read_representation`). Default: None
        metrics (pandas.DataFrame, optional): The training metrics, one row per epoch, with
            ``epoch``, ``val_acc`` and optionally ``stage``. Default: None
        attribution (pandas.DataFrame, optional): The attribution drift table, columns ``epoch, method,
            image, spearman`` (``driftlens attribution-drift``); it gets a panel beside the accuracy.
            Default: None

    Returns:
        matplotlib.figure.Figure: Not attached to pyplot; save it with :func:`save_figure`.

    Example:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"epoch": [0, 1], "channel": [0, 0], "ssim_to_first": [1.0, 0.7],
        ...                       "ssim_to_previous": [None, 0.7], "perceptual_to_first": [0.0, 0.2],
        ...                       "perceptual_to_previous": [None, 0.2], "ssim_noise": [0.9, None],
        ...                       "perceptual_noise": [0.05, None], "perceptual_metric": "lpips-alex"})
        >>> len(plot_change({"mixed4c": table}).axes)
        7
    """
    fig = Figure(figsize=(11, 13), layout="constrained")
    grid = fig.add_gridspec(4, 2, height_ratios=[1, 1, 1, 0.8])
    first = fig.add_subplot(grid[0, 0])
    axes = [first] + [fig.add_subplot(grid[i // 2, i % 2], sharex=first) for i in range(1, 6)]
    accuracy_axis = fig.add_subplot(grid[3, :] if attribution is None else grid[3, 0], sharex=first)
    layers = list(similarity) + sorted(set(_column(representation, "layer")) - set(similarity))
    colors = {layer: f"C{i % 10}" for i, layer in enumerate(layers)}
    metric = next(iter(_column(next(iter(similarity.values()), None), "perceptual_metric")), "perceptual distance")
    for ax, (column, noise_column, title, ylabel) in zip(axes, PICTURE_PANELS):
        for layer, table in similarity.items():
            _plot_picture_change(ax, table, column, noise_column, colors[layer])
        ax.set(title=title, ylabel=ylabel.format(metric=metric))
    _plot_representation(axes[4], representation, "cka", colors, "Representation: linear CKA to epoch 0 (probe set)",
                         "CKA")
    _plot_representation(axes[5], representation, "weight_change", colors,
                         "Weights: relative change ‖W − W₀‖ / ‖W₀‖", "relative change")
    _plot_columns(accuracy_axis, metrics, {"val_acc": "validation accuracy"}, "Validation accuracy", "accuracy",
                  color="black")
    if attribution is not None:
        axes.append(fig.add_subplot(grid[3, 1], sharex=first))
        _plot_attribution(axes[-1], attribution)
    for ax in axes + [accuracy_axis]:
        _finish_axis(ax, metrics)
    handles = [Line2D([], [], color=colors[layer], marker="o", markersize=3, label=layer) for layer in layers]
    handles.append(Patch(color="gray", alpha=0.25, label="noise floor (second seed, mean ± sd)"))
    fig.legend(handles=handles + _stage_handles(metrics), loc="outside upper center", ncols=min(len(handles) + 1, 5))
    return fig


def plot_training(metrics) -> Figure:
    """Training and validation loss, and training, validation and test accuracy against epochs.

    Args:
        metrics (pandas.DataFrame): One row per epoch with ``epoch``, ``train_loss``, ``val_loss``,
            ``train_acc``, ``val_acc`` (NaN where not measured, e.g. training at epoch 0), and
            optionally ``test_acc`` and ``stage``.

    Returns:
        matplotlib.figure.Figure: Not attached to pyplot; save it with :func:`save_figure`.

    Example:
        >>> import pandas as pd
        >>> metrics = pd.DataFrame({"epoch": [0, 1], "train_loss": [None, 0.9], "val_loss": [2.3, 1.0],
        ...                         "train_acc": [None, 0.6], "val_acc": [0.1, 0.55]})
        >>> [ax.get_title() for ax in plot_training(metrics).axes]
        ['Loss', 'Accuracy']
    """
    fig = Figure(figsize=(11, 4), layout="constrained")
    loss_axis, accuracy_axis = fig.subplots(1, 2, sharex=True)
    _plot_columns(loss_axis, metrics, {"train_loss": "training", "val_loss": "validation"}, "Loss", "loss")
    _plot_columns(accuracy_axis, metrics, {"train_acc": "training", "val_acc": "validation", "test_acc": "test"},
                  "Accuracy", "accuracy")
    for ax in (loss_axis, accuracy_axis):
        _finish_axis(ax, metrics)
    return fig


def save_figure(fig, path, dpi: int = 120) -> None:
    """Write a matplotlib figure atomically; the format follows the suffix (``.png``, ``.pdf``, ``.svg``).

    Args:
        fig (matplotlib.figure.Figure): The figure.
        path (str or Path): Where to write it; the folder is created.
        dpi (int, optional): Resolution of raster formats. Default: 120

    Example:
        >>> import tempfile, os
        >>> save_figure(Figure(), os.path.join(tempfile.mkdtemp(), "empty.png"))
    """
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi)


def _column(table, name) -> list:
    return [] if table is None or name not in table else table[name].dropna().unique().tolist()


def _as_change(table, column):
    return 1 - table[column] if column.startswith("ssim") else table[column]


def _plot_picture_change(ax, table, column, noise_column, color):
    mean = _as_change(table, column).groupby(table["epoch"]).mean().dropna()
    ax.plot(mean.index, mean.to_numpy(), color=color, marker="o", markersize=3)
    noise = _as_change(table, noise_column).dropna()
    if len(noise):
        center, spread = noise.mean(), noise.std(ddof=0)
        ax.axhspan(center - spread, center + spread, color=color, alpha=0.15, linewidth=0)
        ax.axhline(center, color=color, linestyle=":", linewidth=1)


def _plot_representation(ax, representation, column, colors, title, ylabel):
    ax.set(title=title, ylabel=ylabel)
    if representation is None or representation.empty:
        _no_data(ax, "no representation files given")
        return
    for layer, rows in representation.sort_values("epoch").groupby("layer", sort=False):
        ax.plot(rows["epoch"], rows[column], color=colors[layer], marker="o", markersize=3)


def _plot_columns(ax, table, labels, title, ylabel, **style):
    ax.set(title=title, ylabel=ylabel)
    present = {column: label for column, label in labels.items() if table is not None and column in table}
    if not present:
        _no_data(ax, f"no {' or '.join(labels)} in the metrics")
        return
    table = table.sort_values("epoch")
    for column, label in present.items():
        ax.plot(table["epoch"], table[column], marker="o", markersize=3, label=label, **style)
    ax.legend(handles=ax.get_lines() + _stage_handles(table))


def _no_data(ax, text):
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="gray")


def _stage_starts(metrics) -> list:
    if metrics is None or "stage" not in metrics:
        return []
    stages = metrics.sort_values("epoch").dropna(subset=["stage"])
    changed = stages["stage"].ne(stages["stage"].shift()) & stages["stage"].shift().notna()
    return stages.loc[changed, "epoch"].tolist()


def _stage_handles(metrics) -> list:
    return [Line2D([], [], color="gray", linestyle="--", label="new training stage")] if _stage_starts(metrics) else []


def _finish_axis(ax, metrics):
    for epoch in _stage_starts(metrics):
        ax.axvline(epoch - 0.5, color="gray", linestyle="--", linewidth=0.8)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)


def plot_attribution_drift(table, metrics=None) -> Figure:
    """Mean rank correlation of attribution maps to epoch 0 against epochs, one line per method.

    Integer epoch ticks; dashed vertical lines mark where a new training stage starts, as in
    :func:`plot_change`.

    Args:
        table (pandas.DataFrame): Columns ``epoch, method, image, spearman`` (``driftlens attribution-drift``).
        metrics (pandas.DataFrame, optional): Per-epoch metrics with ``epoch`` and ``stage``, for the
            stage lines. Default: None

    Returns:
        matplotlib.figure.Figure: The plot; the band spans the images' min..max.

    Example:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"epoch": [0, 1], "method": ["gradcam"] * 2, "image": [0, 0], "spearman": [1, .5]})
        >>> plot_attribution_drift(table).axes[0].get_ylabel()
        'Spearman ρ to epoch 0'
    """
    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.add_subplot()
    _plot_attribution(ax, table)
    ax.legend(handles=ax.get_lines() + _stage_handles(metrics))
    _finish_axis(ax, metrics)
    return fig


def _plot_attribution(ax, table):
    # Colours from the end of the cycle, dashed: in change.png the layers own the first colours.
    for i, (method, rows) in enumerate(table.groupby("method")):
        stats = rows.groupby("epoch")["spearman"].agg(["mean", "min", "max"])
        color = f"C{9 - i % 10}"
        ax.plot(stats.index, stats["mean"], color=color, linestyle="--", marker="o", markersize=3, label=method)
        ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.15)
    ax.set(xlabel="epoch", ylabel="Spearman ρ to epoch 0", title="Attribution maps: rank correlation to epoch 0",
           ylim=(-0.05, 1.05))
    ax.legend()
