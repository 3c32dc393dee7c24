import json

import numpy as np
import pytest
from PIL import Image

from driftlens import models
from driftlens.models import UnknownLayerError

EPOCHS = [0, 1, 2]
LAYERS = ["conv2", "conv3"]


def _job_counts(dry_run_output):
    """Job name -> count from the table a dry run prints."""
    counts, in_table = {}, False
    for line in dry_run_output.splitlines():
        if line.startswith("job "):
            in_table = True
        elif in_table and line.strip() and not line.startswith("-"):
            name, count = line.split()[:2]
            if name == "total":
                break
            counts[name] = int(count)
    return counts


def test_every_artifact_exists(mini_run):
    results = mini_run / "results" / "mini"
    for epoch in EPOCHS:
        assert (results / "checkpoints" / f"epoch_{epoch:03d}.pt").is_file()
        metrics = json.loads((results / "metrics" / f"epoch_{epoch:03d}.json").read_text())
        assert metrics["epoch"] == epoch
        for layer in LAYERS:
            assert (results / layer / f"epoch_{epoch:03d}.npz").is_file()
            assert Image.open(results / layer / f"epoch_{epoch:03d}.png").size == (3 * 32 + 4 * 2, 32 + 2 * 2)
    for name in ["before_after.png", "change.png", "training.png"]:
        assert Image.open(results / name).size[0] > 100


def test_merged_grid_has_a_row_per_epoch_and_a_column_per_channel(mini_run):
    width, height = Image.open(mini_run / "results" / "mini" / "conv2" / "merged.png").size
    assert height > len(EPOCHS) * 32 and height < len(EPOCHS) * 32 + 60
    assert width > 3 * 32 and width < 3 * 32 + 120


def test_similarity_table_covers_every_epoch_and_channel(mini_run):
    import pandas as pd

    table = pd.read_csv(mini_run / "results" / "mini" / "conv3" / "similarity.csv")
    assert sorted(set(zip(table.epoch, table.channel))) == [(e, c) for e in EPOCHS for c in range(3)]
    assert table.loc[table.epoch == 0, "ssim_to_first"].min() > 0.999


def test_second_run_has_nothing_to_do(mini_run, snakemake):
    result = snakemake(mini_run, "--cores", "2", "--dry-run")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_deleted_visualisation_is_the_only_render_redone(mini_run, snakemake):
    for suffix in (".png", ".npz"):
        (mini_run / "results" / "mini" / "conv2" / f"epoch_001{suffix}").unlink()
    dry_run = snakemake(mini_run, "--cores", "2", "--dry-run")
    counts = _job_counts(dry_run.stdout)
    assert counts.get("visualize") == 1, dry_run.stdout[-3000:] + dry_run.stderr[-3000:]
    assert "train_epoch" not in counts and "start_model" not in counts
    snakemake(mini_run, "--cores", "2")
    assert (mini_run / "results" / "mini" / "conv2" / "epoch_001.png").is_file()


def test_unknown_config_key_is_named(tmp_path, snakemake, mini_config, write_config):
    config = mini_config
    config["experiments"]["mini"]["visualise"] = config["experiments"]["mini"].pop("visualize")
    write_config(tmp_path, config)
    result = snakemake(tmp_path, "--dry-run", check=False)
    assert result.returncode != 0
    assert "visualise" in result.stderr + result.stdout


def test_wrong_type_is_named(tmp_path, snakemake, mini_config, write_config):
    config = mini_config
    config["experiments"]["mini"]["visualize"]["steps"] = "many"
    write_config(tmp_path, config)
    result = snakemake(tmp_path, "--dry-run", check=False)
    assert result.returncode != 0 and "many" in result.stderr + result.stdout


def test_unknown_dataset_is_named(tmp_path, snakemake, mini_config, write_config):
    config = mini_config
    config["experiments"]["mini"]["dataset"] = "textures2"
    write_config(tmp_path, config)
    result = snakemake(tmp_path, "--dry-run", check=False)
    assert result.returncode != 0 and "experiments.mini.dataset" in result.stderr + result.stdout


def _cli_message(error, call):
    with pytest.raises(error) as caught:
        call()
    return str(caught.value)


@pytest.mark.parametrize("change, key, cli_message", [
    (lambda exp: exp["visualize"].update(layers=["conv2", "conv9"]), "experiments.mini.visualize.layers",
     lambda: _cli_message(UnknownLayerError, lambda: models.load("tiny", weights="random").resolve("conv9"))),
    (lambda exp: exp["visualize"].update(channels=[0, 16]), "experiments.mini.visualize.channels",
     lambda: _cli_message(IndexError, lambda: models.load("tiny", weights="random").check_channel("conv2", 16))),
    (lambda exp: exp["visualize"].update(channels={"top_k": 17}), "experiments.mini.visualize.channels",
     lambda: "k=17 is not between 1 and the 16 channels of layer 'conv2'"),
    (lambda exp: exp["stages"][1].update(train_from="conv7"), "experiments.mini.stages[1].train_from",
     lambda: _cli_message(UnknownLayerError, lambda: models.load("tiny", weights="random").resolve("conv7"))),
])
def test_bad_layers_and_channels_stop_the_dry_run_with_the_cli_message(tmp_path, snakemake, mini_config, write_config,
                                                                       change, key, cli_message):
    change(mini_config["experiments"]["mini"])
    write_config(tmp_path, mini_config)

    result = snakemake(tmp_path, "--dry-run", check=False)

    assert result.returncode != 0
    assert f"{key}: {cli_message()}" in result.stderr + result.stdout
    assert not (tmp_path / "resources").exists()


def test_skip_corrupt_is_a_data_set_key_and_the_skipped_files_are_in_the_log(tmp_path, snakemake, mini_config,
                                                                             write_config):
    photos = tmp_path / "photos"
    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (photos / name).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(photos / name / f"{i}.png")
    (photos / "dog" / "9.png").write_text("not an image")
    mini_config["datasets"]["mine"] = {"kind": "imagefolder", "source": str(photos), "skip_corrupt": True}
    mini_config["experiments"]["mini"]["dataset"] = "mine"
    write_config(tmp_path, mini_config)

    snakemake(tmp_path, "--cores", "1", "resources/mine/splits.json")

    log = (tmp_path / "logs" / "data" / "mine.log").read_text()
    assert "skipped 1 unreadable images" in log and f"cannot read image {photos / 'dog' / '9.png'}" in log
    splits = json.loads((tmp_path / "resources" / "mine" / "splits.json").read_text())
    assert sum(len(splits[split]) for split in ("train", "val", "test")) == 8


def test_skip_corrupt_on_a_data_set_that_is_not_an_image_folder_is_named(tmp_path, snakemake, mini_config,
                                                                          write_config):
    mini_config["datasets"]["textures"]["skip_corrupt"] = True
    write_config(tmp_path, mini_config)

    result = snakemake(tmp_path, "--dry-run", check=False)

    assert result.returncode != 0
    assert "datasets.textures.skip_corrupt: only imagefolder data sets take it" in result.stderr + result.stdout
