"""Maps per checkpoint for the pipeline, and their rank correlation across epochs."""

import numpy as np
import pytest
import torch

from driftlens.artifacts import DRIFT_COLUMNS, read_drift_table, write_attribution_maps
from driftlens.attribution.drift import drift_table, maps_for_checkpoint, rank_correlation
from driftlens.cli import main
from driftlens.errors import ConfigError


def test_maps_for_checkpoint_gives_unit_range_float32_maps_per_method(tiny):
    images = np.random.default_rng(0).random((3, 3, 32, 32), dtype=np.float32)
    maps = maps_for_checkpoint(tiny, images, np.array([0, 4, 9]), methods=("gradcam", "smoothgrad", "occlusion"))
    assert list(maps) == ["gradcam", "smoothgrad", "occlusion"]
    for array in maps.values():
        assert array.shape == (3, 32, 32) and array.dtype == np.float32
        assert array.min() >= 0 and array.max() <= 1
        assert (array.max(axis=(1, 2)) == 1).all()


def test_maps_for_checkpoint_is_deterministic_and_honours_the_layer(tiny):
    images = torch.rand(2, 3, 32, 32)
    first = maps_for_checkpoint(tiny, images, [1, 2], layer="conv2")
    again = maps_for_checkpoint(tiny, images, [1, 2], layer="conv2")
    default_layer = maps_for_checkpoint(tiny, images, [1, 2], methods=["gradcam"])
    assert all(np.array_equal(first[name], again[name]) for name in first)
    assert not np.allclose(first["gradcam"], default_layer["gradcam"])


def test_rank_correlation_is_per_image_and_rank_based():
    a = np.random.default_rng(0).random((3, 8, 8))
    b = np.stack([a[0] ** 3, -a[1], np.random.default_rng(1).random((8, 8))])
    rho = rank_correlation(a, b)
    assert rho.shape == (3,)
    assert rho[0] == pytest.approx(1) and rho[1] == pytest.approx(-1) and abs(rho[2]) < 0.3
    assert rank_correlation(torch.from_numpy(a[0]), torch.from_numpy(a[0])).shape == (1,)


def test_rank_correlation_of_a_flat_map_is_nan_and_shapes_must_match():
    assert np.isnan(rank_correlation(np.ones((1, 4, 4)), np.random.rand(1, 4, 4))).all()
    with pytest.raises(ValueError, match=r"\(2, 4, 4\) and \(2, 4, 5\)"):
        rank_correlation(np.zeros((2, 4, 4)), np.zeros((2, 4, 5)))


def _maps(seed, zero_first=False):
    maps = np.random.default_rng(seed).random((3, 8, 8))
    if zero_first:
        maps[0] = 0  # an all-zero Grad-CAM, as a random head gives
    return {"gradcam": maps}


def test_drift_starts_at_the_trained_head_and_reports_constant_maps():
    reference = _maps(1)
    maps = {0: _maps(0), 2: reference, 3: {"gradcam": reference["gradcam"] ** 2}, 4: _maps(4, zero_first=True)}
    table = drift_table(maps, reference_epoch=2)
    assert list(table.columns) == DRIFT_COLUMNS and sorted(table.epoch.unique()) == [2, 3, 4]  # epoch 0 left out
    assert (table.reference_epoch == 2).all()
    three = table[table.epoch == 3]
    assert three.spearman.tolist() == pytest.approx([1, 1, 1]) and not three.constant_map.any()
    four = table[table.epoch == 4].set_index("image")
    assert four.loc[0, "constant_map"] and np.isnan(four.loc[0, "spearman"]) and not four.loc[1:, "constant_map"].any()
    with pytest.raises(ConfigError, match="reference epoch 1 has no attribution maps"):
        drift_table(maps, reference_epoch=1)


def test_drift_command_writes_the_table_and_a_plot_with_n(tmp_path):
    paths = []
    for epoch, maps in {0: _maps(0), 1: _maps(1), 2: _maps(2, zero_first=True)}.items():
        paths.append(str(tmp_path / f"epoch_{epoch:03d}.npz"))
        write_attribution_maps(paths[-1], epoch, maps)
    out = tmp_path / "drift.csv"
    assert main(["attribution-drift", "--maps", *paths, "--reference-epoch", "1", "-o", str(out),
                 "--png", str(tmp_path / "drift.png")]) == 0
    table = read_drift_table(out)
    assert sorted(table.epoch.unique()) == [1, 2] and table.constant_map.sum() == 1
    from driftlens.figures import plot_attribution_drift

    label = plot_attribution_drift(table).axes[0].get_lines()[0].get_label()
    assert label == "gradcam (n = 2–3 images; 1 constant maps left out)"
