"""Behaviour of each attribution method: shapes, targets, options and clear errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import driftlens
from driftlens.attribution import (
    METHODS,
    GradCAM,
    Gradient,
    GuidedReLUs,
    IntegratedGradients,
    Occlusion,
    SmoothGrad,
    attribute,
    default_cam_layer,
    method_options,
)
from driftlens.attribution.base import parse_target
from driftlens.models import eval_mode
from driftlens.attribution.occlusion import window_starts
from driftlens.attribution.overlay import normalize
from driftlens.errors import ConfigError
from driftlens.models import UnknownLayerError

CHEAP = {"smoothgrad": {"samples": 3}, "guided_smoothgrad": {"samples": 3}, "integrated_gradients": {"steps": 4},
         "occlusion": {"window": 8, "stride": 8}}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_returns_one_map_per_image_at_input_size(tiny, method):
    maps = attribute(tiny, torch.rand(3, 3, 32, 32), [0, 1, 2], method, **CHEAP.get(method, {}))
    assert maps.shape == (3, 32, 32)
    assert maps.dtype == torch.float32 and not maps.requires_grad
    assert torch.isfinite(maps).all()


def test_gradcam_without_upsampling_has_the_layer_resolution(tiny):
    x = torch.rand(2, 3, 32, 32)
    assert GradCAM(upsample=False)(tiny, x, 1).shape == (2, 8, 8)
    assert GradCAM("conv2", upsample=False)(tiny, x, 1).shape == (2, 16, 16)
    assert GradCAM("conv1", upsample=False)(tiny, x, 1).shape == (2, 32, 32)


def test_one_class_for_all_equals_the_same_class_per_image(tiny):
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(Gradient()(tiny, x, 4), Gradient()(tiny, x, [4, 4]))
    assert torch.equal(Gradient()(tiny, x, 4), Gradient()(tiny, x, torch.tensor([4, 4])))


def test_no_target_explains_the_predicted_class(tiny):
    x = torch.rand(3, 3, 32, 32)
    predicted = tiny(x).argmax(1).tolist()
    assert torch.equal(GradCAM()(tiny, x), GradCAM()(tiny, x, predicted))


def test_each_image_gets_its_own_target(tiny):
    x = torch.rand(1, 3, 32, 32).repeat(2, 1, 1, 1)
    maps = Gradient()(tiny, x, [0, 5])
    assert torch.allclose(maps[0], Gradient()(tiny, x[:1], 0)[0], atol=1e-7)
    assert not torch.allclose(maps[0], maps[1])


def test_gradcam_of_a_channel_at_its_own_layer_is_the_channels_rectified_activation(tiny):
    x = torch.rand(2, 3, 32, 32)
    cam = GradCAM(upsample=False)(tiny, x, ("conv2", 3))
    with driftlens.models.capture(tiny, ["conv2"]) as acts:
        tiny(x)
    assert torch.allclose(torch.from_numpy(normalize(cam)), torch.from_numpy(normalize(F.relu(acts["conv2"][:, 3]))),
                          atol=1e-5)


def test_gradcam_for_a_channel_can_use_an_earlier_layer(tiny):
    cam = GradCAM("conv1", upsample=False)(tiny, torch.rand(1, 3, 32, 32), ("conv3", 0))
    assert cam.shape == (1, 32, 32) and cam.abs().sum() > 0


def test_gradcam_at_a_layer_after_the_target_channel_is_refused(tiny):
    with pytest.raises(ValueError, match="'conv3'.*before the target"):
        GradCAM("conv3")(tiny, torch.rand(1, 3, 32, 32), ("conv1", 0))


def test_gradcam_needs_a_spatial_layer(tiny):
    with pytest.raises(ValueError, match="spatial output; 'fc'"):
        GradCAM("fc")(tiny, torch.rand(1, 3, 32, 32), 0)


def test_default_cam_layer_is_the_last_spatial_conv_like_layer(tiny):
    assert default_cam_layer(tiny) == "conv3"
    lite0 = driftlens.models.load("efficientnet_lite0", weights="random")
    assert default_cam_layer(lite0) == "head"


@pytest.mark.parametrize("target, error, words", [
    (10, IndexError, ["class 10", "10 classes"]),
    (("conv3", 16), IndexError, ["channel 16", "'conv3'", "16 channels"]),
    (("conv9", 0), UnknownLayerError, ["conv9", "conv3"]),
    ([1, 2, 3], ValueError, ["2 class indices"]),
    (0.5, ValueError, ["target"]),
    ("conv3", ValueError, ["(layer, channel)"]),
])
def test_bad_targets_fail_naming_the_problem(tiny, target, error, words):
    with pytest.raises(error) as info:
        Gradient()(tiny, torch.rand(2, 3, 32, 32), target)
    assert all(word in str(info.value) for word in words)


def test_bad_inputs_and_options_fail_naming_the_problem(tiny):
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\).*\(3, 32, 32\)"):
        Gradient()(tiny, torch.rand(3, 32, 32), 0)
    with pytest.raises(ConfigError, match="'gradcm'.*gradcam"):
        attribute(tiny, torch.rand(1, 3, 32, 32), 0, "gradcm")
    with pytest.raises(ValueError, match="'mean'.*abs_max"):
        Gradient(reduce="mean")
    with pytest.raises(ValueError, match="baseline of shape"):
        IntegratedGradients(baseline=torch.zeros(2))(tiny, torch.rand(1, 3, 32, 32), 0)
    with pytest.raises(ValueError, match="window 40"):
        Occlusion(window=40)(tiny, torch.rand(1, 3, 32, 32), 0)


def test_method_options_keep_only_what_a_method_accepts():
    assert method_options("gradcam", layer="conv2", progress=True) == {"layer": "conv2"}
    assert method_options("occlusion", layer="conv2", progress=True) == {"progress": True}
    assert method_options("gradcam", layer=None) == {}


def test_parse_target_forms():
    assert parse_target(None, 2) is None
    assert parse_target(("mixed4c", 3), 2).channel == 3
    assert parse_target([1, 2], 2).tolist() == [1, 2]
    assert parse_target(np.int64(4), 2).tolist() == [4, 4]


@pytest.mark.parametrize("rectifier", [nn.ReLU(), F.relu, torch.relu, torch.Tensor.relu, nn.ReLU6(), F.relu6,
                                       lambda x: F.hardtanh(x, 0.0, 6.0)],
                         ids=["nn.ReLU", "F.relu", "torch.relu", "Tensor.relu", "nn.ReLU6", "F.relu6", "hardtanh"])
def test_guided_relus_pass_only_positive_gradients_for_modules_and_functions(rectifier):
    x = torch.tensor([-1.0, 0.5, 2.0, 7.0], requires_grad=True)
    plain = rectifier(x)
    (vanilla,) = torch.autograd.grad((-plain).sum() + plain[2], x)
    with GuidedReLUs():
        guided_out = rectifier(x)
    (guided,) = torch.autograd.grad((-guided_out).sum() + guided_out[2], x)
    assert torch.equal(guided_out, plain)
    assert vanilla[1] == -1 and vanilla[2] == 0  # the plain backward lets negative gradients through
    assert guided[1] == 0 and guided[0] == 0 and guided[3] == 0
    assert guided[2] == 0  # -1 + 1 = 0 at x = 2: the summed gradient is not positive


def test_guided_relus_leave_other_functions_alone():
    x = torch.tensor([-1.0, 2.0], requires_grad=True)
    with GuidedReLUs():
        y = F.hardtanh(x) + torch.sigmoid(x) - F.leaky_relu(x, 0.1)
    (grad,) = torch.autograd.grad(y.sum(), x)
    expected = torch.autograd.grad((F.hardtanh(x) + torch.sigmoid(x) - F.leaky_relu(x, 0.1)).sum(), x)[0]
    assert torch.equal(grad, expected)


@pytest.mark.parametrize("name", ["googlenet", "efficientnet_lite0"])
def test_guided_backprop_changes_the_map_where_relus_are_functional_or_relu6(name):
    model = driftlens.models.load(name, weights="random")
    x = torch.rand(1, 3, 64, 64)
    vanilla = normalize(attribute(model, x, 3, "gradient"))
    guided = normalize(attribute(model, x, 3, "guided_backprop"))
    assert abs(vanilla - guided).mean() > 0.05


def test_smoothgrad_is_seeded_and_without_noise_is_the_gradient(tiny):
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(SmoothGrad(samples=4, seed=1)(tiny, x, 0), SmoothGrad(samples=4, seed=1)(tiny, x, 0))
    assert not torch.equal(SmoothGrad(samples=4, seed=1)(tiny, x, 0), SmoothGrad(samples=4, seed=2)(tiny, x, 0))
    assert torch.allclose(SmoothGrad(samples=3, noise=0.0)(tiny, x, 0), Gradient()(tiny, x, 0), atol=1e-6)


def test_smoothgrad_does_not_depend_on_the_batching(tiny):
    x = torch.rand(2, 3, 32, 32)
    assert torch.allclose(SmoothGrad(samples=5, batch_size=2)(tiny, x, 0),
                          SmoothGrad(samples=5, batch_size=64)(tiny, x, 0), atol=1e-6)


def test_integrated_gradients_vanish_when_the_baseline_is_the_input(tiny):
    x = torch.rand(2, 3, 32, 32)
    assert IntegratedGradients(steps=4, baseline=x)(tiny, x, 0).abs().max() == 0


def test_occlusion_windows_cover_every_pixel():
    assert window_starts(32, 8, 8) == [0, 8, 16, 24]
    assert window_starts(32, 10, 8) == [0, 8, 16, 22]
    assert window_starts(5, 5, 3) == [0]


def test_eval_mode_restores_each_modules_own_flag(tiny):
    tiny.train()
    tiny.module("conv1").eval()
    with eval_mode(tiny):
        assert not any(m.training for m in tiny.modules())
    assert tiny.training and not tiny.module("conv1").training and tiny.module("conv2").training
