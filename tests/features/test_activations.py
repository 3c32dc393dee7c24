"""The crosscoder's input: every position's vector, the same sampled positions at every checkpoint, scaling."""

import numpy as np
import torch

from driftlens import models
from driftlens.features.activations import layer_maps, sample_positions, scale_factors, training_and_probe_vectors


def test_layer_maps_hold_every_position_of_the_captured_output_channels_last(tiny):
    images = torch.rand(3, 3, 32, 32)
    maps = layer_maps(tiny, images.split(2), ["conv3"], progress=False)["conv3"]
    with models.capture(tiny, ["conv3"]) as outputs, torch.no_grad():
        tiny.eval()(images)
    assert np.allclose(maps, outputs["conv3"].permute(0, 2, 3, 1).numpy(), atol=1e-6)


def test_positions_are_distinct_sorted_and_the_same_for_the_same_arguments():
    positions = sample_positions(10, 4, 4, 50, seed=3)
    flat = np.ravel_multi_index(positions.T, (10, 4, 4))
    assert len(set(flat)) == 50 and np.all(np.diff(flat) > 0)
    assert np.array_equal(positions, sample_positions(10, 4, 4, 50, seed=3))
    assert not np.array_equal(positions, sample_positions(10, 4, 4, 50, seed=4))


def test_two_checkpoints_are_read_at_the_same_positions(tiny):
    other = models.load("tiny", weights="random", seed=5)
    train, probe = torch.rand(4, 3, 32, 32), torch.rand(2, 3, 32, 32)
    found = [training_and_probe_vectors(m, train.split(2), probe, ["conv2"], 100, progress=False) for m in (tiny, other)]
    assert np.array_equal(found[0]["positions"]["conv2"], found[1]["positions"]["conv2"])
    image, row, column = found[0]["positions"]["conv2"][7]
    full = layer_maps(tiny, [train], ["conv2"], progress=False)["conv2"]
    assert np.allclose(found[0]["train"]["conv2"][7], full[image, row, column])


def test_scaling_gives_every_checkpoint_the_same_mean_norm():
    x = torch.randn(100, 3, 16) * torch.tensor([1.0, 5.0, 0.1])[None, :, None]
    scaled = x * scale_factors(x)[:, None]
    assert torch.allclose(scaled.norm(dim=2).mean(dim=0), torch.full((3,), 4.0), atol=1e-4)
