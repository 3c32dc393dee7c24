import json

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from driftlens import models
from driftlens.checkpoints import Checkpoint, save_checkpoint
from driftlens.errors import ArtifactError, MissingFileError
from driftlens.models import registry


def _photo(name, size=224):
    image = Image.fromarray(getattr(data, name)()).resize((size, size), Image.BILINEAR)
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1)


@pytest.fixture(scope="module")
def lite0():
    return models.load("efficientnet_lite0", weights="imagenet")


def test_lite0_imagenet_weights_classify_scikit_image_photos(lite0):
    batch = torch.stack([_photo("chelsea"), _photo("coffee")])
    with torch.no_grad():
        top1 = lite0(batch).argmax(1).tolist()
    assert top1 == [285, 967]  # Egyptian cat, espresso


@pytest.mark.parametrize("kernel,stride,side", [(1, 1, 9), (3, 1, 9), (5, 1, 8), (3, 2, 8), (5, 2, 9), (3, 2, 9)])
def test_lite0_same_padding_equals_tensorflows_padded_convolution(kernel, stride, side):
    """The convolution pads even margins itself and only odd ones by a padded copy: the result is TF's "same"."""
    from torch.nn import functional as F

    from driftlens.models.efficientnet_lite import SameConv2d

    conv = SameConv2d(4, 6, kernel, stride=stride)
    x = torch.randn(2, 4, side, side)
    expected = F.conv2d(F.pad(x, conv.same_padding(x.shape[-2:])), conv.weight, conv.bias, stride)
    assert conv(x).shape[-1] == -(-side // stride)
    torch.testing.assert_close(conv(x), expected)


def test_lite0_random_weights_do_not_classify(lite0):
    random = models.load("efficientnet_lite0", weights="random")
    with torch.no_grad():
        assert not torch.allclose(random(_photo("chelsea")[None]), lite0(_photo("chelsea")[None]))


@pytest.mark.parametrize("name", models.available())
def test_every_model_builds_random_and_knows_its_input(name):
    model = models.load(name, weights="random", num_classes=7)
    assert model.num_classes == 7
    x = torch.rand(1, 3, model.input_size, model.input_size)
    with torch.no_grad():
        assert model(x).shape == (1, 7)
    assert model.layer_names() and model.training is False


def test_unknown_model_lists_available():
    with pytest.raises(ValueError, match="zoo .*googlenet"):
        models.load("googlenet2")


def test_tiny_has_no_imagenet_weights():
    with pytest.raises(ValueError, match="no ImageNet weights"):
        models.load("tiny")


def test_state_dict_file_round_trip(tmp_path, tiny):
    tiny.replace_head(3)
    torch.save(tiny.net.state_dict(), tmp_path / "w.pt")
    loaded = models.load("tiny", weights=str(tmp_path / "w.pt"))
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert loaded.num_classes == 3 and torch.equal(loaded(x), tiny.eval()(x))


def test_checkpoint_round_trip(tmp_path, tiny):
    save_checkpoint(Checkpoint(tiny.net.state_dict(), 1, {"model": "tiny"}, []), tmp_path / "epoch_001.pt")
    loaded = models.from_checkpoint(tmp_path / "epoch_001.pt")
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), tiny.eval()(x))


@pytest.mark.parametrize("content, error", [(b"not a checkpoint", ArtifactError), (None, MissingFileError)])
def test_bad_weights_file_is_named(tmp_path, content, error):
    path = tmp_path / "w.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error, match="w.pt"):
        models.load("tiny", weights=str(path))


def test_weights_that_do_not_fit_the_model_are_named(tmp_path):
    torch.save({"conv1.0.weight": torch.ones(2)}, tmp_path / "w.pt")
    with pytest.raises(ArtifactError, match="the weights in .*w.pt do not fit this model"):
        models.load("tiny", weights=str(tmp_path / "w.pt"))


def test_the_packaged_layer_tables_match_the_architectures():
    """The workflow checks configs against this table without importing torch: it must never go stale."""
    tables = json.loads(registry.LAYER_TABLES.read_text())
    assert sorted(tables) == models.available()
    for name in models.available():
        assert tables[name] == registry.layer_table(name), "rewrite it: driftlens.models.registry.write_layer_tables()"


def test_the_architecture_needs_no_weights_and_knows_the_shapes(tiny):
    architecture = models.architecture("tiny")
    assert architecture.output_shapes(["conv3"]) == tiny.output_shapes(["conv3"])
    assert registry.layer_table("tiny")["conv3"] == 16 and registry.layer_table("tiny")["logits"] == 10
