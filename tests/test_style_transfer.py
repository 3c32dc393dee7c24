"""Style transfer (Gatys): the loss falls, the image stays valid, runs are seeded and the model is untouched."""

import pytest
import skimage.data
import torch
import torch.nn.functional as F

import driftlens
from driftlens.errors import ConfigError
from driftlens.style_transfer import DEFAULT_LAYERS, GatysLoss, default_layers, gram_matrix, style_transfer


def _image(array, size):
    tensor = torch.from_numpy(array[..., :3]).permute(2, 0, 1).float() / 255
    return F.interpolate(tensor[None], size=(size, size), mode="bilinear", antialias=True)[0]



@pytest.fixture
def content():
    return _image(skimage.data.chelsea(), 32)


@pytest.fixture
def style():
    return _image(skimage.data.hubble_deep_field(), 32)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_style_transfer_lowers_the_loss(tiny, content, style, optimizer):
    styled = style_transfer(tiny, content, style, steps=15, optimizer=optimizer, progress=False)
    loss = GatysLoss(tiny, content, style)
    assert loss(styled) < 0.5 * loss(content)
    assert styled.shape == content.shape and styled.min() >= 0 and styled.max() <= 1


def test_the_style_term_pulls_towards_the_style_image(tiny, content, style):
    loss = GatysLoss(tiny, content, style)
    styled = style_transfer(tiny, content, style, steps=15, progress=False)
    assert loss.terms(styled)[1] < loss.terms(content)[1]
    assert loss.terms(content)[0] == 0 and loss.terms(style)[1] == 0


def test_noise_start_is_seeded(tiny, content, style):
    runs = [style_transfer(tiny, content, style, steps=2, init="noise", seed=seed, progress=False)
            for seed in (3, 3, 4)]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_style_transfer_leaves_the_model_as_it_was(tiny, content, style):
    tiny.train()
    state = {k: v.clone() for k, v in tiny.state_dict().items()}
    style_transfer(tiny, content, style, steps=2, progress=False)
    assert tiny.training and all(torch.equal(v, tiny.state_dict()[k]) for k, v in state.items())
    assert all(p.grad is None for p in tiny.parameters())
    assert not any(m._forward_hooks for m in tiny.modules())


def test_gram_matrix_is_symmetric_and_independent_of_the_image_size():
    features = torch.rand(1, 4, 5, 5)
    gram = gram_matrix(features)
    assert torch.allclose(gram, gram.transpose(1, 2))
    assert torch.allclose(gram_matrix(features.repeat(1, 1, 2, 3)), gram, atol=1e-6)


def test_default_layers_exist_in_their_models_and_unknown_models_are_refused():
    model = driftlens.models.load("efficientnet_lite0", weights="random")
    content_layer, style_layers = default_layers(model)
    for layer in (content_layer, *style_layers):
        model.resolve(layer)
    assert set(DEFAULT_LAYERS) >= {"efficientnet_lite0", "tiny"}
    with pytest.raises(ConfigError, match="resnet50"):
        default_layers(driftlens.models.load("resnet50", weights="random"))


def test_bad_options_are_named(tiny, content, style):
    with pytest.raises(ConfigError, match="'sgd'"):
        style_transfer(tiny, content, style, optimizer="sgd", progress=False)
    with pytest.raises(ConfigError, match="'zeros'"):
        style_transfer(tiny, content, style, init="zeros", progress=False)


def test_style_transfer_runs_on_the_offline_lite0():
    model = driftlens.models.load("efficientnet_lite0")
    content, style = _image(skimage.data.chelsea(), 64), _image(skimage.data.hubble_deep_field(), 64)
    styled = style_transfer(model, content, style, steps=4, progress=False)
    loss = GatysLoss(model, content, style)
    assert loss(styled) < loss(content)


def test_style_command_writes_the_styled_image(tmp_path, content, style):
    from PIL import Image

    from driftlens.cli import main
    from driftlens.io import save_image

    save_image(content[:, 4:28].permute(1, 2, 0).numpy(), tmp_path / "content.png")  # 32 wide, 24 high
    save_image(style.permute(1, 2, 0).numpy(), tmp_path / "style.png")
    args = ["style", "--model", "tiny", "--weights", "random", "--steps", "2", str(tmp_path / "content.png"),
            str(tmp_path / "style.png")]
    assert main([*args, "-o", str(tmp_path / "own.png")]) == 0
    assert main([*args, "--size", "48", "-o", str(tmp_path / "large.png")]) == 0
    assert Image.open(tmp_path / "own.png").size == (32, 24)
    assert Image.open(tmp_path / "large.png").size == (48, 36)
