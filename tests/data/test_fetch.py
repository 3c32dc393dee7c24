"""``driftlens fetch``: an experiment's data set and weights from a local HTTP server into the caches the jobs read."""

import hashlib

import pytest
import torch
import torchvision
import yaml
from torchvision.datasets.utils import calculate_md5

from driftlens import models
from driftlens.cli import fetch as fetch_command
from driftlens.cli import main
from driftlens.data import flowers17
from driftlens.models.weights import cache_file_for

CONFIG = {"targets": ["paper"],
          "datasets": {"flowers": {"kind": "flowers17"}, "local": {"kind": "flowers17", "source": "/data/flowers"}},
          "experiments": {"paper": {"dataset": "flowers", "model": "googlenet", "weights": "imagenet"},
                          "offline": {"dataset": "local", "model": "efficientnet_lite0"}}}


def _hashed_copy(state_dict, folder, stem):
    """Save ``state_dict`` as ``stem-<sha256 prefix>.pth`` (torchvision's naming) in ``folder``."""
    path = folder / f"{stem}.tmp"
    torch.save(state_dict, path)
    return path.rename(folder / f"{stem}-{hashlib.sha256(path.read_bytes()).hexdigest()[:8]}.pth")


@pytest.fixture
def mirror(serve, small_archive, tmp_path, monkeypatch):
    """A server of the archive, GoogLeNet and AlexNet weights, with the URLs and checksums pointing at them."""
    folder = small_archive.parent
    googlenet = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True)
    weights = _hashed_copy(googlenet.state_dict(), folder, "googlenet")
    alexnet = _hashed_copy(torchvision.models.alexnet(weights=None).state_dict(), folder, "alexnet")
    base, handler = serve(folder)
    monkeypatch.setattr(flowers17, "ARCHIVE_MD5", calculate_md5(small_archive))
    monkeypatch.setattr(torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1.value, "url",
                        f"https://download.example/models/{weights.name}")
    monkeypatch.setattr(fetch_command, "lpips_backbone_url", lambda: f"https://download.example/models/{alexnet.name}")
    # fetch only asks whether the lpips package is there (it downloads LPIPS's trunk, never imports lpips): say yes,
    # so the trunk's download is tested whether or not the optional extra is installed
    find_spec = fetch_command.importlib.util.find_spec
    monkeypatch.setattr(fetch_command.importlib.util, "find_spec",
                        lambda name, *rest: object() if name == "lpips" else find_spec(name, *rest))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    return base, handler, config, googlenet, weights


def test_fetch_puts_data_and_weights_where_the_jobs_read_them(mirror, small_archive, tmp_path, capsys):
    base, _, config, googlenet, weights = mirror
    args = ["fetch", "paper", "--config", str(config), "--resources", str(tmp_path / "resources"), "--mirror", base]

    assert main(args) == 0

    out = capsys.readouterr().out
    archive = tmp_path / "resources" / "flowers" / "17flowers.tgz"
    assert archive.read_bytes() == small_archive.read_bytes()
    cached = cache_file_for(torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1.url)
    assert cached.read_bytes() == weights.read_bytes()
    for path in (archive, cached):
        assert f": {path}\n" in out
    assert out.count("downloaded") == 3 and f"MD5 {calculate_md5(small_archive)}" in out  # archive, GoogLeNet, AlexNet
    model = models.load("googlenet", weights="imagenet")  # offline now: read from the cache
    assert torch.equal(model.net.conv1.conv.weight, googlenet.conv1.conv.weight)

    assert main(args) == 0
    assert capsys.readouterr().out.count("already there") == 3


def test_fetch_refuses_a_corrupt_weights_file(mirror, tmp_path, capsys):
    base, _, config, _, weights = mirror
    weights.write_bytes(weights.read_bytes()[:1000])

    assert main(["fetch", "paper", "--config", str(config), "--resources", str(tmp_path / "r"), "--mirror", base]) == 2

    assert "checksum mismatch" in capsys.readouterr().err
    assert not cache_file_for(torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1.url).exists()


def test_fetch_with_local_data_and_packaged_weights_downloads_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(fetch_command.importlib.util, "find_spec", lambda name: None)  # no lpips
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))

    assert main(["fetch", "offline", "--config", str(config), "--resources", str(tmp_path / "r")]) == 0

    out = capsys.readouterr().out
    assert "datasets.local.source" in out and "offline Lite0" in out and "downloaded" not in out
    assert not (tmp_path / "r").exists()


def test_fetch_names_an_unknown_experiment(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    assert main(["fetch", "papr", "--config", str(config)]) == 2
    assert "experiments.papr: no such experiment" in capsys.readouterr().err
