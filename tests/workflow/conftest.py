"""Run the real Snakefile on small configs in temporary folders."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = REPO / "Snakefile"


def _snakemake(workdir, *args, check=True):
    """Run snakemake on the repository's Snakefile in ``workdir``; returns the CompletedProcess."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), "--directory", str(workdir),
               "--configfile", str(Path(workdir) / "config.yaml"), *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1200)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
    return result


def _write_config(workdir, config):
    Path(workdir).mkdir(parents=True, exist_ok=True)
    (Path(workdir) / "config.yaml").write_text(yaml.safe_dump(config))


def _mini_config():
    """A tiny experiment: the tiny CNN on the textures data, two stages, two layers, few steps."""
    return {
        "targets": ["mini"],
        "datasets": {"textures": {"kind": "textures"}},
        "experiments": {"mini": {
            "dataset": "textures", "model": "tiny", "weights": "random", "image_size": 32, "batch_size": 16,
            "stages": [{"epochs": 1, "lr": 0.05}, {"epochs": 1, "train_from": "conv3", "lr": 0.01,
                                                   "optimizer": "adam"}],
            "visualize": {"layers": ["conv2", "conv3"], "channels": [0, 1, 2], "steps": 8, "size": 32},
            "probe_images": 8,
        }},
    }


@pytest.fixture(scope="session")
def mini_run(tmp_path_factory):
    """The mini experiment, run once to completion; tests read (and some then change) its folder."""
    workdir = tmp_path_factory.mktemp("mini")
    _write_config(workdir, _mini_config())
    _snakemake(workdir, "--cores", "2")
    return workdir


@pytest.fixture(scope="session")
def snakemake():
    """``snakemake(workdir, *args, check=True)``: run the repository's Snakefile in ``workdir``."""
    return _snakemake


@pytest.fixture
def mini_config():
    """A fresh copy of the mini experiment's config."""
    return _mini_config()


@pytest.fixture(scope="session")
def write_config():
    return _write_config


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


@pytest.fixture(scope="session")
def job_counts():
    """``job_counts(dry_run_stdout)``: job name -> count from the table a dry run prints."""
    return _job_counts
