import re

import numpy as np
import pandas as pd
from PIL import Image

from driftlens.artifacts import (CHANGE_COLUMNS, read_change_table, read_metrics, read_probe_responses, read_row,
                                 read_screen_table)
from driftlens.checkpoints import read_checkpoint

EPOCHS = [0, 1, 2]
LAYERS = ["conv2", "conv3"]


def test_every_artifact_exists(mini_run):
    results = mini_run / "results" / "mini"
    for epoch in EPOCHS:
        checkpoint = read_checkpoint(results / "checkpoints" / f"epoch_{epoch:03d}.pt")
        assert checkpoint.epoch == epoch and checkpoint.model_name == "tiny"
        assert read_metrics(results / "metrics" / f"epoch_{epoch:03d}.json", epoch)["val_acc"] is not None
        for layer in LAYERS:
            row = read_row(results / layer / f"epoch_{epoch:03d}.npz", layer=layer, epoch=epoch)
            assert row.images.shape == (3, 3, 32, 32, 3) and row.seeds == [0, 1, 2] and row.channels == [0, 1, 2]
            assert Image.open(results / layer / f"epoch_{epoch:03d}.png").size == (3 * 32 + 4 * 2, 32 + 2 * 2)
    for name in ["before_after.png", "change.png", "training.png"]:
        assert Image.open(results / name).size[0] > 100


def test_merged_grid_has_a_row_per_epoch_a_second_seed_row_and_a_column_per_channel(mini_run):
    width, height = Image.open(mini_run / "results" / "mini" / "conv2" / "merged.png").size
    rows = len(EPOCHS) + 1
    assert rows * 32 < height < rows * 32 + 160  # two-line column labels and a caption of a few lines
    assert 3 * 32 < width


def test_change_table_covers_every_epoch_and_channel(mini_run):
    table = read_change_table(mini_run / "results" / "mini" / "conv3" / "change.csv", layer="conv3")
    assert list(table.columns) == CHANGE_COLUMNS
    assert sorted(zip(table.epoch, table.channel)) == [(e, c) for e in EPOCHS for c in range(3)]
    first = table[table.epoch == 0]
    assert first.ssim_to_first.min() > 0.999 and (first.exemplar_rho == 1).all() and not first.changed.any()


def test_frozen_layer_does_not_change_in_the_second_stage(mini_run):
    """Stage 2 trains from conv3 on: conv2's renders, metrics and verdicts at epoch 2 equal epoch 1's exactly."""
    results = mini_run / "results" / "mini"
    one, two = (read_row(results / "conv2" / f"epoch_{e:03d}.npz") for e in (1, 2))
    assert np.array_equal(one.images, two.images)
    table = pd.read_csv(results / "conv2" / "change.csv").set_index(["epoch", "channel"])
    columns = ["cross_activation", "exemplar_rho", "ssim_to_first", "p_value", "changed"]
    pd.testing.assert_frame_equal(table.loc[1][columns], table.loc[2][columns])


def test_probe_responses_hold_every_channel_of_each_screened_layer(mini_run):
    epoch, responses, grams = read_probe_responses(
        mini_run / "results" / "mini" / "representation" / "probe_001.npz", epoch=1)
    assert sorted(responses) == LAYERS and responses["conv3"].shape == (8, 16) and grams["conv3"].shape == (8, 8)


def test_screen_covers_every_channel_at_every_epoch_and_the_frozen_layer_stands_still(mini_run):
    """Stage 2 trains from conv3 on: conv2's screen at epoch 2 is its screen at epoch 1, exactly."""
    results = mini_run / "results" / "mini"
    conv3 = read_screen_table(results / "conv3" / "screen.csv", layer="conv3")
    assert sorted(set(zip(conv3.epoch, conv3.channel))) == [(e, c) for e in EPOCHS for c in range(16)]
    first = conv3[conv3.epoch == 0]
    assert not first.changed.any() and (first[first.state != "silent"].rank_shift == 0).all()
    assert first[first.state == "silent"].rank_shift.isna().all()  # dead channels: constant, nothing to rank
    conv2 = read_screen_table(results / "conv2" / "screen.csv", layer="conv2").set_index(["epoch", "channel"])
    columns = ["rank_shift", "rank_shift_se", "rho", "q_value", "changed"]
    pd.testing.assert_frame_equal(conv2.loc[1][columns], conv2.loc[2][columns])
    assert Image.open(results / "conv3" / "volcano.png").size[0] > 300 and Image.open(results / "depth.png").size[0] > 500
    assert "Change atlas (every channel, render-free): conv2: " in (results / "report.html").read_text()


def test_channels_chosen_from_the_screen_wait_for_it_and_blocks_are_screened(tmp_path, snakemake, mini_config,
                                                                            write_config, job_counts):
    mini_config["experiments"]["mini"]["visualize"]["channels"] = {"most_changed": 2, "least_changed": 1}
    mini_config["experiments"]["mini"]["screen"] = {"layers": "blocks"}
    write_config(tmp_path, mini_config)
    plan = snakemake(tmp_path, "-n", "-p", "--cores", "1").stdout
    selections = re.findall(r"driftlens select-channels .*", plan)
    assert len(selections) == 2 and all("--channels most_changed:2,least_changed:1,epoch:2 --screen results/mini/"
                                        in command for command in selections), plan
    screens = re.findall(r"driftlens screen --layer (\S+)", plan)
    assert sorted(screens) == ["conv1", "conv2", "conv3"]  # the tiny model's blocks: its visualised layers and conv1
    assert job_counts(plan)["representation"] == len(EPOCHS)  # one probe pass per checkpoint, whatever the layers


def test_most_changed_channels_too_many_for_the_layer_are_named_by_the_dry_run(tmp_path, snakemake, mini_config,
                                                                               write_config):
    mini_config["experiments"]["mini"]["visualize"]["channels"] = {"most_changed": 10, "least_changed": 10}
    write_config(tmp_path, mini_config)
    result = snakemake(tmp_path, "--dry-run", check=False)
    assert result.returncode != 0 and "experiments.mini.visualize.channels: k=20 is not between 1 and the 16 channels" \
        in result.stderr + result.stdout


def test_an_unknown_module_in_a_freeze_list_is_named_by_the_dry_run(tmp_path, snakemake, mini_config, write_config):
    stage = mini_config["experiments"]["mini"]["stages"][1]
    del stage["train_from"]
    stage["freeze"] = ["conv1", "conv9"]
    write_config(tmp_path, mini_config)
    result = snakemake(tmp_path, "--dry-run", check=False)
    assert result.returncode != 0
    assert "experiments.mini.stages[1].freeze[1]: unknown layer 'conv9'" in result.stderr + result.stdout


def test_second_run_has_nothing_to_do(mini_run, snakemake):
    result = snakemake(mini_run, "--cores", "2", "--dry-run")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_deleted_visualisation_is_the_only_render_redone(mini_run, snakemake, job_counts):
    for suffix in (".png", ".npz"):
        (mini_run / "results" / "mini" / "conv2" / f"epoch_001{suffix}").unlink()
    dry_run = snakemake(mini_run, "--cores", "2", "--dry-run")
    counts = job_counts(dry_run.stdout)
    assert counts.get("render_mini") == 1, dry_run.stdout[-3000:] + dry_run.stderr[-3000:]
    assert "train_epoch" not in counts and "start_model" not in counts
    snakemake(mini_run, "--cores", "2")
    with Image.open(mini_run / "results" / "mini" / "conv2" / "epoch_001.png") as png:
        assert png.size == (3 * 32 + 4 * 2, 32 + 2 * 2)


def test_unknown_config_key_is_named(tmp_path, snakemake, mini_config, write_config):
    config = mini_config
    config["experiments"]["mini"]["visualise"] = config["experiments"]["mini"].pop("visualize")
    write_config(tmp_path, config)
    result = snakemake(tmp_path, "--dry-run", check=False)
    assert result.returncode != 0
    assert "config.yaml: experiments.mini" in result.stderr + result.stdout
    assert "visualise" in result.stderr + result.stdout and "Failed validating" not in result.stderr + result.stdout


def test_wrong_type_is_named(tmp_path, snakemake, mini_config, write_config):
    config = mini_config
    config["experiments"]["mini"]["visualize"]["steps"] = "many"
    write_config(tmp_path, config)
    result = snakemake(tmp_path, "--dry-run", check=False)
    assert result.returncode != 0
    message = "config.yaml: experiments.mini.visualize.steps: 'many' is not of type 'integer'"
    assert message in result.stderr + result.stdout


def test_a_bad_key_in_a_configfile_overlay_names_the_overlay(tmp_path, snakemake, mini_config, write_config):
    write_config(tmp_path, mini_config)
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("experiments:\n  mini:\n    visualize:\n      steps: many\n      visualise: 1\n")
    result = snakemake(tmp_path, "--dry-run", "--configfile", str(tmp_path / "config.yaml"), str(overlay), check=False)
    assert result.returncode != 0
    assert f"{overlay}: experiments.mini.visualize" in result.stderr + result.stdout


def test_unknown_dataset_is_named(tmp_path, snakemake, mini_config, write_config):
    config = mini_config
    config["experiments"]["mini"]["dataset"] = "textures2"
    write_config(tmp_path, config)
    result = snakemake(tmp_path, "--dry-run", check=False)
    assert result.returncode != 0 and "experiments.mini.dataset" in result.stderr + result.stdout


def test_an_imagefolder_data_set_without_source_is_named_by_the_dry_run(tmp_path, snakemake, mini_config,
                                                                         write_config):
    mini_config["datasets"]["mine"] = {"kind": "imagefolder"}
    write_config(tmp_path, mini_config)
    result = snakemake(tmp_path, "--dry-run", check=False)
    assert result.returncode != 0
    assert "datasets.mine.source: an imagefolder data set needs a source" in result.stderr + result.stdout


def test_skip_corrupt_on_a_data_set_that_is_not_an_imagefolder_is_named_by_the_dry_run(tmp_path, snakemake,
                                                                                         mini_config, write_config):
    mini_config["datasets"]["textures"]["skip_corrupt"] = True
    write_config(tmp_path, mini_config)
    result = snakemake(tmp_path, "--dry-run", check=False)
    assert result.returncode != 0
    assert "datasets.textures.skip_corrupt: only imagefolder data sets take it" in result.stderr + result.stdout


def test_a_false_discovery_rate_above_1_is_named_by_the_dry_run(tmp_path, snakemake, mini_config, write_config):
    mini_config["experiments"]["mini"]["screen"] = {"alpha": 5}
    write_config(tmp_path, mini_config)
    result = snakemake(tmp_path, "--dry-run", check=False)
    assert result.returncode != 0
    assert "experiments.mini.screen.alpha: 5 is greater than the maximum of 0.5" in result.stderr + result.stdout


def test_the_experiments_precision_reaches_its_training_and_render_jobs(tmp_path, snakemake, mini_config,
                                                                         write_config):
    mini_config["experiments"]["mini"]["precision"] = "bf16"
    write_config(tmp_path, mini_config)
    plan = snakemake(tmp_path, "-n", "-p", "--cores", "1").stdout
    renders = re.findall(r"driftlens render-checkpoint .*", plan)
    trainings = re.findall(r"driftlens train-epoch .*", plan)
    assert renders and all("--precision bf16" in command for command in renders), plan
    assert trainings and all('"precision": "bf16"' in command for command in trainings), plan


def test_unknown_precision_is_named_by_the_dry_run(tmp_path, snakemake, mini_config, write_config):
    mini_config["experiments"]["mini"]["precision"] = "fp16"
    write_config(tmp_path, mini_config)
    result = snakemake(tmp_path, "--dry-run", check=False)
    assert result.returncode != 0 and "experiments.mini.precision: 'fp16' is not one of" in result.stderr + result.stdout


def test_a_layer_label_names_the_folder_and_the_layer_reaches_every_command(tmp_path, snakemake, mini_config,
                                                                          write_config):
    mini_config["experiments"]["mini"]["visualize"]["layers"] = {"early": "conv2", "late": "conv3"}
    write_config(tmp_path, mini_config)
    plan = snakemake(tmp_path, "-n", "-p", "--cores", "1").stdout
    assert "results/mini/late/merged.png" in plan and "results/mini/conv3/" not in plan
    assert re.search(r"driftlens select-channels .* --layer conv3 .* -o results/mini/late/channels.txt", plan), plan
    assert re.search(r"--units conv2=results/mini/early/channels.txt conv3=results/mini/late/channels.txt", plan)
    assert re.search(r"driftlens screen --layer conv3 .* -o results/mini/late/screen.csv", plan)
    assert re.search(r"driftlens representation .* --layers conv2,conv3 ", plan)
    assert re.search(r"driftlens report .* --layers conv2,conv3 ", plan)


def test_warm_started_renders_chain_each_epoch_to_the_previous_visualised_one(tmp_path, snakemake, mini_config,
                                                                              write_config):
    mini_config["experiments"]["mini"]["stages"][1]["epochs"] = 3
    mini_config["experiments"]["mini"]["visualize"].update(warm_start=4, epochs=[0, 2, 4])
    write_config(tmp_path, mini_config)
    plan = snakemake(tmp_path, "-n", "-p", "--cores", "1").stdout
    renders = {int(epoch): command for command, epoch in
               re.findall(r"(driftlens render-checkpoint --checkpoint \S+epoch_(\d+).pt.*)", plan)}
    assert sorted(renders) == [0, 2, 4] and all("--warm-steps 4" in command for command in renders.values())
    assert "--warm-start" not in renders[0]  # the first visualised epoch starts from noise
    for epoch, previous in ((2, 0), (4, 2)):
        assert f"--warm-start results/mini/conv2/epoch_{previous:03d}.npz results/mini/conv3/epoch_{previous:03d}.npz " \
               f"--warm-start-checkpoint results/mini/checkpoints/epoch_{previous:03d}.pt" in renders[epoch]


def test_a_warm_start_for_a_method_that_cannot_continue_is_named_by_the_dry_run(tmp_path, snakemake, mini_config,
                                                                                write_config):
    mini_config["experiments"]["mini"]["visualize"].update(warm_start=4, method="erhan")
    write_config(tmp_path, mini_config)
    result = snakemake(tmp_path, "--dry-run", check=False)
    assert result.returncode != 0
    assert "experiments.mini.visualize.warm_start: erhan renders cannot continue from earlier renders; warm starts " \
           "are for lucid" in result.stderr + result.stdout


def test_the_plain_command_shows_why_a_job_failed(tmp_path, snakemake, mini_config, write_config):
    """No profile: the one-line reason driftlens wrote to the job's log reaches the terminal too."""
    mini_config["datasets"] = {"flowers": {"kind": "flowers17", "source": str(tmp_path / "no-such-copy")}}
    mini_config["experiments"]["mini"]["dataset"] = "flowers"
    write_config(tmp_path, mini_config)
    result = snakemake(tmp_path, "--cores", "1", "resources/flowers/splits.json", check=False)
    assert result.returncode != 0
    reason = (tmp_path / "logs" / "data" / "flowers.log").read_text().strip().splitlines()[-1]
    assert reason.startswith("driftlens: error:") and "no-such-copy" in reason
    assert reason in result.stdout + result.stderr


def test_the_deprecated_compare_probe_images_key_still_sets_the_probe_set_with_a_message(tmp_path, snakemake,
                                                                                           mini_config, write_config):
    mini_config["experiments"]["mini"].pop("probe_images")
    mini_config["experiments"]["mini"]["compare"] = {"probe_images": 12}
    write_config(tmp_path, mini_config)
    result = snakemake(tmp_path, "-n", "-p", "--cores", "1")
    assert "experiments.mini.compare.probe_images is deprecated and will be removed; write " \
           "experiments.mini.probe_images: 12" in result.stderr + result.stdout
    assert re.search(r"driftlens probe .*--count 12 ", result.stdout), result.stdout[-2000:]


def test_the_screen_gets_only_the_options_the_config_sets(tmp_path, snakemake, mini_config, write_config):
    """Its defaults live in driftlens.change.defaults alone: the workflow passes none of them."""
    write_config(tmp_path, mini_config)
    plain = re.findall(r"driftlens screen .*", snakemake(tmp_path, "-n", "-p", "--cores", "1").stdout)
    mini_config["experiments"]["mini"]["screen"] = {"alpha": 0.01}
    write_config(tmp_path, mini_config)
    chosen = re.findall(r"driftlens screen .*", snakemake(tmp_path, "-n", "-p", "--cores", "1").stdout)
    assert plain and not any(option in command for command in plain
                             for option in ("--min-effect", "--alpha", "--top-k", "--bootstrap"))
    assert chosen and all("--alpha 0.01" in command and "--min-effect" not in command for command in chosen)
