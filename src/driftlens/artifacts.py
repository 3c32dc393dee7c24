"""Reading the pipeline's artifacts by their names (see DESIGN.md): epochs from file names, rendered rows."""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_EPOCH = re.compile(r"_(\d{3,})\.\w+$")


def epoch_of(path) -> int:
    """The epoch number in an artifact's file name (``epoch_007.npz`` -> 7).

    Raises:
        ValueError: The name has no ``_NNN`` epoch before its suffix.

    Example:
        >>> epoch_of("results/demo/blocks.12/noise_012.npz")
        12
    """
    match = _EPOCH.search(Path(path).name)
    if not match:
        raise ValueError(f"{path}: expected a file name like epoch_NNN.npz")
    return int(match.group(1))


@dataclass
class RenderedRow:
    """One rendered row of channel visualisations (what ``driftlens render --raw`` writes)."""

    images: np.ndarray  # (channels, H, W, 3) float in [0, 1]
    channels: list[int]
    layer: str
    epoch: int


def read_row(path) -> RenderedRow:
    """Read a one-layer ``.npz`` written by ``driftlens render --raw``.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: It does not hold exactly one layer of images.

    Example:
        >>> row = read_row("results/demo/blocks.12/epoch_003.npz")  # doctest: +SKIP
        >>> row.images.shape  # doctest: +SKIP
        (4, 64, 64, 3)
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"rendered row {path} does not exist")
    with np.load(path) as data:
        images, channels, layers = data["images"], data["channels"], data["layers"]
    if images.ndim != 5 or images.shape[0] != 1:
        raise ValueError(f"{path}: expected images of one layer, shape (1, C, H, W, 3), got {images.shape}")
    return RenderedRow(images[0], [int(c) for c in channels], str(layers[0]), epoch_of(path))
