"""Every cross-key check of the workflow config fires, with a message that starts with its key (the lesson of two
checks that once sat after a ``return`` and never ran)."""

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from driftlens.errors import ConfigError
from driftlens.schemas.workflow import check_workflow_config, checkpoint_epochs, epoch_text

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def repository_config():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"), set_default=True)
    return config


@pytest.fixture
def config(repository_config):
    return copy.deepcopy(repository_config)


def _imported(config, tmp_path, probe=None, **changes):
    """The demo turned into an experiment of two checkpoint files of its own (no training settings); with ``probe``
    a probe folder instead of its data set."""
    for name in ("checkpoint-1.pt", "checkpoint-2.pt"):
        (tmp_path / name).write_bytes(b"")
    demo = config["experiments"]["demo"]
    for key in ("stages", "batch_size"):
        del demo[key]
    demo.update(checkpoints=str(tmp_path / "checkpoint-*.pt"), **changes)
    if probe is not None:
        del demo["dataset"]
        demo["probe"] = probe
    return demo


def _maco_without_a_data_set(config, tmp_path):
    _imported(config, tmp_path, probe=str(tmp_path))["visualize"]["method"] = "maco"


CHECKS = [
    ("targets: unknown experiment 'nope'", lambda c, t: c.update(targets=["nope"])),
    ("datasets.mine.source: an imagefolder data set needs a source",
     lambda c, t: c["datasets"].update(mine={"kind": "imagefolder"})),
    ("datasets.textures.skip_corrupt: only imagefolder data sets take it, not textures",
     lambda c, t: c["datasets"]["textures"].update(skip_corrupt=True)),
    ("experiments.demo: give stages (driftlens fine-tunes the model) or checkpoints",
     lambda c, t: c["experiments"]["demo"].update(checkpoints="runs/*.pt")),
    ("experiments.demo.reference: only an experiment with checkpoints takes it",
     lambda c, t: c["experiments"]["demo"].update(reference="imagenet")),
    ("experiments.demo.dataset: an experiment with stages trains on a data set",
     lambda c, t: c["experiments"]["demo"].pop("dataset")),
    ("experiments.demo.dataset: 'nowhere' is not a key of datasets",
     lambda c, t: c["experiments"]["demo"].update(dataset="nowhere")),
    ("experiments.demo: give the probe images as dataset (its validation images) or as probe (a folder)",
     lambda c, t: _imported(c, t).update(probe=str(t))),
    ("experiments.demo.probe: ", lambda c, t: _imported(c, t, probe=str(t / "no-such-folder"))),
    ("experiments.demo.visualize.method: maco needs a data set's spectrum", _maco_without_a_data_set),
    ("experiments.demo.batch_size: a training setting; an experiment with checkpoints takes none",
     lambda c, t: _imported(c, t, batch_size=8)),
    ("experiments.demo.checkpoints: ", lambda c, t: _imported(c, t).update(checkpoints=str(t / "none-*.pt"))),
    ("experiments.demo.visualize.epochs: 9 has no checkpoint (the epochs are 0 to 3)",
     lambda c, t: c["experiments"]["demo"]["visualize"].update(epochs=[0, 9])),
    ("experiments.demo.features.epochs: 7 has no checkpoint (the epochs are 0 to 3)",
     lambda c, t: c["experiments"]["demo"]["features"].update(epochs=[7])),
    ("experiments.demo.visualize.channels.epoch: 5 has no checkpoint (the epochs are 0 to 3)",
     lambda c, t: c["experiments"]["demo"]["visualize"]["channels"].update(epoch=5)),
    ("experiments.demo.visualize.warm_start: erhan renders cannot continue from earlier renders",
     lambda c, t: c["experiments"]["demo"]["visualize"].update(warm_start=8, method="erhan")),
]


def test_the_repositorys_config_passes(config):
    check_workflow_config(config)


def test_an_imported_experiment_that_is_right_passes(config, tmp_path):
    _imported(config, tmp_path)
    check_workflow_config(config)


@pytest.mark.parametrize("message, change", CHECKS, ids=[message.split(":")[0] for message, _ in CHECKS])
def test_each_check_fires_and_names_its_key(config, tmp_path, message, change):
    change(config, tmp_path)
    with pytest.raises(ConfigError) as raised:
        check_workflow_config(config)
    assert str(raised.value).startswith(message), str(raised.value)


def test_the_renamed_probe_images_key_is_read_with_a_message(config, capsys):
    config["experiments"]["demo"]["compare"] = {"probe_images": 12}
    check_workflow_config(config)
    assert config["experiments"]["demo"]["probe_images"] == 12 and "compare" not in config["experiments"]["demo"]
    assert "experiments.demo.compare.probe_images is deprecated" in capsys.readouterr().err


def test_epochs_of_a_trained_experiment_and_their_text():
    assert checkpoint_epochs({"stages": [{"epochs": 1}, {"epochs": 2}]}) == [0, 1, 2, 3]
    assert epoch_text([0, 1, 2, 3]) == "0 to 3" and epoch_text([0, 4, 10]) == "0, 4, 10"
