"""Helpers shared by the image commands (``attribute``, ``dream``, ``style``, ``accentuate``): reading images."""

import torch

from PIL import Image
from torchvision.transforms.v2.functional import pil_to_tensor

from driftlens.data.images import image_transform, load_image


def read_images(paths, size: int) -> torch.Tensor:
    """Image files as a ``(n, 3, size, size)`` batch in [0, 1] (short side resized, centre square).

    Raises:
        UnreadableImageError: A file is missing or not an image (the message names it).

    Example:
        >>> import tempfile, os
        >>> from PIL import Image
        >>> path = os.path.join(tempfile.mkdtemp(), "x.png"); Image.new("RGB", (40, 30)).save(path)
        >>> read_images([path], 16).shape
        torch.Size([1, 3, 16, 16])
    """
    transform = image_transform(size)
    return torch.stack([transform(load_image(path, size)) for path in paths])


def read_image(path, longest: int | None = None) -> torch.Tensor:
    """An image file as ``(3, H, W)`` in [0, 1], whole: its aspect ratio kept, its size too unless ``longest``.

    Args:
        path (str or Path): The image file.
        longest (int, optional): Resize (Lanczos) so that the longer side has this many pixels.
            Default: the file's own size

    Raises:
        UnreadableImageError: The file is missing or not an image (the message names it).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "x.png"); Image.new("RGB", (40, 30)).save(path)
        >>> read_image(path).shape, read_image(path, longest=20).shape
        (torch.Size([3, 30, 40]), torch.Size([3, 15, 20]))
    """
    image = load_image(path, longest)
    if longest is not None:
        scale = longest / max(image.size)
        image = image.resize(tuple(max(1, round(side * scale)) for side in image.size), Image.LANCZOS)
    return pil_to_tensor(image).float() / 255
