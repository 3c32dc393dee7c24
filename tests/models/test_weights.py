"""torchvision ImageNet weights go through torch's hub cache; offline, the error says where to put them."""

import pytest
import torch
import torchvision

from driftlens import models
from driftlens.models.weights import cache_file_for


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path


def test_cached_state_dict_is_loaded_from_torch_home(torch_home):
    url = torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1.url
    reference = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True)
    target = cache_file_for(url)
    assert target.parent.parent.parent == torch_home
    target.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), target)

    model = models.load("googlenet", weights="imagenet")

    assert torch.equal(model.net.inception4c.branch1.conv.weight, reference.inception4c.branch1.conv.weight)
    assert model.num_classes == 1000 and model.net.aux1 is None


def test_offline_download_names_url_and_cache_file(torch_home, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    url = torchvision.models.ResNet50_Weights.IMAGENET1K_V1.url
    with pytest.raises(models.WeightsUnavailableError) as err:
        models.load("resnet50", weights="imagenet")
    assert url in str(err.value) and str(cache_file_for(url)) in str(err.value)


def test_corrupt_cached_file_is_named(torch_home):
    target = cache_file_for(torchvision.models.AlexNet_Weights.IMAGENET1K_V1.url)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"truncated")
    with pytest.raises(models.WeightsUnavailableError, match=str(target.name)):
        models.load("alexnet", weights="imagenet")
