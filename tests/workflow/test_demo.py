"""The real offline demo of config.yaml, end to end (a few minutes on 2 CPU cores)."""

import json
import shutil
import time
from pathlib import Path

import pytest
import yaml
from PIL import Image

from driftlens.artifacts import read_row

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, snakemake):
    workdir = tmp_path_factory.mktemp("demo")
    shutil.copy(REPO / "config.yaml", workdir / "config.yaml")
    start = time.perf_counter()
    snakemake(workdir, "--cores", "2")
    print(f"\ndemo wall time: {time.perf_counter() - start:.0f} s")
    config = yaml.safe_load((workdir / "config.yaml").read_text())["experiments"]["demo"]
    return workdir, workdir / "results" / "demo", config


def test_demo_builds_every_figure_and_the_report(demo):
    _, results, config = demo
    for layer in config["visualize"]["layers"]:
        assert Image.open(results / layer / "merged.png").size[0] > config["visualize"]["size"] * 4
    for name in ["before_after.png", "change.png", "training.png", "attribution/merged.png",
                 "attribution/drift.png"]:
        assert Image.open(results / name).size[0] > 100
    assert "epoch" in (results / "report.html").read_text()


def test_demo_fine_tuning_learns_the_texture_task(demo):
    _, results, config = demo
    last = sum(stage["epochs"] for stage in config["stages"])
    first = json.loads((results / "metrics" / "epoch_000.json").read_text())
    final = json.loads((results / "metrics" / f"epoch_{last:03d}.json").read_text())
    assert final["val_acc"] > max(0.6, first["val_acc"] + 0.3)


def test_demo_visualisations_change_during_fine_tuning(demo):
    _, results, config = demo
    layer = config["visualize"]["layers"][-1]
    last = sum(stage["epochs"] for stage in config["stages"])
    before, after = read_row(results / layer / "epoch_000.npz"), read_row(results / layer / f"epoch_{last:03d}.npz")
    assert before.images.shape == after.images.shape
    assert abs(before.images - after.images).max() > 0.05


def test_demo_rerun_has_nothing_to_do(demo, snakemake):
    workdir, _, _ = demo
    start = time.perf_counter()
    result = snakemake(workdir, "--cores", "2")
    print(f"\ncached re-run: {time.perf_counter() - start:.1f} s")
    assert "Nothing to be done" in result.stdout + result.stderr
