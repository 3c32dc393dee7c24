"""The feature diff in the workflow: on by default, a crosscoder per visualised layer, frozen checkpoints skipped."""

from pathlib import Path

from driftlens.artifacts import read_crosscoder, read_features_table, read_json
from driftlens.features import CLASSES


def test_every_visualised_layer_gets_its_feature_diff_and_the_report_its_section(mini_run):
    for layer in ("conv2", "conv3"):
        table = read_features_table(mini_run / "results" / "mini" / layer / "features.csv", layer=layer)
        summary = read_json(mini_run / "results" / "mini" / layer / "features.json")
        assert len(table) == summary["latents"] and set(table["class"]) <= set(CLASSES)
        assert sum(summary["counts"].values()) == summary["latents"]
        assert 0 < summary["vectors"] and summary["probe_positions"] > 0
        names = [name for row in table.exemplars for name in row.split(";")]
        assert all((mini_run / "resources" / "textures" / name).is_file() for name in names), names[:3]
        meta, state, scales, exemplars = read_crosscoder(mini_run / "results" / "mini" / layer / "crosscoder.npz")
        assert meta["epochs"] == summary["epochs"] and state["decoder"].shape[:2] == (summary["latents"],
                                                                                     len(summary["epochs"]))
    page = (mini_run / "results" / "mini" / "report.html").read_text()
    assert "What fine-tuning added and removed" in page and "Feature diff (a crosscoder over the checkpoints)" in page


def test_a_layer_frozen_in_the_last_stage_skips_that_checkpoint(mini_run):
    """The second stage trains from conv3: conv2's activations at epoch 2 are epoch 1's, so its diff reads 0 and 1."""
    frozen = read_json(mini_run / "results" / "mini" / "conv2" / "features.json")
    trained = read_json(mini_run / "results" / "mini" / "conv3" / "features.json")
    assert frozen["epochs"] == [0, 1] and frozen["skipped_epochs"] == {"2": 1}
    assert trained["epochs"] == [0, 1, 2] and trained["skipped_epochs"] == {}
    assert trained["nulls"]["noise"]["latents"] > 0


def test_switching_the_feature_diff_off_removes_its_jobs(tmp_path, snakemake, mini_config, write_config, job_counts):
    mini_config["experiments"]["mini"]["features"] = {"enabled": False}
    write_config(tmp_path, mini_config)
    counts = job_counts(snakemake(tmp_path, "-n", "--cores", "1").stdout)
    assert "features" not in counts and "feature_activations" not in counts and counts["report_page"] == 1


def test_an_unknown_feature_setting_is_named_by_the_dry_run(tmp_path, snakemake, mini_config, write_config):
    mini_config["experiments"]["mini"]["features"] = {"steps": 0}
    write_config(tmp_path, mini_config)
    result = snakemake(tmp_path, "-n", check=False)
    assert result.returncode != 0 and "steps" in result.stdout + result.stderr


def test_a_feature_epoch_without_a_checkpoint_is_named_by_the_dry_run(tmp_path, snakemake, mini_config, write_config):
    mini_config["experiments"]["mini"]["features"] = {"epochs": [1, 7]}
    write_config(tmp_path, mini_config)
    result = snakemake(tmp_path, "-n", check=False)
    assert result.returncode != 0
    assert "experiments.mini.features.epochs: 7 has no checkpoint (the epochs are 0 to 2)" in result.stdout + result.stderr
