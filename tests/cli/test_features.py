"""``driftlens feature-activations`` and ``features`` (driftlens.cli.features): what replaced their removed options,
and the command that is gone."""

import numpy as np
import pytest

from driftlens import cli
from driftlens.artifacts import FEATURE_ACTIVATIONS, read_feature_activations, write_artifact
from driftlens.errors import ArtifactError

REQUIRED = ["--layers", "conv3", "--folder", "images", "--probe", "probe.npz", "-o", "a.npz"]


@pytest.mark.parametrize("flag, value, replacement", [
    ("--checkpoint", "e0.pt", "give every checkpoint of the diff to --checkpoints"),
    ("--previous", "e1.pt", "a layer whose upstream weights equal the previous checkpoint's is found"),
    ("--noise-output", "n.npz", "noise copy is written into the -o file"),
    ("--noise", "0.01", "give it in --settings"),
    ("--max-vectors", "100", "give it in --settings"),
])
def test_a_removed_activation_option_names_what_replaced_it(flag, value, replacement, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["feature-activations", "--checkpoints", "e3.pt", flag, value, *REQUIRED])
    error = capsys.readouterr().err
    assert stop.value.code == 2 and f"{flag} is gone: " in error and replacement in error


def test_the_noise_activations_option_points_into_the_one_activation_file(capsys):
    with pytest.raises(SystemExit):
        cli.main(["features", "--layer", "conv3", "--activations", "a.npz", "--probe", "p.npz", "-o", "f.csv",
                  "--summary", "f.json", "--dictionary", "c.npz", "--noise-activations", "n.npz"])
    assert "--noise-activations is gone: the noise copy's vectors are in the --activations file" in capsys.readouterr().err


def test_plot_features_says_that_features_draws_the_figure_now(capsys):
    assert cli.main(["plot-features", "--features", "f.csv"]) == 2
    assert "`driftlens plot-features` is gone: `driftlens features ... --figure" in capsys.readouterr().err


def test_an_older_one_checkpoint_activation_file_is_refused_with_what_to_run(tmp_path):
    path = tmp_path / "activations_003.npz"
    write_artifact(path, FEATURE_ACTIVATIONS, {"epoch": 3, "layers": ["conv3"], "same_as": {}},
                   **{"train/conv3": np.ones((2, 4))})
    with pytest.raises(ArtifactError, match="holds one checkpoint .* feature-activations --checkpoints"):
        read_feature_activations(path, "conv3")
