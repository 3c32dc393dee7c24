"""Checkpoints written by other tools, read weights-only: timm's CheckpointSaver, Lightning-shaped dicts, DDP and
torch.compile prefixes, safetensors; mismatches and crafted pickles named; and `driftlens compare` on them."""

import argparse
import os
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from driftlens import models
from driftlens.artifacts import read_screen_table
from driftlens.change import reinitialise_channels
from driftlens.cli import main
from driftlens.errors import ArtifactError


def same_weights(model, state):
    own = model.net.state_dict()
    return set(own) == set(state) and all(torch.equal(own[k], v) for k, v in state.items())


@pytest.fixture(scope="module")
def tiny():
    return models.load("tiny", weights="random", seed=1)


def test_timm_checkpoint_saver_files_load_with_their_training_args(tmp_path):
    timm = pytest.importorskip("timm", reason="the timm extra is not installed (pip install 'driftlens[timm]')")
    from timm.utils import CheckpointSaver

    net = timm.create_model("resnet10t", pretrained=False, num_classes=17)
    saver = CheckpointSaver(net, torch.optim.SGD(net.parameters(), lr=0.1), args=argparse.Namespace(model="resnet10t", lr=0.1, epochs=3),
                            checkpoint_dir=str(tmp_path), recovery_dir=str(tmp_path), max_history=3)
    saver.save_checkpoint(epoch=2, metric=0.5)
    path = tmp_path / "checkpoint-2.pth.tar"
    loaded = models.from_file("timm:resnet10t", path)
    assert loaded.num_classes == 17 and same_weights(loaded, net.state_dict())


def test_lightning_shaped_checkpoints_lose_their_module_prefix(tmp_path, tiny):
    state = {f"model.{k}": v for k, v in tiny.net.state_dict().items()}
    torch.save({"epoch": 4, "global_step": 40, "state_dict": {**state, "loss_fn.weight": torch.ones(3)},
                "hyper_parameters": {"lr": 0.1, "layers": [1, 2]}, "optimizer_states": []}, tmp_path / "l.ckpt")
    assert same_weights(models.from_file("tiny", tmp_path / "l.ckpt"), tiny.net.state_dict())


@pytest.mark.parametrize("prefix", ["module.", "_orig_mod.", "backbone."])
def test_wrapper_prefixes_are_found_by_matching_the_models_own_keys(tmp_path, tiny, prefix):
    torch.save({f"{prefix}{k}": v for k, v in tiny.net.state_dict().items()}, tmp_path / "w.pt")
    assert same_weights(models.from_file("tiny", tmp_path / "w.pt"), tiny.net.state_dict())


def test_a_compiled_models_own_state_dict_loads(tmp_path, tiny):
    compiled = torch.compile(tiny.net)  # not run: its state dict already carries the _orig_mod. prefix
    torch.save(compiled.state_dict(), tmp_path / "c.pt")
    assert any(k.startswith("_orig_mod.") for k in compiled.state_dict())
    assert same_weights(models.from_file("tiny", tmp_path / "c.pt"), tiny.net.state_dict())


def test_safetensors_and_the_ema_entry_on_request(tmp_path, tiny):
    from safetensors.torch import save_file

    save_file(tiny.net.state_dict(), tmp_path / "w.safetensors")
    assert same_weights(models.from_file("tiny", tmp_path / "w.safetensors"), tiny.net.state_dict())
    other = models.load("tiny", weights="random", seed=2).net.state_dict()
    torch.save({"state_dict": tiny.net.state_dict(), "state_dict_ema": other}, tmp_path / "both.pth.tar")
    assert same_weights(models.from_file("tiny", tmp_path / "both.pth.tar"), tiny.net.state_dict())
    assert same_weights(models.from_file("tiny", tmp_path / "both.pth.tar", key="state_dict_ema"), other)
    with pytest.raises(ArtifactError, match="holds no state dict in entry 'ema'; its entries are state_dict, "
                                            "state_dict_ema"):
        models.from_file("tiny", tmp_path / "both.pth.tar", key="ema")


def test_a_head_of_another_size_is_built_at_the_files_size(tmp_path):
    tuned = models.load("tiny", weights="random", num_classes=17)
    torch.save({"model": tuned.net.state_dict()}, tmp_path / "t.pth")
    assert models.from_file("tiny", tmp_path / "t.pth").num_classes == 17


def test_a_file_of_another_model_names_the_keys(tmp_path, tiny):
    torch.save(tiny.net.state_dict(), tmp_path / "tiny.pt")
    with pytest.raises(ArtifactError, match=r"tiny.pt \(the file itself\) does not fit the model: \d+ of its \d+ keys "
                                            r"match; first missing \['stem"):
        models.from_file("efficientnet_lite0", tmp_path / "tiny.pt")


class Payload:
    def __reduce__(self):
        return os.system, ("echo owned > /dev/null",)


def test_a_crafted_pickle_is_refused_naming_what_it_would_run(tmp_path):
    with open(tmp_path / "evil.pt", "wb") as file:
        pickle.dump({"state_dict": Payload()}, file)
    torch.save({"state_dict": {"w": torch.ones(1)}, "payload": Payload()}, tmp_path / "evil2.pt")
    for name in ("evil.pt", "evil2.pt"):
        with pytest.raises(ArtifactError, match=r"holds objects other than tensors and plain values \(.*system"):
            models.from_file("tiny", tmp_path / name)


def test_compare_screens_every_channel_of_checkpoints_made_elsewhere(tmp_path, tiny, capsys):
    later = reinitialise_channels(tiny, "conv3", [4], seed=1)
    torch.save({"epoch": 0, "state_dict": {f"module.{k}": v for k, v in tiny.net.state_dict().items()}},
               tmp_path / "checkpoint-0.pth.tar")
    torch.save({"epoch": 5, "state_dict": {f"module.{k}": v for k, v in later.net.state_dict().items()}},
               tmp_path / "checkpoint-5.pth.tar")
    rng = np.random.default_rng(0)
    from driftlens.data.textures import source_photo

    photo = source_photo("coffee")
    for k in range(64):  # class sub-folders, as ImageFolder has them
        (tmp_path / "probe" / f"c{k % 2}").mkdir(parents=True, exist_ok=True)
        y, x = (int(rng.integers(0, side - 48)) for side in photo.shape[:2])
        Image.fromarray((photo[y:y + 48, x:x + 48] * 255).astype(np.uint8)).save(tmp_path / "probe" / f"c{k % 2}" /
                                                                               f"{k}.png")
    assert main(["compare", "--checkpoints", str(tmp_path / "checkpoint-*.pth.tar"), "--model", "tiny", "--layers",
                 "conv2,conv3", "--probe", str(tmp_path / "probe"), "-o", str(tmp_path / "out"),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "conv3: 1 of 16 channels changed by checkpoint-5.pth.tar" in out and "conv2: 0 of " in out
    table = read_screen_table(tmp_path / "out" / "conv3" / "screen.csv", layer="conv3")
    assert sorted(table.epoch.unique()) == [0, 5] and table.query("epoch == 5 and changed").channel.tolist() == [4]
    assert main(["compare", str(tmp_path / "checkpoint-0.pth.tar"), "--model", "tiny", "--layers", "conv2",
                 "--probe", str(tmp_path / "probe")]) == 2
    assert "a series needs at least two checkpoints, the reference included; got 1 file(s)" in capsys.readouterr().err
