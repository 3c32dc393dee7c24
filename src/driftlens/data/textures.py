"""The embedded offline dataset: patches cut from scikit-image's bundled photographs, one class per photograph.

Each photograph is resized so its long side is 512 px and cut along that side into three bands
(60/20/20 %) for train, val and test, so no test patch overlaps a training patch. Square patches
are cropped at seeded positions inside each band and written as PNG files.
"""

from pathlib import Path

import numpy as np
import skimage.color
import skimage.data
import skimage.transform
import skimage.util

from driftlens.data.splits import SPLITS, write_splits
from driftlens.io import save_image

SOURCES = ("brick", "grass", "gravel", "coffee", "chelsea", "astronaut", "hubble_deep_field", "immunohistochemistry")
PATCHES = {"train": 32, "val": 10, "test": 10}
BANDS = {"train": (0.0, 0.6), "val": (0.6, 0.8), "test": (0.8, 1.0)}
PATCH_SIZE = 96
LONG_SIDE = 512


def prepare_textures(root, split_seed: int = 0) -> Path:
    """Cut the texture patches into ``root/{class}/{split}_{i}.png`` and write ``root/splits.json``.

    Fully offline: the photographs ship with scikit-image. 8 classes, 32/10/10 patches of 96 px per
    class for train/val/test.

    Args:
        root (str or Path): The dataset folder, e.g. ``resources/textures``.
        split_seed (int, optional): Seed of the patch positions. Default: 0

    Returns:
        Path: ``root/splits.json``.

    Example:
        >>> import tempfile, json
        >>> splits = prepare_textures(tempfile.mkdtemp())
        >>> len(json.loads(splits.read_text())["train"])
        256
    """
    root = Path(root)
    items = {split: [] for split in SPLITS}
    for label, name in enumerate(SOURCES):
        photo = source_photo(name)
        for split_index, split in enumerate(SPLITS):
            rng = np.random.default_rng([split_seed, label, split_index])
            for i, patch in enumerate(crop_band(photo, BANDS[split], PATCHES[split], PATCH_SIZE, rng)):
                path = root / name / f"{split}_{i:03d}.png"
                save_image(patch, path)
                items[split].append((path, label))
    return write_splits(root, "textures", list(SOURCES), items)


def source_photo(name: str) -> np.ndarray:
    """One of scikit-image's bundled photographs as float RGB, long side ``LONG_SIDE``, long side horizontal.

    Args:
        name (str): A ``skimage.data`` function name, e.g. ``brick``.

    Returns:
        np.ndarray: ``(H, W, 3)`` floats in [0, 1] with ``W == LONG_SIDE >= H``.

    Example:
        >>> source_photo("chelsea").shape
        (341, 512, 3)
    """
    photo = skimage.util.img_as_float(getattr(skimage.data, name)())
    if photo.ndim == 2:
        photo = skimage.color.gray2rgb(photo)
    if photo.shape[0] > photo.shape[1]:
        photo = photo.transpose(1, 0, 2)
    scale = LONG_SIDE / photo.shape[1]
    shape = (round(photo.shape[0] * scale), LONG_SIDE)
    return np.clip(skimage.transform.resize(photo, shape, anti_aliasing=True), 0, 1)


def crop_band(photo: np.ndarray, band: tuple[float, float], count: int, size: int, rng) -> list[np.ndarray]:
    """``count`` square crops at random positions inside a vertical band of ``photo``.

    Args:
        photo (np.ndarray): ``(H, W, C)`` image.
        band (tuple[float, float]): Start and end of the band as fractions of the width.
        count (int): How many crops.
        size (int): Side of each crop; must fit in the band and the height.
        rng (np.random.Generator): Draws the positions.

    Returns:
        list[np.ndarray]: ``count`` arrays of shape ``(size, size, C)``.

    Example:
        >>> crops = crop_band(np.zeros((100, 200, 3)), (0.5, 1.0), 2, 32, np.random.default_rng(0))
        >>> [c.shape for c in crops]
        [(32, 32, 3), (32, 32, 3)]
    """
    height, width = photo.shape[:2]
    left, right = round(band[0] * width), round(band[1] * width)
    if right - left < size or height < size:
        raise ValueError(f"a {size} px crop does not fit in a {right - left} x {height} px band")
    xs = rng.integers(left, right - size, count, endpoint=True)
    ys = rng.integers(0, height - size, count, endpoint=True)
    return [photo[y:y + size, x:x + size] for x, y in zip(xs, ys)]
