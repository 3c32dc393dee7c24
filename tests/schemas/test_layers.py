"""The layer check of the workflow config: every layer an experiment names, and its channels, exist in its model."""

import pytest

from driftlens.errors import ConfigError
from driftlens.schemas import layers as layer_check
from driftlens.schemas.layers import check_layers


def _tiny(**changes):
    """A validated experiment on the tiny model (conv1 has 8 channels, conv2 and conv3 16)."""
    experiment = {"model": "tiny", "stages": [{"epochs": 1, "train_from": "conv2", "freeze": ["conv1"]}],
                  "visualize": {"layers": ["conv2", "conv3"], "channels": [0, 15]},
                  "screen": {"layers": "visualized"}, "attribution": {"layer": None}}
    experiment.update(changes)
    return experiment


CHECKS = [
    ("experiments.a.visualize.layers: unknown layer 'conv9'",
     dict(visualize={"layers": ["conv2", "conv9"], "channels": [0]})),
    ("experiments.a.visualize.channels: ", dict(visualize={"layers": ["conv2", "conv1"], "channels": [0, 15]})),
    ("experiments.a.visualize.channels: k=9 is not between 1 and the 8 channels",
     dict(visualize={"layers": {"first": "conv1"}, "channels": {"most_changed": 5, "least_changed": 4}})),
    ("experiments.a.stages[0].train_from: unknown layer 'conv7'", dict(stages=[{"epochs": 1, "train_from": "conv7"}])),
    ("experiments.a.stages[1].freeze[1]: unknown layer 'conv8'",
     dict(stages=[{"epochs": 1}, {"epochs": 1, "freeze": ["conv1", "conv8"]}])),
    ("experiments.a.screen.layers[1]: unknown layer 'pool2'", dict(screen={"layers": ["conv1", "pool2"]})),
    ("experiments.a.attribution.layer: unknown layer 'conv0'", dict(attribution={"layer": "conv0"})),
]


@pytest.mark.parametrize("message, changes", CHECKS, ids=[message.split(":")[0] for message, _ in CHECKS])
def test_each_layer_check_fires_and_names_its_key(message, changes):
    check_layers("a", _tiny())  # the unchanged experiment passes
    with pytest.raises(ConfigError) as raised:
        check_layers("a", _tiny(**changes))
    assert str(raised.value).startswith(message)


def test_the_packaged_table_confirms_a_good_config_without_building_the_model(monkeypatch):
    monkeypatch.setattr("driftlens.models.architecture", lambda model: pytest.fail("the architecture was built"))
    check_layers("a", _tiny(screen={"layers": ["conv1", "pool"]}, attribution={"layer": "conv3"}))


def test_a_model_the_table_does_not_list_is_checked_on_its_architecture():
    experiment = _tiny(model="resnet18", stages=[{"epochs": 1, "train_from": "layer4"}],
                       visualize={"layers": ["layer1", "layer2.0"], "channels": [63]})
    assert not layer_check._packaged_layer_table("resnet18")
    check_layers("a", experiment)
    experiment["visualize"]["channels"] = [64]
    with pytest.raises(ConfigError, match=r"^experiments.a.visualize.channels: .*64"):
        check_layers("a", experiment)
