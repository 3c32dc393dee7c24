"""Flowers17: the loader against the real copy in ../shared, local archives and the official split file."""

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from driftlens.data import prepare, read_splits
from driftlens.data.flowers17 import CLASSES, NUM_IMAGES

SHARED_FLOWERS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "flowers17"
needs_shared = pytest.mark.skipif(not (SHARED_FLOWERS / "jpg").is_dir(),
                                  reason=f"the shared Flowers17 copy is not at {SHARED_FLOWERS}")


def _counts(record, split):
    return Counter(label for _, label in record[split])


@needs_shared
def test_real_copy_gives_a_stratified_40_20_20_split_in_place(tmp_path):
    splits = prepare("flowers17", tmp_path / "flowers17", source=SHARED_FLOWERS)
    record = read_splits(splits)

    assert record["classes"] == CLASSES and len(CLASSES) == 17
    assert [len(record[s]) for s in ("train", "val", "test")] == [680, 340, 340]
    for split, per_class in (("train", 40), ("val", 20), ("test", 20)):
        assert set(_counts(record, split).values()) == {per_class}
    paths = [path for split in ("train", "val", "test") for path, _ in record[split]]
    assert len(set(paths)) == NUM_IMAGES
    assert all(Path(path).is_file() and Path(path).is_relative_to(SHARED_FLOWERS.resolve()) for path in paths)
    assert list((tmp_path / "flowers17").iterdir()) == [splits]  # nothing copied


@needs_shared
def test_labels_follow_the_official_rule(tmp_path):
    record = read_splits(prepare("flowers17", tmp_path, source=SHARED_FLOWERS))

    for path, label in record["train"] + record["test"]:
        assert label == (int(Path(path).stem.split("_")[1]) - 1) // 80


@needs_shared
def test_the_split_is_deterministic_and_follows_the_seed(tmp_path):
    first = prepare("flowers17", tmp_path / "a", source=SHARED_FLOWERS).read_text()
    again = prepare("flowers17", tmp_path / "b", source=SHARED_FLOWERS).read_text()
    other = prepare("flowers17", tmp_path / "c", source=SHARED_FLOWERS, split_seed=1).read_text()

    assert first == again
    assert json.loads(first)["train"] != json.loads(other)["train"]


def test_a_local_archive_is_unpacked_under_root_with_relative_paths(full_archive, tmp_path):
    root = tmp_path / "flowers17"
    splits = prepare("flowers17", root, source=full_archive)

    raw = json.loads(splits.read_text())
    assert raw["train"][0][0].startswith("jpg/image_")
    assert len(list((root / "jpg").iterdir())) == NUM_IMAGES


def test_official_datasplits_beside_the_source_are_used(full_archive, tmp_path):
    rng = np.random.default_rng(0)
    orders = {number: rng.permutation(NUM_IMAGES) + 1 for number in (1, 2, 3)}
    mat = {}
    for number, order in orders.items():
        mat |= {f"trn{number}": order[:680][None], f"val{number}": order[680:1020][None],
                f"tst{number}": order[1020:][None]}
    scipy.io.savemat(tmp_path / "datasplits.mat", mat)
    (tmp_path / "17flowers.tgz").symlink_to(full_archive)

    splits = prepare("flowers17", tmp_path / "f", source=tmp_path / "17flowers.tgz", split_seed=1)

    record = json.loads(splits.read_text())
    assert {path for path, _ in record["test"]} == {f"jpg/image_{n:04d}.jpg" for n in orders[2][1020:]}


def test_a_source_without_images_is_named(tmp_path):
    (tmp_path / "copy" / "jpg").mkdir(parents=True)

    with pytest.raises(FileNotFoundError, match=r"lacks 1360 of the 1360 Flowers17 images, e.g. image_0001.jpg"):
        prepare("flowers17", tmp_path / "f", source=tmp_path / "copy")
