"""The user's own class-per-folder images: splits, and corrupt files named or skipped."""

import logging
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from driftlens.cli import main
from driftlens.data import UnreadableImageError, prepare, read_splits
from driftlens.data.splits import write_splits
from driftlens.errors import ConfigError


@pytest.fixture
def photos(tmp_path):
    """``photos/{cat,dog}/*.png``: 8 images per class."""
    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        folder = tmp_path / "photos" / name
        folder.mkdir(parents=True)
        for i in range(8):
            Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return tmp_path / "photos"


def test_classes_are_the_folders_and_the_split_is_stratified(photos):
    record = read_splits(prepare("imagefolder", photos))

    assert record["classes"] == ["cat", "dog"]
    assert [len(record[s]) for s in ("train", "val", "test")] == [8, 4, 4]
    for path, label in record["train"] + record["val"] + record["test"]:
        assert f"/{record['classes'][label]}/" in path


def test_paths_are_relative_to_root_or_absolute_into_a_source(photos, tmp_path):
    in_place = prepare("imagefolder", photos).read_text()
    elsewhere = prepare("imagefolder", tmp_path / "prepared", source=photos).read_text()

    assert '"cat/' in in_place
    assert f'"{photos.resolve()}/cat/' in elsewhere


def test_a_corrupt_image_is_named(photos):
    bad = photos / "dog" / "3.png"
    bad.write_bytes(bad.read_bytes()[:40])

    with pytest.raises(UnreadableImageError, match=str(bad)):
        prepare("imagefolder", photos)
    assert not (photos / "splits.json").exists()


def test_skip_corrupt_leaves_it_out_and_logs_every_skipped_file(photos, caplog):
    (photos / "cat" / "5.png").write_text("not an image")
    (photos / "dog" / "2.png").write_text("not an image either")

    with caplog.at_level(logging.WARNING):
        record = read_splits(prepare("imagefolder", photos, skip_corrupt=True))

    paths = [path for split in ("train", "val", "test") for path, _ in record[split]]
    assert len(paths) == 14 and not any(path.endswith(("cat/5.png", "dog/2.png")) for path in paths)
    assert "skipped 2 unreadable images" in caplog.text
    assert f"cannot read image {photos / 'cat' / '5.png'}" in caplog.text
    assert f"cannot read image {photos / 'dog' / '2.png'}" in caplog.text


def test_the_cli_writes_the_skipped_files_to_its_error_stream_the_rules_log(photos, tmp_path):
    (photos / "cat" / "5.png").write_text("not an image")

    result = subprocess.run([sys.executable, "-m", "driftlens.cli", "prepare-data", "--dataset", "imagefolder",
                             "--root", str(tmp_path / "out"), "--source", str(photos), "--skip-corrupt"],
                            capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert "skipped 1 unreadable images" in result.stderr
    assert f"cannot read image {photos / 'cat' / '5.png'}" in result.stderr


def test_a_single_class_is_refused_at_prepare_time(photos):
    shutil.rmtree(photos / "dog")

    with pytest.raises(ConfigError, match=r"has 1 class \(cat\): fine-tuning a classifier needs at least two"):
        prepare("imagefolder", photos)
    assert not (photos / "splits.json").exists()


def test_a_split_without_an_example_of_a_class_is_refused(tmp_path):
    items = {"train": [("a.png", 0), ("b.png", 1)], "val": [("c.png", 0), ("d.png", 1)], "test": [("e.png", 0)]}

    with pytest.raises(ConfigError, match="the test split of data set toy in .* has no example of class 'dog'"):
        write_splits(tmp_path, "toy", ["cat", "dog"], items)
    assert not (tmp_path / "splits.json").exists()


def test_a_class_too_small_to_split_is_named(photos):
    for path in sorted((photos / "dog").iterdir())[2:]:
        path.unlink()

    with pytest.raises(ValueError, match="class 1 has only 2 items"):
        prepare("imagefolder", photos)


def test_options_a_dataset_does_not_take_are_refused(tmp_path):
    with pytest.raises(ValueError, match="'textures' does not take url"):
        prepare("textures", tmp_path, url="http://example.org/x.tgz")


def test_cli_prepares_and_reports_a_corrupt_file_in_one_line(photos, tmp_path, capsys):
    assert main(["prepare-data", "--dataset", "imagefolder", "--root", str(tmp_path / "out"),
                 "--source", str(photos)]) == 0
    splits = read_splits(tmp_path / "out" / "splits.json")
    assert splits["classes"] == sorted(path.name for path in photos.iterdir())
    assert sum(len(splits[split]) for split in ("train", "val", "test")) == len(list(photos.rglob("*.png")))

    (photos / "cat" / "0.png").write_text("not an image")
    assert main(["prepare-data", "--dataset", "imagefolder", "--root", str(tmp_path / "out2"),
                 "--source", str(photos)]) == 2
    assert f"cannot read image {photos / 'cat' / '0.png'}" in capsys.readouterr().err
