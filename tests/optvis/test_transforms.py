import torch

from driftlens.optvis import transforms


def _generator(seed=0):
    return torch.Generator().manual_seed(seed)


def test_standard_transforms_match_lucids_sizes():
    out = transforms.compose(transforms.standard_transforms())(torch.rand(1, 3, 128, 128), _generator())
    # 128 + 2 * 12 (pad) - 8 (jitter) = 144, times 0.9..1.1 (scale) = 130..158, minus 4 (jitter) = 126..154
    assert out.shape[0:2] == (1, 3) and out.shape[-1] == out.shape[-2]
    assert 126 <= out.shape[-1] <= 154


def test_the_same_draw_applies_to_every_image_of_the_batch():
    batch = torch.rand(3, 3, 40, 40)
    transform = transforms.compose(transforms.standard_transforms())
    together = transform(batch, _generator(5))
    alone = transform(batch[2:], _generator(5))
    assert torch.allclose(together[2:], alone, atol=1e-6)


def test_draws_are_reproducible_and_vary_with_the_seed():
    batch = torch.rand(1, 3, 40, 40)
    jitter = transforms.jitter(8)
    assert torch.equal(jitter(batch, _generator(1)), jitter(batch, _generator(1)))
    crops = {tuple(jitter(batch, _generator(seed))[0, 0, 0, :3].tolist()) for seed in range(10)}
    assert len(crops) > 1


def test_pad_fills_with_the_constant_and_rotation_keeps_the_size():
    padded = transforms.pad(3, value=0.5)(torch.zeros(1, 3, 4, 4), _generator())
    assert padded[0, :, 0, 0].tolist() == [0.5, 0.5, 0.5] and padded[0, :, 5, 5].tolist() == [0, 0, 0]
    rotated = transforms.random_rotate([90])(torch.rand(2, 3, 9, 9), _generator())
    assert rotated.shape == (2, 3, 9, 9)


def test_transforms_let_gradients_through():
    images = torch.rand(1, 3, 32, 32, requires_grad=True)
    transforms.compose(transforms.standard_transforms() + [transforms.crop_or_pad(32)])(images, _generator()).sum().backward()
    assert images.grad.abs().sum() > 0


def test_crop_or_pad_centres_the_image_at_the_requested_size():
    image = torch.zeros(1, 3, 6, 10)
    image[..., 2:4, 4:6] = 1  # a 2x2 square in the middle
    out = transforms.crop_or_pad(8, value=0.5)(image, _generator())
    assert out.shape == (1, 3, 8, 8)
    assert out[0, 0, 0].tolist() == [0.5] * 8  # padded rows above and below
    assert out[0, 0, 3:5, 3:5].tolist() == [[1, 1], [1, 1]]
