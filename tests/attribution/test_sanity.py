"""Sanity checks that make attribution maps trustworthy.

* Integrated gradients are complete: the map sums to f(x) - f(baseline).
* Model randomisation (Adebayo et al., 2018): re-initialising the weights changes the maps.
* On a model built so that a known region drives each class, every method points at that region.
"""

import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F

import driftlens
from driftlens.attribution import METHODS, attribute
from driftlens.attribution.drift import rank_correlation

REGION_OPTIONS = {"occlusion": {"window": 4, "stride": 2}, "integrated_gradients": {"steps": 16},
                  "smoothgrad": {"samples": 16}, "guided_smoothgrad": {"samples": 16}}


def test_integrated_gradients_are_complete_within_one_percent(tiny):
    x = torch.rand(4, 3, 32, 32)
    baseline = torch.full_like(x, 0.2)
    with torch.no_grad():
        classes = tiny(x).argmax(1)
        gain = (tiny(x) - tiny(baseline)).gather(1, classes[:, None])[:, 0]
    maps = attribute(tiny, x, classes.tolist(), "integrated_gradients", steps=256, baseline=0.2)
    assert torch.allclose(maps.sum((1, 2)), gain, rtol=0.01, atol=0)


def test_integrated_gradients_completeness_needs_enough_steps(tiny):
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        gain = (tiny(x) - tiny(torch.zeros_like(x)))[:, 0]
    errors = [(attribute(tiny, x, 0, "integrated_gradients", steps=steps).sum((1, 2)) - gain).abs().max()
              for steps in (2, 256)]
    assert errors[1] < errors[0] / 4


def _photos(size):
    photos = [skimage.data.chelsea(), skimage.data.coffee(), skimage.data.astronaut(), skimage.data.rocket()]
    batch = torch.stack([torch.from_numpy(photo).permute(2, 0, 1).float() / 255 for photo in
                         (p[:300, :300] for p in photos)])
    return F.interpolate(batch, size=(size, size), mode="bilinear", antialias=True)


@pytest.fixture(scope="module")
def trained_and_randomised():
    return (driftlens.models.load("efficientnet_lite0", weights="imagenet"),
            driftlens.models.load("efficientnet_lite0", weights="random", seed=1))


@pytest.mark.parametrize("method, options, limit", [
    ("gradient", {}, 0.3),
    ("smoothgrad", {"samples": 6}, 0.3),
    ("gradcam", {}, 0.5),  # coarse 4 x 4 maps: chance correlations are larger
])
def test_maps_change_when_the_weights_are_reinitialised(trained_and_randomised, method, options, limit):
    trained, randomised = trained_and_randomised
    x = _photos(128)
    classes = trained(x).argmax(1).tolist()
    assert classes[0] in range(281, 286)  # the ImageNet model sees a cat in chelsea: it is really trained
    changed = rank_correlation(attribute(trained, x, classes, method, **options),
                               attribute(randomised, x, classes, method, **options))
    assert np.isfinite(changed).sum() >= 2  # a random network's Grad-CAM may be all zero (no correlation)
    assert abs(np.nanmean(changed)) < limit


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_points_at_the_region_that_drives_the_class(redblue, redblue_image, regions, method):
    x = redblue_image.repeat(2, 1, 1, 1)
    maps = attribute(redblue, x, [0, 1], method, **REGION_OPTIONS.get(method, {}))
    red, blue = regions(margin=1)  # a 3 x 3 convolution spreads gradients one pixel around a square
    for image_map, inside, other in zip(maps, (red, blue), (blue, red)):
        assert inside.flatten()[image_map.flatten().argmax()], f"{method} peaks outside the region"
        assert image_map[inside].mean() > 5 * image_map[~inside].abs().mean()
        assert image_map[other].abs().mean() < image_map[inside].mean() / 5


def test_gradcam_peaks_on_the_region_at_any_layer_and_without_upsampling(redblue, redblue_image, regions):
    cam = attribute(redblue, redblue_image[None], 0, "gradcam", layer="relu", upsample=False)[0]
    assert cam.shape == (32, 32)
    assert regions()[0].flatten()[cam.flatten().argmax()]
