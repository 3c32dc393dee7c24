import pytest
import torch

from driftlens.optvis import param


def test_color_correlation_is_lucids_matrix_with_unit_max_column_norm():
    lucid = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
    assert param.COLOR_CORRELATION.norm(dim=0).max().item() == pytest.approx(1.0)
    assert torch.allclose(param.COLOR_CORRELATION * lucid.norm(dim=0).max(), lucid)


@pytest.mark.parametrize("decorrelate", [True, False])
@pytest.mark.parametrize("sigmoid", [True, False])
def test_to_valid_rgb_is_in_range_and_inverted_by_from_valid_rgb(decorrelate, sigmoid):
    raw = torch.randn(2, 3, 5, 5) * 3
    rgb = param.to_valid_rgb(raw, decorrelate, sigmoid)
    assert rgb.min() >= 0 and rgb.max() <= 1
    inner = torch.rand(2, 3, 5, 5) * 0.5 + 0.25
    back = param.to_valid_rgb(param.from_valid_rgb(inner, decorrelate, sigmoid), decorrelate, sigmoid)
    assert torch.allclose(back, inner, atol=1e-5)


@pytest.mark.parametrize("make", [lambda seeds: param.FFTImage(12, seeds),
                                  lambda seeds: param.PixelImage.random(12, seeds)])
def test_image_k_depends_only_on_its_own_seed(make):
    batch = make([4, 7, 9])()
    assert batch.shape == (3, 3, 12, 12)
    assert torch.equal(batch[1], make([7])()[0])
    assert not torch.equal(batch[0], batch[1])


def test_fft_image_spends_its_energy_on_low_frequencies():
    image = param.FFTImage(64, seeds=[0], decorrelate=False, sigmoid=False).raw()[0, 0]
    power = torch.fft.rfft2(image).abs() ** 2
    frequencies = param.rfft_frequencies(64, 64)
    assert power[frequencies < 0.1].mean() > 10 * power[frequencies > 0.3].mean()


def test_odd_sizes_give_square_images_of_that_size():
    assert param.FFTImage(31, seeds=[0])().shape == (1, 3, 31, 31)
