import io

import numpy as np
import pytest
import torch
from PIL import Image

import driftlens
from driftlens.checkpoint import Checkpoint, save_checkpoint
from driftlens.cli import main


def _render(args, tmp_path):
    return main(["render", "--model", "tiny", "--weights", "random", "--steps", "3", "--size", "16", "--quiet",
                 "-o", str(tmp_path / "grid.png"), *args])


def test_one_layer_without_labels_is_exactly_one_row_and_raw_floats_are_written(tmp_path):
    assert _render(["--layers", "conv3", "--channels", "4,1,7", "--no-labels", "--raw", str(tmp_path / "row.npz")],
                   tmp_path) == 0
    raw = np.load(tmp_path / "row.npz")
    assert raw["images"].shape == (1, 3, 16, 16, 3) and raw["images"].dtype == np.float32
    assert raw["layers"].tolist() == ["conv3"] and raw["channels"].tolist() == [4, 1, 7]
    with Image.open(tmp_path / "grid.png") as grid:
        width, height = grid.size
    assert height < 2 * 16 and width >= 3 * 16


def test_layers_from_stdin_make_the_rows_of_a_labelled_grid(tmp_path, monkeypatch, capsys):
    assert main(["layers", "tiny"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(capsys.readouterr().out))
    assert _render(["--layers", "-", "--columns", "2", "--raw", str(tmp_path / "all.npz")], tmp_path) == 0
    raw = np.load(tmp_path / "all.npz")
    assert raw["layers"].tolist() == driftlens.models.load("tiny", weights="random").layer_names()
    assert raw["images"].shape == (5, 2, 16, 16, 3)
    with Image.open(tmp_path / "grid.png") as grid:
        assert grid.size[1] > 5 * 16


def test_a_checkpoint_names_its_own_model(tmp_path):
    model = driftlens.models.load("tiny", weights="random", num_classes=3)
    save_checkpoint(Checkpoint(model.net.state_dict(), 1, {"model": "tiny"}, []), tmp_path / "epoch_001.pt")
    assert main(["render", "--checkpoint", str(tmp_path / "epoch_001.pt"), "--layers", "logits", "--channels", "2",
                 "--steps", "2", "--size", "16", "--quiet", "--raw", str(tmp_path / "r.npz"),
                 "-o", str(tmp_path / "g.png")]) == 0
    assert np.load(tmp_path / "r.npz")["images"].shape == (1, 1, 16, 16, 3)


@pytest.mark.parametrize("args, message", [
    (["--layers", "conv3", "--channels", "1,16"], "channel 16 is out of range for layer 'conv3'"),
    (["--layers", "conv1,nope", "--channels", "0"], "unknown layer 'nope'"),
    (["--layers", "conv3", "--channels", "a,b"], "--channels: expected comma-separated integers"),
])
def test_bad_input_is_one_line_and_nothing_is_written(tmp_path, capsys, args, message):
    assert _render(args, tmp_path) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "grid.png").exists()
