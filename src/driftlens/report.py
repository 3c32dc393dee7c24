"""The report page: one self-contained HTML file per experiment, built from its artifacts alone.

Every picture is embedded as a base64 data URI and the CSS and JavaScript are inline, so the page opens
from ``file://`` with no network access. Nothing is recomputed: the page only reads what the pipeline wrote.
"""

import base64
import json
import math
import mimetypes
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import jinja2

from driftlens.artifacts import (METRIC_COLUMNS, read_change_table, read_job_times, read_json, read_metrics,
                                 read_representation, read_screen_table)
from driftlens.errors import ConfigError, MissingFileError
from driftlens.features.latents import CLASSES as FEATURE_CLASSES, counts_text
from driftlens.io import atomic_path

FIGURES = ("before_after", "change", "training", "depth")
"""Experiment-level pictures the page shows (``before_after.png``, ``change.png``, ``training.png``, ``depth.png``);
all but :data:`OPTIONAL_FIGURES` always."""

OPTIONAL_FIGURES = ("training",)
"""Pictures an experiment may lack: a run trained elsewhere whose probe images have no labels has no curves."""

ATTRIBUTION = {
    "merged": "Where the network looks on the probe images, epoch by epoch (rows), for the first attribution method. "
              "How far the maps moved is the last panel of the change figure above (attribution/drift.png is the "
              "same plot on its own, not repeated here).",
}
"""The attribution pictures (``attribution/merged.png``) with their captions; shown when the report is given
them, which the workflow does when the experiment has attribution switched on."""

PACKAGES = ("torch", "torchvision", "driftlens", "snakemake", "numpy", "scikit-image")
"""Distributions whose installed versions the page lists, after Python's."""


@dataclass(frozen=True)
class ReportFiles:
    """Every file the report page shows or reads, by what it is (the workflow's report rule names each one).

    Attributes:
        frames (dict[str, list]): Per layer, its render picture of every shown epoch, in epoch order.
        merged (dict[str, path]): Per layer, its merged grid (``merged.png``).
        exemplars (dict[str, path]): Per layer, its natural exemplars (``exemplars.png``).
        change (dict[str, path]): Per layer, its change table (``change.csv``).
        figures (dict[str, path]): The pictures of :data:`FIGURES`, by name.
        metrics (list): The metrics file of every shown epoch, in epoch order.
        config (path): The experiment's ``config.json``.
        attribution (dict[str, path]): The pictures of :data:`ATTRIBUTION`, by name; empty when the
            experiment has attribution switched off. Default: empty
        benchmarks (list): Snakemake's benchmark records of the experiment's jobs, for the pipeline's
            wall time; none leaves it out. Default: none
        screens (dict[str, path]): Per screened layer, its ``screen.csv`` (the atlas; the headline reads it).
            Default: none
        volcanoes (dict[str, path]): Per screened layer, its ``volcano.png``. Default: none
        representation (list): The representation files of every epoch (weight change: which screened layers
            never trained). Default: none
        features (dict[str, path]): Per layer, its feature diff's ``features.json``. Default: none
        feature_figures (dict[str, path]): Per layer, its ``features.png``. Default: none

    Example:
        >>> files = ReportFiles(frames={"conv2": ["e0.png"]}, merged={"conv2": "m.png"}, exemplars={"conv2": "x.png"},
        ...                     change={"conv2": "c.csv"}, figures={}, metrics=["e0.json"], config="config.json")
        >>> len(files.paths())
        6
    """

    frames: dict
    merged: dict
    exemplars: dict
    change: dict
    figures: dict
    metrics: list
    config: object
    attribution: dict = field(default_factory=dict)
    benchmarks: list = field(default_factory=list)
    screens: dict = field(default_factory=dict)
    volcanoes: dict = field(default_factory=dict)
    representation: list = field(default_factory=list)
    features: dict = field(default_factory=dict)
    feature_figures: dict = field(default_factory=dict)

    def paths(self) -> list[Path]:
        """Every file, pictures and tables first, in a fixed order."""
        per_layer = [path for layer in self.frames for path in
                     [*self.frames[layer], self.merged[layer], self.exemplars[layer], self.change[layer]]]
        return [Path(path) for path in [*per_layer, *self.screens.values(), *self.volcanoes.values(),
                                        *self.features.values(), *self.feature_figures.values(),
                                        *self.figures.values(), *self.attribution.values(), *self.metrics,
                                        *self.representation, self.config, *self.benchmarks]]


def build_report(title: str, layers, epochs, files: ReportFiles) -> str:
    """The report page of one experiment as a self-contained HTML string, from exactly the files it is given.

    Args:
        title (str): The page's title, e.g. the experiment's name.
        layers (list[str]): Layers to show, in this order.
        epochs (list[int]): Epochs to show, in increasing order; the first is the reference "epoch 0"
            of the change tables and the last gives the final accuracies.
        files (ReportFiles): What to show; its layers and epochs must be ``layers`` and ``epochs``.

    Returns:
        str: The HTML page.

    Raises:
        MissingFileError: A file is missing; the message names every missing file.
        ConfigError: ``layers`` or ``epochs`` is empty, ``epochs`` is not strictly increasing, or
            ``files`` does not hold one file of each kind per layer and epoch.
        ArtifactError: A metrics file or change table lacks a key or column, or a metrics file holds
            another epoch than its place says; the message names the file.

    Example:
        >>> html = build_report("demo", ["mixed4c"], [0, 1, 2], files)  # doctest: +SKIP
        >>> html.startswith("<!DOCTYPE html>")  # doctest: +SKIP
        True
    """
    layers, epochs = _checked_selection(layers, epochs, files)
    missing = [str(path) for path in files.paths() if not path.is_file()]
    if missing:
        raise MissingFileError(f"the report of {title} needs these missing files: {', '.join(missing)}")
    metrics = [read_metrics(path, epoch) for path, epoch in zip(files.metrics, epochs)]
    sections = [_layer_section(files, layer, epochs) for layer in layers]
    representation = read_representation(files.representation) if files.representation else None
    atlas = [atlas_summary(read_screen_table(path, layer), representation) for layer, path in files.screens.items()]
    features = [feature_summary(read_json(path), layer) for layer, path in files.features.items()]
    return _template().render(
        title=title,
        epochs=epochs,
        layers=sections,
        atlas=atlas,
        volcanoes={layer: data_uri(path) for layer, path in files.volcanoes.items()},
        headline=headline(sections, metrics, atlas, features),
        features=features,
        feature_classes=FEATURE_CLASSES,
        feature_figures={layer: data_uri(path) for layer, path in files.feature_figures.items()},
        figures={name: data_uri(path) for name, path in files.figures.items()},
        attribution={name: {"src": data_uri(path), "caption": ATTRIBUTION[name]}
                     for name, path in files.attribution.items()},
        summary=_summary_cards(metrics, read_job_times(files.benchmarks)),
        metric_columns=METRIC_COLUMNS,
        metrics=metrics,
        config=json.dumps(read_json(files.config), indent=2, sort_keys=True),
        versions=software_versions(),
    )


def write_report(title: str, layers, epochs, files: ReportFiles, path) -> Path:
    """Build the report page (see :func:`build_report`) and write it to ``path`` atomically.

    Args:
        title (str): The page's title.
        layers (list[str]): Layers to show.
        epochs (list[int]): Epochs to show, increasing.
        files (ReportFiles): What to show.
        path (str or Path): Where to write the page, e.g. ``results/demo/report.html``.

    Returns:
        Path: ``path``.

    Example:
        >>> write_report("demo", ["mixed4c"], [0, 1], files, "results/demo/report.html")  # doctest: +SKIP
        PosixPath('results/demo/report.html')
    """
    html = build_report(title, layers, epochs, files)
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return Path(path)


def data_uri(path) -> str:
    """A file's contents as a base64 ``data:`` URI, its media type guessed from the suffix.

    Args:
        path (str or Path): The file, e.g. a PNG.

    Returns:
        str: ``data:<type>;base64,<contents>``.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.png")
        >>> _ = open(path, "wb").write(b"x")
        >>> data_uri(path)
        'data:image/png;base64,eA=='
    """
    media_type = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
    return f"data:{media_type};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def software_versions() -> dict:
    """Installed versions of Python and of the packages in :data:`PACKAGES`.

    Returns:
        dict[str, str]: Name to version; ``"not installed"`` for a missing package.

    Example:
        >>> list(software_versions())[:3]
        ['python', 'torch', 'torchvision']
    """
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def change_summary(csv_path, epochs, layer: str | None = None) -> dict:
    """Per epoch, how many of a layer's channels changed beyond seed noise, and the metrics' means.

    Args:
        csv_path (str or Path): A layer's ``change.csv``.
        epochs (list[int]): Epochs to summarise; one the table lacks gets NaN.
        layer (str, optional): The layer the table must be of. Default: None (not checked)

    Returns:
        dict: ``by_epoch`` (epoch -> ``changed``, ``channels``, ``cross_activation``,
        ``cross_activation_noise``, ``exemplar_rho``, ``ssim_to_first``, ``ssim_noise``) and ``noise_low``
        (the lowest seed-noise cross-activation of any channel and epoch: the floor a change must go below).

    Example:
        >>> change_summary("results/demo/blocks.12/change.csv", [0, 3])["by_epoch"][3]["changed"]  # doctest: +SKIP
        1
    """
    table = read_change_table(csv_path, layer)
    grouped = table.groupby("epoch")
    means = grouped[["cross_activation", "cross_activation_noise", "exemplar_rho", "ssim_to_first",
                     "ssim_noise"]].mean()
    means["changed"] = grouped["changed"].sum().astype(int)
    means["channels"] = grouped["channel"].count()
    return {"by_epoch": means.reindex(epochs).to_dict(orient="index"),
            "noise_low": float(table["cross_activation_noise_low"].min())}


def atlas_summary(screen, representation=None) -> dict:
    """What the change atlas says of one layer at its last epoch: channels changed, effect sizes, and whether it trained.

    Args:
        screen (pandas.DataFrame): The layer's screen (``attrs["layer"]`` names it).
        representation (pandas.DataFrame, optional): ``epoch``, ``layer``, ``weight_change`` of every epoch; a
            layer whose weights never moved is marked ``frozen``. Default: None

    Returns:
        dict: ``name``, ``epoch``, ``changed``, ``channels``, ``median_shift``, ``q90_shift``, ``min_effect``,
        ``alpha``, ``frozen`` and ``by_epoch`` (epoch -> channels changed).

    Example:
        >>> import pandas as pd
        >>> screen = pd.DataFrame({"epoch": [0, 3], "channel": 0, "changed": [False, True], "rank_shift": [0, .2],
        ...                        "min_effect": .05, "alpha": .05}); screen.attrs["layer"] = "conv2"
        >>> summary = atlas_summary(screen); summary["changed"], summary["channels"], summary["frozen"]
        (1, 1, False)
    """
    last = int(screen.epoch.max())
    end = screen[screen.epoch == last]
    weights = None if representation is None else representation[representation.layer == screen.attrs["layer"]]
    frozen = weights is not None and len(weights) > 0 and bool((weights.weight_change == 0).all())
    return {"name": screen.attrs["layer"], "epoch": last, "changed": int(end.changed.sum()), "channels": len(end),
            "median_shift": float(end.rank_shift.median()), "q90_shift": float(end.rank_shift.quantile(0.9)),
            "min_effect": float(end.min_effect.iloc[0]), "alpha": float(end.alpha.iloc[0]), "frozen": frozen,
            "by_epoch": screen.groupby("epoch").changed.sum().astype(int).to_dict()}


def feature_summary(summary: dict, layer: str) -> dict:
    """One layer's feature-diff numbers for the report, from its ``features.json``.

    Example:
        >>> summary = {"epochs": [0, 3], "counts": {"new": 1, "lost": 0, "dead": 2}, "latents": 10,
        ...            "variance_explained": {"0": 0.8, "3": 0.9}, "pca_variance_explained": {"0": 0.5, "3": 0.6},
        ...            "dead_fraction": 0.2, "nulls": {"noise": {"exclusive_by_minimum_effect": 0, "latents": 9}}}
        >>> feature_summary(summary, "conv2")["active"]
        8
    """
    noise = (summary.get("nulls") or {}).get("noise") or {}
    return {"name": layer, "epochs": summary["epochs"], "counts": summary["counts"], "latents": summary["latents"],
            "active": summary["latents"] - summary["counts"].get("dead", 0),
            "explained": list(summary["variance_explained"].values()),
            "pca": list(summary["pca_variance_explained"].values()), "dead_fraction": summary["dead_fraction"],
            "null_exclusive": noise.get("exclusive_by_minimum_effect"), "null_latents": noise.get("latents")}


def headline(sections, metrics, atlas=(), features=()) -> str:
    """The report's opening paragraph, written from the numbers: accuracy, the atlas, then the rendered channels.

    Args:
        sections (list[dict]): Per rendered layer: ``name`` and its :func:`change_summary` ``by_epoch``.
        metrics (list[dict]): Per shown epoch, its metrics (first: the start model, last: the end).
        atlas (list[dict]): Per screened layer, its :func:`atlas_summary`. Default: none
        features (list[dict]): Per visualised layer, its :func:`feature_summary`. Default: none

    Returns:
        str: Plain text.

    Example:
        >>> sections = [{"name": "conv2", "noise_low": 0.9, "by_epoch": {0: {"changed": 0, "channels": 4},
        ...              2: {"changed": 1, "channels": 4, "cross_activation": 0.8}}}]
        >>> headline(sections, [{"epoch": 0, "val_acc": 0.1}, {"epoch": 2, "val_acc": 0.9}])[:58]
        'Validation accuracy went from 0.1 at epoch 0 to 0.9 at epo'
    """
    last = metrics[-1]
    measured = [row for row in metrics if row["val_acc"] is not None]  # a run trained elsewhere may have none
    parts = [f"Validation accuracy went from {format_number(measured[0]['val_acc'])} at epoch {measured[0]['epoch']} "
             f"to {format_number(measured[-1]['val_acc'])} at epoch {measured[-1]['epoch']}."] if measured else []
    if atlas:
        layers = [f"{a['name']}{', frozen' if a['frozen'] else ''}: {a['changed']} of {a['channels']} channels changed "
                  f"by epoch {a['epoch']} (median rank shift {a['median_shift']:.3f}, 90th percentile "
                  f"{a['q90_shift']:.3f})" for a in atlas]
        parts.append("Change atlas (every channel, render-free): " + "; ".join(layers) + ".")
        parts.append(f"A channel counts as changed when its ranking of the held-out probe images moved by a rank "
                     f"shift √(1 − ρ) above {atlas[0]['min_effect']:g} (0: the same order, 1: an unrelated one) beyond "
                     f"its bootstrap noise, at a false-discovery rate of {atlas[0]['alpha']:g} over the layer's "
                     f"channels, or when it went silent or came alive.")
    if features:
        layers = [f"{f['name']}: {counts_text(f['counts'])} of {f['active']} active latents (epochs "
                  f"{', '.join(map(str, f['epochs']))})" for f in features]
        parts.append("Feature diff (a crosscoder over the checkpoints): " + "; ".join(layers) + ".")
    for section in sections:
        end = section["by_epoch"][last["epoch"]]
        parts.append(f"Rendered channels of {section['name']}: {end['changed']} of {end['channels']} changed by epoch "
                     f"{last['epoch']} (screen or render verdict; mean cross-activation "
                     f"{format_number(end['cross_activation'])}, seed noise down to {format_number(section['noise_low'])}).")
    return " ".join(parts)


def format_number(value) -> str:
    """How the page writes a table value: 4 significant digits, and a dash for a missing one.

    Args:
        value: A number, a string, or None/NaN for "not applicable".

    Returns:
        str: The text of the table cell.

    Example:
        >>> format_number(0.123456), format_number(None), format_number(3), format_number(float("nan"))
        ('0.1235', '—', '3', '—')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _checked_selection(layers, epochs, files: ReportFiles):
    layers, epochs = list(layers), [int(epoch) for epoch in epochs]
    if not layers:
        raise ConfigError("the report needs at least one layer")
    if not epochs:
        raise ConfigError("the report needs at least one epoch")
    if any(later <= earlier for earlier, later in zip(epochs, epochs[1:])):
        raise ConfigError(f"the report's epochs must be strictly increasing, got {epochs}")
    per_layer = {"frames": files.frames, "merged grids": files.merged, "exemplar figures": files.exemplars,
                 "change tables": files.change}
    for what, given in per_layer.items():
        if list(given) != layers:
            raise ConfigError(f"the report shows layers {', '.join(layers)} but has {what} for "
                              f"{', '.join(given) or 'none'}")
    for layer, frames in files.frames.items():
        if len(frames) != len(epochs):
            raise ConfigError(f"the report shows {len(epochs)} epochs but has {len(frames)} frames of {layer}")
    if len(files.metrics) != len(epochs):
        raise ConfigError(f"the report shows {len(epochs)} epochs but has {len(files.metrics)} metrics files")
    unknown = (set(files.figures) - set(FIGURES)) | (set(files.attribution) - set(ATTRIBUTION))
    if set(FIGURES) - set(OPTIONAL_FIGURES) - set(files.figures) or unknown:
        raise ConfigError(f"the report's figures are {', '.join(FIGURES)} (and attribution: "
                          f"{', '.join(ATTRIBUTION)}), got {', '.join([*files.figures, *files.attribution])}")
    return layers, epochs


def _layer_section(files: ReportFiles, layer: str, epochs) -> dict:
    summary = change_summary(files.change[layer], epochs, layer)
    return {
        "name": layer,
        "frames": [{"epoch": epoch, "src": data_uri(path)} for epoch, path in zip(epochs, files.frames[layer])],
        "merged": data_uri(files.merged[layer]),
        "exemplars": data_uri(files.exemplars[layer]),
        "by_epoch": summary["by_epoch"],
        "noise_low": summary["noise_low"],
    }


def _summary_cards(metrics, jobs) -> list:
    first, last = metrics[0], metrics[-1]
    cards = [
        {"name": f"validation accuracy, epoch {last['epoch']}", "value": format_number(last["val_acc"])},
        {"name": f"test accuracy, epoch {last['epoch']}", "value": format_number(last["test_acc"])},
        {"name": f"validation accuracy, epoch {first['epoch']}", "value": format_number(first["val_acc"])},
    ]
    if len(jobs):
        cards.append({"name": f"pipeline wall time, first of {len(jobs)} jobs' start to last one's end (min)",
                      "value": format_number((jobs["end"].max() - jobs["start"].min()) / 60)})
    return cards


def _template() -> jinja2.Template:
    environment = jinja2.Environment(loader=jinja2.PackageLoader("driftlens", "templates"), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    environment.filters["num"] = format_number
    return environment.get_template("report.html")
