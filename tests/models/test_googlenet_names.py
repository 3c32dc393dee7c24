"""GoogLeNet's branch names (lucid's and the seed's Keras names) and what `cutoff: 20` freezes in torchvision's
GoogLeNet: the facts docs/googlenet.md states, checked on the network itself."""

import pytest
import torch

from driftlens import models
from driftlens.cli import main
from driftlens.train import Stage, frozen_parameters


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
