"""Datasets read through a split file, and a fixed probe set of images."""

import torch
from torch.utils.data import Dataset

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
    if n > len(data):
        raise ConfigError(f"the {split} split of {splits_file} has {len(data)} images, fewer than the {n} asked for")
    by_class = [[i for i, (_, label) in enumerate(data.items) if label == c] for c in range(len(data.classes))]
    round_robin = [members[rank] for rank in range(max(map(len, by_class))) for members in by_class
                   if rank < len(members)]
    images, labels = zip(*(data[i] for i in round_robin[:n]))
    return torch.stack(images), torch.tensor(labels)
