"""Feature accentuation: the objective rises while the images stay close to where they started."""

import numpy as np
import pytest
import torch
from PIL import Image

import driftlens
from driftlens.checkpoints import Checkpoint, save_checkpoint
from driftlens.cli import main
from driftlens.optvis import accentuate, objectives as obj, visualize
from driftlens.artifacts import write_probe

SIZE = 32


def _start():
    generator = torch.Generator().manual_seed(0)
    return torch.rand(2, 3, SIZE, SIZE, generator=generator).clamp(0.05, 0.95)


def test_accentuation_raises_the_objective_and_stays_closer_than_an_unconstrained_render(tiny, score):
    start = _start()
    objectives = [obj.channel("conv3.1", 2), obj.channel("conv3.1", 5)]
    result = accentuate(tiny, objectives, start, steps=32, penalty=1.0, progress=False)  # the tiny net's scale
    free = accentuate(tiny, objectives, start, steps=32, penalty=0.0, progress=False)
    rendered = visualize(tiny, objectives, size=SIZE, steps=32, progress=False).images
    original = start.permute(0, 2, 3, 1).numpy()
    for k, objective in enumerate(objectives):
        assert score(tiny, objective, result.images[k:k + 1]) > score(tiny, objective, original[k:k + 1]) + 0.008
        close = np.abs(result.images[k] - original[k]).mean()
        assert close < np.abs(free.images[k] - original[k]).mean()
        assert close < np.abs(rendered[k] - original[k]).mean() / 2


def test_accentuation_starts_exactly_from_the_images(tiny):
    start = _start()
    result = accentuate(tiny, obj.channel("conv3.1", 2), start, steps=0, progress=False)
    assert np.abs(result.images - start.permute(0, 2, 3, 1).numpy()).max() < 1e-3


@pytest.mark.parametrize("images, kwargs, message", [
    (torch.rand(1, 3, 8, 6), {}, "needs \\(B, 3, H, H\\) images"),
    (torch.rand(1, 3, 8, 8) * 2, {}, "images in \\[0, 1\\]"),
    (torch.rand(1, 3, 8, 8), {"penalty": -1.0}, "penalty must be non-negative"),
])
def test_bad_input_is_refused_before_anything_runs(tiny, images, kwargs, message):
    with pytest.raises(ValueError, match=message):
        accentuate(tiny, obj.channel("conv3", 1), images, progress=False, **kwargs)


def test_the_accentuate_command_writes_originals_above_accentuated_rows(tmp_path):
    paths = []
    for k in range(2):
        paths.append(str(tmp_path / f"{k}.png"))
        Image.fromarray((np.random.default_rng(k).random((40, 40, 3)) * 255).astype(np.uint8)).save(paths[-1])
    assert main(["accentuate", "--model", "tiny", "--weights", "random", "--layer", "conv3", "--channel", "1",
                 "--steps", "2", "--size", "16", "--no-progress", "--raw", str(tmp_path / "a.npz"),
                 "-o", str(tmp_path / "a.png"), *paths]) == 0
    raw = np.load(tmp_path / "a.npz")
    assert raw["originals"].shape == (2, 16, 16, 3) and raw["accentuated"].shape == (1, 2, 16, 16, 3)
    with Image.open(tmp_path / "a.png") as grid:
        assert grid.size[1] >= 2 * 16


def test_the_accentuate_command_gives_each_checkpoint_a_row_on_the_probe_images(tmp_path):
    for epoch in (0, 1):
        model = driftlens.models.load("tiny", weights="random", num_classes=3, seed=epoch)
        save_checkpoint(Checkpoint(model.net.state_dict(), epoch, {"model": "tiny"}, []), tmp_path / f"epoch_00{epoch}.pt")
    write_probe(tmp_path / "probe.npz", np.random.default_rng(0).random((5, 3, 16, 16)), np.zeros(5, int), ["a"])
    assert main(["accentuate", "--checkpoints", str(tmp_path / "epoch_000.pt"), str(tmp_path / "epoch_001.pt"),
                 "--probe", str(tmp_path / "probe.npz"), "--count", "3", "--layer", "conv3", "--channel", "0",
                 "--steps", "2", "--size", "16", "--no-progress", "--raw", str(tmp_path / "r.npz"),
                 "-o", str(tmp_path / "a.png")]) == 0
    raw = np.load(tmp_path / "r.npz")
    assert raw["accentuated"].shape == (2, 3, 16, 16, 3) and raw["rows"].tolist() == ["epoch 0", "epoch 1"]
    assert not np.allclose(raw["accentuated"][0], raw["accentuated"][1])  # two different networks


def test_the_accentuate_command_needs_images_or_a_probe_set(tmp_path, capsys):
    assert main(["accentuate", "--model", "tiny", "--weights", "random", "--layer", "conv3", "--channel", "1",
                 "-o", str(tmp_path / "a.png")]) == 2
    assert "give image files or --probe" in capsys.readouterr().err
    assert not (tmp_path / "a.png").exists()


def test_a_channels_file_accentuates_its_first_channel(tmp_path):
    """The workflow hands over the layer's channels file; the command reads it with the library's reader."""
    write_probe(tmp_path / "probe.npz", np.random.default_rng(0).random((3, 3, 16, 16)), np.zeros(3, int), ["a"])
    (tmp_path / "channels.txt").write_text("5,2,9\n")
    common = ["accentuate", "--model", "tiny", "--weights", "random", "--probe", str(tmp_path / "probe.npz"),
              "--count", "2", "--layer", "conv3", "--steps", "2", "--size", "16", "--no-progress"]
    for name, which in (("file", ["--channels-file", str(tmp_path / "channels.txt")]), ("five", ["--channel", "5"]),
                        ("two", ["--channel", "2"])):
        assert main([*common, *which, "--raw", str(tmp_path / f"{name}.npz"), "-o", str(tmp_path / f"{name}.png")]) == 0
    accentuated = {name: np.load(tmp_path / f"{name}.npz")["accentuated"] for name in ("file", "five", "two")}
    assert np.array_equal(accentuated["file"], accentuated["five"])
    assert not np.array_equal(accentuated["file"], accentuated["two"])
