"""Colour maps and overlays: ranges, shapes and the handling of flat maps."""

import numpy as np
import pytest
import torch

from driftlens.attribution.overlay import colorize, normalize, overlay


def test_normalize_scales_each_map_to_the_unit_range():
    maps = np.stack([np.linspace(-3, 5, 16).reshape(4, 4), np.full((4, 4), 7.0), np.eye(4) * 1e-12])
    scaled = normalize(maps)
    assert scaled.dtype == np.float32
    assert scaled[0].min() == 0 and scaled[0].max() == 1
    assert (scaled[1] == 0).all()  # a constant map carries no information: all zeros, no NaN
    assert scaled[2].max() == 1
    assert np.array_equal(np.argsort(scaled[0], axis=None), np.argsort(maps[0], axis=None))


def test_colorize_gives_rgb_in_the_unit_range_with_distinct_extremes():
    colours = colorize(torch.tensor([[[0.0, 1.0]]]), cmap="viridis")
    assert colours.shape == (1, 1, 2, 3)
    assert 0 <= colours.min() and colours.max() <= 1
    assert not np.allclose(colours[0, 0, 0], colours[0, 0, 1])


def test_overlay_resizes_maps_to_the_images_and_blends():
    images = torch.rand(2, 3, 32, 32)
    blended = overlay(images, torch.rand(2, 8, 8), alpha=0.0)
    assert blended.shape == (2, 32, 32, 3)
    assert np.allclose(blended, images.permute(0, 2, 3, 1).numpy(), atol=1e-6)
    maps = torch.rand(2, 32, 32)
    assert np.allclose(overlay(images, maps, alpha=1.0), colorize(maps), atol=1e-6)
    small = torch.zeros(2, 8, 8)
    small[:, :4, :4] = 1  # hot top-left quarter stays hot after resizing
    hot = colorize(torch.tensor([[[0.0, 1.0]]]))[0, 0, 1]
    assert np.allclose(overlay(images, small, alpha=1.0)[:, 2, 2], hot, atol=1e-6)


def test_overlay_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        overlay(torch.rand(2, 32, 32, 3), torch.rand(2, 8, 8))
    with pytest.raises(ValueError, match="B = 2"):
        overlay(torch.rand(2, 3, 32, 32), torch.rand(3, 8, 8))
