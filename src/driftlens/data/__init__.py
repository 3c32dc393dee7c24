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

import importlib

from driftlens.data.prepare import DATASETS, prepare

_LAZY = {"SplitDataset": "dataset", "folder_probe_files": "dataset", "folder_probe_images": "dataset",
         "probe_files": "dataset", "probe_images": "dataset",
         "UnreadableImageError": "images", "read_splits": "splits"}
"""The names whose module is imported on first use: ``driftlens.data.folder`` (the workflow's parse, ``driftlens
compare``'s argument checks) and ``prepare`` load no torch until these are asked for."""

__all__ = ["DATASETS", "SplitDataset", "UnreadableImageError", "folder_probe_files", "folder_probe_images", "prepare",
           "probe_files", "probe_images", "read_splits"]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
