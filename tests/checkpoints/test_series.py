"""A run trained elsewhere: its files, their epoch labels and the reference (driftlens.checkpoints.series), its probe folder,
and each file imported as a driftlens checkpoint (driftlens.checkpoints.importing)."""

import argparse

import numpy as np
import pytest
import torch
from PIL import Image

from driftlens import models
from driftlens.artifacts import read_metrics, write_probe
from driftlens.checkpoints import read_checkpoint
from driftlens.data import folder_probe_images
from driftlens.errors import ArtifactError, ConfigError
from driftlens.checkpoints.importing import import_checkpoint
from driftlens.checkpoints.series import checkpoint_series, find_checkpoints, stored_epoch


def _save(path, epoch=None, **extra):
    record = {"state_dict": {"w": torch.ones(2)}, **extra, **({} if epoch is None else {"epoch": epoch})}
    torch.save(record, path)
    return str(path)


def test_a_glob_is_in_natural_order_and_its_stored_epochs_label_it(tmp_path):
    for epoch in (10, 2, 0):
        _save(tmp_path / f"checkpoint-{epoch}.pth.tar", epoch, args=argparse.Namespace(lr=0.1))  # timm's layout
    files = find_checkpoints(str(tmp_path / "checkpoint-*.pth.tar"))
    assert [name.rsplit("/", 1)[1] for name in files] == [f"checkpoint-{e}.pth.tar" for e in (0, 2, 10)]
    assert list(checkpoint_series(files)) == [0, 2, 10]  # the first file is the reference
    assert list(checkpoint_series(files, "imagenet")) == [0, 1, 3, 11]  # counted from 0: moved up by one


def test_the_stored_epoch_wins_over_the_name_and_the_name_over_positions(tmp_path):
    stored = [_save(tmp_path / f"epoch={e}-step={100 * e}.ckpt", epoch) for e, epoch in ((1, 5), (2, 7))]
    assert list(checkpoint_series(stored, "imagenet")) == [0, 5, 7]
    named = [_save(tmp_path / f"epoch={e}-step={100 * e}.pt") for e in (3, 4)]  # Lightning's names, no stored epoch
    assert list(checkpoint_series(named, "imagenet")) == [0, 3, 4]
    unnumbered = [_save(tmp_path / name) for name in ("best.pt", "last.pt")]
    assert list(checkpoint_series(unnumbered, "imagenet")) == [0, 1, 2]
    repeated = [_save(tmp_path / f"run{k}.pt", epoch=3) for k in (7, 8)]  # stored labels that do not increase
    assert list(checkpoint_series(repeated, "imagenet")) == [0, 7, 8]


def test_stored_epoch_reads_no_tensor_and_gives_none_where_it_cannot(tmp_path):
    assert stored_epoch(_save(tmp_path / "a.pt", 4, args=argparse.Namespace(lr=1))) == 4
    assert stored_epoch(_save(tmp_path / "b.pt")) is None
    (tmp_path / "c.pt").write_bytes(b"not a torch file")
    assert stored_epoch(tmp_path / "c.pt") is None
    assert stored_epoch(tmp_path / "d.safetensors") is None


@pytest.mark.parametrize("files, reference, message", [
    (["a.pt"], None, "a series needs at least two checkpoints, the reference included; got 1 file(s) (a.pt)"),
    (["a.pt", "b.pt"], "a.pt", "the reference a.pt is also one of the checkpoints"),
])
def test_a_series_too_short_or_with_its_reference_twice_is_refused(files, reference, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        checkpoint_series(files, reference, read_stored=False)


def test_missing_files_and_empty_globs_are_named(tmp_path):
    with pytest.raises(ConfigError, match="matches no file"):
        find_checkpoints(str(tmp_path / "*.pt"))
    with pytest.raises(ConfigError, match="no such checkpoint file: .*gone.pt"):
        find_checkpoints([str(tmp_path / "gone.pt")])


def _images(folder, count, color):
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        Image.new("RGB", (20, 20), (color, 10 * index, 0)).save(folder / f"{index}.png")


def test_a_probe_folder_is_labelled_by_its_class_folders_and_balanced(tmp_path):
    _images(tmp_path / "tulip", 6, 200)
    _images(tmp_path / "daisy", 3, 50)
    images, labels, classes = folder_probe_images(tmp_path, 4, 16)
    assert classes == ["daisy", "tulip"] and labels.tolist() == [0, 1, 0, 1] and tuple(images.shape) == (4, 3, 16, 16)
    assert images[0, 0].mean() < images[1, 0].mean()  # a daisy (red 50) first, then a tulip (red 200)


def test_a_probe_folder_without_class_folders_is_unlabelled_and_too_few_images_are_refused(tmp_path):
    _images(tmp_path / "a", 6, 100)
    _images(tmp_path, 3, 10)  # loose images beside the sub-folder
    images, labels, classes = folder_probe_images(tmp_path, 100, 16)
    assert classes == [] and (labels == -1).all() and len(images) == 9
    with pytest.raises(ConfigError, match="holds 6 images"):
        folder_probe_images(tmp_path / "a", 100, 16)


def _probe(path, classes):
    write_probe(path, np.random.default_rng(0).random((6, 3, 32, 32), np.float32), np.arange(6) % len(classes), classes)
    return path


def test_an_imported_checkpoint_holds_the_files_weights_and_its_probe_accuracy(tmp_path):
    net = models.load("tiny", weights="random", num_classes=3)
    torch.save({"epoch": 9, "state_dict": {f"_orig_mod.{k}": v for k, v in net.net.state_dict().items()}},
               tmp_path / "compiled.pt")
    probe = _probe(tmp_path / "probe.npz", ["a", "b", "c"])
    metrics = import_checkpoint("tiny", tmp_path / "compiled.pt", 4, probe, tmp_path / "e.pt", tmp_path / "e.json",
                                device="cpu")
    checkpoint = read_checkpoint(tmp_path / "e.pt")
    assert checkpoint.epoch == 4 and checkpoint.classes == ["a", "b", "c"]
    assert all(torch.equal(checkpoint.model[k], v) for k, v in net.net.state_dict().items())
    logits = net.eval()(torch.from_numpy(np.random.default_rng(0).random((6, 3, 32, 32), np.float32)))
    assert metrics["val_acc"] == pytest.approx((logits.argmax(1) == torch.arange(6) % 3).float().mean().item())
    assert read_metrics(tmp_path / "e.json", 4)["val_acc"] == metrics["val_acc"]


def test_a_probe_of_other_classes_gives_no_accuracy_and_a_file_that_does_not_fit_is_refused(tmp_path):
    torch.save(models.load("tiny", weights="random", num_classes=3).net.state_dict(), tmp_path / "plain.pt")
    probe = _probe(tmp_path / "probe.npz", ["a", "b"])  # two classes, a head of three
    metrics = import_checkpoint("tiny", tmp_path / "plain.pt", 1, probe, tmp_path / "e.pt", tmp_path / "e.json")
    assert metrics["val_acc"] is None and read_checkpoint(tmp_path / "e.pt").classes == ["0", "1", "2"]
    with pytest.raises(ArtifactError, match="does not fit the model"):
        import_checkpoint("efficientnet_lite0", tmp_path / "plain.pt", 1, probe, tmp_path / "f.pt", tmp_path / "f.json")
    assert not (tmp_path / "f.pt").exists() and not (tmp_path / "f.json").exists()
