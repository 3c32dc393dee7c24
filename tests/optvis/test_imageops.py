"""driftlens.optvis.imageops computes what torchvision.transforms.functional computes, without importing it."""

import subprocess
import sys

import pytest
import torch
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode

from driftlens.optvis import imageops


@pytest.fixture
def images():
    return torch.rand(3, 3, 20, 20, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("size, mode, antialias", [([31, 31], "bilinear", False), ([13, 13], "bilinear", False),
                                                   ([27, 27], "bicubic", False), ([9, 9], "bilinear", True)])
def test_resize_matches_torchvision(images, size, mode, antialias):
    expected = TF.resize(images, size, interpolation=InterpolationMode(mode), antialias=antialias)
    torch.testing.assert_close(imageops.resize(images, size, mode, antialias), expected)
    torch.testing.assert_close(imageops.resize(images[0], size, mode, antialias), expected[0])  # one (C, H, W) image


@pytest.mark.parametrize("degrees", [-10.0, 5.0, 37.5, 90.0])
def test_rotate_matches_torchvision(images, degrees):
    expected = TF.rotate(images, degrees, interpolation=InterpolationMode.BILINEAR)
    torch.testing.assert_close(imageops.rotate(images, degrees), expected, atol=1e-5, rtol=1e-5)


def test_pad_and_center_crop_match_torchvision(images):
    torch.testing.assert_close(imageops.pad(images, 1, 2, 3, 4, 0.5), TF.pad(images, [1, 2, 3, 4], fill=0.5))
    for size in (20, 15, 8):
        torch.testing.assert_close(imageops.center_crop(images, size), TF.center_crop(images, [size, size]))


@pytest.mark.parametrize("kernel, sigma", [(5, 1.0), (9, 2.2)])
def test_gaussian_blur_matches_torchvision(images, kernel, sigma):
    torch.testing.assert_close(imageops.gaussian_blur(images, kernel, sigma),
                               TF.gaussian_blur(images, [kernel, kernel], [sigma, sigma]))


def test_a_render_job_does_not_import_torchvision():
    """The render path (driftlens.optvis and the zoo's own Lite0) starts without torchvision's two seconds."""
    code = ("import sys, driftlens.optvis, driftlens.models; driftlens.models.architecture('efficientnet_lite0'); "
            "print('torchvision' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
