"""Datasets read through a split file, and a fixed probe set of images."""

import os
from pathlib import Path

import torch
from torch.utils.data import Dataset

from driftlens.data.folder import probe_folder_images
from driftlens.data.images import image_transform, load_image
from driftlens.data.splits import SPLITS, read_splits
from driftlens.errors import ConfigError


class SplitDataset(Dataset):
    """One split of a prepared dataset: ``(image (3, S, S) float in [0, 1], label int)`` pairs.

    Args:
        splits_file (str or Path): ``splits.json`` written by :func:`driftlens.data.prepare`.
        split (str): ``train``, ``val`` or ``test``.
        image_size (int): Side ``S`` of the square images.
        augment (bool, optional): Random crops and flips (see
            :func:`driftlens.data.images.image_transform`). Default: False

    Attributes:
        classes (list[str]): Class names; labels index into it.
        items (list[tuple[str, int]]): Image paths (absolute or relative to the working directory) and labels.

    Example:
        >>> import tempfile
        >>> from driftlens.data import prepare
        >>> data = SplitDataset(prepare("textures", tempfile.mkdtemp()), "val", image_size=64)
        >>> image, label = data[0]
        >>> tuple(image.shape), label, len(data)
        ((3, 64, 64), 0, 80)
    """

    def __init__(self, splits_file, split: str, image_size: int, augment: bool = False):
        if split not in SPLITS:
            raise ConfigError(f"unknown split {split!r}; one of {', '.join(SPLITS)}")
        record = read_splits(splits_file)
        self.classes = record["classes"]
        self.items = [(path, label) for path, label in record[split]]
        self.image_size = image_size
        self.transform = image_transform(image_size, augment)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        path, label = self.items[index]
        return self.transform(load_image(path, self.image_size)), label


def probe_images(splits_file, n: int, image_size: int, split: str = "val") -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed, class-balanced set of ``n`` images, the same on every call (no augmentation).

    Images are taken class by class in turn (first image of each class, then the second, ...),
    in split-file order, so every class gets ``n // num_classes`` or one more.

    Args:
        splits_file (str or Path): ``splits.json``.
        n (int): How many images.
        image_size (int): Side of the square images.
        split (str, optional): Which split to draw from. Default: "val"

    Returns:
        tuple[torch.Tensor, torch.Tensor]: Images ``(n, 3, S, S)`` in [0, 1] and labels ``(n,)``.

    Raises:
        ValueError: The split holds fewer than ``n`` images.

    Example:
        >>> import tempfile
        >>> from driftlens.data import prepare
        >>> images, labels = probe_images(prepare("textures", tempfile.mkdtemp()), 16, image_size=32)
        >>> tuple(images.shape), torch.bincount(labels).tolist()
        ((16, 3, 32, 32), [2, 2, 2, 2, 2, 2, 2, 2])
    """
    data = SplitDataset(splits_file, split, image_size)
    images, labels = zip(*(data[i] for i in _probe_choice(data, n, splits_file, split)))
    return torch.stack(images), torch.tensor(labels)


def probe_files(splits_file, n: int, split: str = "val") -> list[str]:
    """The files of :func:`probe_images`, in its order, relative to the split file's folder (or, for images in a
    read-only source folder elsewhere, relative to the folder they share).

    Example:
        >>> import tempfile
        >>> from driftlens.data import prepare
        >>> probe_files(prepare("textures", tempfile.mkdtemp()), 2)
        ['brick/val_000.png', 'grass/val_000.png']
    """
    data = SplitDataset(splits_file, split, image_size=1)
    paths = [os.path.abspath(data.items[i][0]) for i in _probe_choice(data, n, splits_file, split)]
    folder = os.path.dirname(os.path.abspath(splits_file))
    if any(os.path.relpath(path, folder).startswith("..") for path in paths):
        folder = os.path.commonpath([os.path.dirname(path) for path in paths])
    return [Path(os.path.relpath(path, folder)).as_posix() for path in paths]


def _probe_choice(data, n, splits_file, split) -> list[int]:
    if n > len(data):
        raise ConfigError(f"the {split} split of {splits_file} has {len(data)} images, fewer than the {n} asked for")
    return class_round_robin([label for _, label in data.items])[:n]


def class_round_robin(labels) -> list[int]:
    """Indices of ``labels`` taken class by class in turn: the first of each class, then the second, ...

    Example:
        >>> class_round_robin([0, 0, 0, 1, 2])
        [0, 3, 4, 1, 2]
    """
    by_class = [[i for i, label in enumerate(labels) if label == c] for c in sorted(set(labels))]
    return [members[rank] for rank in range(max(map(len, by_class), default=0)) for members in by_class
            if rank < len(members)]


def folder_probe_images(folder, n: int, image_size: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Up to ``n`` images of a folder, the same on every call: a probe set for checkpoints trained elsewhere.

    When every image sits in a class sub-folder (``folder/{class}/*.jpg``, as torchvision's ``ImageFolder`` reads
    it), the classes are the sorted sub-folder names and the images are class-balanced as in :func:`probe_images`;
    otherwise the images (in every sub-folder, sorted by path) are unlabelled (label -1, no classes).

    Args:
        folder (str or Path): The image folder.
        n (int): Most images.
        image_size (int): Side of the square images.

    Returns:
        tuple: Images ``(m, 3, S, S)`` in [0, 1], labels ``(m,)`` and the class names, ``m = min(n, images)``.

    Raises:
        ConfigError: Not a folder, or fewer than 8 images in it.

    Example:
        >>> images, labels, classes = folder_probe_images("flowers/val", 256, 224)  # doctest: +SKIP
    """
    files, labels, classes = _folder_choice(folder, n)
    transform = image_transform(image_size)
    images = [transform(load_image(path, image_size)) for path in files]
    return torch.stack(images), torch.tensor(labels), classes


def folder_probe_files(folder, n: int) -> list[str]:
    """The files of :func:`folder_probe_images`, in its order, relative to the folder.

    Example:
        >>> folder_probe_files("flowers/val", 256)[:1]  # doctest: +SKIP
        ['daisy/image_0001.jpg']
    """
    return [path.relative_to(folder).as_posix() for path in _folder_choice(folder, n)[0]]


def _folder_choice(folder, n) -> tuple[list[Path], list[int], list[str]]:
    """The chosen files of a probe folder, their labels and the class names."""
    files, classes = probe_folder_images(folder)
    labels = [classes.index(path.parent.name) if classes else -1 for path in files]
    chosen = class_round_robin(labels)[:n] if classes else [round(k * len(files) / min(n, len(files)))
                                                                for k in range(min(n, len(files)))]
    return [files[i] for i in chosen], [labels[i] for i in chosen], classes
