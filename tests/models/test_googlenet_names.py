"""GoogLeNet's branch names (lucid's and the seed's Keras names), what `cutoff: 20` freezes in torchvision's
GoogLeNet and what the paper experiment's `freeze` list freezes: the facts docs/googlenet.md states, checked on the
network itself."""

from pathlib import Path

import pytest
import torch
import yaml

from driftlens import models
from driftlens.cli import main
from driftlens.train import Stage, TrainConfig, frozen_parameters


@pytest.fixture(scope="module")
def googlenet():
    return models.load("googlenet", weights="random")


@pytest.mark.parametrize("block", ["3a", "4b", "4c", "5b"])
def test_channel_k_of_a_branch_is_channel_offset_plus_k_of_its_block(googlenet, block):
    images = torch.rand(2, 3, 96, 96)
    suffixes = ["1x1", "3x3", "5x5", "pool_reduce"]  # the order torchvision concatenates its branches in
    layers = [f"mixed{block}", *(f"mixed{block}_{suffix}" for suffix in suffixes)]
    with models.capture(googlenet, layers) as outputs:
        googlenet(images)
    offset = 0
    for suffix in suffixes:
        branch = outputs[f"mixed{block}_{suffix}"]
        torch.testing.assert_close(outputs[f"mixed{block}"][:, offset:offset + branch.shape[1]], branch)
        offset += branch.shape[1]
    assert offset == outputs[f"mixed{block}"].shape[1]


def test_the_seeds_keras_names_are_one_block_letter_on(googlenet):
    """TF-slim and its Keras port call the paper's block 4b Mixed_4c: the seed's layer is lucid's mixed4b."""
    for keras in ("Mixed_4c_Branch_3_b_1x1", "Mixed_4c_Branch_3_b_1x1_act/Relu"):
        assert googlenet.resolve(keras) == googlenet.resolve("mixed4b_pool_reduce") == "inception4b.branch4"
    # the Keras port's Mixed_4c block: 160, (112, 224), (24, 64), 64 channels, as the paper's inception (4b)
    shapes = googlenet.output_shapes(["Mixed_4c_Branch_0_a_1x1", "Mixed_4c_Branch_1_a_1x1", "Mixed_4c_Branch_1_b_3x3",
                                      "Mixed_4c_Branch_2_a_1x1", "Mixed_4c_Branch_2_b_3x3", "Mixed_4c_Branch_3_b_1x1"])
    assert [shape[0] for shape in shapes.values()] == [160, 112, 224, 24, 64, 64]
    assert googlenet.resolve("mixed4c_5x5") == "inception4c.branch3"  # torchvision's 3x3 stands where the 5x5 was


def test_the_layer_list_shows_the_branches_under_their_block(capsys):
    assert main(["layers", "googlenet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    block = next(i for i, line in enumerate(lines) if line.startswith("mixed4b "))
    branches = lines[block + 1:block + 7]
    assert all(line.startswith("  mixed4b_") for line in branches)
    assert "Mixed_4c_Branch_3_b_1x1" in next(line for line in branches if "pool_reduce" in line)


def test_cutoff_20_freezes_the_stem_blocks_3a_3b_and_five_convolutions_of_4a(googlenet):
    frozen = frozen_parameters(googlenet, Stage(epochs=1, lr=0.1, optimizer="sgd", cutoff=20))
    modules = sorted({name.rsplit(".", 2)[0] for name in frozen})
    assert modules == sorted(["conv1", "conv2", "conv3",
                              *(f"inception3{b}.{p}" for b in "ab" for p in ("branch1", "branch2.0", "branch2.1",
                                                                               "branch3.0", "branch3.1", "branch4.1")),
                              *(f"inception4a.{p}" for p in ("branch1", "branch2.0", "branch2.1", "branch3.0",
                                                             "branch3.1"))])
    parameters = dict(googlenet.net.named_parameters())
    assert sum(parameters[name].numel() for name in frozen) == 954_496
    assert sum(p.numel() for p in parameters.values()) == 6_624_904


# The seed's `for layer in model.layers[:20]: layer.trainable = False`, with Keras ordering a functional model's
# layers by their longest path to the output (docs/googlenet.md): these 20 layers, as torchvision parameters.
SEEDS_FROZEN_PARAMETERS = [
    "conv1.conv.weight", "conv1.bn.weight", "conv1.bn.bias",                                    # Conv2d_1a_7x7
    "conv2.conv.weight", "conv2.bn.weight", "conv2.bn.bias",                                    # Conv2d_2b_1x1
    "conv3.conv.weight", "conv3.bn.weight", "conv3.bn.bias",                                    # Conv2d_2c_3x3
    "inception3a.branch1.conv.weight",                                            # Mixed_3b_Branch_0_a_1x1_conv
    "inception3a.branch2.0.conv.weight", "inception3a.branch2.0.bn.weight", "inception3a.branch2.0.bn.bias",  # 1_a
    "inception3a.branch3.0.conv.weight", "inception3a.branch3.0.bn.weight", "inception3a.branch3.0.bn.bias",  # 2_a
]


def test_the_paper_experiment_freezes_what_the_seeds_first_20_keras_layers_froze(googlenet):
    config = yaml.safe_load((Path(__file__).parents[2] / "config.yaml").read_text())
    stages = TrainConfig.from_dict({"model": "googlenet", "splits": "s.json", "image_size": 224,
                                    "stages": config["experiments"]["flowers17"]["stages"]}).stages

    assert len(stages) == 1
    frozen = frozen_parameters(googlenet, stages[0])
    assert frozen == SEEDS_FROZEN_PARAMETERS
    # not a prefix: the 3x3 convolution of branch 2 trains between two frozen bottlenecks
    names = [name for name, _ in googlenet.net.named_parameters()]
    assert "inception3a.branch2.1.conv.weight" in names[names.index(frozen[0]):names.index(frozen[-1])]
    assert "inception3a.branch1.bn.weight" not in frozen and "inception3a.branch4.1.conv.weight" not in frozen
    parameters = dict(googlenet.net.named_parameters())
    assert sum(parameters[name].numel() for name in frozen) == 158_752
