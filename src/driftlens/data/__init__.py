"""Datasets: Flowers17, the embedded textures, the user's own image folders; splits and probe images.

``prepare`` makes a dataset ready under a folder and writes its ``splits.json``; ``SplitDataset``
reads one split of it as tensors.

Example:
    >>> import tempfile
    >>> from driftlens import data
    >>> splits = data.prepare("textures", tempfile.mkdtemp())
    >>> len(data.SplitDataset(splits, "train", image_size=64))
    256
"""

from driftlens.data.dataset import SplitDataset, folder_probe_images, probe_images
from driftlens.data.images import UnreadableImageError
from driftlens.data.prepare import DATASETS, prepare
from driftlens.data.splits import read_splits

__all__ = ["DATASETS", "SplitDataset", "UnreadableImageError", "folder_probe_images", "prepare", "probe_images", "read_splits"]
