"""A series of checkpoints read once for every layer (driftlens.features.series) and the file the workflow keeps."""

import numpy as np
import pytest
import torch

import driftlens
from driftlens.artifacts import read_feature_activations, write_feature_activations
from driftlens.errors import ArtifactError
from driftlens.features import FeatureSettings
from driftlens.features.series import collect_vectors, diff_layer


@pytest.fixture
def series():
    """Epoch 0; epoch 1 changed only downstream of conv2 (inside conv3); epoch 2 changed inside conv2 too."""
    first = driftlens.models.load("tiny", weights="random", seed=0)
    later = [driftlens.models.load("tiny", weights="random", seed=0) for _ in range(2)]
    with torch.no_grad():
        for model in later:
            model.net.conv3[0].weight.mul_(1.5)
        later[1].net.conv2[0].weight.mul_(0.5)
    return {0: first, 1: later[0], 2: later[1]}


def collect(series, **settings):
    images = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    return collect_vectors(series.get, [0, 1, 2], ["conv2", "conv3"], lambda: images.split(4), images[:2],
                           FeatureSettings(**settings), progress=False)


def test_a_layer_is_read_only_where_its_upstream_weights_changed_and_the_same_positions_every_time(series):
    found = collect(series, max_vectors=40)
    assert sorted(found["conv2"]["train"]) == [0, 2] and found["conv2"]["skipped"] == {1: 0}
    assert sorted(found["conv3"]["train"]) == [0, 1, 2] and found["conv3"]["skipped"] == {}
    assert found["conv3"]["train"][0].shape == (40, 16) and found["conv3"]["probe"][1].shape == (2, 8, 8, 16)
    again = collect(series, max_vectors=40)
    assert np.array_equal(found["conv3"]["train"][2], again["conv3"]["train"][2])


def test_the_noise_copy_is_epoch_0_under_small_relative_weight_noise(series):
    found = collect(series, max_vectors=40, noise=1e-3)
    first, noise = found["conv3"]["train"][0], found["conv3"]["noise"]
    relative = np.linalg.norm(noise - first) / np.linalg.norm(first)
    assert 0 < relative < 0.05
    louder = collect(series, max_vectors=40, noise=1e-1)
    assert np.linalg.norm(louder["conv3"]["noise"] - first) / np.linalg.norm(first) > 10 * relative


def test_the_activation_file_gives_back_each_layer_as_collected_and_names_a_missing_one(series, tmp_path):
    found = collect(series, max_vectors=30)
    write_feature_activations(tmp_path / "a.npz", found)
    read = read_feature_activations(tmp_path / "a.npz", "conv2")
    assert read["skipped"] == {1: 0} and sorted(read["train"]) == [0, 2]
    assert all(np.array_equal(read[kind][epoch], found["conv2"][kind][epoch]) for kind in ("train", "probe")
               for epoch in (0, 2))
    assert np.array_equal(read["noise"], found["conv2"]["noise"])
    with pytest.raises(ArtifactError, match="holds no activations of conv9 .it has conv2, conv3"):
        read_feature_activations(tmp_path / "a.npz", "conv9")


def test_a_layer_frozen_at_every_later_checkpoint_gives_a_diff_of_epoch_0_alone(series):
    frozen = {epoch: series[0] for epoch in series}
    found = collect(frozen, max_vectors=40)
    diff = diff_layer(found["conv3"], settings=FeatureSettings(steps=5), progress=False)
    assert diff.summary["epochs"] == [0] and diff.skipped == {1: 0, 2: 1} and "nulls" not in diff.summary
