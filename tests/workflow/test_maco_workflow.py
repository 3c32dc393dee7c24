"""The workflow with ``visualize.method: maco`` and ``visualize.accentuation: true``."""

import re

from PIL import Image

from driftlens.artifacts import read_row
from driftlens.optvis import spectrum


def _maco_config(mini_config):
    exp = mini_config["experiments"]["mini"]
    exp["visualize"].update(method="maco", accentuation=True)
    exp["stages"] = exp["stages"][:1]
    return mini_config


def test_a_dry_run_plans_the_spectrum_and_the_accentuation_figures(tmp_path, mini_config, write_config, snakemake):
    write_config(tmp_path, _maco_config(mini_config))
    plan = snakemake(tmp_path, "-n", "-p", "--cores", "1").stdout
    assert "driftlens spectrum --splits resources/textures/splits.json --size 32" in plan
    assert "--spectrum resources/textures/spectrum.npz" in plan
    for layer in ("conv2", "conv3"):
        assert f"results/mini/{layer}/accentuation.png" in plan


def test_every_driftlens_job_runs_with_exactly_the_threads_it_was_given(tmp_path, mini_config, write_config,
                                                                        snakemake):
    config = _maco_config(mini_config)
    config["experiments"]["mini"]["attribution"] = {"enabled": True}
    write_config(tmp_path, config)
    plan = snakemake(tmp_path, "-n", "-p", "--forceall", "--cores", "1").stdout
    rules = sorted(set(re.findall(r"^(?:local)?rule (\w+):$", plan, re.MULTILINE)))
    more = snakemake(tmp_path, "-n", "-p", "--forceall", "--cores", "3",
                     "--set-threads", *[f"{rule}=3" for rule in rules]).stdout
    for plan, threads in ((plan, "1"), (more, "3")):
        commands = re.findall(r"^\s*(?:Shell command: )?(driftlens .*)$", plan, re.MULTILINE)
        assert len(commands) >= 12, plan
        for command in commands:
            assert re.findall(r"--threads (\d+)", command) == [threads], command


def test_without_maco_and_accentuation_neither_is_planned(tmp_path, mini_config, write_config, snakemake):
    write_config(tmp_path, mini_config)
    plan = snakemake(tmp_path, "-n", "-p", "--cores", "1").stdout
    rules = set(re.findall(r"^(?:local)?rule (\w+):$", plan, re.MULTILINE))
    assert "experiment_config" in rules and not {"spectrum", "accentuation"} & rules
    assert "results/mini/accentuation" not in plan and "spectrum.npz" not in plan


def test_a_maco_experiment_renders_with_its_data_sets_spectrum(tmp_path, mini_config, write_config, snakemake):
    write_config(tmp_path, _maco_config(mini_config))
    snakemake(tmp_path, "--cores", "2", "results/mini/conv3/epoch_001.npz", "results/mini/conv3/accentuation.png")
    estimated = spectrum.load(tmp_path / "resources/textures/spectrum.npz")
    assert estimated.size == 32 and estimated.source.endswith("splits.json:train")
    row = read_row(tmp_path / "results/mini/conv3/epoch_001.npz", layer="conv3", epoch=1)
    assert row.images.shape == (3, 3, 32, 32, 3) and row.settings["method"] == "maco"  # 3 seeds x 3 channels
    with Image.open(tmp_path / "results/mini/conv3/accentuation.png") as figure:
        assert figure.size[1] >= 3 * 32  # the originals and one row per rendered epoch (0 and 1)
