"""Reading the pipeline's artifacts by their names (see DESIGN.md): epochs, rendered rows, probe sets.

Every reader checks what it reads and names the file in its error.
"""

import json
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from driftlens.errors import ArtifactError, MissingFileError

_EPOCH_FILE = re.compile(r"(?:epoch|noise)_(\d+)")


def epoch_of(path) -> int:
    """The epoch number in a file name such as ``epoch_012.npz``, ``noise_000.npz`` or ``epoch_003.pt``.

    Raises:
        ArtifactError: The name is not of that form.

    Example:
        >>> epoch_of("results/demo/blocks.12/noise_012.npz")
        12
    """
    match = _EPOCH_FILE.fullmatch(Path(path).stem)
    if match is None:
        raise ArtifactError(f"cannot read an epoch number from {path}: expected a name like epoch_012.npz")
    return int(match.group(1))


@dataclass
class RenderedRow:
    """One layer's channel visualisations at one epoch (what ``driftlens render --raw`` writes)."""

    images: np.ndarray  # (channels, H, W, 3) float32 in [0, 1]
    channels: np.ndarray  # (channels,) int
    layer: str
    epoch: int


def read_row(path) -> RenderedRow:
    """Read ``results/{exp}/{layer}/epoch_NNN.npz`` (or ``noise_NNN.npz``).

    Raises:
        MissingFileError: No such file.
        ArtifactError: A missing array or one of the wrong shape.

    Example:
        >>> row = read_row("results/demo/blocks.12/epoch_003.npz")  # doctest: +SKIP
        >>> row.images.shape  # doctest: +SKIP
        (4, 64, 64, 3)
    """
    images, channels, layers = read_arrays(path, "images", "channels", "layers")
    if images.ndim != 5 or images.shape[0] != 1 or images.shape[-1] != 3 or images.shape[1] != len(channels):
        raise ArtifactError(f"{path}: expected images of shape (1, C, H, W, 3) with C = {len(channels)} channels, "
                         f"got {images.shape}")
    return RenderedRow(images[0].astype(np.float32), channels, str(layers[0]), epoch_of(path))


def read_probe(path, count=None) -> tuple[np.ndarray, np.ndarray]:
    """Read a probe set (``results/{exp}/probe.npz``): images ``(n, 3, S, S)`` in [0, 1] and labels.

    Args:
        path (str or Path): The ``.npz`` written by ``driftlens probe``.
        count (int, optional): Keep only the first ``count`` images. Default: all

    Raises:
        MissingFileError: No such file.
        ArtifactError: A missing array or one of the wrong shape.

    Example:
        >>> images, labels = read_probe("results/demo/probe.npz")  # doctest: +SKIP
    """
    images, labels = read_arrays(path, "images", "labels")
    images, labels = images[:count], labels[:count]
    if images.ndim != 4 or images.shape[1] != 3 or len(labels) != len(images):
        raise ArtifactError(f"{path}: expected images (n, 3, S, S) and n labels, got shapes {images.shape} "
                         f"and {labels.shape}")
    return images.astype(np.float32), labels


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


def read_table(path, columns, kind: str):
    """Read a CSV artifact, checking that it has ``columns``.

    Args:
        path (str or Path): The CSV.
        columns (list[str]): Columns it must have.
        kind (str): What the table is, for the error, e.g. "a similarity table".

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
    table = pd.read_csv(path)
    missing = [column for column in columns if column not in table]
    if missing:
        raise ArtifactError(f"{path} is not {kind}: no column {', '.join(missing)}")
    return table


DRIFT_COLUMNS = ["epoch", "method", "image", "spearman"]
"""The columns of ``attribution/drift.csv`` (``driftlens attribution-drift``)."""


def read_drift_table(path):
    """Read an attribution drift table, checking its columns (see :func:`read_table`).

    Example:
        >>> table = read_drift_table("results/demo/attribution/drift.csv")  # doctest: +SKIP
    """
    return read_table(path, DRIFT_COLUMNS, "an attribution drift table")
