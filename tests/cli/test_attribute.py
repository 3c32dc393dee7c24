"""The ``attribute`` and ``attribution-maps`` commands."""

import numpy as np
import pytest
from PIL import Image

import driftlens
from driftlens.artifacts import read_attribution_maps, write_attribution_maps
from driftlens.checkpoints import read_checkpoint
from driftlens.cli import main
from driftlens.checkpoints import Checkpoint, save_checkpoint
from driftlens.artifacts import read_probe, write_probe


@pytest.fixture
def photos(tmp_path):
    paths = []
    for i, colour in enumerate(["red", "navy"]):
        path = tmp_path / f"photo{i}.png"
        Image.new("RGB", (48, 40), colour).save(path)
        paths.append(str(path))
    return paths


def test_attribute_writes_an_overlay_grid(photos, tmp_path):
    out = tmp_path / "out" / "grid.png"
    assert main(["attribute", "--model", "tiny", "--weights", "random", "--method", "gradcam", "--target", "3",
                 "--layer", "conv2", *photos, "-o", str(out)]) == 0
    grid = Image.open(out)
    assert grid.width >= 2 * 32 and grid.height >= 2 * 32  # two columns (images), two rows (image, overlay)


def test_attribute_names_imagenet_classes_and_gives_other_heads_their_index(photos, tmp_path, monkeypatch):
    import driftlens.cli.attribute as command

    shown = []
    monkeypatch.setattr(command, "image_grid", lambda rows, row_labels, col_labels: shown.append(col_labels)
                        or Image.new("RGB", (8, 8)))
    assert main(["attribute", "--model", "efficientnet_lite0", "--target", "285", "--size", "64", photos[0],
                 "-o", str(tmp_path / "a.png")]) == 0
    assert main(["attribute", "--model", "tiny", "--weights", "random", "--target", "3", photos[0],
                 "-o", str(tmp_path / "b.png")]) == 0
    assert shown == [["photo0.png -> 285 Egyptian cat"], ["photo0.png -> 3"]]


@pytest.mark.parametrize("target", [None, "conv3:2"])
def test_attribute_accepts_predicted_class_and_layer_channel_targets(photos, tmp_path, target):
    out = tmp_path / "grid.png"
    args = ["attribute", "--model", "tiny", "--weights", "random", "--method", "smoothgrad", photos[0], "-o", str(out)]
    assert main(args + (["--target", target] if target else [])) == 0
    with Image.open(out) as grid:  # one column, the image and its overlay
        assert grid.width >= 32 and grid.height >= 2 * 32 and len(set(grid.convert("L").getdata())) > 16


def test_attribute_names_a_missing_or_corrupt_image(photos, tmp_path, capsys):
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(b"not a jpeg")
    for bad in (str(tmp_path / "missing.png"), str(corrupt)):
        assert main(["attribute", "--model", "tiny", "--weights", "random", photos[0], bad,
                     "-o", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("driftlens: error:") and bad in err
    assert not (tmp_path / "x.png").exists()


def test_attribute_rejects_a_bad_target(photos, tmp_path, capsys):
    assert main(["attribute", "--model", "tiny", "--weights", "random", "--target", "cat", photos[0],
                 "-o", str(tmp_path / "x.png")]) == 2
    assert "--target" in capsys.readouterr().err


@pytest.fixture
def checkpoint_and_probe(tmp_path, tiny):
    checkpoint = tmp_path / "epoch_001.pt"
    save_checkpoint(Checkpoint(tiny.net.state_dict(), 1, {"model": "tiny"}, []), checkpoint)
    probe = tmp_path / "probe.npz"
    write_probe(probe, np.random.default_rng(0).random((3, 3, 32, 32), dtype=np.float32), np.array([0, 5, 9]),
                [f"class{i}" for i in range(10)])
    return checkpoint, probe


def test_attribution_maps_writes_one_array_per_method_and_a_png(checkpoint_and_probe, tmp_path):
    checkpoint, probe = checkpoint_and_probe
    out, png = tmp_path / "maps.npz", tmp_path / "row.png"
    assert main(["attribution-maps", "--checkpoint", str(checkpoint), "--probe", str(probe),
                 "--methods", "gradcam", "gradient", "-o", str(out), "--png", str(png)]) == 0
    epoch, maps = read_attribution_maps(out)
    assert epoch == read_checkpoint(checkpoint).epoch
    assert sorted(maps) == ["gradcam", "gradient"]
    assert maps["gradcam"].shape == (3, 32, 32) and maps["gradcam"].max() <= 1
    assert Image.open(png).width > 3 * 32


def test_attribute_loads_a_training_checkpoint(checkpoint_and_probe, photos, tmp_path):
    checkpoint, _ = checkpoint_and_probe
    out = tmp_path / "grid.png"
    assert main(["attribute", "--checkpoint", str(checkpoint), "--method", "occlusion", photos[0], "-o", str(out)]) == 0
    with Image.open(out) as grid:
        assert grid.width >= 32 and grid.height >= 2 * 32 and len(set(grid.convert("L").getdata())) > 16


def test_attribution_maps_refuses_a_file_that_is_not_a_probe_set(checkpoint_and_probe, tmp_path, capsys):
    checkpoint, _ = checkpoint_and_probe
    maps = tmp_path / "m.npz"
    write_attribution_maps(maps, 1, {"gradcam": np.zeros((2, 4, 4), np.float32)})
    assert main(["attribution-maps", "--checkpoint", str(checkpoint), "--probe", str(maps),
                 "-o", str(tmp_path / "out.npz")]) == 2
    assert f"{maps} is not a probe set: it holds attribution maps" in capsys.readouterr().err


def test_attribution_maps_of_a_checkpoint_match_the_library(checkpoint_and_probe, tmp_path, tiny):
    checkpoint, probe = checkpoint_and_probe
    out = tmp_path / "maps.npz"
    main(["attribution-maps", "--checkpoint", str(checkpoint), "--probe", str(probe), "--methods", "gradcam",
          "-o", str(out)])
    images, labels = read_probe(probe)
    expected = driftlens.attribution.drift.maps_for_checkpoint(tiny, images, labels, ["gradcam"])
    assert np.allclose(read_attribution_maps(out)[1]["gradcam"], expected["gradcam"], atol=1e-6)


def test_attribution_figures_name_the_classes_of_the_probe_set(checkpoint_and_probe, tmp_path, monkeypatch):
    from driftlens.cli import attribution_figures, attribution_maps

    checkpoint, probe = checkpoint_and_probe
    names = [f"flower{i}" for i in range(10)]
    images, labels = read_probe(probe)
    write_probe(probe, images, labels, names)
    columns = []

    def grid(rows, row_labels, col_labels):
        columns.append(col_labels)
        return Image.new("RGB", (4, 4))

    monkeypatch.setattr(attribution_figures, "image_grid", grid)
    monkeypatch.setattr(attribution_maps, "image_grid", grid)
    maps = tmp_path / "attribution" / "epoch_001.npz"
    maps.parent.mkdir()
    assert main(["attribution-maps", "--checkpoint", str(checkpoint), "--probe", str(probe), "--methods", "gradcam",
                 "-o", str(maps), "--png", str(tmp_path / "row.png")]) == 0
    assert main(["attribution-grid", "--probe", str(probe), "--maps", str(maps), "-o", str(tmp_path / "g.png")]) == 0
    assert columns == [["flower0", "flower5", "flower9"]] * 2
    old_probe = tmp_path / "old_probe.npz"  # written before probe sets carried their metadata
    np.savez(old_probe, images=np.zeros((1, 3, 4, 4)), labels=[5])
    assert main(["attribution-grid", "--probe", str(old_probe), "--maps", str(maps), "-o", str(tmp_path / "g.png")]) == 2
