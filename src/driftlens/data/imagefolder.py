"""The user's own images, one folder per class: ``folder/{class}/*.jpg``."""

import logging
from pathlib import Path

from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset
from driftlens.progress import bar as progress_bar

from driftlens.data.images import UnreadableImageError, load_image
from driftlens.data.splits import stratified_split, write_splits
from driftlens.errors import MissingFileError

log = logging.getLogger(__name__)


def prepare_imagefolder(root, source=None, split_seed: int = 0, skip_corrupt: bool = False,
                        progress: bool = True) -> Path:
    """Check every image of a class-per-folder tree and write a stratified 50/25/25 ``root/splits.json``.

    Every image is decoded once, so a corrupt file is found now rather than mid-training.

    Args:
        root (str or Path): Where ``splits.json`` goes; also the image tree when ``source`` is None.
        source (str or Path, optional): A read-only image tree used in place (absolute paths in the
            split file). Default: None
        split_seed (int, optional): Seed of the stratified split. Default: 0
        skip_corrupt (bool, optional): Leave unreadable images out (each is logged) instead
            of failing. Default: False
        progress (bool, optional): Show a progress bar. Default: True

    Returns:
        Path: ``root/splits.json``.

    Raises:
        UnreadableImageError: An image cannot be decoded (the message names it), unless ``skip_corrupt``.
        MissingFileError: No class folders, or a class folder without images.

    Example:
        >>> prepare_imagefolder("resources/mine", source="~/photos/by_class")  # doctest: +SKIP
        PosixPath('resources/mine/splits.json')
    """
    folder = Path(source if source is not None else root).expanduser()
    try:
        classes, class_to_idx = find_classes(folder)
        samples = make_dataset(folder, class_to_idx, IMG_EXTENSIONS)
    except FileNotFoundError as err:  # torchvision's messages name the folder
        raise MissingFileError(f"image folder {folder}: {err}") from err
    samples = readable(samples, skip_corrupt, progress)
    parts = stratified_split([label for _, label in samples], seed=split_seed)
    items = {split: [samples[i] for i in indices] for split, indices in parts.items()}
    return write_splits(root, "imagefolder", classes, items)


def readable(samples: list[tuple[str, int]], skip_corrupt: bool = False, progress: bool = True) -> list:
    """The ``(path, label)`` pairs whose image decodes.

    Args:
        samples (list[tuple[str, int]]): Image paths and labels.
        skip_corrupt (bool, optional): Drop unreadable images and log each of them, instead of raising.
            Default: False
        progress (bool, optional): Show a progress bar. Default: True

    Returns:
        list[tuple[str, int]]: The readable pairs, in the same order.

    Raises:
        UnreadableImageError: The first unreadable image, unless ``skip_corrupt``.

    Example:
        >>> readable([("missing.jpg", 0)], skip_corrupt=True, progress=False)
        []
    """
    kept, skipped = [], []
    for path, label in progress_bar(samples, desc="checking images", unit="img", disable=not progress):
        try:
            load_image(path, size=32)
        except UnreadableImageError as err:
            if not skip_corrupt:
                raise
            skipped.append(str(err))
            continue
        kept.append((path, label))
    if skipped:
        log.warning("skipped %d unreadable images:\n  %s", len(skipped), "\n  ".join(skipped))
    return kept
