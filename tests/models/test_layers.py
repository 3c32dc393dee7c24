import pytest
import torch
from torch import nn

from driftlens import models
from driftlens.models.layers import list_layer_paths


@pytest.fixture(scope="module")
def googlenet():
    return models.load("googlenet", weights="random")


def test_lucid_aliases_name_torchvision_modules(googlenet):
    assert googlenet.resolve("mixed4c") == "inception4c"
    assert googlenet.resolve("conv2d0") == "conv1"
    assert googlenet.module("mixed5b") is googlenet.net.inception5b
    assert googlenet.module("inception5b") is googlenet.net.inception5b


def test_layer_names_in_forward_order_with_shapes(googlenet):
    names = googlenet.layer_names()
    assert names[:3] == ["conv2d0", "maxpool1", "conv2d1"]
    assert names.index("mixed4a") < names.index("mixed4c") < names.index("mixed5b") < names.index("fc")
    shapes = googlenet.output_shapes(["mixed4a", "mixed4c", "conv2d0"])
    assert shapes == {"mixed4a": (512, 14, 14), "mixed4c": (512, 14, 14), "conv2d0": (64, 112, 112)}
    assert googlenet.output_shapes(["mixed4c"], size=128)["mixed4c"] == (512, 8, 8)


def test_unknown_layer_lists_closest_names(googlenet):
    with pytest.raises(models.UnknownLayerError, match="mixed4x.*closest: .*mixed4[a-e]"):
        googlenet.resolve("mixed4x")


def test_any_module_path_is_a_layer(googlenet):
    assert googlenet.module("inception4c.branch2.0") is googlenet.net.inception4c.branch2[0]


def test_channel_out_of_range_names_layer_and_count(tiny):
    tiny.check_channel("conv1", 7)
    with pytest.raises(IndexError, match="'conv1'.*8 channels"):
        tiny.check_channel("conv1", 8)


def test_plain_containers_are_opened_up():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential(nn.ReLU(), nn.Flatten()))
    assert list_layer_paths(net) == ["0", "1.0", "1.1"]


def test_logits_alias_and_head_replacement(tiny):
    tiny.replace_head(4)
    assert tiny.module("logits").out_features == 4 and tiny(torch.rand(1, 3, 32, 32)).shape == (1, 4)


def test_output_shapes_restores_training_mode(tiny):
    tiny.train()
    tiny.output_shapes()
    assert tiny.training
