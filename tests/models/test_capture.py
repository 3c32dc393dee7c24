import pytest
import torch

from driftlens.models import capture, channel_means


def _hook_count(model):
    return sum(len(m._forward_hooks) for m in model.modules())


def test_capture_records_named_layers_and_removes_hooks(tiny):
    x = torch.rand(2, 3, 32, 32)
    with capture(tiny, ["conv2", "logits"]) as acts:
        out = tiny(x)
        assert _hook_count(tiny) == 2
    assert acts["conv2"].shape == (2, 16, 16, 16)
    assert torch.equal(acts["logits"], out.detach())
    assert _hook_count(tiny) == 0


def test_hooks_removed_when_body_raises(tiny):
    with pytest.raises(RuntimeError, match="boom"):
        with capture(tiny, ["conv1", "conv3"]):
            tiny(torch.rand(1, 3, 32, 32))
            raise RuntimeError("boom")
    assert _hook_count(tiny) == 0


def test_unknown_layer_registers_nothing(tiny):
    with pytest.raises(KeyError):
        with capture(tiny, ["conv1", "nope"]):
            pass
    assert _hook_count(tiny) == 0


def test_capture_keeps_graph_when_asked(tiny):
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    with capture(tiny, ["conv3"], detach=False) as acts:
        tiny(x)
    acts["conv3"][:, 5].mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_captured_activation_is_not_overwritten_by_inplace_relu():
    from driftlens import models

    vgg = models.load("vgg16", weights="random")
    x = torch.rand(1, 3, 64, 64)
    with capture(vgg, ["features.0"]) as acts, torch.no_grad():
        vgg(x)
    assert (acts["features.0"] < 0).any()  # a conv output keeps its negative values


def test_channel_means_matches_feature_map_means():
    act = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
    assert torch.equal(channel_means(act)[1, 2], act[1, 2].mean())
    assert channel_means(torch.ones(2, 5)).shape == (2, 5)
    with pytest.raises(ValueError, match="shape"):
        channel_means(torch.ones(2, 3, 4))
