"""``driftlens fetch``: an experiment's data set and weights from a local HTTP server into the caches the jobs read."""

import copy
import hashlib
from pathlib import Path

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
from driftlens.schemas.workflow import WORKFLOW_SCHEMA

CONFIG = {"targets": ["paper"],
          "datasets": {"flowers": {"kind": "flowers17"}, "local": {"kind": "flowers17", "source": "/data/flowers"}},
          "experiments": {"paper": {"dataset": "flowers", "model": "googlenet", "weights": "imagenet",
                                    "stages": [{"epochs": 1, "lr": 0.01}],
                                    "visualize": {"layers": ["mixed4c"], "channels": [0]}},
                          "offline": {"dataset": "local", "model": "efficientnet_lite0",
                                      "stages": [{"epochs": 1, "lr": 0.01}],
                                      "visualize": {"layers": ["blocks.12"], "channels": [0]}}}}
SCHEMA = Path(__file__).resolve().parents[2] / WORKFLOW_SCHEMA



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
    args = ["fetch", "paper", "--config", str(config), "--schema", str(SCHEMA), "--resources",
            str(tmp_path / "resources"), "--mirror", base]

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

    assert main(["fetch", "paper", "--config", str(config), "--schema", str(SCHEMA), "--resources", str(tmp_path / "r"), "--mirror", base]) == 2

    assert "checksum mismatch" in capsys.readouterr().err
    assert not cache_file_for(torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1.url).exists()


def test_fetch_with_local_data_and_packaged_weights_downloads_nothing(tmp_path, capsys, monkeypatch):
    find_spec = fetch_command.importlib.util.find_spec
    monkeypatch.setattr(fetch_command.importlib.util, "find_spec",  # no lpips
                        lambda name, *rest: None if name == "lpips" else find_spec(name, *rest))
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))

    assert main(["fetch", "offline", "--config", str(config), "--schema", str(SCHEMA), "--resources", str(tmp_path / "r")]) == 0

    out = capsys.readouterr().out
    assert "datasets.local.source" in out and "offline Lite0" in out and "downloaded" not in out
    assert not (tmp_path / "r").exists()


def test_fetch_names_an_unknown_experiment(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    assert main(["fetch", "papr", "--config", str(config), "--schema", str(SCHEMA)]) == 2
    assert "experiments.papr: no such experiment" in capsys.readouterr().err


@pytest.mark.parametrize("message, change", [
    ("datasets.flowers.skip_corrupt: only imagefolder data sets take it",
     lambda config: config["datasets"]["flowers"].update(skip_corrupt=True)),
    ("experiments.paper.visualize.layers: unknown layer 'mixed9z'",
     lambda config: config["experiments"]["paper"]["visualize"].update(layers=["mixed9z"])),
    ("config.yaml: experiments.paper.stages.0.lr: 'fast' is not of type 'number'",
     lambda config: config["experiments"]["paper"]["stages"][0].update(lr="fast")),
], ids=["cross-key", "layer", "schema"])
def test_fetch_checks_the_whole_config_as_the_workflow_does_before_it_downloads(tmp_path, capsys, message, change):
    config = copy.deepcopy(CONFIG)
    change(config)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    assert main(["fetch", "paper", "--config", str(tmp_path / "config.yaml"), "--schema", str(SCHEMA),
                 "--resources", str(tmp_path / "r")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_fetch_outside_the_workflow_folder_says_where_the_schema_should_be(tmp_path, capsys, monkeypatch):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    monkeypatch.chdir(tmp_path)
    assert main(["fetch", "paper"]) == 2
    assert f"no workflow schema at {WORKFLOW_SCHEMA}: run this in the workflow's folder" in capsys.readouterr().err
