"""Random transforms that make a visualisation robust (transformation robustness).

A transform is a callable ``transform(images, generator) -> images`` on a ``(B, 3, H, W)`` batch.
Random parameters are drawn from ``generator`` (a CPU ``torch.Generator``) once per call and applied to
every image of the batch alike, so an image's treatment does not depend on the rest of its batch.
A transform may return several views of each image (:func:`random_crops`): ``V * B`` images stacked
view by view (view ``v`` of image ``k`` at ``v * B + k``); the render loop averages the objective
over the views.

Example:
    >>> import torch
    >>> transform = compose(standard_transforms())
    >>> transform(torch.rand(2, 3, 64, 64), torch.Generator().manual_seed(0)).shape[:2]
    torch.Size([2, 3])
"""

import torch

from driftlens.optvis import imageops


def pad(width: int, value: float = 0.5):
    """Pad every side by ``width`` pixels of a constant colour.

    Args:
        width (int): Pixels added on each side.
        value (float, optional): Fill value. Default: 0.5

    Returns:
        callable: The transform.

    Example:
        >>> pad(2)(torch.zeros(1, 3, 4, 4), torch.Generator()).shape
        torch.Size([1, 3, 8, 8])
    """
    def transform(images, generator):
        return imageops.pad(images, width, width, width, width, value)

    return transform


def jitter(pixels: int):
    """Random crop that removes ``pixels`` rows and columns: a shift of 0..``pixels``.

    Args:
        pixels (int): How much smaller the result is.

    Returns:
        callable: The transform.

    Example:
        >>> jitter(4)(torch.zeros(1, 3, 16, 16), torch.Generator()).shape
        torch.Size([1, 3, 12, 12])
    """
    def transform(images, generator):
        height, width = images.shape[-2:]
        top, left = (_randint(pixels + 1, generator) for _ in range(2))
        return images[..., top:top + height - pixels, left:left + width - pixels]

    return transform


def random_scale(scales):
    """Bilinear resize by a factor drawn from ``scales``.

    Args:
        scales (list[float]): Candidate factors, drawn with equal probability.

    Returns:
        callable: The transform.

    Example:
        >>> random_scale([0.5])(torch.zeros(1, 3, 16, 16), torch.Generator()).shape
        torch.Size([1, 3, 8, 8])
    """
    def transform(images, generator):
        factor = _choice(scales, generator)
        size = [max(1, round(side * factor)) for side in images.shape[-2:]]
        return imageops.resize(images, size, "bilinear")

    return transform


def random_rotate(angles):
    """Bilinear rotation about the centre by an angle (degrees) drawn from ``angles``; corners fill with 0.

    Args:
        angles (list[float]): Candidate angles in degrees, drawn with equal probability.

    Returns:
        callable: The transform.

    Example:
        >>> random_rotate([90])(torch.zeros(1, 3, 8, 8), torch.Generator()).shape
        torch.Size([1, 3, 8, 8])
    """
    def transform(images, generator):
        return imageops.rotate(images, float(_choice(angles, generator)))

    return transform


def crop_or_pad(size: int, value: float = 0.5):
    """Crop the centre ``size`` x ``size`` square, padding with a constant colour where the image is smaller.

    Placed after the random transforms, it keeps the network's input at the rendered size (and the cost
    of a step at that of a plain forward and backward pass) without rescaling the image.

    Args:
        size (int): Side of the result.
        value (float, optional): Fill value where padding is needed. Default: 0.5

    Returns:
        callable: The transform.

    Example:
        >>> crop_or_pad(8)(torch.zeros(1, 3, 6, 12), torch.Generator()).shape
        torch.Size([1, 3, 8, 8])
    """
    def transform(images, generator):
        height, width = images.shape[-2:]
        short_y, short_x = max(size - height, 0), max(size - width, 0)
        if short_y or short_x:
            images = imageops.pad(images, short_x // 2, short_y // 2, short_x - short_x // 2, short_y - short_y // 2,
                                  value)
        return imageops.center_crop(images, size)

    return transform


def random_crops(count: int, scale=(0.5, 1.0), size: int | None = None):
    """``count`` random square crops of every image, resized (anti-aliased) to ``size``: ``count`` views each.

    Each crop's side is a fraction of the image's side drawn uniformly from ``scale``; its position is
    uniform over the places where it fits. Resampling averages several bilinear samples per output
    pixel when the crop is larger than ``size`` (``roi_align``'s adaptive sampling), so shrinking does
    not alias.

    Args:
        count (int): Crops (views) per image.
        scale (tuple[float, float], optional): Smallest and largest side, as fractions of the image's
            side, in (0, 1]. Default: (0.5, 1.0)
        size (int, optional): Side of the crops. Default: None (the images' side)

    Returns:
        callable: The transform, ``(B, 3, H, W) -> (count * B, 3, size, size)``.

    Raises:
        ValueError: ``count`` below 1 or ``scale`` not within (0, 1] and increasing.

    Example:
        >>> random_crops(4, size=8)(torch.zeros(2, 3, 16, 16), torch.Generator()).shape
        torch.Size([8, 3, 8, 8])
    """
    low, high = scale
    if count < 1 or not 0 < low <= high <= 1:
        raise ValueError(f"random_crops needs count >= 1 and 0 < scale[0] <= scale[1] <= 1, got {count}, {scale}")

    def transform(images, generator):
        batch, _, height, width = images.shape
        fractions = low + (high - low) * torch.rand(count, generator=generator)
        corners = torch.rand(count, 2, generator=generator) * (1 - fractions[:, None])
        extent = torch.tensor([width, height], dtype=torch.float32)
        start = corners * extent
        end = start + fractions[:, None] * extent
        boxes = torch.cat([start, end], dim=1).repeat_interleave(batch, dim=0)
        index = torch.arange(batch, dtype=torch.float32).repeat(count)[:, None]
        rois = torch.cat([index, boxes], dim=1).to(images)
        side = size or height
        from torchvision.ops import roi_align  # here, not at import: torchvision.ops costs seconds of start-up

        return roi_align(images, rois, output_size=(side, side), sampling_ratio=-1, aligned=True)

    return transform


def gaussian_noise(sd: float):
    """Add normal noise of standard deviation ``sd``; the same noise pattern for every image of the batch.

    Args:
        sd (float): Noise level (images are in [0, 1]).

    Returns:
        callable: The transform.

    Example:
        >>> noisy = gaussian_noise(0.1)(torch.zeros(2, 3, 4, 4), torch.Generator().manual_seed(0))
        >>> torch.equal(noisy[0], noisy[1]), noisy.abs().max().item() > 0
        (True, True)
    """
    def transform(images, generator):
        noise = torch.randn(images.shape[1:], generator=generator) * sd
        return images + noise.to(images)

    return transform


def compose(transforms):
    """Apply ``transforms`` in order.

    Args:
        transforms (list[callable]): Transforms; an empty list gives the identity.

    Returns:
        callable: The composed transform.

    Example:
        >>> compose([pad(1), jitter(2)])(torch.zeros(1, 3, 4, 4), torch.Generator()).shape
        torch.Size([1, 3, 4, 4])
    """
    transforms = list(transforms)

    def transform(images, generator):
        for step in transforms:
            images = step(images, generator)
        return images

    return transform


def standard_transforms() -> list:
    """lucid's standard set: pad 12 (grey), jitter 8, scale 0.9..1.1, rotate -10..10 degrees, jitter 4.

    As in lucid, no rotation is drawn more often (weight 6 of 26) than any other angle.

    Returns:
        list[callable]: The five transforms, for :func:`compose`.

    Example:
        >>> len(standard_transforms())
        5
    """
    return [
        pad(12, value=0.5),
        jitter(8),
        random_scale([1 + (i - 5) / 50 for i in range(11)]),
        random_rotate(list(range(-10, 11)) + 5 * [0]),
        jitter(4),
    ]


def _randint(high, generator) -> int:
    return int(torch.randint(high, (), generator=generator))


def _choice(options, generator):
    return options[_randint(len(options), generator)]
