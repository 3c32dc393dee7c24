"""Arguments and helpers shared by the image commands (``attribute``, ``dream``, ``style``)."""

import torch

from PIL import Image
from torchvision.transforms.v2.functional import pil_to_tensor

from driftlens import models
from driftlens.cli._options import add_device, device_of
from driftlens.data.images import image_transform, load_image
from driftlens.errors import ConfigError


def add_model_arguments(parser, default_model: str | None = None) -> None:
    """Add ``--model``, ``--weights``, ``--checkpoint`` and ``--device`` to a sub-command's parser.

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(); add_model_arguments(parser)
        >>> parser.parse_args(["--model", "tiny"]).weights
        'imagenet'
    """
    parser.add_argument("--model", default=default_model,
                        help="zoo model, torchvision model or timm:<name>"
                             + (f" (default: {default_model})" if default_model else ""))
    parser.add_argument("--weights", default="imagenet",
                        help="imagenet, random or a state-dict file (default: imagenet)")
    parser.add_argument("--checkpoint", help="a driftlens training checkpoint; replaces --model and --weights")
    add_device(parser)


def model_from_args(args):
    """The model named by ``--checkpoint`` or ``--model``/``--weights``, on ``--device``, in eval mode.

    Raises:
        ConfigError: Neither ``--model`` nor ``--checkpoint`` was given.

    Example:
        >>> import argparse
        >>> model_from_args(argparse.Namespace(model="tiny", weights="random", checkpoint=None, device="cpu")).name
        'tiny'
    """
    if args.checkpoint:
        model = models.from_checkpoint(args.checkpoint)
    elif args.model:
        model = models.load(args.model, weights=args.weights)
    else:
        raise ConfigError("give --model (with --weights) or --checkpoint")
    return model.to(device_of(args)).eval()


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
