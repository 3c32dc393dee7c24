"""Turning attribution maps into pictures: per-image normalisation, colour maps and overlays.

This is the only place where maps are coloured; every figure and CLI goes through it.
"""

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F


def _numpy(array) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        array = array.detach().float().cpu().numpy()
    return np.asarray(array, dtype=np.float32)


def normalize(maps, percentile: float = 100.0) -> np.ndarray:
    """Scale each map to [0, 1] (min-max per image); a constant map becomes all zeros.

    Args:
        maps (torch.Tensor or np.ndarray): ``(B, H, W)``.
        percentile (float, optional): Per-image percentile that maps to 1; larger values are
            clipped. Gradient maps have a few extreme pixels, so pictures of them read better at 99.
            Default: 100.0 (the maximum)

    Returns:
        np.ndarray: ``(B, H, W)`` float32 in [0, 1].

    Example:
        >>> normalize(np.array([[[1.0, 3.0]], [[2.0, 2.0]]])).tolist()
        [[[0.0, 1.0]], [[0.0, 0.0]]]
    """
    maps = _numpy(maps)
    low = maps.min(axis=(1, 2), keepdims=True)
    high = np.percentile(maps, percentile, axis=(1, 2), keepdims=True).astype(np.float32)
    scaled = np.divide(maps - low, high - low, out=np.zeros_like(maps), where=high > low)
    return np.clip(scaled, 0, 1)


def colorize(maps, cmap: str = "jet", percentile: float = 99.0) -> np.ndarray:
    """Normalise maps (see :func:`normalize`) and colour them with a matplotlib colour map.

    Args:
        maps (torch.Tensor or np.ndarray): ``(B, H, W)``.
        cmap (str, optional): A matplotlib colour map name. Default: "jet"
        percentile (float, optional): Per-image percentile shown at full colour. Default: 99.0

    Returns:
        np.ndarray: ``(B, H, W, 3)`` RGB float32 in [0, 1].

    Example:
        >>> colorize(np.random.rand(2, 4, 4)).shape
        (2, 4, 4, 3)
    """
    return matplotlib.colormaps[cmap](normalize(maps, percentile))[..., :3].astype(np.float32)


def overlay(images, maps, alpha: float = 0.5, cmap: str = "jet", percentile: float = 99.0) -> np.ndarray:
    """Blend coloured maps over their images; maps are resized (bilinear) to the image size.

    Args:
        images (torch.Tensor or np.ndarray): ``(B, 3, H, W)`` in [0, 1], as given to the model.
        maps (torch.Tensor or np.ndarray): ``(B, h, w)`` maps, any range.
        alpha (float, optional): Weight of the colour map. Default: 0.5
        cmap (str, optional): A matplotlib colour map name. Default: "jet"
        percentile (float, optional): Per-image percentile shown at full colour. Default: 99.0

    Returns:
        np.ndarray: ``(B, H, W, 3)`` RGB float32 in [0, 1], ready for :func:`driftlens.grids.image_grid`.

    Example:
        >>> overlay(torch.rand(2, 3, 32, 32), torch.rand(2, 8, 8)).shape
        (2, 32, 32, 3)
    """
    images = _numpy(images)
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (B, 3, H, W), got shape {images.shape}")
    maps = _numpy(maps)
    if maps.ndim != 3 or len(maps) != len(images):
        raise ValueError(f"maps must be (B, h, w) with B = {len(images)}, got shape {maps.shape}")
    resized = F.interpolate(torch.from_numpy(maps)[:, None], size=images.shape[-2:], mode="bilinear",
                            align_corners=False)[:, 0]
    rgb = np.clip(images.transpose(0, 2, 3, 1), 0, 1)
    return (1 - alpha) * rgb + alpha * colorize(resized, cmap, percentile)
