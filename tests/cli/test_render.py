import io

import numpy as np
import pytest
import torch
from PIL import Image

import driftlens
from driftlens.checkpoints import Checkpoint, save_checkpoint
from driftlens.cli import main


def _render(args, tmp_path):
    return main(["render", "--model", "tiny", "--weights", "random", "--steps", "3", "--size", "16", "--no-progress",
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


def test_class_units_of_an_imagenet_head_are_labelled_with_their_class_names(tmp_path, monkeypatch):
    import driftlens.cli.render as command

    shown = []
    monkeypatch.setattr(command, "image_grid", lambda rows, **labels: shown.append(labels) or np.zeros((8, 8, 3)))
    assert main(["render", "--model", "efficientnet_lite0", "--layers", "logits", "--channels", "340", "--steps", "1",
                 "--size", "32", "--no-progress", "-o", str(tmp_path / "zebra.png")]) == 0
    assert _render(["--layers", "conv3", "--channels", "4"], tmp_path) == 0
    assert [labels["col_labels"] for labels in shown] == [["340 zebra"], [4]]


def test_a_checkpoint_names_its_own_model(tmp_path):
    model = driftlens.models.load("tiny", weights="random", num_classes=3)
    save_checkpoint(Checkpoint(model.net.state_dict(), 1, {"model": "tiny"}, []), tmp_path / "epoch_001.pt")
    assert main(["render", "--checkpoint", str(tmp_path / "epoch_001.pt"), "--layers", "logits", "--channels", "2",
                 "--steps", "2", "--size", "16", "--no-progress", "--raw", str(tmp_path / "r.npz"),
                 "-o", str(tmp_path / "g.png")]) == 0
    assert np.load(tmp_path / "r.npz")["images"].shape == (1, 1, 16, 16, 3)


@pytest.mark.parametrize("args, message", [
    (["--layers", "conv3", "--channels", "1,16"], "channel 16 is out of range for layer 'conv3'"),
    (["--layers", "conv1,nope", "--channels", "0"], "unknown layer 'nope'"),
    (["--layers", "conv3", "--channels", "a,b"], "argument --channels: expected a comma-separated list of int, got 'a,b'"),
])
def test_bad_input_is_one_line_and_nothing_is_written(tmp_path, capsys, args, message):
    try:
        status = _render(args, tmp_path)
    except SystemExit as exited:  # a usage error, found by argparse
        status = exited.code
    assert status == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "grid.png").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--steps", "0", "argument --steps: must be a positive integer, got 0"),
    ("--steps", "-1", "argument --steps: must be a positive integer, got -1"),
    ("--size", "0", "argument --size: must be a positive integer, got 0"),
    ("--columns", "0", "argument --columns: must be a positive integer, got 0"),
])
def test_non_positive_steps_and_sizes_are_refused_before_rendering(tmp_path, capsys, option, value, message):
    with pytest.raises(SystemExit) as exited:
        _render(["--layers", "conv1", option, value], tmp_path)
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"driftlens render: error: {message}"
    assert not (tmp_path / "grid.png").exists()


def test_nan_weights_stop_rendering_in_one_line(tmp_path, capsys):
    model = driftlens.models.load("tiny", weights="random")
    state = model.net.state_dict()
    state["conv1.0.weight"][0, 0, 0, 0] = float("nan")
    torch.save(state, tmp_path / "nan.pt")

    assert main(["render", "--model", "tiny", "--weights", str(tmp_path / "nan.pt"), "--layers", "conv2",
                 "--channels", "0", "--steps", "3", "--size", "16", "--no-progress", "-o", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "driftlens: error: rendering diverged: the objective became nan at step 1 " \
                      "(are the model's weights finite?)"
    assert not (tmp_path / "g.png").exists()


def test_a_failed_render_leaves_the_old_png_and_npz_pair_together(tmp_path, monkeypatch):
    raw = tmp_path / "row.npz"
    assert _render(["--layers", "conv3", "--channels", "0", "--raw", str(raw)], tmp_path) == 0
    before = (tmp_path / "grid.png").read_bytes(), raw.read_bytes()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the job is stopped after the .png was written, before the .npz

    monkeypatch.setattr(np, "savez_compressed", killed)
    with pytest.raises(KeyboardInterrupt):
        _render(["--layers", "conv3", "--channels", "0", "--seed", "1", "--raw", str(raw)], tmp_path)

    assert ((tmp_path / "grid.png").read_bytes(), raw.read_bytes()) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["grid.png", "row.npz"]
