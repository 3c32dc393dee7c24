import numpy as np
import pytest
import torch
from PIL import Image

import driftlens
from driftlens.optvis import FeatureVisualizer, top_channels, visualize_channels


def test_visualize_channels_returns_one_image_per_channel_in_range(tiny):
    images = visualize_channels(tiny, "conv3", [0, 4, 9], steps=3, size=24, progress=False)
    assert images.shape == (3, 24, 24, 3) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1


def test_visualize_channels_twice_on_the_cpu_is_identical(tiny):
    first, second = (visualize_channels(tiny, "logits", [1, 2], steps=4, size=32, seed=5, progress=False)
                     for _ in range(2))
    assert np.array_equal(first, second)


def test_visualize_channels_checks_layer_and_channels_before_rendering(tiny):
    with pytest.raises(driftlens.models.UnknownLayerError, match="'conv4'"):
        visualize_channels(tiny, "conv4", [0], steps=1, size=32, progress=False)
    with pytest.raises(IndexError, match="channel 8 .* 'conv1'"):
        visualize_channels(tiny, "conv1", [7, 8], steps=1, size=32, progress=False)
    with pytest.raises(ValueError, match="unknown method 'dream'"):
        visualize_channels(tiny, "conv1", [0], method="dream", steps=1, size=32, progress=False)


def test_top_channels_are_those_of_highest_mean_activation(tiny):
    images = torch.rand(6, 3, 32, 32)
    with driftlens.models.capture(tiny, ["conv2"]) as acts, torch.no_grad():
        tiny(images)
    expected = driftlens.models.channel_means(acts["conv2"]).mean(dim=0).argsort(descending=True)[:4].tolist()
    assert top_channels(tiny, "conv2", images, k=4) == expected
    assert top_channels(tiny, "conv2", [images[:2], images[2:]], k=4) == expected


def test_top_channels_rejects_k_beyond_the_layer(tiny):
    with pytest.raises(ValueError, match="k=17 .* 16 channels of layer 'conv3'"):
        top_channels(tiny, "conv3", torch.rand(1, 3, 32, 32), k=17)


def test_feature_visualizer_returns_a_pil_image_and_writes_a_gif(tiny, tmp_path):
    visualizer = FeatureVisualizer(tiny, size=32, steps=6, progress=False)
    image = visualizer(act_idx=3)
    assert isinstance(image, Image.Image) and image.size == (32, 32)
    final = visualizer.gif(2, tmp_path / "progress.gif", layer="conv3.1", frames=3)
    with Image.open(tmp_path / "progress.gif") as gif:
        assert gif.n_frames == 3 and gif.size == (32, 32)
    assert final.size == (32, 32)
