"""SplitDataset, probe images and the embedded textures dataset."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from driftlens.data import SplitDataset, prepare, probe_images
from driftlens.data.splits import stratified_split
from driftlens.data.textures import PATCHES, SOURCES


@pytest.fixture(scope="module")
def textures(tmp_path_factory):
    return prepare("textures", tmp_path_factory.mktemp("textures"))


def test_textures_has_one_class_per_photograph_and_the_planned_counts(textures):
    record = json.loads(textures.read_text())

    assert record["classes"] == list(SOURCES)
    for split, per_class in PATCHES.items():
        labels = [label for _, label in record[split]]
        assert np.bincount(labels).tolist() == [per_class] * len(SOURCES)
    assert all(not path.startswith("/") for path, _ in record["train"])


def test_textures_are_deterministic(textures, tmp_path):
    again = prepare("textures", tmp_path)

    first = json.loads(textures.read_text())["test"][5][0]
    assert (textures.parent / first).read_bytes() == (again.parent / first).read_bytes()


def test_items_are_float_images_in_unit_range_with_int_labels(textures):
    data = SplitDataset(textures, "train", image_size=48)

    image, label = data[len(data) - 1]

    assert image.shape == (3, 48, 48) and image.dtype == torch.float32
    assert 0 <= image.min() and image.max() <= 1 and image.std() > 0
    assert label == len(SOURCES) - 1 and isinstance(label, int)


def test_augmentation_varies_and_follows_torch_seed(textures):
    data = SplitDataset(textures, "train", image_size=48, augment=True)
    plain = SplitDataset(textures, "train", image_size=48)

    torch.manual_seed(1)
    first = data[0][0]
    torch.manual_seed(1)
    again = data[0][0]

    assert torch.equal(first, again)
    assert not torch.equal(first, data[0][0])
    assert torch.equal(plain[0][0], plain[0][0])


def test_non_square_images_are_centre_cropped(tmp_path):
    image = np.zeros((20, 40, 3), dtype=np.uint8)
    image[:, 10:30] = 255  # the centre square is white, the sides black
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(4):
            Image.fromarray(image).save(tmp_path / name / f"{i}.png")

    picture, _ = SplitDataset(prepare("imagefolder", tmp_path), "test", image_size=10)[0]

    assert picture.mean() > 0.9  # squashing the whole image instead would give about 0.5


def test_probe_images_are_fixed_and_class_balanced(textures):
    images, labels = probe_images(textures, 12, image_size=32)
    again, _ = probe_images(textures, 12, image_size=32)

    assert images.shape == (12, 3, 32, 32)
    assert torch.equal(images, again)
    assert np.bincount(labels.numpy()).tolist() == [2, 2, 2, 2, 1, 1, 1, 1]


def test_probe_command_stores_the_images_class_names_and_source(textures, tmp_path):
    from driftlens.artifacts import PROBE_SET, read_artifact, read_probe, read_probe_classes
    from driftlens.cli import main
    from driftlens.data import read_splits

    assert main(["probe", "--splits", str(textures), "--count", "4", "--size", "16", "-o", str(tmp_path / "p.npz")]) == 0
    images, labels = read_probe(tmp_path / "p.npz")
    expected_images, expected_labels = probe_images(textures, 4, image_size=16)
    assert np.array_equal(images, expected_images.numpy()) and np.array_equal(labels, expected_labels.numpy())
    assert read_probe_classes(tmp_path / "p.npz") == read_splits(textures)["classes"]
    source = read_artifact(tmp_path / "p.npz", PROBE_SET)[0]["source"]
    assert source == {"splits": str(textures), "split": "val", "size": 16}


def test_asking_for_more_probes_than_images_is_an_error(textures):
    with pytest.raises(ValueError, match="has 80 images, fewer than the 81"):
        probe_images(textures, 81, image_size=32)


def test_unknown_split_and_missing_file_are_named(textures, tmp_path):
    with pytest.raises(ValueError, match="unknown split 'training'"):
        SplitDataset(textures, "training", 32)
    with pytest.raises(FileNotFoundError, match="driftlens prepare-data"):
        SplitDataset(tmp_path / "splits.json", "train", 32)


def test_stratified_split_keeps_proportions_and_is_disjoint():
    labels = [0] * 80 + [1] * 40

    parts = stratified_split(labels, seed=3)

    assert sorted(parts["train"] + parts["val"] + parts["test"]) == list(range(120))
    assert [np.bincount(np.array(labels)[parts[s]]).tolist() for s in ("train", "val", "test")] == \
        [[40, 20], [20, 10], [20, 10]]
    assert parts != stratified_split(labels, seed=4)
