"""``driftlens compare --features``: the feature diff of checkpoints trained elsewhere, on a planted change."""

import numpy as np
import pandas as pd
import torch
from PIL import Image

from driftlens import models
from driftlens.artifacts import read_features_table, read_json
from driftlens.change.planted import reinitialise_channels
from driftlens.cli import main
from driftlens.data.textures import source_photo
from driftlens.features import changed_latents_on
from driftlens.features.latents import CHANGED


def write_probe_folder(folder, count=96, side=48):
    rng = np.random.default_rng(0)
    for k, name in enumerate(["coffee", "chelsea", "astronaut"] * (count // 3)):
        photo = source_photo(name)
        y, x = (int(rng.integers(0, edge - side)) for edge in photo.shape[:2])
        (folder / name).mkdir(parents=True, exist_ok=True)
        Image.fromarray((photo[y:y + side, x:x + side] * 255).astype(np.uint8)).save(folder / name / f"{k}.png")


def test_a_reinitialised_channel_is_covered_by_a_changed_latent_and_an_untouched_layer_is_skipped(tmp_path, capsys):
    first = models.load("tiny", weights="random", seed=1)
    later = reinitialise_channels(first, "conv3", [4], seed=1)
    for epoch, model in ((0, first), (5, later)):
        torch.save({"epoch": epoch, "state_dict": model.net.state_dict()}, tmp_path / f"checkpoint-{epoch}.pth.tar")
    write_probe_folder(tmp_path / "probe")
    assert main(["compare", "--checkpoints", str(tmp_path / "checkpoint-*.pth.tar"), "--model", "tiny", "--layers",
                 "conv2,conv3", "--probe", str(tmp_path / "probe"), "--features", "--render-steps", "2",
                 "-o", str(tmp_path / "out"), "--no-progress"]) == 0
    assert "conv3: " in capsys.readouterr().out
    table = read_features_table(tmp_path / "out" / "conv3" / "features.csv", layer="conv3")
    changed = table[table["class"].isin(CHANGED)]
    on_channel = changed_latents_on(table, 4)
    assert len(on_channel), changed[["latent", "class", "top_channel", "top_channel_mass", "change_channel"]]
    assert len(changed) == len(on_channel), changed  # no untouched channel gathers a changed latent
    summary = read_json(tmp_path / "out" / "conv3" / "features.json")
    noise = summary["nulls"]["noise"]
    assert noise["exclusive_by_minimum_effect"] <= 0.01 * noise["latents"]
    files = pd.Series(table.exemplars.iloc[0].split(";"))
    assert files.map(lambda name: (tmp_path / "probe" / name).is_file()).all()
    frozen = read_json(tmp_path / "out" / "conv2" / "features.json")
    assert frozen["epochs"] == [0] and frozen["skipped_epochs"] == {"5": 0}
    assert set(read_features_table(tmp_path / "out" / "conv2" / "features.csv")["class"]) <= {"shared", "rare", "dead"}
    assert (tmp_path / "out" / "conv3" / "features.png").stat().st_size > 10_000
