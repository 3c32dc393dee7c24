"""Maps per checkpoint for the pipeline, and their rank correlation across epochs."""

import numpy as np
import pytest
import torch

from driftlens.attribution.drift import maps_for_checkpoint, rank_correlation


def test_maps_for_checkpoint_gives_unit_range_float32_maps_per_method(tiny):
    images = np.random.default_rng(0).random((3, 3, 32, 32), dtype=np.float32)
    maps = maps_for_checkpoint(tiny, images, np.array([0, 4, 9]), methods=("gradcam", "smoothgrad", "occlusion"))
    assert list(maps) == ["gradcam", "smoothgrad", "occlusion"]
    for array in maps.values():
        assert array.shape == (3, 32, 32) and array.dtype == np.float32
        assert array.min() >= 0 and array.max() <= 1
        assert (array.max(axis=(1, 2)) == 1).all()


def test_maps_for_checkpoint_is_deterministic_and_honours_the_layer(tiny):
    images = torch.rand(2, 3, 32, 32)
    first = maps_for_checkpoint(tiny, images, [1, 2], layer="conv2")
    again = maps_for_checkpoint(tiny, images, [1, 2], layer="conv2")
    default_layer = maps_for_checkpoint(tiny, images, [1, 2], methods=["gradcam"])
    assert all(np.array_equal(first[name], again[name]) for name in first)
    assert not np.allclose(first["gradcam"], default_layer["gradcam"])


def test_rank_correlation_is_per_image_and_rank_based():
    a = np.random.default_rng(0).random((3, 8, 8))
    b = np.stack([a[0] ** 3, -a[1], np.random.default_rng(1).random((8, 8))])
    rho = rank_correlation(a, b)
    assert rho.shape == (3,)
    assert rho[0] == pytest.approx(1) and rho[1] == pytest.approx(-1) and abs(rho[2]) < 0.3
    assert rank_correlation(torch.from_numpy(a[0]), torch.from_numpy(a[0])).shape == (1,)


def test_rank_correlation_of_a_flat_map_is_nan_and_shapes_must_match():
    assert np.isnan(rank_correlation(np.ones((1, 4, 4)), np.random.rand(1, 4, 4))).all()
    with pytest.raises(ValueError, match=r"\(2, 4, 4\) and \(2, 4, 5\)"):
        rank_correlation(np.zeros((2, 4, 4)), np.zeros((2, 4, 5)))
