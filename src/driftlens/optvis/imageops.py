"""The tensor image operations the renders use, in plain ``torch.nn.functional``: resize, rotate, pad, crop, blur.

They compute what ``torchvision.transforms.functional`` computes on float tensors (tests compare them), without
importing torchvision, whose import (it pulls in ``torch._dynamo``) cost every render job about two seconds of
start-up. Images are ``(..., C, H, W)`` float tensors.

Example:
    >>> import torch
    >>> rotate(resize(torch.rand(2, 3, 8, 8), [16, 16], "bilinear"), 90.0).shape
    torch.Size([2, 3, 16, 16])
"""

import math

import torch
import torch.nn.functional as F


def resize(images, size, mode: str = "bilinear", antialias: bool = False):
    """Resize to ``size = [height, width]`` with ``mode`` (``bilinear`` or ``bicubic``), pixel centres aligned.

    Example:
        >>> resize(torch.zeros(3, 4, 4), [2, 6]).shape
        torch.Size([3, 2, 6])
    """
    batched = images if images.dim() == 4 else images.reshape(-1, *images.shape[-3:])
    out = F.interpolate(batched, size=list(size), mode=mode, align_corners=False, antialias=antialias)
    return out.reshape(*images.shape[:-2], *out.shape[-2:])


def rotate(images, degrees: float):
    """Rotate square images about their centre by ``degrees`` (counter-clockwise), bilinear; corners fill with 0.

    Example:
        >>> rotate(torch.ones(1, 1, 4, 4), 45.0)[0, 0, 0, 0].item() < 1
        True
    """
    angle = math.radians(degrees)
    theta = torch.tensor([[math.cos(angle), -math.sin(angle), 0.0], [math.sin(angle), math.cos(angle), 0.0]],
                         dtype=images.dtype, device=images.device).expand(len(images), 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def pad(images, left: int, top: int, right: int, bottom: int, value: float):
    """Pad with a constant ``value``.

    Example:
        >>> pad(torch.zeros(1, 3, 2, 2), 1, 0, 1, 0, 0.5).shape
        torch.Size([1, 3, 2, 4])
    """
    return F.pad(images, [left, right, top, bottom], value=value)


def center_crop(images, size: int):
    """The centre ``size`` x ``size`` square of images at least that large (odd margins: one more at the bottom
    and right, as torchvision rounds).

    Example:
        >>> center_crop(torch.arange(16.).reshape(1, 1, 4, 4), 2)[0, 0].tolist()
        [[5.0, 6.0], [9.0, 10.0]]
    """
    height, width = images.shape[-2:]
    top, left = int(round((height - size) / 2.0)), int(round((width - size) / 2.0))
    return images[..., top:top + size, left:left + size]


def gaussian_blur(images, kernel: int, sigma: float):
    """Blur with a ``kernel`` x ``kernel`` Gaussian of standard deviation ``sigma``, edges reflected.

    Example:
        >>> gaussian_blur(torch.ones(1, 3, 8, 8), 5, 1.0).sub(1).abs().max().item() < 1e-6
        True
    """
    offsets = torch.linspace(-(kernel - 1) / 2, (kernel - 1) / 2, kernel, dtype=images.dtype, device=images.device)
    weights = torch.exp(-0.5 * (offsets / sigma) ** 2)
    weights = weights / weights.sum()
    channels = images.shape[-3]
    kernel2d = torch.outer(weights, weights).expand(channels, 1, kernel, kernel)
    padded = F.pad(images, [kernel // 2] * 4, mode="reflect")
    return F.conv2d(padded, kernel2d, groups=channels)
