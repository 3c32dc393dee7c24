"""What a layer's output depends on (driftlens.models.upstream): the tensors upstream of it, and whether two
checkpoints share them bit for bit."""

import pytest
import torch

import driftlens
from driftlens.models import same_upstream, upstream_state


def tiny(seed=0):
    return driftlens.models.load("tiny", weights="random", seed=seed)


def test_upstream_state_holds_batch_norm_statistics_and_the_input_normalisation_but_nothing_downstream():
    state = upstream_state(tiny(), "conv2")
    assert any(name.endswith("running_mean") for name in state) and "input.mean" in state
    assert any(name.startswith("conv1.") for name in state)
    assert not any(name.startswith(("conv3", "fc")) for name in state)


def test_the_scan_leaves_the_models_mode_and_batch_norm_statistics_alone():
    model = tiny()
    model.train()
    before = {name: tensor.clone() for name, tensor in model.net.state_dict().items()}
    upstream_state(model, "conv3")
    assert model.training and all(torch.equal(before[name], tensor) for name, tensor in model.net.state_dict().items())


@pytest.mark.parametrize("change, shallow, deep", [
    (lambda net: net.fc.weight.add_(1.0), True, True),                              # after every layer asked
    (lambda net: net.conv3[0].weight.mul_(1.5), True, False),                      # inside the deeper layer
    (lambda net: net.conv2[1].running_var.add_(1e-6), False, False),               # a statistic upstream of both
    (lambda net: net.conv1[0].bias.copy_(net.conv1[0].bias.nextafter(torch.tensor(2.0))), False, False),  # one ulp
])
def test_same_upstream_is_true_exactly_when_no_tensor_upstream_of_any_layer_differs(change, shallow, deep):
    first, model = tiny(), tiny()
    with torch.no_grad():
        change(model.net)
    assert same_upstream(first, model, ["conv2"]) is shallow
    assert same_upstream(first, model, ["conv2", "conv3"]) is deep


def test_same_upstream_tells_equal_values_of_another_dtype_apart():
    model = tiny()
    batch_norm = model.net.conv1[1]
    batch_norm.num_batches_tracked = batch_norm.num_batches_tracked.int()  # same count, int32
    assert not same_upstream(tiny(), model, ["conv1"])
