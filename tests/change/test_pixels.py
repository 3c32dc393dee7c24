"""The pixel measures of the render evidence (driftlens.change.pixels): SSIM, the perceptual distance (LPIPS or
Lite0 features) and the pixel scores of a checkpoint's renders."""

import sys
import types

import numpy as np
import pytest
import skimage.data
import torch
import torchvision
from skimage.transform import resize

import driftlens
from driftlens import change
from driftlens.models import WeightsUnavailableError


@pytest.fixture(scope="module")
def cat():
    """A real photograph, 64 x 64, float in [0, 1]."""
    return resize(skimage.data.chelsea(), (64, 64), anti_aliasing=True).astype(np.float32)


@pytest.fixture(scope="module")
def small_cat(cat):
    """The same photograph at 32 x 32, for tests that only need some real picture."""
    return resize(cat, (32, 32), anti_aliasing=True).astype(np.float32)


@pytest.fixture(scope="module")
def lite0_distance():
    return change.PerceptualDistance(backend="lite0", device="cpu")


def noisy(image, sigma, seed=0):
    noise = np.random.default_rng(seed).normal(scale=sigma, size=image.shape)
    return np.clip(image + noise, 0, 1).astype(np.float32)


# --- SSIM --------------------------------------------------------------------------------------------

def test_ssim_is_one_for_identical_and_falls_with_noise(cat):
    scores = [change.ssim(cat, noisy(cat, sigma)) for sigma in (0.0, 0.05, 0.1, 0.2)]
    assert scores[0] == pytest.approx(1.0)
    assert all(later < earlier for earlier, later in zip(scores, scores[1:]))


def test_ssim_rejects_different_shapes(cat):
    with pytest.raises(ValueError, match="shapes"):
        change.ssim(cat, cat[:32])


# --- perceptual distance -----------------------------------------------------------------------------

def test_perceptual_distance_is_zero_for_identical_and_grows_with_noise(cat, lite0_distance):
    levels = (0.0, 0.05, 0.1, 0.2, 0.4)
    distances = lite0_distance(np.stack([cat] * len(levels)), np.stack([noisy(cat, s) for s in levels]))
    assert lite0_distance.name == "lite0-feature-distance"
    assert distances.shape == (len(levels),)
    assert distances[0] == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.diff(distances) > 0)


def test_perceptual_distance_does_not_depend_on_batching_or_order(small_cat, lite0_distance):
    cat = small_cat
    a = np.stack([cat, noisy(cat, 0.1), cat])
    b = np.stack([noisy(cat, 0.1, seed=1), cat, cat[:, ::-1]])
    distances = lite0_distance(a, b)
    one_at_a_time = change.PerceptualDistance(backend="lite0", device="cpu", batch_size=1)
    np.testing.assert_allclose(one_at_a_time(a, b), distances, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(lite0_distance(a[::-1], b[::-1]), distances[::-1], rtol=1e-4, atol=1e-6)


def test_perceptual_distance_rejects_bad_shapes(cat, lite0_distance):
    with pytest.raises(ValueError, match="shapes"):
        lite0_distance(cat[None], cat[None, :32])
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        lite0_distance(cat, cat)
    with pytest.raises(ValueError, match="backend"):
        change.PerceptualDistance(backend="vgg")


def test_auto_falls_back_to_lite0_without_lpips(monkeypatch):
    monkeypatch.setattr(change.pixels, "_lpips_alex", lambda device: None)
    assert change.PerceptualDistance(device="cpu").name == "lite0-feature-distance"
    with pytest.raises(WeightsUnavailableError, match="AlexNet"):
        change.PerceptualDistance(backend="lpips", device="cpu")


def test_auto_uses_lpips_when_available(monkeypatch, cat):
    def fake_lpips(a, b, normalize):
        assert normalize and a.shape[1] == 3  # [0, 1] input, channels first
        return (a - b).abs().mean(dim=(1, 2, 3)).view(-1, 1, 1, 1)

    monkeypatch.setattr(change.pixels, "_lpips_alex", lambda device: fake_lpips)
    distance = change.PerceptualDistance(device="cpu")
    other = noisy(cat, 0.1)
    assert distance.name == "lpips-alex"
    assert distance(cat[None], other[None])[0] == pytest.approx(np.abs(cat - other).mean(), rel=1e-5)


def test_lpips_is_only_built_when_its_trunk_weights_are_cached(monkeypatch, tmp_path):
    built = []
    fake = types.SimpleNamespace(LPIPS=lambda **kwargs: built.append(kwargs) or torch.nn.Identity())
    monkeypatch.setitem(sys.modules, "lpips", fake)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    build = change.pixels._lpips_alex.__wrapped__
    assert build("cpu") is None and not built  # no download is ever attempted
    weights = driftlens.models.weights.cache_file_for(change.lpips_backbone_url())
    weights.parent.mkdir(parents=True)
    weights.touch()
    assert isinstance(build("cpu"), torch.nn.Identity) and built[0]["net"] == "alex"
    monkeypatch.setitem(sys.modules, "lpips", None)  # not installed
    assert build("cpu") is None


def test_real_lpips_runs_on_the_backbone_in_the_cache(monkeypatch, tmp_path, small_cat):
    pytest.importorskip("lpips")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    target = driftlens.models.weights.cache_file_for(change.lpips_backbone_url())
    target.parent.mkdir(parents=True)
    other = noisy(small_cat, 0.2)

    def lpips_with_backbone(seed):
        torch.manual_seed(seed)
        torch.save(torchvision.models.alexnet(weights=None).state_dict(), target)
        change.pixels._lpips_alex.cache_clear()
        try:
            distance = change.PerceptualDistance(device="cpu")
        finally:
            change.pixels._lpips_alex.cache_clear()
        return distance.name, distance(np.stack([small_cat, small_cat]), np.stack([small_cat, other]))

    name, values = lpips_with_backbone(0)
    assert name == "lpips-alex"
    assert values[0] == pytest.approx(0, abs=1e-6) and values[1] > 0
    assert lpips_with_backbone(1)[1][1] != pytest.approx(values[1], rel=1e-3)  # the cached trunk is the one used




# --- pixel scores and artifacts ----------------------------------------------------------------------

def test_pixel_scores_compare_seed_by_seed_and_seed_pairs(small_cat, lite0_distance):
    first = np.stack([np.stack([noisy(small_cat, 0.05, seed=10 * s + c) for c in range(2)]) for s in range(3)])
    later = first.copy()
    later[:, 1] = noisy(first[:, 1], 0.3, seed=5)  # channel 1 changes at every seed; channel 0 does not
    scores = change.pixel_scores(later, first, lite0_distance)
    assert scores["ssim_to_first"][0] == pytest.approx(1.0) and scores["ssim_to_first"][1] < 0.5
    assert scores["perceptual_to_first"][0] == pytest.approx(0.0, abs=1e-6) and scores["perceptual_to_first"][1] > 0
    noise = change.pixel_scores(first, first, lite0_distance)
    assert 0 < noise["ssim_noise"][0] < 1 and noise["perceptual_noise"][0] > 0  # seeds differ from each other
    with pytest.raises(ValueError, match="cannot be compared"):
        change.pixel_scores(later[:2], first, lite0_distance)

