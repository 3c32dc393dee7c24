"""MACO: the spectrum files, the phase-only parameterisation, the crops, the transparency map."""

import numpy as np
import pytest
import torch

import driftlens
from driftlens.errors import ConfigError
from driftlens.optvis import objectives as obj, render, spectrum, visualize
from driftlens.optvis.param import MacoImage
from driftlens.optvis.render import score_views
from driftlens.optvis.transforms import gaussian_noise, random_crops

SIZE = 32


def _magnitude(param):
    return torch.fft.rfft2(param.raw(), norm="ortho").abs()


@pytest.mark.parametrize("size", [SIZE, 15])
def test_optimising_the_phase_leaves_the_magnitude_spectrum_exactly_as_given(tiny, size):
    image = MacoImage(spectrum.magnitude_for(size), seeds=[0, 1])
    start = image().detach().clone()
    objectives = [obj.channel("conv3.1", 2), obj.channel("conv3.1", 5)]
    render(tiny, objectives, image, [random_crops(2, size=size)], steps=12, progress=False)
    assert (image().detach() - start).abs().max() > 0.05  # the images did change
    for k in range(2):
        torch.testing.assert_close(_magnitude(image)[k], image.magnitude, atol=1e-5, rtol=1e-4)


def test_the_magnitude_is_that_of_the_spectrum_up_to_one_factor_without_the_mean():
    given = spectrum.magnitude_for(SIZE)
    image = MacoImage(given, seeds=[0])
    ratio = image.magnitude[:, 1:, 1:] / given[:, 1:, 1:]
    torch.testing.assert_close(ratio, torch.full_like(ratio, ratio.mean().item()))
    assert image.magnitude[:, 0, 0].abs().max() == 0
    assert abs(image.raw().std().item() - 1.0) < 0.02


def test_maco_on_lite0_raises_a_class_logit_and_returns_its_transparency_map(score):
    model = driftlens.models.load("efficientnet_lite0")
    objectives = [obj.class_logit(1), obj.class_logit(954)]
    before = visualize(model, objectives, method="maco", size=64, steps=0, progress=False)
    after = visualize(model, objectives, method="maco", size=64, steps=6, progress=False)
    for k, objective in enumerate(objectives):
        assert score(model, objective, after.images[k:k + 1]) > score(model, objective, before.images[k:k + 1]) + 1
    assert after.transparency.shape == (2, 64, 64) and (after.transparency >= 0).all()
    assert after.transparency.min() < after.transparency.max()


def test_the_transparency_map_is_only_computed_when_asked(tiny):
    result = render(tiny, obj.channel("conv3.1", 1), MacoImage(torch.ones(3, 16, 9), seeds=[0]), steps=2,
                    progress=False)
    assert result.transparency is None


def test_random_crops_stack_views_of_every_image_with_the_same_box():
    images = torch.rand(1, 3, 16, 16).repeat(3, 1, 1, 1) + torch.arange(3.0).view(3, 1, 1, 1)
    views = random_crops(4, scale=(0.25, 0.5), size=8)(images, torch.Generator().manual_seed(0))
    assert views.shape == (12, 3, 8, 8)
    for v in range(4):
        for k in range(3):  # view v of image k is at v * 3 + k; the same crop, shifted by k
            torch.testing.assert_close(views[3 * v + k], views[3 * v] + k)
    assert not torch.allclose(views[0], views[3])  # the views differ


def test_random_crops_reject_a_bad_scale():
    with pytest.raises(ValueError, match="0 < scale"):
        random_crops(2, scale=(0.5, 1.5))


def test_noise_is_the_same_for_every_image_and_reproducible():
    images = torch.zeros(2, 3, 4, 4)
    first = gaussian_noise(0.1)(images, torch.Generator().manual_seed(1))
    again = gaussian_noise(0.1)(images, torch.Generator().manual_seed(1))
    assert torch.equal(first, again) and torch.equal(first[0], first[1]) and 0.05 < first.std() < 0.2


def test_the_objective_is_averaged_over_the_views():
    activations = {"fc": torch.tensor([[1.0, 0.0], [0.0, 3.0], [5.0, 0.0], [0.0, 7.0]])}
    objective = obj.per_image([obj.channel("fc", 0), obj.channel("fc", 1)])
    assert score_views(objective, activations, 2).item() == pytest.approx((1 + 3 + 5 + 7) / 2)
    with pytest.raises(ValueError, match="not a whole number of views"):
        score_views(objective, activations, 3)


def test_a_spectrum_file_round_trips_with_its_metadata(tmp_path):
    estimated = spectrum.estimate(torch.rand(3, 3, 16, 16), source="test images")
    spectrum.save(estimated, tmp_path / "s.npz")
    loaded = spectrum.load(tmp_path / "s.npz")
    assert (loaded.size, loaded.source, loaded.count) == (16, "test images", 3)
    np.testing.assert_array_equal(loaded.magnitude, estimated.magnitude)


def test_a_smaller_size_keeps_the_low_frequencies_of_the_stored_spectrum(tmp_path):
    estimated = spectrum.estimate(torch.rand(2, 3, 16, 16))
    spectrum.save(estimated, tmp_path / "s.npz")
    small = spectrum.load(tmp_path / "s.npz", size=6).magnitude
    rows = [0, 1, 2, 13, 14, 15]  # frequencies 0, 1, 2, -3, -2, -1 cycles per image
    np.testing.assert_array_equal(small, estimated.magnitude[:, rows, :4])


@pytest.mark.parametrize("arrays, message", [
    (dict(images=np.zeros(3)), "is not a driftlens spectrum file: it lacks format, magnitude"),
    (dict(format=np.array("driftlens-spectrum-2"), magnitude=np.ones((3, 8, 5), np.float32), size=np.array(16),
          source=np.array("x"), count=np.array(1)), "does not match its size 16"),
    (dict(format=np.array("driftlens-spectrum-2"), magnitude=-np.ones((3, 8, 5), np.float32), size=np.array(8),
          source=np.array("x"), count=np.array(1)), "finite and non-negative"),
])
def test_a_wrong_file_is_refused_with_the_reason(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ConfigError, match=message):
        spectrum.load(tmp_path / "bad.npz")


def test_a_spectrum_too_small_for_the_render_size_is_refused(tmp_path):
    spectrum.save(spectrum.estimate(torch.rand(1, 3, 16, 16)), tmp_path / "s.npz")
    with pytest.raises(ConfigError, match="describes 16 px images and cannot serve 32 px"):
        spectrum.load(tmp_path / "s.npz", size=32)
    with pytest.raises(ConfigError, match="is not a driftlens spectrum file"):
        (tmp_path / "text.npz").write_text("not a zip")
        spectrum.load(tmp_path / "text.npz")
    np.save(tmp_path / "one.npy", np.ones(3))
    with pytest.raises(ConfigError, match="holds one array, not an .npz archive"):
        spectrum.load(tmp_path / "one.npy")


def test_the_default_spectrum_is_cached_on_disk_and_decays_with_frequency():
    default = spectrum.default_spectrum(24)
    cached = spectrum.cache_dir() / "skimage_24.npz"
    assert cached.is_file() and spectrum.load(cached).source == "skimage"
    np.testing.assert_array_equal(spectrum.load(cached).magnitude, default.magnitude)
    assert default.count == len(spectrum.SAMPLE_IMAGES) * spectrum.CROPS_PER_SAMPLE
    luminance = default.magnitude[0]
    assert luminance[1, 1] > 3 * luminance[12, 12]  # natural images: far more energy at low frequencies


def test_maco_reads_a_spectrum_file_and_it_changes_the_images(tiny, tmp_path):
    flat = spectrum.Spectrum(np.ones((3, SIZE, SIZE // 2 + 1), np.float32), "flat", 1)
    spectrum.save(flat, tmp_path / "flat.npz")
    objectives = [obj.channel("conv3.1", 2)]
    from_file = visualize(tiny, objectives, method="maco", size=SIZE, steps=2, progress=False,
                          spectrum=tmp_path / "flat.npz").images
    default = visualize(tiny, objectives, method="maco", size=SIZE, steps=2, progress=False).images
    assert np.abs(from_file - default).max() > 0.05


def test_the_spectrum_command_estimates_the_training_images_and_render_uses_it(tmp_path, capsys):
    from driftlens.cli import main
    from driftlens.data import prepare

    splits = prepare("textures", tmp_path / "data")
    assert main(["spectrum", "--splits", str(splits), "--size", "24", "--no-progress", "-o", str(tmp_path / "s.npz")]) == 0
    written = spectrum.load(tmp_path / "s.npz")
    assert written.size == 24 and written.count == len(driftlens.data.SplitDataset(splits, "train", 24))
    assert "spectrum of" in capsys.readouterr().err
    assert main(["render", "--model", "tiny", "--weights", "random", "--layers", "conv3", "--channels", "1,2",
                 "--method", "maco", "--spectrum", str(tmp_path / "s.npz"), "--steps", "2", "--size", "16",
                 "--no-progress", "--raw", str(tmp_path / "r.npz"), "-o", str(tmp_path / "g.png")]) == 0
    assert np.load(tmp_path / "r.npz")["images"].shape == (1, 2, 16, 16, 3)


@pytest.mark.parametrize("args, message", [
    (["--method", "lucid", "--spectrum", "s.npz"], "--spectrum is for --method maco, not lucid"),
    (["--method", "maco", "--spectrum", "missing.npz"], "spectrum file missing.npz does not exist"),
])
def test_render_refuses_a_spectrum_it_cannot_use(tmp_path, capsys, args, message):
    from driftlens.cli import main

    assert main(["render", "--model", "tiny", "--weights", "random", "--layers", "conv3", "--channels", "1",
                 "--steps", "2", "--size", "16", "--no-progress", "-o", str(tmp_path / "g.png"), *args]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "g.png").exists()
