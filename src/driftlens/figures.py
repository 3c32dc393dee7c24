"""Figures: the change, depth, volcano, features, training and attribution-drift plots (matplotlib); image grids are in
:mod:`driftlens.grids`."""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from driftlens.io import atomic_path


CHANGE_PANELS = [
    ("changed", None, "Rendered channels changed (screen or render verdict)", "fraction of channels"),
    ("cross_activation", "cross_activation_noise", "Cross-activation: response to epoch-0 pictures / own", "ratio"),
    ("exemplar_rho", None, "Natural exemplars: Spearman ρ of probe responses to epoch 0", "ρ"),
    ("exemplar_jaccard", None, "Natural exemplars: top-k overlap with epoch 0", "Jaccard"),
    ("ssim_to_first", "ssim_noise", "Pictures: 1 − SSIM to epoch 0 (same seed)", "1 − SSIM"),
    ("perceptual_to_first", "perceptual_noise", "Pictures: perceptual distance to epoch 0 (same seed)", "distance"),
]
"""The per-channel panels of :func:`plot_change` (mean over channels): column, its seed-noise column, title, y label."""


def _name_perceptual_metric(ax, change) -> None:
    """Add to the perceptual panel's title which distance it shows (LPIPS or the Lite0 fallback), as the tables say."""
    names = sorted({table.attrs["perceptual_metric"] for table in change.values()
                    if table.attrs.get("perceptual_metric")})
    if names:
        ax.set_title(f"{ax.get_title()}\n({', '.join(names)})")


def plot_change(change, representation=None, metrics=None, attribution=None) -> Figure:
    """Change of each layer against epochs: the verdict and semantic metrics first, then representation and pixels.

    Row 1: the fraction of each layer's channels judged changed, and the mean cross-activation with
    its seed-noise reference (band: the noise range over channels, dotted: its mean). Row 2: natural
    exemplar agreement (rank correlation and top-k overlap of the units' probe responses). Row 3:
    linear CKA of the probe-set activations to epoch 0 (the title names its estimator; a debiased value below 0
    is drawn as it is, with a dotted line at 0) and relative weight change. Row 4: pixel
    metrics of the visualisations with their seed-pair noise (shown, not judged). Last: validation
    accuracy (when the metrics have it: a run trained elsewhere may not) and, when given, how far the
    attribution maps moved. Dashed vertical lines mark where a new training stage starts.

    Args:
        change (dict[str, pandas.DataFrame]): Layer to its ``change.csv`` table
            (:func:`driftlens.change.change_table`).
        representation (pandas.DataFrame, optional): Columns ``epoch``, ``layer``, ``cka``,
            ``weight_change`` and optionally ``estimator`` (:func:`driftlens.artifacts.read_representation`).
            Default: None
        metrics (pandas.DataFrame, optional): The training metrics, one row per epoch, with
            ``epoch``, ``val_acc`` and optionally ``stage``. Default: None
        attribution (pandas.DataFrame, optional): The attribution drift table, columns ``epoch, method,
            image, spearman`` (``driftlens attribution-drift``); it gets a panel beside the accuracy.
            Default: None

    Returns:
        matplotlib.figure.Figure: Not attached to pyplot; save it with :func:`save_figure`.

    Example:
        >>> import pandas as pd
        >>> from driftlens.artifacts import CHANGE_COLUMNS
        >>> table = pd.DataFrame({"epoch": [0, 1], "channel": 0, "changed": [False, True]}).reindex(columns=CHANGE_COLUMNS)
        >>> metrics = pd.DataFrame({"epoch": [0, 1], "val_acc": [0.1, 0.8]})
        >>> len(plot_change({"mixed4c": table.fillna(0.5)}).axes), len(plot_change({"mixed4c": table.fillna(0.5)}, None,
        ...                                                                          metrics).axes)
        (8, 9)
    """
    has_accuracy = metrics is not None and "val_acc" in metrics and bool(metrics["val_acc"].notna().any())
    last_row = [has_accuracy, attribution is not None]  # a run trained elsewhere may have no accuracy
    fig = Figure(figsize=(11, 15 if any(last_row) else 12.5), layout="constrained")
    grid = fig.add_gridspec(4 + any(last_row), 2, height_ratios=[1, 1, 1, 1, 0.8][:4 + any(last_row)])
    first = fig.add_subplot(grid[0, 0])
    axes = [first] + [fig.add_subplot(grid[i // 2, i % 2], sharex=first) for i in range(1, 8)]
    last_row_cells = [] if not any(last_row) else [grid[4, :]] if sum(last_row) == 1 else [grid[4, 0], grid[4, 1]]
    layers = list(change) + sorted(set(_column(representation, "layer")) - set(change))
    colors = {layer: f"C{i % 10}" for i, layer in enumerate(layers)}
    panel_axes = axes[:4] + axes[6:8]
    for ax, (column, noise_column, title, ylabel) in zip(panel_axes, CHANGE_PANELS):
        for layer, table in change.items():
            _plot_channel_mean(ax, table, column, noise_column, colors[layer])
        ax.set(title=title, ylabel=ylabel)
    _name_perceptual_metric(panel_axes[-1], change)
    cka = _cka_name(representation)
    _plot_representation(axes[4], representation, "cka", colors, f"Representation: {cka} to epoch 0 (probe set)",
                         cka.replace("linear ", ""))
    _plot_representation(axes[5], representation, "weight_change", colors,
                         "Weights: relative change ‖W − W₀‖ / ‖W₀‖", "relative change")
    if has_accuracy:
        axes.append(fig.add_subplot(last_row_cells.pop(0), sharex=first))
        _plot_columns(axes[-1], metrics, {"val_acc": "validation accuracy"}, "Validation accuracy", "accuracy",
                      color="black")
    if attribution is not None:
        axes.append(fig.add_subplot(last_row_cells.pop(0), sharex=first))
        _plot_attribution(axes[-1], attribution)
    for ax in axes:
        _finish_axis(ax, metrics)
    handles = [Line2D([], [], color=colors[layer], marker="o", markersize=3, label=layer) for layer in layers]
    handles.append(Patch(color="gray", alpha=0.25, label="seed noise (range over channels; dotted: mean)"))
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


def plot_depth(screens, representation=None, metrics=None) -> Figure:
    """The change atlas against epochs: per layer, the fraction of channels changed and the effect sizes.

    Panels: the fraction of each layer's channels the screen calls changed (band: 95 % Clopper-Pearson
    interval over its channels); the distribution of the rank shift over the layer's channels (line:
    median; band: 10th to 90th percentile; dashed: the minimum effect); linear CKA to epoch 0 (the title and
    label name its estimator; a debiased value below 0 is drawn as it is, with a dotted line at 0); the relative
    weight change. Dashed vertical lines mark where a new training stage starts.

    Args:
        screens (dict[str, pandas.DataFrame]): Layer to its screen (:data:`~driftlens.artifacts.SCREEN_COLUMNS`),
            in depth order.
        representation (pandas.DataFrame, optional): ``epoch``, ``layer``, ``cka``, ``weight_change`` and optionally
            ``estimator``. Default: None
        metrics (pandas.DataFrame, optional): Training metrics with ``epoch`` and ``stage``. Default: None

    Returns:
        matplotlib.figure.Figure: Not attached to pyplot; save it with :func:`save_figure`.

    Example:
        >>> import pandas as pd
        >>> screen = pd.DataFrame({"epoch": [0, 0, 1, 1], "channel": [0, 1, 0, 1], "rank_shift": [0, 0, .2, .01],
        ...                        "changed": [False, False, True, False], "min_effect": 0.05})
        >>> [ax.get_ylabel() for ax in plot_depth({"conv2": screen}).axes]
        ['fraction of channels', 'rank shift', 'CKA', 'relative change']
    """
    from scipy.stats import binomtest  # here: scipy.stats costs a second of every figure job's start-up

    fig = Figure(figsize=(11, 8), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True).ravel()
    colors = {layer: f"C{i % 10}" for i, layer in enumerate(screens)}
    for layer, table in screens.items():
        by_epoch = table.groupby("epoch")
        changed, total = by_epoch["changed"].sum().astype(int), by_epoch["changed"].size()
        interval = np.array([tuple(binomtest(k, n).proportion_ci()) for k, n in zip(changed, total)])
        axes[0].plot(changed.index, changed / total, color=colors[layer], marker="o", markersize=3)
        axes[0].fill_between(changed.index, interval[:, 0], interval[:, 1], color=colors[layer], alpha=0.15, linewidth=0)
        shift = by_epoch["rank_shift"]
        axes[1].plot(changed.index, shift.median(), color=colors[layer], marker="o", markersize=3)
        axes[1].fill_between(changed.index, shift.quantile(0.1), shift.quantile(0.9), color=colors[layer], alpha=0.15,
                             linewidth=0)
    axes[0].set(title="Channels changed (screen, 95 % interval)", ylabel="fraction of channels", ylim=(-0.02, 1.02))
    axes[1].set(title="Rank shift √(1 − ρ): median, 10–90 %", ylabel="rank shift")
    if screens:
        axes[1].axhline(next(iter(screens.values()))["min_effect"].iloc[0], color="gray", linestyle="--", linewidth=1)
    colors.update({layer: f"C{(len(colors) + i) % 10}" for i, layer in
                   enumerate(sorted(set(_column(representation, "layer")) - set(colors)))})
    cka = _cka_name(representation)
    _plot_representation(axes[2], representation, "cka", colors, f"Representation: {cka} to epoch 0",
                         cka.replace("linear ", ""))
    _plot_representation(axes[3], representation, "weight_change", colors, "Weights: ‖W − W₀‖ / ‖W₀‖",
                         "relative change")
    for ax in axes:
        _finish_axis(ax, metrics)
    handles = [Line2D([], [], color=color, marker="o", markersize=3, label=layer) for layer, color in colors.items()]
    fig.legend(handles=handles + _stage_handles(metrics), loc="outside upper center", ncols=min(len(handles) + 1, 6))
    return fig


def plot_volcano(screen, layer: str) -> Figure:
    """Effect size against q-value of every channel test of a layer's screen, with the verdict's two thresholds.

    x: the rank shift; y: ``-log10 q`` (q below 1e-16 drawn at 16). The dashed lines are the minimum
    effect and ``-log10 alpha``: changed channels lie right of the first and above the second. Colour:
    the epoch; channels that went silent or came alive are drawn as crosses.

    Args:
        screen (pandas.DataFrame): The layer's screen (:data:`~driftlens.artifacts.SCREEN_COLUMNS`).
        layer (str): Its name, for the title.

    Returns:
        matplotlib.figure.Figure: Not attached to pyplot.

    Example:
        >>> import pandas as pd
        >>> screen = pd.DataFrame({"epoch": [1, 1], "rank_shift": [0.2, 0.01], "q_value": [1e-5, 1.0],
        ...                        "state": "active", "changed": [True, False], "min_effect": 0.05, "alpha": 0.05})
        >>> plot_volcano(screen, "conv2").axes[0].get_xlabel()
        "rank shift √(1 − ρ) of the probe images' ranking"
    """
    fig = Figure(figsize=(6, 4.5), layout="constrained")
    ax = fig.add_subplot()
    tests = screen[screen.epoch > screen.epoch.min()] if screen.epoch.nunique() > 1 else screen
    height = -np.log10(np.clip(tests.q_value.astype(float), 1e-16, 1))
    switched = tests.state.isin(["went silent", "came alive"]).to_numpy()
    points = ax.scatter(tests.rank_shift[~switched], height[~switched], c=tests.epoch[~switched], cmap="viridis", s=10,
                        alpha=0.7)
    ax.scatter(tests.rank_shift[switched], height[switched], c=tests.epoch[switched], cmap="viridis", marker="x", s=25)
    ax.axvline(tests.min_effect.iloc[0], color="gray", linestyle="--", linewidth=1)
    ax.axhline(-np.log10(tests.alpha.iloc[0]), color="gray", linestyle="--", linewidth=1)
    changed = int(tests.changed.sum())
    ax.set(title=f"{layer}: {changed} of {len(tests)} channel tests changed", ylabel="−log10 q (BH)",
           xlabel="rank shift √(1 − ρ) of the probe images' ranking")
    fig.colorbar(points, ax=ax, label="epoch", ticks=MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    return fig


def plot_features(table, summary: dict, probe_images, exemplars: dict, rows, renders: dict, layer: str,
                  crops: int = 4) -> Figure:
    """``features.png``: the relative-decoder-norm histogram against the noise null, and a gallery of latents.

    Each gallery row is a latent (``rows``): its top probe exemplars at the first and at the last checkpoint,
    cropped around the cell where it fires, and the render of its decoder direction where it lives.

    Args:
        table (pandas.DataFrame): The layer's features (:data:`~driftlens.artifacts.FEATURE_COLUMNS`).
        summary (dict): Its ``features.json``.
        probe_images (np.ndarray): ``(n, 3, S, S)`` the probe set.
        exemplars (dict[int, np.ndarray]): Epoch to ``(L, E, 3)`` (image, row, column), from the crosscoder file.
        rows (pandas.DataFrame): The latents to show (``latent``, ``class``, ``home_epoch``).
        renders (dict[int, np.ndarray]): Latent to its ``(S, S, 3)`` render.
        layer (str): For the title.
        crops (int, optional): Exemplars shown per epoch. Default: 4

    Example:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"latent": [0], "class": ["shared"], "relative_norm": [0.5], "dead": [False]})
        >>> summary = {"epochs": [0, 3], "counts": {"shared": 1}, "variance_explained": {"0": 0.9, "3": 0.9}}
        >>> len(plot_features(table, summary, np.zeros((1, 3, 8, 8)), {}, table.head(0), {}, "c").axes)
        1
    """
    columns = 2 * crops + 1
    fig = Figure(figsize=(max(7, 1.1 * columns), 3 + 1.2 * len(rows)), layout="constrained")
    grid = fig.add_gridspec(1 + len(rows), columns, height_ratios=[2.5] + [1] * len(rows))
    histogram = fig.add_subplot(grid[0, :])
    _plot_norm_histogram(histogram, table, summary, layer)
    if not len(rows):
        histogram.text(0.02, 0.9, "no changed latent: no gallery", transform=histogram.transAxes,
                       fontsize=9, color="dimgray")
    first, last = summary["epochs"][0], summary["epochs"][-1]
    for r, (_, row) in enumerate(rows.iterrows()):
        latent = int(row["latent"])
        for c, epoch in enumerate((first, last)):
            for e in range(crops):
                ax = fig.add_subplot(grid[1 + r, c * crops + e])
                ax.set_axis_off()
                if epoch in exemplars and e < exemplars[epoch].shape[1]:
                    ax.imshow(_crop(probe_images, exemplars[epoch][latent][e], summary["map_side"]))
                if e == 0:
                    name = f"latent {latent} ({row['class']}), " if c == 0 else ""
                    ax.set_title(f"{name}epoch {epoch}", fontsize=7, loc="left")
        ax = fig.add_subplot(grid[1 + r, -1])
        ax.set_axis_off()
        if latent in renders:
            ax.imshow(np.clip(renders[latent], 0, 1))
            ax.set_title(f"render, epoch {row['home_epoch']}", fontsize=7)
    return fig


def _plot_norm_histogram(ax, table, summary, layer):
    live = table[~table.dead]
    bins = np.linspace(0, 1, 41)
    ax.hist(live.relative_norm, bins=bins, color="tab:blue", label=f"{layer}: {len(live)} active latents")
    noise = (summary.get("nulls") or {}).get("noise")
    if noise:
        ax.hist(noise["relative_norms"], bins=bins, histtype="step", color="gray",
                label=f"noise null ({noise['relative_noise']:g} relative weight noise)")
    counts = ", ".join(f"{count} {name}" for name, count in summary["counts"].items() if count)
    explained = ", ".join(f"{float(v):.2f}" for v in summary["variance_explained"].values())
    ax.set(xlim=(0, 1), yscale="log", xlabel=f"relative decoder norm: 0 = epoch {summary['epochs'][0]} only, "
           f"0.5 = equal, 1 = epoch {summary['epochs'][-1]} only", ylabel="latents",
           title=f"{layer}: {counts}; variance explained {explained} (held out)")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8)


def _crop(images, exemplar, map_side: int):
    """The probe image of an exemplar ``(image, row, column)`` cropped to a square around its cell: half the image,
    or two cells where cells are larger, clipped at the borders."""
    image, row, column = (int(v) for v in exemplar)
    picture = np.transpose(images[image], (1, 2, 0))
    side, cell = picture.shape[0], picture.shape[0] / map_side
    half = max(side // 4, int(cell))
    top = int(np.clip((row + 0.5) * cell - half, 0, side - 2 * half))
    left = int(np.clip((column + 0.5) * cell - half, 0, side - 2 * half))
    return picture[top:top + 2 * half, left:left + 2 * half]


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
    return 1 - table[column] if column.startswith("ssim") else table[column].astype(float)


def _plot_channel_mean(ax, table, column, noise_column, color):
    by_epoch = _as_change(table, column).groupby(table["epoch"])
    mean = by_epoch.mean().dropna()
    ax.plot(mean.index, mean.to_numpy(), color=color, marker="o", markersize=3)
    if noise_column is None:
        return
    noise = _as_change(table, noise_column).groupby(table["epoch"])
    low, high, center = noise.min().dropna(), noise.max().dropna(), noise.mean().dropna()
    ax.fill_between(low.index, low.to_numpy(), high.to_numpy(), color=color, alpha=0.15, linewidth=0)
    ax.plot(center.index, center.to_numpy(), color=color, linestyle=":", linewidth=1)


def _cka_name(representation) -> str:
    """``"debiased linear CKA"`` or ``"biased linear CKA"`` by the table's ``estimator`` column; ``"linear CKA"``
    without one.

    The debiased value is not bounded below by 0: the panels leave their y-limits to the data (nothing is clipped)
    and draw a dotted line at 0 when a value falls below it.

    Raises:
        ValueError: A table of two estimators, whose values are not on one scale.
    """
    estimators = _column(representation, "estimator")
    if len(estimators) > 1:
        raise ValueError(f"the representation table mixes CKA estimators ({', '.join(sorted(estimators))}): measure "
                         "every epoch with one")
    return f"{estimators[0]} linear CKA" if estimators else "linear CKA"


def _plot_representation(ax, representation, column, colors, title, ylabel):
    ax.set(title=title, ylabel=ylabel)
    if representation is None or representation.empty:
        _no_data(ax, "no representation files given")
        return
    for layer, rows in representation.sort_values("epoch").groupby("layer", sort=False):
        ax.plot(rows["epoch"], rows[column], color=colors[layer], marker="o", markersize=3)
    if column == "cka" and (representation[column] < 0).any():  # debiased CKA: unrelated reads 0, noise either side
        ax.axhline(0, color="gray", linestyle=":", linewidth=0.8)


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
    """Mean rank correlation of attribution maps to the reference epoch against epochs, one line per method.

    Integer epoch ticks; dashed vertical lines mark where a new training stage starts, as in
    :func:`plot_change`.

    Args:
        table (pandas.DataFrame): :data:`~driftlens.artifacts.DRIFT_COLUMNS` (``driftlens attribution-drift``);
            the legend gives each method's n (images with a defined correlation) and the constant maps left out.
        metrics (pandas.DataFrame, optional): Per-epoch metrics with ``epoch`` and ``stage``, for the
            stage lines. Default: None

    Returns:
        matplotlib.figure.Figure: The plot; the band spans the images' min..max.

    Example:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"epoch": [1, 2], "reference_epoch": 1, "method": ["gradcam"] * 2, "image": [0, 0],
        ...                       "spearman": [1, .5], "constant_map": False})
        >>> plot_attribution_drift(table).axes[0].get_ylabel()
        'Spearman ρ to epoch 1'
    """
    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.add_subplot()
    _plot_attribution(ax, table)
    ax.legend(handles=ax.get_lines() + _stage_handles(metrics))
    _finish_axis(ax, metrics)
    return fig


def _plot_attribution(ax, table):
    """Mean and range over images per method; the legend gives n, the images with a defined correlation."""
    reference = int(table["reference_epoch"].iloc[0]) if "reference_epoch" in table and len(table) else 0
    # Colours from the end of the cycle, dashed: in change.png the layers own the first colours.
    for i, (method, rows) in enumerate(table.groupby("method")):
        summary = rows.groupby("epoch")["spearman"].agg(["mean", "min", "max", "count", "size"])
        color = f"C{9 - i % 10}"
        low, high = summary["count"].min(), summary["count"].max()
        excluded = int((summary["size"] - summary["count"]).sum())
        label = f"{method} (n = {low if low == high else f'{low}–{high}'} images" + (
            f"; {excluded} constant maps left out)" if excluded else ")")
        ax.plot(summary.index, summary["mean"], color=color, linestyle="--", marker="o", markersize=3, label=label)
        ax.fill_between(summary.index, summary["min"], summary["max"], color=color, alpha=0.15)
    ax.set(xlabel="epoch", ylabel=f"Spearman ρ to epoch {reference}",
           title=f"Attribution maps: rank correlation to epoch {reference}", ylim=(-0.05, 1.05))
    ax.legend()
