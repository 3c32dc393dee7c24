"""A plain folder of images (no split file): which images it holds, and their classes when it has class sub-folders.

Imports neither torch nor Pillow, so the workflow can ask at parse time whether a probe folder is labelled.

Example:
    >>> images, classes = folder_images("flowers/val")  # doctest: +SKIP
"""

from pathlib import Path

from driftlens.errors import ConfigError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
"""The image files a folder is read for: torchvision's ``IMG_EXTENSIONS``, spelled here to keep this module light."""

MIN_PROBE_IMAGES = 8
"""The fewest images a probe folder may hold."""


def folder_images(folder) -> tuple[list[Path], list[str]]:
    """Every image under ``folder`` (sorted by path) and its classes: the sorted names of its sub-folders when every
    image sits in one directly below ``folder`` (as torchvision's ``ImageFolder`` reads it), else none.

    Args:
        folder (str or Path): The folder.

    Returns:
        tuple[list[Path], list[str]]: The image files, and the class names (empty: unlabelled).

    Raises:
        ConfigError: Not a folder.

    Example:
        >>> import tempfile, os
        >>> root = tempfile.mkdtemp(); os.makedirs(f"{root}/tulip"); open(f"{root}/tulip/1.jpg", "w").close()
        >>> [path.name for path in folder_images(root)[0]], folder_images(root)[1]
        (['1.jpg'], ['tulip'])
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ConfigError(f"the probe folder {folder} is not a folder")
    files = sorted(path for path in root.rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES)
    labelled = bool(files) and all(path.parent.parent == root for path in files)
    return files, sorted({path.parent.name for path in files}) if labelled else []


def probe_folder_images(folder) -> tuple[list[Path], list[str]]:
    """:func:`folder_images` of a probe folder, which must hold at least :data:`MIN_PROBE_IMAGES` images.

    Raises:
        ConfigError: Not a folder, or too few images in it.

    Example:
        >>> import tempfile
        >>> probe_folder_images(tempfile.mkdtemp())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        driftlens.errors.ConfigError: the probe folder ... holds 0 images (.jpg, ...); at least 8 needed
    """
    files, classes = folder_images(folder)
    if len(files) < MIN_PROBE_IMAGES:
        raise ConfigError(f"the probe folder {folder} holds {len(files)} images ({', '.join(IMAGE_SUFFIXES)}); "
                          f"at least {MIN_PROBE_IMAGES} needed")
    return files, classes
