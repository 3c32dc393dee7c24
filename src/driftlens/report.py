"""The report page: one self-contained HTML file per experiment, built from its artifacts alone.

Every picture is embedded as a base64 data URI and the CSS and JavaScript are inline, so the page opens
from ``file://`` with no network access. Nothing is recomputed: the page only reads what the pipeline wrote.
"""

import base64
import json
import math
import mimetypes
import platform
from importlib import metadata
from pathlib import Path

import jinja2

from driftlens.artifacts import read_change_table, read_json
from driftlens.errors import ArtifactError, ConfigError, MissingFileError
from driftlens.io import atomic_path

FIGURES = ("before_after", "change", "training")
"""Experiment-level pictures the page always shows, as ``{exp}/{name}.png``."""

ATTRIBUTION = {
    "merged": "Where the network looks on the probe images, epoch by epoch (rows), for the first attribution method. "
              "How far the maps moved is the last panel of the change figure above (attribution/drift.png is the "
              "same plot on its own, not repeated here).",
}
"""The attribution pictures, as ``{exp}/attribution/{name}.png``, with their captions; shown when the
experiment has attribution switched on (never picked up from an earlier run's files)."""

METRIC_COLUMNS = ("epoch", "stage", "train_loss", "train_acc", "val_loss", "val_acc", "test_acc",
                  "seconds", "images_per_s", "lr")
"""Keys of ``metrics/epoch_NNN.json`` shown in the training table, in this order."""


PACKAGES = ("torch", "torchvision", "driftlens", "snakemake", "numpy", "scikit-image")
"""Distributions whose installed versions the page lists, after Python's."""


def report_inputs(exp_dir, layers, epochs, attribution: bool = False) -> list:
    """Every file the report of an experiment needs.

    Args:
        exp_dir (str or Path): The experiment's results folder, e.g. ``results/demo``.
        layers (list[str]): Layers that were visualised.
        epochs (list[int]): Epochs that were visualised.

    Returns:
        list[Path]: Per layer its epoch pictures, merged grid, exemplars and change table; then the
        experiment's figures, per-epoch metrics and ``config.json``.

    Example:
        >>> [p.as_posix() for p in report_inputs("results/demo", ["mixed4c"], [0])][:2]
        ['results/demo/mixed4c/epoch_000.png', 'results/demo/mixed4c/merged.png']
    """
    exp_dir = Path(exp_dir)
    paths = []
    for layer in layers:
        paths += [exp_dir / layer / _epoch_file(epoch, "png") for epoch in epochs]
        paths += [exp_dir / layer / name for name in ("merged.png", "exemplars.png", "change.csv")]
    paths += [exp_dir / f"{name}.png" for name in FIGURES]
    paths += [exp_dir / "metrics" / _epoch_file(epoch, "json") for epoch in epochs]
    paths += [exp_dir / "attribution" / f"{name}.png" for name in ATTRIBUTION] if attribution else []
    return paths + [exp_dir / "config.json"]


def build_report(exp_dir, layers, epochs, attribution: bool = False) -> str:
    """The report page of one experiment as a self-contained HTML string.

    Args:
        exp_dir (str or Path): The experiment's results folder; its name is the page's title.
        layers (list[str]): Layers to show, in this order.
        epochs (list[int]): Epochs to show, in increasing order; the first is the reference "epoch 0"
            of the change tables and the last gives the final accuracies.

    Returns:
        str: The HTML page.

    Raises:
        MissingFileError: A required artifact is missing; the message names every missing file.
        ConfigError: ``layers`` or ``epochs`` is empty, or ``epochs`` is not strictly increasing.
        ArtifactError: A metrics file or change table lacks a key or column; the message names both.

    Example:
        >>> html = build_report("results/demo", ["mixed4c"], [0, 1, 2])  # doctest: +SKIP
        >>> html.startswith("<!DOCTYPE html>")  # doctest: +SKIP
        True
    """
    exp_dir = Path(exp_dir)
    layers, epochs = _checked_selection(layers, epochs)
    missing = [str(path) for path in report_inputs(exp_dir, layers, epochs, attribution) if not path.is_file()]
    if missing:
        raise MissingFileError(f"the report of {exp_dir} needs these missing artifacts: {', '.join(missing)}")
    metrics = [_read_metrics(exp_dir / "metrics" / _epoch_file(epoch, "json")) for epoch in epochs]
    sections = [_layer_section(exp_dir / layer, layer, epochs) for layer in layers]
    return _template().render(
        title=exp_dir.name,
        epochs=epochs,
        layers=sections,
        headline=headline(sections, metrics),
        figures={name: data_uri(exp_dir / f"{name}.png") for name in FIGURES},
        attribution={name: {"src": data_uri(exp_dir / "attribution" / f"{name}.png"), "caption": caption}
                     for name, caption in ATTRIBUTION.items()} if attribution else {},
        summary=_summary_cards(metrics),
        metric_columns=METRIC_COLUMNS,
        metrics=metrics,
        config=json.dumps(read_json(exp_dir / "config.json"), indent=2, sort_keys=True),
        versions=software_versions(),
    )


def write_report(exp_dir, layers, epochs, path, attribution: bool = False) -> Path:
    """Build the report page (see :func:`build_report`) and write it to ``path`` atomically.

    Args:
        exp_dir (str or Path): The experiment's results folder.
        layers (list[str]): Layers to show.
        epochs (list[int]): Epochs to show, increasing.
        path (str or Path): Where to write the page, e.g. ``results/demo/report.html``.

    Returns:
        Path: ``path``.

    Example:
        >>> write_report("results/demo", ["mixed4c"], [0, 1], "results/demo/report.html")  # doctest: +SKIP
        PosixPath('results/demo/report.html')
    """
    html = build_report(exp_dir, layers, epochs, attribution)
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


def change_summary(csv_path, epochs) -> dict:
    """Per epoch, how many of a layer's channels changed beyond seed noise, and the metrics' means.

    Args:
        csv_path (str or Path): A layer's ``change.csv``.
        epochs (list[int]): Epochs to summarise; one the table lacks gets NaN.

    Returns:
        dict: ``by_epoch`` (epoch -> ``changed``, ``channels``, ``cross_activation``,
        ``cross_activation_noise``, ``exemplar_rho``, ``ssim_to_first``, ``ssim_noise``) and ``noise_low``
        (the lowest seed-noise cross-activation of any channel and epoch: the floor a change must go below).

    Example:
        >>> change_summary("results/demo/blocks.12/change.csv", [0, 3])["by_epoch"][3]["changed"]  # doctest: +SKIP
        1
    """
    table = read_change_table(csv_path)
    grouped = table.groupby("epoch")
    means = grouped[["cross_activation", "cross_activation_noise", "exemplar_rho", "ssim_to_first",
                     "ssim_noise"]].mean()
    means["changed"] = grouped["changed"].sum().astype(int)
    means["channels"] = grouped["channel"].count()
    return {"by_epoch": means.reindex(epochs).to_dict(orient="index"),
            "noise_low": float(table["cross_activation_noise_low"].min())}


def headline(sections, metrics) -> str:
    """The report's opening paragraph, written from the numbers: accuracy, channels changed, noise floor.

    Args:
        sections (list[dict]): Per layer: ``name`` and its :func:`change_summary` ``by_epoch`` and ``noise_low``.
        metrics (list[dict]): Per shown epoch, its metrics (first: the start model, last: the end).

    Returns:
        str: Plain text.

    Example:
        >>> sections = [{"name": "conv2", "noise_low": 0.9, "by_epoch": {0: {"changed": 0, "channels": 4},
        ...              2: {"changed": 1, "channels": 4, "cross_activation": 0.8}}}]
        >>> headline(sections, [{"epoch": 0, "val_acc": 0.1}, {"epoch": 2, "val_acc": 0.9}])[:58]
        'Validation accuracy went from 0.1 at epoch 0 to 0.9 at epo'
    """
    first, last = metrics[0], metrics[-1]
    parts = [f"Validation accuracy went from {format_number(first['val_acc'])} at epoch {first['epoch']} to "
             f"{format_number(last['val_acc'])} at epoch {last['epoch']}."]
    for section in sections:
        end = section["by_epoch"][last["epoch"]]
        parts.append(f"{section['name']}: {end['changed']} of {end['channels']} channels changed beyond seed noise "
                     f"by epoch {last['epoch']} (mean cross-activation {format_number(end['cross_activation'])}; "
                     f"seed noise reaches down to {format_number(section['noise_low'])}).")
    parts.append("A channel counts as changed when its units respond to their epoch-0 visualisations less than "
                 "seed noise explains (Mann-Whitney U, Benjamini-Hochberg q <= 0.05).")
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


def _checked_selection(layers, epochs):
    layers, epochs = list(layers), [int(epoch) for epoch in epochs]
    if not layers:
        raise ConfigError("the report needs at least one layer")
    if not epochs:
        raise ConfigError("the report needs at least one epoch")
    if any(later <= earlier for earlier, later in zip(epochs, epochs[1:])):
        raise ConfigError(f"the report's epochs must be strictly increasing, got {epochs}")
    return layers, epochs


def _epoch_file(epoch: int, suffix: str) -> str:
    return f"epoch_{epoch:03d}.{suffix}"


def _read_metrics(path: Path) -> dict:
    metrics = read_json(path)
    absent = [key for key in METRIC_COLUMNS if key not in metrics]
    if absent:
        raise ArtifactError(f"{path} lacks the key(s) {', '.join(absent)}")
    return metrics


def _layer_section(layer_dir: Path, layer: str, epochs) -> dict:
    summary = change_summary(layer_dir / "change.csv", epochs)
    return {
        "name": layer,
        "frames": [{"epoch": epoch, "src": data_uri(layer_dir / _epoch_file(epoch, "png"))} for epoch in epochs],
        "merged": data_uri(layer_dir / "merged.png"),
        "exemplars": data_uri(layer_dir / "exemplars.png"),
        "by_epoch": summary["by_epoch"],
        "noise_low": summary["noise_low"],
    }


def _summary_cards(metrics) -> list:
    first, last = metrics[0], metrics[-1]
    seconds = sum(row["seconds"] for row in metrics if row["seconds"] is not None)
    return [
        {"name": f"validation accuracy, epoch {last['epoch']}", "value": format_number(last["val_acc"])},
        {"name": f"test accuracy, epoch {last['epoch']}", "value": format_number(last["test_acc"])},
        {"name": f"validation accuracy, epoch {first['epoch']}", "value": format_number(first["val_acc"])},
        {"name": "training time, sum of epochs (s)", "value": format_number(float(seconds))},
    ]


def _template() -> jinja2.Template:
    environment = jinja2.Environment(loader=jinja2.PackageLoader("driftlens", "templates"), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    environment.filters["num"] = format_number
    return environment.get_template("report.html")
