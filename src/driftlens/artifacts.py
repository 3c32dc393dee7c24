"""The pipeline's artifacts: one writer and one reader per kind, and the column lists of its tables.

Array artifacts (render rows, probe responses, attribution maps, stored renders) carry their identifying
metadata (kind, epoch, layer, channels, seeds, settings) inside the file, and readers check it instead of trusting the
file's name; checkpoints are owned by :mod:`driftlens.checkpoint`. Every reader checks what it reads and
names the file in its error.
"""

import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from driftlens.errors import ArtifactError, MissingFileError
from driftlens.io import atomic_path, save_json, save_npz

META_KEY = "artifact"
"""The array of every ``.npz`` artifact that holds its metadata as JSON: ``kind`` plus what identifies it."""


def write_artifact(path, kind: str, meta: dict, **arrays) -> None:
    """Write an ``.npz`` artifact with its identifying metadata inside, atomically.

    Args:
        path (str or Path): The file.
        kind (str): What the file is, e.g. ``"render row"``; readers check it.
        meta (dict): JSON-serialisable metadata (experiment, epoch, layer, model, ...).
        **arrays (np.ndarray): The data.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.npz")
        >>> write_artifact(path, "example", {"epoch": 3}, x=np.ones(2))
        >>> read_artifact(path, "example", epoch=3)[0]["epoch"]
        3
    """
    save_npz(path, **{META_KEY: np.array(json.dumps({"kind": kind, **meta}, sort_keys=True))}, **arrays)


def read_artifact(path, kind: str, only=None, **expected) -> tuple[dict, dict]:
    """Read an ``.npz`` artifact written by :func:`write_artifact`, checking its kind and metadata.

    Args:
        path (str or Path): The file.
        kind (str): The kind it must be.
        only (callable, optional): Read only the arrays whose name it accepts. Default: every array
        **expected: Metadata values it must have (``None`` values are not checked).

    Returns:
        tuple[dict, dict]: The metadata and the arrays.

    Raises:
        MissingFileError: No such file.
        ArtifactError: Truncated, not an artifact, another kind, or metadata that differs from ``expected``.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.npz")
        >>> write_artifact(path, "example", {"layer": "conv2"}, x=np.ones(2))
        >>> read_artifact(path, "render row")
        Traceback (most recent call last):
        ...
        driftlens.errors.ArtifactError: ... is not a render row: it holds example
    """
    if not Path(path).is_file():
        raise MissingFileError(f"{path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files if key == META_KEY or only is None or only(key)}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise ArtifactError(f"{path} is truncated or not an .npz file ({err})") from err
    if META_KEY not in arrays:
        raise ArtifactError(f"{path} is not a driftlens artifact (it has no {META_KEY!r} metadata); expected a {kind}")
    meta = json.loads(str(arrays.pop(META_KEY)))
    if meta.get("kind") != kind:
        raise ArtifactError(f"{path} is not a {kind}: it holds {meta.get('kind')}")
    wrong = {key: value for key, value in expected.items() if value is not None and meta.get(key) != value}
    if wrong:
        found = ", ".join(f"{key} {meta.get(key)!r} (expected {value!r})" for key, value in wrong.items())
        raise ArtifactError(f"{path} is the {kind} of another {', '.join(wrong)}: {found}")
    return meta, arrays


@dataclass
class RenderedRow:
    """One layer's channel visualisations at one checkpoint, for every seed (what ``render-checkpoint`` writes).

    Attributes:
        images (np.ndarray): ``(seeds, channels, H, W, 3)`` float32 in [0, 1].
        channels (list[int]): The channels, in column order.
        seeds (list[int]): The image seeds, in row order.
        layer (str): Layer name.
        epoch (int): The checkpoint's epoch.
        settings (dict): How it was rendered (method, steps, size, transform seed, model).
    """

    images: np.ndarray
    channels: list
    seeds: list
    layer: str
    epoch: int
    settings: dict = field(default_factory=dict)

    @property
    def first_seed(self) -> np.ndarray:
        """``(channels, H, W, 3)``: the images of the first seed (the one shown in the grids)."""
        return self.images[0]


RENDER_ROW = "render row"


def write_row(path, row: RenderedRow) -> None:
    """Write a :class:`RenderedRow` with its metadata inside.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "epoch_001.npz")
        >>> write_row(path, RenderedRow(np.zeros((2, 1, 4, 4, 3)), [5], [0, 1], "conv2", 1))
        >>> read_row(path, layer="conv2").seeds
        [0, 1]
    """
    meta = {"layer": row.layer, "epoch": row.epoch, "channels": list(row.channels), "seeds": list(row.seeds),
            "settings": row.settings}
    write_artifact(path, RENDER_ROW, meta, images=row.images.astype(np.float32))


def read_row(path, layer: str | None = None, epoch: int | None = None) -> RenderedRow:
    """Read a render row, checking its layer and epoch when given.

    Raises:
        MissingFileError: No such file.
        ArtifactError: Another kind of file, another layer or epoch, or images of the wrong shape.

    Example:
        >>> row = read_row("results/demo/blocks.12/epoch_003.npz", layer="blocks.12")  # doctest: +SKIP
        >>> row.images.shape  # doctest: +SKIP
        (3, 4, 128, 128, 3)
    """
    meta, arrays = read_artifact(path, RENDER_ROW, layer=layer, epoch=epoch)
    images = arrays["images"]
    expected = (len(meta["seeds"]), len(meta["channels"]))
    if images.ndim != 5 or images.shape[:2] != expected or images.shape[-1] != 3:
        raise ArtifactError(f"{path}: expected images of shape (seeds, channels, H, W, 3) = {expected} + ..., "
                            f"got {images.shape}")
    return RenderedRow(images, meta["channels"], meta["seeds"], meta["layer"], meta["epoch"], meta["settings"])


def write_channels(path, channels) -> None:
    """Write a layer's selected channels (``channels.txt``: ``0,1,2``, what ``select-channels`` writes) atomically.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "channels.txt")
        >>> write_channels(path, [3, 1]); read_channels(path)
        [3, 1]
    """
    with atomic_path(path) as tmp:
        tmp.write_text(",".join(str(int(channel)) for channel in channels) + "\n")


def read_channels(path) -> list[int]:
    """Read a ``channels.txt`` written by :func:`write_channels`.

    Raises:
        MissingFileError: No such file.
        ArtifactError: Not a comma-separated list of channel indices (the message names the file).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "channels.txt"); _ = open(path, "w").write("{}")
        >>> read_channels(path)
        Traceback (most recent call last):
        ...
        driftlens.errors.ArtifactError: ... is not a channel list like 0,1,2: '{}'
    """
    if not Path(path).is_file():
        raise MissingFileError(f"{path} does not exist")
    text = Path(path).read_text().strip()
    try:
        channels = [int(token) for token in text.split(",")]
    except ValueError:
        channels = []
    if not channels or min(channels) < 0:
        raise ArtifactError(f"{path} is not a channel list like 0,1,2: {text!r}")
    return channels


PROBE_SET = "probe set"


def write_probe(path, images, labels, classes, source: dict | None = None, files=None) -> None:
    """Write a probe set (``results/{exp}/probe.npz``, what ``driftlens probe`` writes) atomically.

    Args:
        path (str or Path): The ``.npz``.
        images (np.ndarray): ``(n, 3, S, S)`` float in [0, 1].
        labels (np.ndarray): ``(n,)`` class indices.
        classes (list[str]): The data set's class names; labels index into them.
        source (dict, optional): Where the images come from (splits file, split, size). Default: None
        files (list[str], optional): Each image's file, relative to the data set's or probe folder. Default: None

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "probe.npz")
        >>> write_probe(path, np.zeros((2, 3, 8, 8), np.float32), np.array([1, 0]), ["daisy", "tulip"])
        >>> read_probe(path)[1].tolist(), read_probe_classes(path)
        ([1, 0], ['daisy', 'tulip'])
    """
    images, labels = np.asarray(images, np.float32), np.asarray(labels)
    if images.ndim != 4 or images.shape[1] != 3 or labels.shape != (len(images),):
        raise ArtifactError(f"a probe set needs images (n, 3, S, S) and n labels, got {images.shape} and {labels.shape}")
    if files is not None and len(files) != len(images):
        raise ArtifactError(f"a probe set needs one file name per image, got {len(files)} for {len(images)} images")
    write_artifact(path, PROBE_SET, {"classes": [str(name) for name in classes], "source": source or {},
                                     "files": None if files is None else [str(name) for name in files]},
                   images=images, labels=labels)


def read_probe(path, count=None) -> tuple[np.ndarray, np.ndarray]:
    """Read a probe set: images ``(n, 3, S, S)`` in [0, 1] and labels.

    Args:
        path (str or Path): The ``.npz`` written by :func:`write_probe`.
        count (int, optional): Keep only the first ``count`` images. Default: all

    Raises:
        MissingFileError: No such file.
        ArtifactError: Not a probe set (the message names the file and what it is).

    Example:
        >>> images, labels = read_probe("results/demo/probe.npz")  # doctest: +SKIP
    """
    _, arrays = read_artifact(path, PROBE_SET)
    return arrays["images"][:count], arrays["labels"][:count]


def read_probe_classes(path) -> list[str]:
    """The class names of a probe set; its labels index into them.

    Example:
        >>> read_probe_classes("results/demo/probe.npz")  # doctest: +SKIP
        ['banded', 'braided', ...]
    """
    return read_artifact(path, PROBE_SET)[0]["classes"]


def read_probe_files(path) -> list[str]:
    """Each probe image's file, relative to its data set's or probe folder; ``image_N`` where the set has no names.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "probe.npz")
        >>> write_probe(path, np.zeros((1, 3, 8, 8), np.float32), np.array([0]), ["a"], files=["a/1.jpg"])
        >>> read_probe_files(path)
        ['a/1.jpg']
    """
    meta, arrays = read_artifact(path, PROBE_SET)
    return meta.get("files") or [f"image_{i}" for i in range(len(arrays["labels"]))]


def read_arrays(path, *keys) -> list[np.ndarray]:
    """The named arrays of an ``.npz`` file.

    Raises:
        MissingFileError: No such file.
        ArtifactError: The file is truncated or not an ``.npz``, or a key is missing (the message
            lists what the file has).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.npz"); np.savez(path, x=np.ones(2))
        >>> read_arrays(path, "x")[0].tolist()
        [1.0, 1.0]
    """
    if not Path(path).is_file():
        raise MissingFileError(f"{path} does not exist")
    try:
        with np.load(path) as arrays:
            missing = [key for key in keys if key not in arrays]
            if missing:
                raise ArtifactError(f"{path} has no {', '.join(missing)} array (it has: {', '.join(arrays.files)})")
            return [arrays[key] for key in keys]
    except ArtifactError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise ArtifactError(f"{path} is truncated or not an .npz file ({err})") from err


def read_json(path):
    """A JSON artifact (metrics, representation change), parsed.

    Raises:
        MissingFileError: No such file.
        ArtifactError: Not valid JSON (the message names the file).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "m.json"); _ = open(path, "w").write('{"epoch": 3}')
        >>> read_json(path)["epoch"]
        3
    """
    if not Path(path).is_file():
        raise MissingFileError(f"{path} does not exist")
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ArtifactError(f"{path} is not valid JSON ({err})") from err


METRIC_COLUMNS = ("epoch", "stage", "train_loss", "train_acc", "val_loss", "val_acc", "test_acc",
                  "seconds", "images_per_s", "lr")
"""The keys of a metrics file (``metrics/epoch_NNN.json``, one per checkpoint), in the order tables show them;
``train_*``, ``stage``, ``lr`` and ``images_per_s`` are null at epoch 0 (the start model is not trained)."""


def write_metrics(path, metrics: dict) -> None:
    """Write one checkpoint's metrics (the keys of :data:`METRIC_COLUMNS`, no others) atomically.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "epoch_001.json")
        >>> write_metrics(path, {key: 1 for key in METRIC_COLUMNS})
        >>> read_metrics(path, epoch=1)["val_acc"]
        1
    """
    if set(metrics) != set(METRIC_COLUMNS):
        raise ArtifactError(f"metrics for {path} must have exactly the keys {', '.join(METRIC_COLUMNS)}")
    save_json(metrics, path)


def read_metrics(path, epoch: int | None = None) -> dict:
    """Read one checkpoint's metrics, checking its keys and, when given, its epoch.

    Raises:
        MissingFileError: No such file.
        ArtifactError: Not JSON, a key of :data:`METRIC_COLUMNS` missing, or another epoch's metrics.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "epoch_002.json")
        >>> write_metrics(path, {key: 1 for key in METRIC_COLUMNS})
        >>> read_metrics(path, epoch=2)
        Traceback (most recent call last):
        ...
        driftlens.errors.ArtifactError: ... holds the metrics of epoch 1, not of epoch 2
    """
    metrics = read_json(path)
    absent = [key for key in METRIC_COLUMNS if not isinstance(metrics, dict) or key not in metrics]
    if absent:
        raise ArtifactError(f"{path} is not a metrics file: it lacks the key(s) {', '.join(absent)}")
    if epoch is not None and metrics["epoch"] != epoch:
        raise ArtifactError(f"{path} holds the metrics of epoch {metrics['epoch']}, not of epoch {epoch}")
    return metrics


def read_metrics_table(paths):
    """Several checkpoints' metrics (see :func:`read_metrics`) as one table, sorted by epoch.

    Example:
        >>> read_metrics_table(["results/demo/metrics/epoch_000.json"]).epoch.tolist()  # doctest: +SKIP
        [0]
    """
    import pandas as pd

    return pd.DataFrame([read_metrics(path) for path in paths]).sort_values("epoch", ignore_index=True)


def read_job_times(paths):
    """Snakemake's benchmark records (one ``.tsv`` per job, its ``benchmark:`` file) as one table.

    A record is written when its job ends, so a job's end is the file's modification time and its
    start that minus the job's wall seconds.

    Returns:
        pandas.DataFrame: Per record: ``path``, ``wall_s``, ``cpu_s``, ``start`` and ``end`` (POSIX seconds).

    Raises:
        ArtifactError: A file is not a Snakemake benchmark record (no ``s`` or ``cpu_time`` column).

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "train.tsv")
        >>> _ = open(path, "w").write("s\\th:m:s\\tcpu_time\\n4.5\\t0:00:04\\t3.0\\n")
        >>> read_job_times([path])[["wall_s", "cpu_s"]].values.tolist()
        [[4.5, 3.0]]
    """
    import pandas as pd

    rows = []
    for path in map(Path, paths):
        record = read_table(path, ["s", "cpu_time"], "a Snakemake benchmark record", sep="\t").iloc[-1]
        end = path.stat().st_mtime
        rows.append({"path": str(path), "wall_s": float(record["s"]), "cpu_s": float(record["cpu_time"]),
                     "start": end - float(record["s"]), "end": end})
    return pd.DataFrame(rows, columns=["path", "wall_s", "cpu_s", "start", "end"])


def read_table(path, columns, kind: str, sep: str = ","):
    """Read a CSV artifact, checking that it has ``columns``.

    Args:
        path (str or Path): The CSV.
        columns (list[str]): Columns it must have.
        kind (str): What the table is, for the error, e.g. "a similarity table".
        sep (str, optional): The column separator. Default: ","

    Returns:
        pandas.DataFrame: The table.

    Raises:
        MissingFileError: No such file.
        ArtifactError: A column is missing; the message names the file and the column.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
        >>> _ = open(path, "w").write("epoch,score\\n0,1.5\\n")
        >>> read_table(path, ["epoch", "score"], "a score table").score.tolist()
        [1.5]
    """
    import pandas as pd

    if not Path(path).is_file():
        raise MissingFileError(f"{path} does not exist")
    table = pd.read_csv(path, sep=sep)
    missing = [column for column in columns if column not in table]
    if missing:
        raise ArtifactError(f"{path} is not {kind}: no column {', '.join(missing)}")
    return table


REPRESENTATION_COLUMNS = ["epoch", "layer", "cka", "weight_change", "estimator"]
"""The columns of :func:`read_representation`'s table: per checkpoint and layer, linear CKA to epoch 0 on the
probe images (NaN where a layer is constant on them), the relative weight change, and the CKA estimator
(``debiased`` or ``biased``, :func:`driftlens.change.gram_cka`): one for the whole table."""

LEGACY_CKA_ESTIMATOR = "biased"
"""The CKA estimator of a representation file without an ``estimator`` field: written before it was recorded, when
driftlens's CKA was the biased one."""


def write_representation(path, epoch: int, change: dict) -> None:
    """Write one checkpoint's representation change (``representation/epoch_NNN.json``) atomically.

    Args:
        path (str or Path): The JSON.
        epoch (int): The checkpoint's epoch.
        change (dict): ``{"cka": {layer: float}, "weight_change": {layer: float}, "estimator": str}``
            (:func:`driftlens.change.representation_change`); a NaN CKA is written as null.

    Raises:
        ValueError: ``change`` does not say which CKA estimator measured it.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "epoch_001.json")
        >>> write_representation(path, 1, {"cka": {"conv2": float("nan")}, "weight_change": {"conv2": 0.5},
        ...                                "estimator": "debiased"})
        >>> read_representation([path]).values.tolist()
        [[1, 'conv2', nan, 0.5, 'debiased']]
    """
    if not isinstance(change.get("estimator"), str):
        raise ValueError(f"the representation change for {path} does not say which CKA estimator measured it")
    cka = {layer: None if np.isnan(value) else float(value) for layer, value in change["cka"].items()}
    save_json({"epoch": epoch, "cka": cka, "weight_change": change["weight_change"], "estimator": change["estimator"]},
              path)


def read_representation(paths):
    """Read representation-change files into one long table (:data:`REPRESENTATION_COLUMNS`), sorted by epoch.

    Every file must have been measured with the same CKA estimator, so that a partial re-run never mixes two scales;
    a file without an ``estimator`` field predates it and counts as :data:`LEGACY_CKA_ESTIMATOR` (``biased``).

    Raises:
        MissingFileError: A missing file.
        ArtifactError: A file that is not JSON or lacks ``epoch``, ``cka`` or ``weight_change``, or files of different
            CKA estimators (the message names them).

    Example:
        >>> read_representation(["results/demo/representation/epoch_001.json"])  # doctest: +SKIP
    """
    import pandas as pd

    rows, files_of = [], {}
    for path in map(Path, paths):
        record = read_json(path)
        missing = [key for key in ("epoch", "cka", "weight_change") if not isinstance(record, dict) or key not in record]
        if missing:
            raise ArtifactError(f"{path} is not a representation-change file: it has no {', '.join(missing)}")
        estimator = record.get("estimator", LEGACY_CKA_ESTIMATOR)
        files_of.setdefault(estimator, []).append(str(path))
        rows += [{"epoch": record["epoch"], "layer": layer, "cka": np.nan if cka is None else cka,
                  "weight_change": record["weight_change"].get(layer), "estimator": estimator}
                 for layer, cka in record["cka"].items()]
    if len(files_of) > 1:
        groups = "; ".join(f"{estimator}: {', '.join(files)}" for estimator, files in sorted(files_of.items()))
        raise ArtifactError(f"representation files measured with different CKA estimators cannot be combined "
                            f"({groups}; a file without an estimator field is {LEGACY_CKA_ESTIMATOR}): delete the "
                            "older ones and measure them again (driftlens representation)")
    table = pd.DataFrame(rows, columns=REPRESENTATION_COLUMNS)
    return table.sort_values("epoch", ignore_index=True)


DRIFT_COLUMNS = ["epoch", "reference_epoch", "method", "image", "spearman", "constant_map"]
"""The columns of ``attribution/drift.csv`` (``driftlens attribution-drift``): ``spearman`` is NaN and
``constant_map`` true where the map of that epoch or of the reference is constant (e.g. all zero), which
leaves the correlation undefined; such rows are reported and left out of means."""


ATTRIBUTION_MAPS = "attribution maps"


def write_attribution_maps(path, epoch: int, maps: dict) -> None:
    """Write one checkpoint's attribution maps (method name to ``(n, S, S)``), with the epoch inside.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "epoch_002.npz")
        >>> write_attribution_maps(path, 2, {"gradcam": np.zeros((1, 4, 4))})
        >>> read_attribution_maps(path)[0], sorted(read_attribution_maps(path)[1])
        (2, ['gradcam'])
    """
    write_artifact(path, ATTRIBUTION_MAPS, {"epoch": epoch, "methods": sorted(maps)}, **maps)


def read_attribution_maps(path, epoch: int | None = None) -> tuple[int, dict]:
    """Read attribution maps: ``(epoch, {method: (n, S, S) array})``, checking the epoch when given.

    Example:
        >>> epoch, maps = read_attribution_maps("results/demo/attribution/epoch_003.npz")  # doctest: +SKIP
    """
    meta, maps = read_artifact(path, ATTRIBUTION_MAPS, epoch=epoch)
    return meta["epoch"], maps


def write_drift_table(path, table) -> None:
    """Write an attribution drift table (:data:`DRIFT_COLUMNS`) atomically.

    Example:
        >>> import os, tempfile, pandas as pd
        >>> path = os.path.join(tempfile.mkdtemp(), "drift.csv")
        >>> write_drift_table(path, pd.DataFrame([[1, 0, "gradcam", 0, 0.5, False]], columns=DRIFT_COLUMNS))
        >>> read_drift_table(path).spearman.tolist()
        [0.5]
    """
    if list(table.columns) != DRIFT_COLUMNS:
        raise ArtifactError(f"a drift table for {path} needs exactly the columns {', '.join(DRIFT_COLUMNS)}")
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def read_drift_table(path):
    """Read an attribution drift table, checking its columns (see :func:`read_table`).

    Example:
        >>> table = read_drift_table("results/demo/attribution/drift.csv")  # doctest: +SKIP
    """
    return read_table(path, DRIFT_COLUMNS, "an attribution drift table")


CHANGE_COLUMNS = ["epoch", "channel", "cross_activation", "cross_activation_noise", "cross_activation_noise_low",
                  "exemplar_rho", "exemplar_jaccard", "ssim_to_first", "ssim_noise", "perceptual_to_first",
                  "perceptual_noise", "p_value", "q_value", "render_changed", "rank_shift", "screen_q_value",
                  "screen_changed", "changed", "evidence"]
"""The columns of a layer's change table (:func:`driftlens.change.change_table`): render evidence (``p_value`` and
``q_value`` are the render verdict's), the screen's effect size and verdict, and the combined ``changed`` with the
``evidence`` it rests on. Its file, ``{layer}/change.csv``, has the layer's name in a first column ``layer`` as well
(:func:`write_change_table`)."""


def write_change_table(path, table, layer: str, perceptual: str = "") -> None:
    """Write a layer's change table (:data:`CHANGE_COLUMNS`) atomically, with its layer and perceptual metric.

    The file has a leading ``layer`` column and a trailing ``perceptual_metric`` column (which distance
    the ``perceptual_*`` columns hold, e.g. ``lpips-alex``), so readers can check and name both.

    Example:
        >>> import os, tempfile, pandas as pd
        >>> path = os.path.join(tempfile.mkdtemp(), "change.csv")
        >>> write_change_table(path, pd.DataFrame([[0] * len(CHANGE_COLUMNS)], columns=CHANGE_COLUMNS), "conv2",
        ...                    "lpips-alex")
        >>> read_change_table(path).attrs
        {'layer': 'conv2', 'perceptual_metric': 'lpips-alex'}
        >>> read_change_table(path, layer="conv3")
        Traceback (most recent call last):
        ...
        driftlens.errors.ArtifactError: ... is the change table of layer conv2, not of conv3
    """
    if list(table.columns) != CHANGE_COLUMNS:
        raise ArtifactError(f"a change table for {path} needs exactly the columns {', '.join(CHANGE_COLUMNS)}")
    with atomic_path(path) as tmp:
        table.assign(layer=layer, perceptual_metric=perceptual)[["layer", *CHANGE_COLUMNS, "perceptual_metric"]].to_csv(
            tmp, index=False)


def read_change_table(path, layer: str | None = None):
    """Read a layer's change table (:data:`CHANGE_COLUMNS`), checking its columns and, when given, its layer.

    Returns:
        pandas.DataFrame: The :data:`CHANGE_COLUMNS`; ``attrs`` holds its ``layer`` and ``perceptual_metric``.

    Raises:
        MissingFileError: No such file.
        ArtifactError: A column is missing, or the table is another layer's.

    Example:
        >>> table = read_change_table("results/demo/blocks.12/change.csv", layer="blocks.12")  # doctest: +SKIP
    """
    raw, found = _read_layer_table(path, CHANGE_COLUMNS, "change table", layer)
    metric = raw["perceptual_metric"].dropna().astype(str) if "perceptual_metric" in raw else []
    table = raw[CHANGE_COLUMNS].copy()
    table.attrs.update({"layer": found, "perceptual_metric": metric.iloc[0] if len(metric) else None})
    return table


def _read_layer_table(path, columns, kind: str, layer: str | None):
    """A per-layer CSV with ``layer`` and ``columns``, and the layer it holds; refused when that is not ``layer``."""
    table = read_table(path, ["layer", *columns], f"a {kind}")
    found = sorted(set(table["layer"].astype(str)))
    if layer is not None and found != [layer]:
        raise ArtifactError(f"{path} is the {kind} of layer {', '.join(found)}, not of {layer}")
    return table, found[0] if found else layer


SCREEN_COLUMNS = ["epoch", "channel", "rank_shift", "rank_shift_se", "rho", "rho_se", "topk_jaccard", "topk_jaccard_se",
                  "exemplar_response", "exemplar_response_se", "activity_first", "activity", "state", "p_value",
                  "q_value", "changed", "min_effect", "alpha"]
"""The columns of a layer's screen (:func:`driftlens.change.screen.screen_table`), one row per epoch and channel;
its file, ``{layer}/screen.csv``, has the layer's name in a first column ``layer`` as well."""


def write_screen_table(path, table, layer: str) -> None:
    """Write a layer's screen (:data:`SCREEN_COLUMNS`) atomically, with the layer's name in a first column.

    Example:
        >>> import os, tempfile, pandas as pd
        >>> path = os.path.join(tempfile.mkdtemp(), "screen.csv")
        >>> write_screen_table(path, pd.DataFrame([[0] * len(SCREEN_COLUMNS)], columns=SCREEN_COLUMNS), "conv2")
        >>> read_screen_table(path, layer="conv2").attrs["layer"]
        'conv2'
    """
    if list(table.columns) != SCREEN_COLUMNS:
        raise ArtifactError(f"a screen table for {path} needs exactly the columns {', '.join(SCREEN_COLUMNS)}")
    with atomic_path(path) as tmp:
        table.assign(layer=layer)[["layer", *SCREEN_COLUMNS]].to_csv(tmp, index=False)


def read_screen_table(path, layer: str | None = None):
    """Read a layer's screen (:data:`SCREEN_COLUMNS`), checking its columns and, when given, its layer.

    Returns:
        pandas.DataFrame: The :data:`SCREEN_COLUMNS`; ``attrs["layer"]`` names its layer.

    Raises:
        MissingFileError: No such file.
        ArtifactError: A column is missing, or the table is another layer's.

    Example:
        >>> table = read_screen_table("results/demo/blocks.14/screen.csv", layer="blocks.14")  # doctest: +SKIP
    """
    raw, found = _read_layer_table(path, SCREEN_COLUMNS, "screen table", layer)
    table = raw[SCREEN_COLUMNS].astype({"changed": bool})
    table.attrs["layer"] = found
    return table


PROBE_RESPONSES = "probe responses"


def write_probe_responses(path, epoch: int, responses: dict, grams: dict) -> None:
    """Write one checkpoint's probe-set measurements of several layers: the screen's and CKA's input.

    Args:
        path (str or Path): The ``.npz`` file.
        epoch (int): The checkpoint's epoch.
        responses (dict[str, np.ndarray]): Layer to ``(N, C)`` responses of every channel (channel ``k`` in column ``k``).
        grams (dict[str, np.ndarray]): Layer to its ``(N, N)`` centered Gram matrix, same layers.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "probe_001.npz")
        >>> write_probe_responses(path, 1, {"conv2": np.zeros((4, 8))}, {"conv2": np.eye(4)})
        >>> epoch, responses, grams = read_probe_responses(path, epoch=1)
        >>> epoch, responses["conv2"].shape, grams["conv2"].shape
        (1, (4, 8), (4, 4))
    """
    if set(responses) != set(grams):
        raise ArtifactError(f"probe responses for {path} need a Gram matrix for each layer")
    arrays = {f"{kind}/{layer}": np.asarray(values[layer], np.float64)
              for kind, values in (("responses", responses), ("gram", grams)) for layer in responses}
    write_artifact(path, PROBE_RESPONSES, {"epoch": epoch, "layers": list(responses)}, **arrays)


def read_probe_responses(path, epoch: int | None = None, layers=None) -> tuple[int, dict, dict]:
    """Read probe responses: the epoch, ``{layer: (N, C) responses}`` and ``{layer: (N, N) Gram}``.

    Args:
        path (str or Path): The file.
        epoch (int, optional): The epoch it must hold. Default: any
        layers (list[str], optional): Only these layers (each must be there). Default: all it holds

    Raises:
        ArtifactError: Another kind of file, another epoch, or a layer it does not hold.

    Example:
        >>> epoch, responses, grams = read_probe_responses("results/demo/representation/probe_003.npz")  # doctest: +SKIP
    """
    meta, arrays = read_artifact(path, PROBE_RESPONSES, epoch=epoch)
    missing = [layer for layer in (layers or []) if layer not in meta["layers"]]
    if missing:
        raise ArtifactError(f"{path} holds no probe responses of {', '.join(missing)} (it has {', '.join(meta['layers'])})")
    chosen = layers or meta["layers"]
    return (meta["epoch"], {layer: arrays[f"responses/{layer}"] for layer in chosen},
            {layer: arrays[f"gram/{layer}"] for layer in chosen})


FEATURE_ACTIVATIONS = "feature activations"


def write_feature_activations(path, vectors: dict) -> None:
    """Write every layer's activation vectors over the feature checkpoints (``features/activations.npz``), as
    :func:`driftlens.features.series.collect_vectors` returns them.

    Args:
        path (str or Path): The file.
        vectors (dict): Layer to ``{"train": {epoch: (N, d)}, "probe": {epoch: (n, h, w, d)}, "noise": (N, d),
            "skipped": {epoch: the earlier epoch whose activations these equal}}``.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.npz")
        >>> write_feature_activations(path, {"c": {"train": {0: np.ones((2, 4))}, "probe": {0: np.ones((1, 2, 2, 4))},
        ...                                        "noise": np.ones((2, 4)), "skipped": {3: 0}}})
        >>> read_feature_activations(path, "c")["skipped"]
        {3: 0}
    """
    arrays = {f"{kind}/{layer}/{epoch}": np.asarray(values) for layer, found in vectors.items()
              for kind in ("train", "probe") for epoch, values in found[kind].items()}
    arrays.update({f"noise/{layer}": np.asarray(found["noise"]) for layer, found in vectors.items()})
    meta = {"layers": list(vectors), "epochs": {layer: sorted(found["train"]) for layer, found in vectors.items()},
            "skipped": {layer: {str(e): same for e, same in found["skipped"].items()} for layer, found in vectors.items()}}
    write_artifact(path, FEATURE_ACTIVATIONS, meta, **arrays)


def read_feature_activations(path, layer: str) -> dict:
    """One layer of a feature-activations file, as :func:`write_feature_activations` took it (only its arrays are read).

    Raises:
        ArtifactError: Another kind of file, an older driftlens's file of one checkpoint, or the layer is not in it.

    Example:
        >>> found = read_feature_activations("results/demo/features/activations.npz", "blocks.12")  # doctest: +SKIP
        >>> sorted(found["train"]), found["skipped"]  # doctest: +SKIP
        ([0, 3], {1: 0})
    """
    meta, arrays = read_artifact(path, FEATURE_ACTIVATIONS, only=lambda key: key.split("/")[1] == layer)
    if "epochs" not in meta:
        raise ArtifactError(f"{path} holds one checkpoint (an older driftlens wrote a file per checkpoint); write "
                            "every checkpoint into one file with `driftlens feature-activations --checkpoints ...`")
    if layer not in meta["layers"]:
        raise ArtifactError(f"{path} holds no activations of {layer} (it has {', '.join(meta['layers'])})")
    return {**{kind: {epoch: arrays[f"{kind}/{layer}/{epoch}"] for epoch in meta["epochs"][layer]}
               for kind in ("train", "probe")},
            "noise": arrays[f"noise/{layer}"], "skipped": {int(e): same for e, same in meta["skipped"][layer].items()}}


FEATURE_COLUMNS = ["latent", "class", "share", "home_epoch", "norm_first", "norm_last", "relative_norm", "norms",
                   "alive_epochs", "appears", "disappears", "cosine", "scaling_ratio", "frequency", "dead",
                   "top_channel", "top_channel_mass", "change_channel", "change_channel_share",
                   "change_channel_shift", "top_class", "class_means", "exemplars", "exemplar_cells",
                   "exemplar_pixels"]
"""The columns of a layer's feature diff (``{layer}/features.csv``, :func:`driftlens.features.feature_diff`), one
row per crosscoder latent, the classes in the order listed below, each changed class by its effect (the
one-sidedness of ``relative_norm``, the turn ``1 − cosine`` for rotated latents, ``change_channel_shift`` for rewired
ones), the others by ``share``:

- ``class``: new, lost, strengthened, weakened, rotated, rewired, transient, shared, rare or dead
  (:mod:`driftlens.features.latents`);
- ``share``: the latent's share of its home checkpoint's decoded activation (activation × decoder norm);
- ``home_epoch``: the epoch of its largest decoder norm; ``norm_first``, ``norm_last``: its decoder norms at the
  first and last checkpoint, ``norms`` at every one (``epoch:norm;...``); ``relative_norm``: ``½((n_last −
  n_first) / max + 1)``, 0 lost, 0.5 equal, 1 new;
- ``alive_epochs`` (``0;3``), ``appears``, ``disappears`` (empty while it lives at the last checkpoint);
- ``cosine``: of its decoder directions at the first and last checkpoint; ``scaling_ratio``: Latent Scaling, how
  much of its direction the checkpoints it does not live at carry (empty where it lives everywhere);
- ``frequency``: share of training positions where it is active; ``dead``: never active;
- ``top_channel``, ``top_channel_mass``: the channel with most of its home decoder's squared mass, and that share;
- ``change_channel``, ``change_channel_share``, ``change_channel_shift``: the channel that holds most of the change
  of its unit decoder direction from the first to the last checkpoint, that channel's share of the change's squared
  norm, and the channel's own change (what makes a latent rewired);
- ``top_class``, ``class_means``: the probe class it is most active on, and its mean activation per class;
- ``exemplars``: its top probe images at its home end (epoch 0 for a latent whose home is epoch 0, else the
  last), files relative to the probe folder, ``;``-separated; ``exemplar_cells`` (``row,column`` in the feature
  map) and ``exemplar_pixels`` (``y,x`` of the cell's centre in the probe image) where it fires in each."""


def write_features_table(path, table, layer: str) -> None:
    """Write a layer's feature diff (:data:`FEATURE_COLUMNS`) atomically, with the layer's name in a first column.

    Example:
        >>> import os, tempfile, pandas as pd
        >>> path = os.path.join(tempfile.mkdtemp(), "features.csv")
        >>> write_features_table(path, pd.DataFrame([[0] * len(FEATURE_COLUMNS)], columns=FEATURE_COLUMNS), "c")
        >>> read_features_table(path, layer="c").attrs["layer"]
        'c'
    """
    if sorted(table.columns) != sorted(FEATURE_COLUMNS):
        raise ArtifactError(f"a feature table for {path} needs exactly the columns {', '.join(FEATURE_COLUMNS)}")
    with atomic_path(path) as tmp:
        table.assign(layer=layer)[["layer", *FEATURE_COLUMNS]].to_csv(tmp, index=False)


def read_features_table(path, layer: str | None = None):
    """Read a layer's feature diff (:data:`FEATURE_COLUMNS`), checking its columns and, when given, its layer.

    Example:
        >>> table = read_features_table("results/demo/blocks.14/features.csv")  # doctest: +SKIP
    """
    raw, found = _read_layer_table(path, FEATURE_COLUMNS, "feature table", layer)
    table = raw[FEATURE_COLUMNS].astype({"dead": bool}).fillna({key: "" for key in (
        "top_class", "class_means", "exemplars", "exemplar_cells", "exemplar_pixels")})
    table.attrs["layer"] = found
    return table


CROSSCODER = "crosscoder"


def write_crosscoder(path, layer: str, epochs, state: dict, scales, exemplars: dict) -> None:
    """Write a layer's crosscoder: its weights, each checkpoint's activation scale, and exemplar positions.

    Args:
        path (str or Path): The ``.npz``.
        layer (str): The layer.
        epochs (list[int]): The checkpoints it reads, in order.
        state (dict[str, np.ndarray]): Its state dict (``encoder``, ``decoder``, biases, ``threshold``).
        scales (np.ndarray): ``(M,)`` the factor each checkpoint's activations were multiplied by.
        exemplars (dict[int, np.ndarray]): Epoch (first, last) to ``(L, E, 3)`` probe (image, row, column).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "c.npz")
        >>> write_crosscoder(path, "c", [0, 3], {"decoder": np.ones((2, 2, 4))}, np.ones(2),
        ...                  {0: np.zeros((2, 1, 3), int)})
        >>> read_crosscoder(path, layer="c")[0]["epochs"]
        [0, 3]
    """
    arrays = {**{f"state/{name}": np.asarray(value) for name, value in state.items()}, "scales": np.asarray(scales),
              **{f"exemplars/{epoch}": np.asarray(rows) for epoch, rows in exemplars.items()}}
    write_artifact(path, CROSSCODER, {"layer": layer, "epochs": list(epochs)}, **arrays)


def read_crosscoder(path, layer: str | None = None) -> tuple[dict, dict, np.ndarray, dict]:
    """Read a crosscoder file: ``(meta, state, scales, exemplars)``; ``meta`` has ``layer`` and ``epochs``.

    Example:
        >>> meta, state, scales, exemplars = read_crosscoder("results/demo/blocks.14/crosscoder.npz")  # doctest: +SKIP
    """
    meta, arrays = read_artifact(path, CROSSCODER, layer=layer)
    state = {key.split("/", 1)[1]: value for key, value in arrays.items() if key.startswith("state/")}
    exemplars = {int(key.split("/", 1)[1]): value for key, value in arrays.items() if key.startswith("exemplars/")}
    return meta, state, arrays["scales"], exemplars
