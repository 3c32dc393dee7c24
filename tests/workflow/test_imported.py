"""An experiment of checkpoints trained elsewhere (``checkpoints:``): planned without training, run end to end,
re-run when a file is added, and refused early when its files or settings are wrong."""

import argparse
import shutil

import pytest
import torch
from PIL import Image

from driftlens import models
from driftlens.artifacts import read_metrics, read_screen_table
from driftlens.checkpoints import load_weights_file, read_checkpoint

STORED_EPOCHS = (2, 4, 6)  # what each file stores: the first is the reference, epoch 0 of the artifacts
EPOCHS = [0, 4, 6]


def _write_run(folder, epochs, seed=0):
    """Checkpoints as torchvision's reference scripts write them (``model`` under DDP's ``module.`` prefix, the
    epoch, the training args): the tiny model for the textures' 8 classes, drifting a little more each epoch."""
    torch.manual_seed(seed)
    net = models.load("tiny", weights="random", num_classes=8).net
    folder.mkdir(parents=True, exist_ok=True)
    for epoch in epochs:
        with torch.no_grad():
            for parameter in net.parameters():
                parameter.add_(0.1 * parameter.abs().mean() * torch.randn_like(parameter))
        torch.save({"epoch": epoch, "args": argparse.Namespace(lr=0.1),
                    "model": {f"module.{key}": value for key, value in net.state_dict().items()}},
                   folder / f"model_{epoch}.pth")
    return net


def _config(**experiment):
    return {
        "targets": ["mine"],
        "datasets": {"textures": {"kind": "textures"}},
        "experiments": {"mine": {
            "dataset": "textures", "model": "tiny", "image_size": 32, "checkpoints": "run/model_*.pth",
            "visualize": {"layers": ["conv2", "conv3"], "channels": {"most_changed": 1, "least_changed": 1},
                          "steps": 8, "size": 32},
            "probe_images": 16, **experiment}},
    }


@pytest.fixture(scope="module")
def imported_run(tmp_path_factory, snakemake, write_config):
    """The imported experiment, planned, then run once to completion: its folder and its dry run's output."""
    workdir = tmp_path_factory.mktemp("imported")
    _write_run(workdir / "run", STORED_EPOCHS)
    write_config(workdir, _config())
    plan = snakemake(workdir, "--cores", "2", "--dry-run").stdout
    snakemake(workdir, "--cores", "2")
    return workdir, plan


def test_the_plan_has_no_training_job_and_the_files_epochs(imported_run, job_counts):
    _, plan = imported_run
    counts = job_counts(plan)
    assert counts["import_checkpoint"] == len(EPOCHS) and counts["render_mine"] == len(EPOCHS)
    assert "train_epoch" not in counts and "start_model" not in counts
    assert counts["training_plot"] == 1 and counts["attribution_maps"] == len(EPOCHS)  # the probe images are labelled


def test_every_checkpoint_is_imported_with_its_weights_and_probe_accuracy(imported_run):
    workdir, _ = imported_run
    results = workdir / "results" / "mine"
    for epoch, stored in zip(EPOCHS, STORED_EPOCHS):
        checkpoint = read_checkpoint(results / "checkpoints" / f"epoch_{epoch:03d}.pt")
        source = load_weights_file(workdir / "run" / f"model_{stored}.pth")["model"]
        assert checkpoint.epoch == epoch and checkpoint.model_name == "tiny"
        assert all(torch.equal(checkpoint.model[key], source[f"module.{key}"]) for key in checkpoint.model)
        metrics = read_metrics(results / "metrics" / f"epoch_{epoch:03d}.json", epoch)
        assert 0 <= metrics["val_acc"] <= 1 and metrics["train_loss"] is None and metrics["stage"] is None


def test_the_analysis_runs_as_for_a_trained_experiment(imported_run):
    workdir, _ = imported_run
    results = workdir / "results" / "mine"
    screen = read_screen_table(results / "conv3" / "screen.csv", layer="conv3")
    assert sorted(set(screen.epoch)) == EPOCHS and len(screen) == 16 * len(EPOCHS)
    assert not screen[screen.epoch == 0].changed.any() and screen[screen.epoch == 6].changed.any()
    assert Image.open(results / "conv2" / "merged.png").size[1] > len(EPOCHS) * 32
    page = (results / "report.html").read_text()
    assert "at epoch 0 to" in page and "changed by epoch 6" in page


def test_a_new_checkpoint_file_reruns_what_depends_on_it(imported_run, snakemake, job_counts, tmp_path):
    workdir, _ = imported_run
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy, symlinks=True)
    _write_run(copy / "run", (*STORED_EPOCHS, 8))  # the same drift, one epoch more
    for stored in STORED_EPOCHS:  # the earlier files keep their times: only the new one is new
        shutil.copystat(workdir / "run" / f"model_{stored}.pth", copy / "run" / f"model_{stored}.pth")
    counts = job_counts(snakemake(copy, "--cores", "2", "--dry-run").stdout)
    assert counts["import_checkpoint"] == 1 and counts["representation"] == 1
    assert counts["screen"] == 2 and counts["select_channels"] == 2  # the channels come from the last checkpoint


def test_an_unlabelled_probe_folder_drops_the_accuracy_panels_and_attribution(tmp_path, snakemake, job_counts,
                                                                              write_config):
    _write_run(tmp_path / "run", (1, 2))
    (tmp_path / "probe" / "photos").mkdir(parents=True)
    for index in range(8):
        Image.new("RGB", (40, 40), (30 * index, 90, 200)).save(tmp_path / "probe" / "photos" / f"{index}.png")
    Image.new("RGB", (40, 40)).save(tmp_path / "probe" / "loose.png")  # not every image in a class folder
    config = _config(probe="probe", reference="imagenet")
    del config["experiments"]["mine"]["dataset"]
    config["experiments"]["mine"].update(model="efficientnet_lite0", visualize={"layers": ["blocks.12"],
                                                                             "channels": [0], "steps": 8, "size": 32})
    write_config(tmp_path, config)
    result = snakemake(tmp_path, "--dry-run", "--printshellcmds", check=False)
    assert "--folder probe" in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
    counts = job_counts(result.stdout)
    assert counts["import_checkpoint"] == 3  # imagenet, then epochs 1 and 2
    assert "training_plot" not in counts and "attribution_maps" not in counts and "prepare_data" not in counts


@pytest.mark.parametrize("change, message", [
    ({"checkpoints": "run/nothing_*.pth"}, "experiments.mine.checkpoints: the glob 'run/nothing_*.pth' matches no file"),
    ({"checkpoints": ["run/model_1.pth"]}, "a series needs at least two checkpoints"),
    ({"stages": [{"epochs": 1, "lr": 0.1}]}, "give stages (driftlens fine-tunes the model) or checkpoints"),
    ({"batch_size": 8}, "experiments.mine.batch_size: a training setting"),
])
def test_a_bad_series_fails_the_dry_run_with_its_key(tmp_path, snakemake, write_config, change, message):
    _write_run(tmp_path / "run", (1, 2))
    write_config(tmp_path, _config(**change))
    result = snakemake(tmp_path, "--dry-run", check=False)
    assert result.returncode != 0 and message in result.stdout + result.stderr, result.stderr[-2000:]


def test_a_model_that_does_not_fit_the_files_fails_the_first_job_with_the_reason(tmp_path, snakemake, write_config):
    _write_run(tmp_path / "run", (1, 2))
    config = _config()
    config["experiments"]["mine"].update(model="efficientnet_lite0", visualize={"layers": ["blocks.12"],
                                                                             "channels": [0], "steps": 8, "size": 32})
    write_config(tmp_path, config)
    result = snakemake(tmp_path, "--cores", "1", "results/mine/checkpoints/epoch_000.pt", check=False)
    assert result.returncode != 0
    assert "run/model_1.pth (entry 'model') does not fit the model" in result.stderr  # on the terminal, not only the log
