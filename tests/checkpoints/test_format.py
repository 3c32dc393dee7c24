"""Checkpoints are read safely: a crafted pickle never runs, and every bad file is named in one line."""

import subprocess
import sys

import pytest
import torch

from driftlens import models
from driftlens.checkpoints import Checkpoint, read_checkpoint, save_checkpoint
from driftlens.cli import main
from driftlens.errors import ArtifactError, MissingFileError


class _Payload:
    """Unpickling this calls ``open(marker, "w")``: a stand-in for any code an attacker wants to run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _malicious(path, marker):
    """A ``.pt`` file shaped like a checkpoint whose unpickling would create ``marker``."""
    tiny = models.load("tiny", weights="random")
    torch.save({"model": tiny.net.state_dict(), "config": {"model": "tiny"}, "payload": _Payload(marker)}, path)
    return path


def _checkpoint(tiny, epoch=1):
    return Checkpoint(model=tiny.net.state_dict(), epoch=epoch, config={"model": "tiny"}, classes=["a", "b"])


def test_a_malicious_checkpoint_runs_nothing_and_is_refused_by_name(tmp_path):
    path = _malicious(tmp_path / "epoch_001.pt", tmp_path / "pwned")

    with pytest.raises(ArtifactError, match="epoch_001.pt is not a driftlens checkpoint") as caught:
        models.from_checkpoint(path)
    assert "could run code" in str(caught.value)
    assert not (tmp_path / "pwned").exists()


def test_render_with_a_malicious_checkpoint_runs_nothing_and_says_so_in_one_line(tmp_path):
    path = _malicious(tmp_path / "evil.pt", tmp_path / "pwned")

    result = subprocess.run([sys.executable, "-m", "driftlens.cli", "render", "--checkpoint", str(path),
                             "--layers", "conv1", "--steps", "1", "--size", "16", "--no-progress",
                             "-o", str(tmp_path / "g.png")], capture_output=True, text=True)

    assert result.returncode == 2 and not (tmp_path / "pwned").exists()
    assert result.stderr.startswith(f"driftlens: error: {path} is not a driftlens checkpoint")
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_malicious_state_dict_given_as_weights_runs_nothing(tmp_path):
    path = _malicious(tmp_path / "w.pt", tmp_path / "pwned")

    with pytest.raises(ArtifactError, match="w.pt is not a state dict or a driftlens checkpoint"):
        models.load("tiny", weights=str(path))
    assert not (tmp_path / "pwned").exists()


def test_checkpoint_round_trip_keeps_everything(tmp_path, tiny):
    save_checkpoint(_checkpoint(tiny, epoch=4), tmp_path / "c.pt")

    checkpoint = read_checkpoint(tmp_path / "c.pt")
    assert checkpoint.epoch == 4 and checkpoint.classes == ["a", "b"] and checkpoint.model_name == "tiny"
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(models.from_checkpoint(checkpoint)(x), tiny.eval()(x))


@pytest.mark.parametrize("damage, error, message", [
    (lambda path: path.write_bytes(path.read_bytes()[:200]), ArtifactError,
     "is not a driftlens checkpoint: truncated or not written by torch.save"),
    (lambda path: path.write_text("hello"), ArtifactError,
     "is not a driftlens checkpoint"),
    (lambda path: torch.save({"conv.weight": torch.ones(1)}, path), ArtifactError,
     "is not a driftlens checkpoint \\(it has no 'driftlens checkpoint' marker\\)"),
    (lambda path: path.unlink(), MissingFileError, "does not exist"),
])
def test_damaged_or_foreign_files_are_named_in_one_clear_error(tmp_path, tiny, damage, error, message):
    path = tmp_path / "epoch_002.pt"
    save_checkpoint(_checkpoint(tiny), path)
    damage(path)

    with pytest.raises(error, match=message) as caught:
        read_checkpoint(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_cli_names_a_truncated_checkpoint_in_one_line(tmp_path, tiny, capsys):
    path = tmp_path / "epoch_003.pt"
    save_checkpoint(_checkpoint(tiny), path)
    path.write_bytes(path.read_bytes()[:-100])

    assert main(["render", "--checkpoint", str(path), "--layers", "conv1", "--no-progress", "-o",
                 str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"driftlens: error: {path} is not a driftlens checkpoint: truncated")
    assert len(err.splitlines()) == 1
