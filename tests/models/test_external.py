"""torchvision models by name and timm models (``timm:<name>``): layers, heads, weights, stages, transformer tokens."""

import numpy as np
import pytest
import torch
import torchvision

from driftlens import models
from driftlens.attribution import GradCAM
from driftlens.models.tokens import maps_to_tokens, tokens_to_maps
from driftlens.models.weights import cache_file_for
from driftlens.optvis import objectives
from driftlens.train import Stage, frozen_parameters

timm = pytest.importorskip("timm")


@pytest.fixture(scope="module")
def resnet10t():
    return models.load("timm:resnet10t", weights="random")


@pytest.fixture(scope="module")
def vit():
    return models.load("timm:vit_tiny_patch16_224", weights="random")


# --- the token rule ------------------------------------------------------------------------------------

def test_tokens_become_maps_without_the_prefix_tokens_in_row_major_order():
    tokens = torch.randn(2, 4 + 3 * 3, 5)  # a class token, three register tokens, a 3 x 3 grid
    maps = tokens_to_maps(tokens, prefix=4)
    assert maps.shape == (2, 5, 3, 3)
    for i, j in [(0, 0), (1, 2), (2, 1)]:
        assert torch.equal(maps[:, :, i, j], tokens[:, 4 + 3 * i + j])
    assert torch.equal(maps_to_tokens(maps, tokens), tokens)


def test_tokens_without_prefix_and_token_counts_that_are_no_grid():
    assert tokens_to_maps(torch.zeros(1, 16, 2), prefix=1).shape == (1, 2, 4, 4)  # a patch embedding
    assert tokens_to_maps(torch.zeros(1, 7, 2), prefix=1) is None
    assert tokens_to_maps(torch.zeros(1, 2), prefix=0) is None


def test_vit_layers_are_maps_of_the_patch_grid(vit):
    assert vit.prefix_tokens == 1 and vit.input_size == 224 and vit.num_classes == 1000
    shapes = vit.output_shapes(["patch_embed", "blocks.3", "norm", "head"])
    assert shapes == {"patch_embed": (192, 14, 14), "blocks.3": (192, 14, 14), "norm": (192, 14, 14),
                      "head": (1000,)}


def test_a_vit_at_a_size_it_cannot_take_is_a_clear_error(vit):
    with pytest.raises(ValueError, match="cannot take 128 x 128 px input.*its own size is 224"):
        vit.output_shapes(["blocks.0"], size=128)


def test_vit_channel_objective_reads_the_token_feature(vit):
    image = torch.rand(1, 3, 224, 224)
    tokens = {}
    handle = vit.module("blocks.2").register_forward_hook(lambda m, i, out: tokens.setdefault("out", out))
    try:
        with models.capture(vit, ["blocks.2"]) as acts:
            vit(image)
    finally:
        handle.remove()
    expected = tokens["out"][0, 1:, 7].mean()  # channel 7 averaged over the patch tokens, class token left out
    assert objectives.channel("blocks.2", 7)(acts).item() == pytest.approx(expected.item(), rel=1e-5)


def test_vit_grad_cam_at_a_block_is_a_patch_map_that_depends_on_the_image(vit):
    images = torch.rand(2, 3, 224, 224)
    cam = GradCAM("blocks.10", upsample=False)(vit, images, target=torch.tensor([3, 3]))
    assert cam.shape == (2, 14, 14) and cam.abs().sum() > 0
    assert not torch.allclose(cam[0], cam[1])
    with models.capture(vit, ["blocks.10"], detach=False) as acts:  # the captured maps carry gradients
        logits = vit(images[:1])
    assert torch.autograd.grad(logits[0, 3], acts["blocks.10"])[0].abs().sum() > 0


def test_vit_renders_channels_and_picks_a_default_grad_cam_layer(vit):
    from driftlens.attribution.cam import default_cam_layer
    from driftlens.optvis.visualizer import visualize_channels

    images = visualize_channels(vit, "blocks.6", [0, 5], steps=3, size=224, progress=False)
    assert images.shape == (2, 224, 224, 3) and not np.allclose(images[0], images[1])
    assert default_cam_layer(vit, vit.output_shapes()) == "norm"  # the last patch map before the pooled head


# --- timm CNN and torchvision by name --------------------------------------------------------------

def test_timm_layers_come_from_the_module_tree(resnet10t):
    names = resnet10t.layer_names()
    assert names[:2] == ["conv1.0", "conv1.1"] and names[-1] == "fc"
    assert {"layer1.0", "layer4.0", "global_pool"} <= set(names)
    assert resnet10t.input_size == 176  # its default pretrained config
    assert resnet10t.resolve("logits") == "fc" and resnet10t.output_shapes(["layer4.0"]) == {"layer4.0": (512, 6, 6)}


def test_timm_stages_freeze_a_prefix(resnet10t):
    frozen = frozen_parameters(resnet10t, Stage(epochs=1, lr=0.1, optimizer="sgd", train_from="layer4"))
    assert "layer3.0.conv2.weight" in frozen and not any(name.startswith(("layer4", "fc")) for name in frozen)
    cut = frozen_parameters(resnet10t, Stage(epochs=1, lr=0.1, optimizer="sgd", cutoff=1))
    assert cut == ["conv1.0.weight", "conv1.1.weight", "conv1.1.bias"]  # the first conv and its batch norm


def test_torchvision_model_by_name_with_a_convolutional_head():
    model = models.load("squeezenet1_1", weights="random", num_classes=5)
    assert model.resolve("logits") == "classifier.1" and model.num_classes == 5
    assert model(torch.rand(2, 3, 64, 64)).shape == (2, 5)


def test_state_dict_file_restores_the_model_and_its_head_size(tmp_path):
    trained = models.load("mobilenet_v3_small", weights="random", num_classes=3, seed=1)
    torch.save(trained.net.state_dict(), tmp_path / "w.pt")
    loaded = models.load("mobilenet_v3_small", weights=str(tmp_path / "w.pt"))
    assert loaded.num_classes == 3 and loaded.head == "classifier.3"
    image = torch.rand(1, 3, 64, 64)
    assert torch.allclose(loaded(image), trained(image))


def test_unknown_names_list_close_ones():
    with pytest.raises(ValueError, match="closest: .*mobilenet_v3_small"):
        models.load("mobilenet_v3_smal", weights="random")
    with pytest.raises(ValueError, match="timm has no model 'resnet10x'.*resnet10t"):
        models.load("timm:resnet10x", weights="random")


# --- real weights from the caches ------------------------------------------------------------------

def test_torchvision_default_weights_are_read_from_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = torchvision.models.MobileNet_V3_Small_Weights.DEFAULT
    reference = torchvision.models.mobilenet_v3_small(weights=None)
    target = cache_file_for(weights.url)
    target.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), target)
    model = models.load("mobilenet_v3_small", weights="imagenet")
    assert torch.equal(model.net.features[3].block[0][0].weight, reference.features[3].block[0][0].weight)


def test_timm_pretrained_weights_are_read_from_the_hugging_face_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants
    from safetensors.torch import save_file

    reference = timm.create_model("resnet10t", pretrained=False)
    torch.nn.init.normal_(reference.fc.weight)
    repo = tmp_path / ("models--" + timm.get_pretrained_cfg("resnet10t").hf_hub_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    (repo / "snapshots" / ("0" * 40)).mkdir(parents=True)
    save_file(reference.state_dict(), repo / "snapshots" / ("0" * 40) / "model.safetensors")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    model = models.load("timm:resnet10t", weights="imagenet")

    assert torch.equal(model.net.fc.weight, reference.fc.weight)
    (repo / "snapshots" / ("0" * 40) / "model.safetensors").unlink()
    with pytest.raises(models.WeightsUnavailableError, match="driftlens fetch"):
        models.load("timm:resnet10t", weights="imagenet")
