import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from driftlens import models


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
    torch.save({"model": tiny.net.state_dict(), "config": {"model": "tiny"}}, tmp_path / "epoch_001.pt")
    loaded = models.from_checkpoint(tmp_path / "epoch_001.pt")
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), tiny.eval()(x))


@pytest.mark.parametrize("content", [b"not a checkpoint", None])
def test_bad_weights_file_is_named(tmp_path, content):
    path = tmp_path / "w.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(models.WeightsUnavailableError, match="w.pt"):
        models.load("tiny", weights=str(path))
