"""Staged fine-tuning on the tiny model: config checks, freezing, checkpoints, determinism, the CLI."""

import dataclasses
import hashlib
import json

import numpy as np
import pytest
import torch
from PIL import Image

from driftlens import models
from driftlens.cli import main
from driftlens.data import prepare
from driftlens.checkpoints import read_checkpoint
from driftlens.errors import ConfigError, DivergedError
from driftlens.models import UnknownLayerError
from driftlens.train import (Stage, TrainConfig, apply_stage, frozen_parameters, run_epoch, start_checkpoint,
                             train_epoch)

SGD = {"epochs": 2, "cutoff": 1, "lr": 0.05, "optimizer": "sgd"}
ADAM = {"epochs": 2, "train_from": "conv3", "lr": 0.01, "optimizer": "adam", "weight_decay": 0.001}


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    """A two-class image folder (8 noisy images per class, classes differ in colour), prepared."""
    root = tmp_path_factory.mktemp("toy")
    rng = np.random.default_rng(0)
    for label, name in enumerate(("red", "blue")):
        (root / name).mkdir()
        for i in range(8):
            pixels = rng.normal(0.5, 0.2, (24, 24, 3))
            pixels[..., 2 * label] += 0.3
            Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8)).save(root / name / f"{i}.png")
    return prepare("imagefolder", root)


@pytest.fixture
def config(splits):
    return {"model": "tiny", "weights": "random", "splits": str(splits), "image_size": 32, "batch_size": 4,
            "augment": True, "seed": 0, "num_workers": 0, "stages": [SGD, ADAM]}


def _run(cfg, folder, epochs):
    """Epoch 0 and then ``epochs`` epochs; returns the checkpoint paths."""
    paths = [folder / f"epoch_{n:03d}.pt" for n in range(epochs + 1)]
    start_checkpoint(cfg, paths[0], folder / "epoch_000.json", progress=False)
    for n in range(1, epochs + 1):
        train_epoch(cfg, paths[n - 1], paths[n], folder / f"epoch_{n:03d}.json", n, progress=False)
    return paths


def _load(path):
    return dataclasses.asdict(read_checkpoint(path))


def _freeze_instead(config, modules):
    """Stage 1 freezes ``modules`` instead of training from a layer."""
    del config["stages"][1]["train_from"]
    config["stages"][1]["freeze"] = modules


@pytest.mark.parametrize("change, message", [
    (lambda c: c.update(colour="red"), r"config: Additional properties are not allowed \('colour' was unexpected\)"),
    (lambda c: c.pop("splits"), "config: 'splits' is a required property"),
    (lambda c: c.update(batch_size="32"), "batch_size: '32' is not of type 'integer'"),
    (lambda c: c.update(augment=1), "augment: 1 is not of type 'boolean'"),
    (lambda c: c["stages"][1].update(lr="fast"), r"stages\[1\].lr: 'fast' is not of type 'number'"),
    (lambda c: c["stages"][0].update(epochs=True), r"stages\[0\].epochs: True is not of type 'integer'"),
    (lambda c: c["stages"][0].pop("lr"), r"stages\[0\]: 'lr' is a required property"),
    (lambda c: c["stages"][1].update(weight_decay=-1), r"stages\[1\].weight_decay: -1 is less than the minimum of 0"),
    (lambda c: c["stages"][0].update(optimizer="rmsprop"), r"stages\[0\].optimizer: 'rmsprop' is not one of \['sgd', 'adam'\]"),
    (lambda c: c["stages"][1].update(cutoff=3), r"stages\[1\]: cutoff and train_from exclude each other"),
    (lambda c: c["stages"][1].update(freeze=["conv1"]), r"stages\[1\]: train_from and freeze exclude each other"),
    (lambda c: _freeze_instead(c, []), r"stages\[1\].freeze: \[\] should be non-empty"),
    (lambda c: _freeze_instead(c, ["conv1", "conv1"]), r"stages\[1\].freeze: .* has non-unique elements"),
    (lambda c: c.update(stages=[]), r"stages: \[\] should be non-empty"),
])
def test_bad_configs_name_the_key(config, change, message):
    config["stages"] = [dict(stage) for stage in config["stages"]]
    change(config)
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(config)


def test_config_round_trips_and_fills_defaults(config):
    config.pop("num_workers")
    config["stages"] = [{"epochs": 1, "lr": 0.1}, ADAM]
    cfg = TrainConfig.from_dict(config)

    assert cfg.num_workers == 0 and cfg.stages[1].cutoff is None
    assert cfg.stages[0].optimizer == "sgd" and cfg.stages[0].momentum == 0.9
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_epochs_fall_in_the_stage_that_contains_them(config):
    cfg = TrainConfig.from_dict(config)

    assert [cfg.stage_of(epoch) for epoch in range(1, 5)] == [0, 0, 1, 1]
    with pytest.raises(ConfigError, match="epoch 5 is outside the schedule's epochs 1..4"):
        cfg.stage_of(5)


def test_cutoff_freezes_the_first_weight_layers_with_their_norms(tiny):
    frozen = frozen_parameters(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", cutoff=2))

    assert frozen == [name for name, _ in tiny.net.named_parameters() if name.startswith(("conv1.", "conv2."))]


def test_train_from_freezes_what_comes_before_the_layer(tiny):
    frozen = frozen_parameters(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", train_from="conv2"))

    assert frozen == ["conv1.0.weight", "conv1.0.bias", "conv1.1.weight", "conv1.1.bias"]


def test_the_head_always_trains_and_a_cutoff_past_it_is_refused(tiny):
    trained = apply_stage(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", cutoff=3))

    assert [p.data_ptr() for p in trained] == [tiny.net.fc.weight.data_ptr(), tiny.net.fc.bias.data_ptr()]
    with pytest.raises(ConfigError, match="cutoff 4 leaves nothing to train: tiny has 4 conv/linear layers"):
        frozen_parameters(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", cutoff=4))


def test_freeze_freezes_exactly_the_listed_modules_in_any_order(tiny):
    """A set that is not a prefix: conv3 frozen while conv2, registered before it, trains."""
    frozen = frozen_parameters(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", freeze=["conv3", "conv1.0"]))

    assert frozen == ["conv1.0.weight", "conv1.0.bias", "conv3.0.weight", "conv3.0.bias", "conv3.1.weight",
                      "conv3.1.bias"]
    trained = apply_stage(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", freeze=["conv3", "conv1.0"]))
    assert len(trained) == len(list(tiny.net.parameters())) - len(frozen)
    assert not tiny.net.conv3.training and tiny.net.conv2.training and tiny.net.conv1.training


def test_freeze_refuses_the_head_and_modules_without_parameters(tiny):
    with pytest.raises(ConfigError, match="freeze 'logits': fc holds the classifier head, which always trains"):
        frozen_parameters(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", freeze=["conv1", "logits"]))
    with pytest.raises(ConfigError, match="freeze 'pool': module pool has no parameters"):
        frozen_parameters(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", freeze=["pool"]))
    with pytest.raises(UnknownLayerError, match="conv9"):
        frozen_parameters(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", freeze=["conv9"]))


def test_a_freeze_list_survives_the_round_trip_through_plain_data():
    cfg = TrainConfig.from_dict({"model": "tiny", "splits": "s.json", "image_size": 32,
                                 "stages": [{"epochs": 1, "lr": 0.1, "freeze": ["conv1", "conv3"]}]})

    assert cfg.stages[0].freeze == ("conv1", "conv3")
    assert cfg.to_dict()["stages"][0]["freeze"] == ["conv1", "conv3"]
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_train_from_a_bad_layer_is_named(tiny):
    with pytest.raises(ConfigError, match="layer pool has no parameters"):
        frozen_parameters(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", train_from="pool"))
    with pytest.raises(UnknownLayerError, match="conv4"):
        frozen_parameters(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", train_from="conv4"))


def test_the_frozen_prefix_is_in_eval_mode_and_builds_no_graph(tiny):
    apply_stage(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", train_from="conv3"))

    with models.capture(tiny, ["conv2", "conv3"], detach=False) as acts:
        tiny(torch.rand(2, 3, 32, 32))

    assert not tiny.net.conv2.training and tiny.net.conv3.training and tiny.training
    assert acts["conv2"].grad_fn is None and acts["conv3"].grad_fn is not None


def test_epoch_zero_is_the_start_model_with_a_fresh_head(config, tmp_path):
    cfg = TrainConfig.from_dict(config)
    start_checkpoint(cfg, tmp_path / "e0.pt", tmp_path / "e0.json", progress=False)

    checkpoint = _load(tmp_path / "e0.pt")
    metrics = json.loads((tmp_path / "e0.json").read_text())
    reference = models.load("tiny", weights="random", seed=0)
    assert checkpoint["epoch"] == 0 and checkpoint["stage"] is None and checkpoint["optimizer"] is None
    assert checkpoint["classes"] == ["blue", "red"] and checkpoint["config"] == cfg.to_dict()
    assert checkpoint["model"]["fc.weight"].shape == (2, 16)
    assert torch.equal(checkpoint["model"]["conv2.0.weight"], reference.net.conv2[0].weight)
    assert metrics["train_loss"] is None and metrics["images_per_s"] is None and 0 <= metrics["val_acc"] <= 1
    assert models.from_checkpoint(tmp_path / "e0.pt").num_classes == 2


def test_an_epoch_trains_only_the_unfrozen_part(config, tmp_path):
    first, second = _run(TrainConfig.from_dict(config), tmp_path, 1)

    before, after = _load(first)["model"], _load(second)["model"]
    frozen = ("conv1.0.weight", "conv1.1.weight", "conv1.1.running_mean", "conv1.1.running_var")
    assert all(torch.equal(before[key], after[key]) for key in frozen)
    trained = ("conv2.0.weight", "conv2.1.running_mean", "fc.weight")
    assert not any(torch.equal(before[key], after[key]) for key in trained)
    metrics = json.loads((tmp_path / "epoch_001.json").read_text())
    assert metrics["stage"] == 0 and metrics["lr"] == 0.05 and metrics["images_per_s"] > 0
    assert set(metrics) == {"epoch", "stage", "train_loss", "train_acc", "val_loss", "val_acc", "test_acc",
                            "seconds", "images_per_s", "lr"}


def test_a_timm_model_trains_in_stages_and_comes_back_from_its_checkpoint(config, tmp_path):
    pytest.importorskip("timm")
    stage = {"epochs": 1, "train_from": "layer4", "lr": 0.05, "optimizer": "sgd"}
    cfg = TrainConfig.from_dict({**config, "model": "timm:resnet10t", "stages": [stage]})
    first, second = _run(cfg, tmp_path, 1)

    before, after = _load(first)["model"], _load(second)["model"]
    assert torch.equal(before["layer3.0.conv1.weight"], after["layer3.0.conv1.weight"])
    assert not torch.equal(before["layer4.0.conv1.weight"], after["layer4.0.conv1.weight"])
    model = models.from_checkpoint(second)
    assert model.name == "timm:resnet10t" and model.num_classes == 2
    assert torch.equal(model.net.fc.weight, after["fc.weight"])


def test_re_running_an_epoch_gives_a_bit_identical_checkpoint(config, tmp_path):
    cfg = TrainConfig.from_dict(config)
    paths = _run(cfg, tmp_path, 3)

    train_epoch(cfg, paths[2], tmp_path / "again.pt", tmp_path / "again.json", 3, progress=False)

    original, again = _load(paths[3]), _load(tmp_path / "again.pt")
    assert original["model"].keys() == again["model"].keys()
    assert all(torch.equal(original["model"][key], again["model"][key]) for key in original["model"])
    for state, other in zip(original["optimizer"]["state"].values(), again["optimizer"]["state"].values()):
        assert all(torch.equal(state[key], other[key]) for key in state)
    assert torch.equal(original["rng"]["torch"], again["rng"]["torch"])


def test_the_optimizer_state_travels_within_a_stage_and_restarts_with_the_next(config, tmp_path):
    paths = _run(TrainConfig.from_dict(config), tmp_path, 4)

    steps = [_load(path)["optimizer"]["state"][0].get("step") for path in paths[1:]]
    assert steps[:2] == [None, None]  # SGD keeps no step count
    assert [int(step) for step in steps[2:]] == [2, 4]  # Adam starts afresh at epoch 3: 2 batches per epoch
    assert "momentum_buffer" in _load(paths[2])["optimizer"]["state"][0]


def test_a_previous_checkpoint_of_the_wrong_epoch_is_refused(config, tmp_path):
    cfg = TrainConfig.from_dict(config)
    start_checkpoint(cfg, tmp_path / "e0.pt", tmp_path / "e0.json", progress=False)

    with pytest.raises(ConfigError, match="holds epoch 0, not epoch 1"):
        train_epoch(cfg, tmp_path / "e0.pt", tmp_path / "e2.pt", tmp_path / "e2.json", 2, progress=False)


def test_cli_trains_epoch_by_epoch(config, tmp_path, capsys):
    (tmp_path / "cfg.json").write_text(json.dumps(config))
    common = ["train-epoch", "--config", str(tmp_path / "cfg.json"), "--no-progress"]

    def outputs(n):
        return ["--out", str(tmp_path / f"c{n}.pt"), "--metrics", str(tmp_path / f"m{n}.json")]

    assert main([*common, "--epoch", "0", *outputs(0)]) == 0
    assert main(["train-epoch", "--config-json", json.dumps(config), "--no-progress", "--epoch", "1",
                 "--previous", str(tmp_path / "c0.pt"), *outputs(1), "--device", "cpu"]) == 0
    assert main([*common, "--epoch", "2", *outputs(2)]) == 2

    assert _load(tmp_path / "c1.pt")["epoch"] == 1
    assert "epoch 2 needs --previous" in capsys.readouterr().err
    assert not (tmp_path / "c2.pt").exists()


def test_cli_reports_invalid_json_in_one_line(tmp_path, capsys):
    assert main(["train-epoch", "--config-json", "{model: tiny}", "--epoch", "0",
                 "--out", str(tmp_path / "c.pt"), "--metrics", str(tmp_path / "m.json")]) == 2
    assert "--config-json: not valid JSON" in capsys.readouterr().err


def test_identical_runs_write_byte_identical_checkpoints(config, tmp_path):
    cfg = TrainConfig.from_dict(config)
    first = _run(cfg, tmp_path / "a", 2)
    second = _run(cfg, tmp_path / "b", 2)

    digests = [[hashlib.sha256(path.read_bytes()).hexdigest() for path in run] for run in (first, second)]
    assert digests[0] == digests[1]
    assert len(set(digests[0])) == 3  # and the epochs do differ


def test_a_diverging_epoch_stops_naming_epoch_and_step_and_writes_nothing(config, tmp_path):
    config["stages"] = [{"epochs": 2, "lr": 1e9, "optimizer": "sgd"}]
    cfg = TrainConfig.from_dict(config)
    start_checkpoint(cfg, tmp_path / "e0.pt", tmp_path / "e0.json", progress=False)

    with pytest.raises(DivergedError, match=r"training diverged in epoch 1, (after )?step [12] of 2: .* NaN or infinite; no checkpoint "
                                            r"was written; lower the learning rate \(this stage's lr is 1e\+09\)"):
        train_epoch(cfg, tmp_path / "e0.pt", tmp_path / "e1.pt", tmp_path / "e1.json", 1, progress=False)
    assert not (tmp_path / "e1.pt").exists() and not (tmp_path / "e1.json").exists()


def test_cli_reports_divergence_in_one_line(config, tmp_path, capsys):
    config["stages"] = [{"epochs": 1, "lr": 1e9, "optimizer": "sgd"}]
    common = ["train-epoch", "--config-json", json.dumps(config), "--no-progress"]
    assert main([*common, "--epoch", "0", "--out", str(tmp_path / "c0.pt"), "--metrics", str(tmp_path / "m0.json")]) == 0
    capsys.readouterr()

    assert main([*common, "--epoch", "1", "--previous", str(tmp_path / "c0.pt"), "--out", str(tmp_path / "c1.pt"),
                 "--metrics", str(tmp_path / "m1.json")]) == 2
    note, error = capsys.readouterr().err.splitlines()  # what ran where, then the error in one line
    assert note == "training on cpu in fp32" and error.startswith("driftlens: error: training diverged in epoch 1, ")
    assert not (tmp_path / "c1.pt").exists() and not (tmp_path / "m1.json").exists()


def test_a_nan_loss_is_caught_at_its_step(tiny):
    images = torch.rand(2, 3, 32, 32)
    batches = [(images, torch.tensor([0, 1])), (images * float("nan"), torch.tensor([0, 1])),
               (images, torch.tensor([0, 1]))]
    optimizer = torch.optim.SGD(tiny.parameters(), lr=0.01)

    result = run_epoch(tiny, batches, optimizer, progress=False)

    assert result["steps"] == 3 and result["first_nonfinite_step"] == 2


def test_a_start_model_with_nan_weights_is_refused_naming_the_weights(config, tmp_path, tiny):
    state = tiny.net.state_dict()
    state["conv2.0.weight"][0] = float("nan")
    torch.save(state, tmp_path / "nan.pt")
    config["weights"] = str(tmp_path / "nan.pt")

    with pytest.raises(DivergedError, match=r"the start model \(epoch 0\): conv2.0.weight is NaN or infinite; no "
                                            r"checkpoint was written; check the weights '.*nan.pt'"):
        start_checkpoint(TrainConfig.from_dict(config), tmp_path / "e0.pt", tmp_path / "e0.json", progress=False)
    assert not (tmp_path / "e0.pt").exists()
