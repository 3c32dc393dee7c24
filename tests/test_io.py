"""Atomic writing: a full disk is named, stale temporary files are cleaned, file sets appear together."""

import errno
import os
import subprocess
import sys

import numpy as np
import pytest

from driftlens.errors import DiskFullError
from driftlens.io import atomic_path, atomic_paths, save_json, save_npz


def test_a_full_disk_is_named_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "row.npz"

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", no_space)
    with pytest.raises(DiskFullError, match=f"^disk full while writing {target}$"):
        save_npz(target, images=np.zeros(3))
    assert list(tmp_path.iterdir()) == []


def test_cli_reports_a_full_disk_in_one_line(tmp_path, monkeypatch, capsys):
    from PIL import Image

    from driftlens.cli import main

    def no_space(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", no_space)
    out = tmp_path / "grid.png"
    assert main(["render", "--model", "tiny", "--weights", "random", "--layers", "conv1", "--channels", "0",
                 "--steps", "1", "--size", "16", "--no-progress", "-o", str(out)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"driftlens: error: disk full while writing {out}"


def test_other_write_errors_are_not_called_a_full_disk(tmp_path):
    with pytest.raises(PermissionError):
        with atomic_path(tmp_path / "x.txt"):
            raise PermissionError(errno.EACCES, "denied")


def test_stale_temporary_files_of_the_same_artifact_are_removed(tmp_path):
    stale = tmp_path / ".epoch_001.k3j_9zqa.pt"  # what a write killed with -9 leaves behind
    stale.write_bytes(b"half")
    others = [tmp_path / ".epoch_002.k3j_9zqa.pt", tmp_path / ".epoch_001.k3j_9zqa.json", tmp_path / "epoch_001.pt~"]
    for path in others:
        path.write_bytes(b"keep")

    with atomic_path(tmp_path / "epoch_001.pt") as tmp:
        tmp.write_bytes(b"new")

    assert not stale.exists() and all(path.exists() for path in others)
    assert (tmp_path / "epoch_001.pt").read_bytes() == b"new"


def test_a_failed_pair_leaves_both_old_files(tmp_path):
    png, npz = tmp_path / "epoch_001.png", tmp_path / "epoch_001.npz"
    png.write_text("old png")
    npz.write_text("old npz")

    with pytest.raises(RuntimeError):
        with atomic_paths(png, npz) as (new_png, new_npz):
            new_png.write_text("new png")
            raise RuntimeError("killed before the .npz was written")

    assert png.read_text() == "old png" and npz.read_text() == "old npz"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["epoch_001.npz", "epoch_001.png"]


def test_a_pair_never_shows_a_new_file_beside_an_old_one(tmp_path):
    """Kill a writer at every point of the final renames: at no point is a new .png beside an old .npz."""
    script = """
import os, sys
from driftlens.io import atomic_paths
real_replace = os.replace
def replace_then_die(src, dst):
    real_replace(src, dst)
    os._exit(9)  # killed right after the first rename
os.replace = replace_then_die
with atomic_paths(sys.argv[1], sys.argv[2]) as (a, b):
    a.write_text("new png"); b.write_text("new npz")
"""
    png, npz = tmp_path / "epoch_001.png", tmp_path / "epoch_001.npz"
    png.write_text("old png")
    npz.write_text("old npz")

    result = subprocess.run([sys.executable, "-c", script, str(png), str(npz)], env={**os.environ})

    assert result.returncode == 9
    contents = {path.name: path.read_text() for path in (png, npz) if path.exists()}
    assert contents == {"epoch_001.png": "new png"}  # the .npz is missing (so it is remade), never stale


def test_json_is_standard_nan_is_never_written(tmp_path):
    with pytest.raises(ValueError, match="refusing to write NaN or infinity to .*m.json"):
        save_json({"val_loss": float("nan")}, tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("damage", [lambda data: data[:len(data) // 2], lambda data: b"not a zip archive"])
def test_a_truncated_npz_is_named_in_one_clear_error(tmp_path, damage):
    from driftlens.artifacts import read_arrays
    from driftlens.errors import ArtifactError

    path = tmp_path / "epoch_001.npz"
    save_npz(path, images=np.random.default_rng(0).random((64, 64)))
    path.write_bytes(damage(path.read_bytes()))

    with pytest.raises(ArtifactError, match=f"{path} is truncated or not an .npz file"):
        read_arrays(path, "images")
