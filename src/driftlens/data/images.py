"""Reading images from disk, and the transforms that turn them into training tensors."""

import torch
from PIL import Image, UnidentifiedImageError
from torchvision.transforms import v2

from driftlens.errors import ArtifactError


class UnreadableImageError(ArtifactError):
    """An image file that is missing, truncated or not an image; the message names the file."""


def load_image(path, size=None) -> Image.Image:
    """Read an image file as RGB, letting the JPEG decoder shrink it on the way.

    With ``size``, JPEGs are decoded at the smallest power-of-two reduction that still covers
    ``size`` x ``size`` (Pillow's ``draft``), which makes decoding large photographs much faster.

    Args:
        path (str or Path): The image file.
        size (int, optional): The side the image will be resized to afterwards. Default: full size

    Returns:
        PIL.Image.Image: An RGB image, fully decoded.

    Raises:
        UnreadableImageError: The file is missing, truncated or not an image.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "x.png")
        >>> Image.new("RGB", (8, 6)).save(path)
        >>> load_image(path).size
        (8, 6)
    """
    try:
        with Image.open(path) as image:
            if size is not None:
                image.draft("RGB", (size, size))
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
        raise UnreadableImageError(f"cannot read image {path}: {err}") from err


def image_transform(image_size: int, augment: bool = False) -> v2.Compose:
    """PIL image to a float tensor ``(3, S, S)`` in [0, 1], with or without augmentation.

    Without augmentation: resize the short side to ``image_size`` and take the centre square.
    With it: a random crop of 50-100 % of the area, resized to ``image_size``, and a random
    horizontal flip (drawn from torch's global generator, so seeding torch makes it repeatable).

    Args:
        image_size (int): Side of the output in pixels.
        augment (bool, optional): Random crops and flips for training. Default: False

    Returns:
        torchvision.transforms.v2.Compose: The transform.

    Example:
        >>> image_transform(16)(Image.new("RGB", (40, 20))).shape
        torch.Size([3, 16, 16])
    """
    if augment:
        geometry = [v2.RandomResizedCrop(image_size, scale=(0.5, 1.0)), v2.RandomHorizontalFlip()]
    else:
        geometry = [v2.Resize(image_size), v2.CenterCrop(image_size)]
    return v2.Compose([*geometry, v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
