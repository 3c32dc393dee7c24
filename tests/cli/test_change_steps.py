"""The workflow's change commands end to end on tiny checkpoints: render-checkpoint, representation, screen,
change, grid --change/--screen and exemplars; and the --threads option."""

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import driftlens
from driftlens import change
from driftlens.artifacts import (CHANGE_COLUMNS, read_change_table, read_probe, read_probe_responses, read_row,
                                 read_screen_table, write_probe)
from driftlens.checkpoints import Checkpoint, save_checkpoint
from driftlens.cli import main

LAYERS = ["conv2.0", "conv3.0"]
RENDER = ["--method", "erhan", "--steps", "24", "--size", "32", "--seeds", "0,1,2", "--no-progress"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Epoch 0 (tiny, random) and epoch 1 (channel 1 of conv3.0 re-initialised), rendered, measured and compared."""
    root = tmp_path_factory.mktemp("change")
    first = driftlens.models.load("tiny", weights="random", seed=3)
    later = change.reinitialise_channels(first, "conv3.0", [1], seed=1)
    for epoch, model in enumerate((first, later)):
        save_checkpoint(Checkpoint(model.net.state_dict(), epoch, {"model": "tiny"}, []), root / f"epoch_{epoch:03d}.pt")
    for layer in LAYERS:
        (root / layer).mkdir()
        (root / layer / "channels.txt").write_text("0,1,2,3\n")
    write_probe(root / "probe.npz", _photo_crops(48), np.arange(48) % 3, ["a", "b", "c"])
    units = [f"{layer}={root / layer / 'channels.txt'}" for layer in LAYERS]
    for epoch in (0, 1):
        rows = [str(root / layer / f"epoch_{epoch:03d}.npz") for layer in LAYERS]
        assert main(["render-checkpoint", "--checkpoint", str(root / f"epoch_{epoch:03d}.pt"), "--units", *units,
                     *RENDER, "--rows", *rows, "--pngs", *[r.replace(".npz", ".png") for r in rows]]) == 0
    for epoch in (0, 1):
        first_responses = ["--first-responses", str(root / "responses_000.npz")] if epoch else []
        assert main(["representation", "--first", str(root / "epoch_000.pt"),
                     "--checkpoint", str(root / f"epoch_{epoch:03d}.pt"), "--probe", str(root / "probe.npz"),
                     "--layers", ",".join(LAYERS), *first_responses,
                     "--responses", str(root / f"responses_{epoch:03d}.npz"), "-o", str(root / f"rep_{epoch}.json"),
                     "--device", "cpu", "--no-progress"]) == 0
    responses = [str(root / f"responses_{e:03d}.npz") for e in (0, 1)]
    for layer in LAYERS:
        assert main(["screen", "--layer", layer, "--responses", *responses, "--volcano", str(root / layer / "v.png"),
                     "-o", str(root / layer / "screen.csv")]) == 0
        assert main(["change", "--layer", layer, "--rows", *[str(root / layer / f"epoch_{e:03d}.npz") for e in (0, 1)],
                     "--checkpoints", str(root / "epoch_000.pt"), str(root / "epoch_001.pt"), "--responses", *responses,
                     "--screen", str(root / layer / "screen.csv"), "--perceptual", "lite0", "--device", "cpu",
                     "-o", str(root / layer / "change.csv")]) == 0
    return root


def _photo_crops(count):
    """``(count, 3, 32, 32)`` crops of scikit-image's photographs: natural images, so channels rank them clearly."""
    from driftlens.data.textures import source_photo

    rng = np.random.default_rng(0)
    photos = [source_photo(name) for name in ("astronaut", "chelsea", "coffee", "rocket")]
    crops = []
    for k in range(count):
        photo = photos[k % len(photos)]
        y, x = (int(rng.integers(0, side - 32)) for side in photo.shape[:2])
        crops.append(photo[y:y + 32, x:x + 32].transpose(2, 0, 1))
    return np.stack(crops).astype(np.float32)


def test_render_checkpoint_writes_one_row_per_layer_with_every_seed(run):
    row = read_row(run / "conv3.0" / "epoch_001.npz", layer="conv3.0", epoch=1)
    assert row.images.shape == (3, 4, 32, 32, 3) and row.seeds == [0, 1, 2] and row.channels == [0, 1, 2, 3]
    assert row.settings["method"] == "erhan" and row.settings["steps"] == 24
    assert not np.array_equal(row.images[0], row.images[1])  # seeds differ
    first = read_row(run / "conv2.0" / "epoch_000.npz")
    again = read_row(run / "conv2.0" / "epoch_001.npz")
    assert np.array_equal(first.images, again.images)  # conv2 did not change: identical renders
    assert Image.open(run / "conv3.0" / "epoch_001.png").size == (4 * 32 + 5 * 2, 32 + 2 * 2)


def test_rendering_a_checkpoint_is_deterministic(run, tmp_path):
    units = [f"conv3.0={run / 'conv3.0' / 'channels.txt'}"]
    out = tmp_path / "again.npz"
    assert main(["render-checkpoint", "--checkpoint", str(run / "epoch_001.pt"), "--units", *units, *RENDER,
                 "--rows", str(out), "--pngs", str(tmp_path / "again.png"), "--max-batch", "5"]) == 0
    np.testing.assert_allclose(read_row(out).images, read_row(run / "conv3.0" / "epoch_001.npz").images, atol=1e-5)


def test_probe_responses_hold_every_channel_of_every_layer_from_one_pass(run):
    epoch, responses, grams = read_probe_responses(run / "responses_001.npz", epoch=1)
    assert sorted(responses) == sorted(LAYERS) and responses["conv3.0"].shape == (48, 16)
    assert grams["conv3.0"].shape == (48, 48)
    np.testing.assert_allclose(grams["conv3.0"].sum(axis=0), 0, atol=1e-6 * np.abs(grams["conv3.0"]).max())  # centred
    probe = read_probe(run / "probe.npz")[0].transpose(0, 2, 3, 1)
    later = driftlens.models.from_checkpoint(run / "epoch_001.pt")
    for layer in LAYERS:  # every layer's responses, measured in one pass, are each layer's own
        np.testing.assert_allclose(responses[layer], change.unit_responses(later, probe, layer, list(range(16))),
                                   rtol=1e-5, atol=1e-7)


def test_screen_finds_the_reinitialised_channel_and_nothing_in_the_frozen_layer(run):
    table = read_screen_table(run / "conv3.0" / "screen.csv", layer="conv3.0")
    at_one = table[table.epoch == 1].set_index("channel")
    assert len(at_one) == 16 and at_one.index[at_one.changed].tolist() == [1]
    assert at_one.loc[1, "rank_shift"] > at_one.drop(index=1).rank_shift.max()
    frozen = read_screen_table(run / "conv2.0" / "screen.csv", layer="conv2.0")
    assert not frozen.changed.any() and (frozen.rank_shift == 0).all() and (frozen.rank_shift_se == 0).all()
    assert Image.open(run / "conv3.0" / "v.png").size[0] > 300  # the volcano plot


def test_change_table_flags_the_reinitialised_channel_only(run):
    table = read_change_table(run / "conv3.0" / "change.csv", layer="conv3.0")
    assert table.attrs["perceptual_metric"] == "lite0-feature-distance"  # --perceptual lite0, named in the file
    assert list(table.columns) == CHANGE_COLUMNS
    at_one = table[table.epoch == 1].set_index("channel")
    assert at_one.index[at_one.changed].tolist() == [1]
    assert at_one.loc[1, "screen_changed"] and at_one.loc[1, "evidence"] in ("both", "screen")
    assert (at_one.drop(index=1).evidence == "none").all()
    frozen = read_change_table(run / "conv2.0" / "change.csv", layer="conv2.0")
    assert not frozen.changed.any() and (frozen.ssim_to_first == 1).all()


def test_change_refuses_rows_and_responses_of_different_epochs(run, tmp_path, capsys):
    assert main(["change", "--layer", "conv3.0", "--rows", str(run / "conv3.0" / "epoch_000.npz"),
                 "--checkpoints", str(run / "epoch_000.pt"), "--responses", str(run / "responses_001.npz"),
                 "--screen", str(run / "conv3.0" / "screen.csv"), "--perceptual", "lite0",
                 "-o", str(tmp_path / "c.csv")]) == 2
    assert "render rows of epochs [0], checkpoints of [0] and probe responses of [1]" in capsys.readouterr().err


def test_change_names_a_file_of_the_wrong_kind(run, tmp_path, capsys):
    assert main(["change", "--layer", "conv3.0", "--rows", str(run / "responses_000.npz"),
                 "--checkpoints", str(run / "epoch_000.pt"), "--responses", str(run / "responses_000.npz"),
                 "--screen", str(run / "conv3.0" / "screen.csv"), "-o", str(tmp_path / "c.csv")]) == 2
    assert "responses_000.npz is not a render row: it holds probe responses" in capsys.readouterr().err


def test_grid_labels_columns_with_their_rank_and_rank_shift(run, tmp_path):
    rows = [str(run / "conv3.0" / f"epoch_{e:03d}.npz") for e in (0, 1)]
    plain, labelled = tmp_path / "plain.png", tmp_path / "labelled.png"
    assert main(["grid", "--rows", *rows, "-o", str(plain)]) == 0
    assert main(["grid", "--rows", *rows, "--screen", str(run / "conv3.0" / "screen.csv"), "-o", str(labelled)]) == 0
    assert Image.open(labelled).size != Image.open(plain).size  # longer column labels: "ch 1 · #1/16, shift ..."


def test_merged_grid_frames_changed_cells_and_adds_a_second_seed_row(run, tmp_path):
    rows = [str(run / "conv3.0" / f"epoch_{e:03d}.npz") for e in (0, 1)]
    plain, marked = tmp_path / "plain.png", tmp_path / "marked.png"
    assert main(["grid", "--rows", *rows, "-o", str(plain)]) == 0
    assert main(["grid", "--rows", *rows, "--change", str(run / "conv3.0" / "change.csv"), "-o", str(marked)]) == 0
    plain, marked = np.asarray(Image.open(plain)), np.asarray(Image.open(marked))
    assert marked.shape[0] > plain.shape[0] + 32  # a second-seed row and a caption
    red = (marked[..., 0] > 200) & (marked[..., 1] < 60) & (marked[..., 2] < 60)
    ys, xs = np.nonzero(red)
    assert len(ys) > 0 and plain.shape[0] // 2 < ys.mean() < plain.shape[0]  # in the epoch-1 row
    assert not ((plain[..., 0] > 200) & (plain[..., 1] < 60) & (plain[..., 2] < 60)).any()


def test_merged_grid_refuses_another_layers_change_table(run, tmp_path, capsys):
    rows = [str(run / "conv3.0" / f"epoch_{e:03d}.npz") for e in (0, 1)]
    other = run / "conv2.0" / "change.csv"
    assert main(["grid", "--rows", *rows, "--change", str(other), "-o", str(tmp_path / "m.png")]) == 2
    assert f"{other} is the change table of layer conv2.0, not of conv3.0" in capsys.readouterr().err


def test_exemplars_show_render_and_top_probe_images_per_channel_and_epoch(run, tmp_path):
    out = tmp_path / "exemplars.png"
    assert main(["exemplars", "--probe", str(run / "probe.npz"),
                 "--rows", str(run / "conv3.0" / "epoch_000.npz"), str(run / "conv3.0" / "epoch_001.npz"),
                 "--responses", str(run / "responses_000.npz"), str(run / "responses_001.npz"),
                 "--top-k", "3", "-o", str(out)]) == 0
    width, height = Image.open(out).size
    assert height > 2 * 4 * 32 and width > 4 * 32  # 2 epochs x 4 channels rows, render + 3 images


def test_threads_option_sets_torch_threads_in_the_command():
    result = subprocess.run([sys.executable, "-m", "driftlens.cli", "layers", "tiny", "--threads", "1"],
                            capture_output=True, text=True, check=True)
    assert "driftlens: torch uses 1 thread(s), 1 inter-op" in result.stderr
    bad = subprocess.run([sys.executable, "-m", "driftlens.cli", "layers", "tiny", "--threads", "0"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--threads must be at least 1" in bad.stderr


def _lucid_rows(run, out, epoch, *extra):
    """Render epoch ``epoch`` of ``run`` with lucid into ``out``; returns the rows' paths."""
    units = [f"{layer}={run / layer / 'channels.txt'}" for layer in LAYERS]
    rows = [str(out / f"{layer}_{epoch:03d}.npz") for layer in LAYERS]
    assert main(["render-checkpoint", "--checkpoint", str(run / f"epoch_{epoch:03d}.pt"), "--units", *units,
                 "--method", "lucid", "--steps", "16", "--size", "32", "--seeds", "0,1", "--no-progress",
                 "--rows", *rows, "--pngs", *[r.replace(".npz", ".png") for r in rows], *extra]) == 0
    return rows


def test_a_warm_chain_continues_changed_layers_and_reuses_unchanged_ones_exactly(run, tmp_path):
    store = ["--store", str(tmp_path / "store"), "--warm-steps", "8"]
    first = _lucid_rows(run, tmp_path, 0, *store)
    later = _lucid_rows(run, tmp_path, 1, *store, "--warm-start", *first, "--warm-start-checkpoint",
                        str(run / "epoch_000.pt"))
    (tmp_path / "cold").mkdir()
    cold = _lucid_rows(run, tmp_path / "cold", 1)

    unchanged, changed = (read_row(path) for path in later)  # conv2.0's upstream is the same; conv3.0's is not
    assert np.array_equal(unchanged.images, read_row(first[0]).images)  # reused, not continued
    assert not np.array_equal(changed.images, read_row(first[1]).images)
    assert not np.allclose(changed.images, read_row(cold[1]).images, atol=1e-3)  # continued, not from noise
    assert changed.settings["warm_steps"] == 8 and changed.settings["steps"] == 16


@pytest.mark.parametrize("extra, message", [
    (["--method", "erhan", "--warm-steps", "8"], "--warm-start: erhan renders cannot continue from earlier renders; "
                                                 "warm starts are for lucid"),
    (["--warm-start-checkpoint", "c.pt"], "--warm-start needs --warm-steps .* and --warm-start-checkpoint"),
    (["--warm-steps", "8"], "--warm-start needs --warm-steps .* and --warm-start-checkpoint"),
    (["--warm-steps", "8", "--warm-start-checkpoint", "c.pt", "--seeds", "0,1,2"], r"holds layer conv2.0, channels \[0, 1, 2, 3\], seeds \[0, 1\] at 32 "
                                                r"px; this job renders conv2.0, channels \[0, 1, 2, 3\], seeds \[0, 1, 2\]"),
])
def test_a_warm_start_that_cannot_continue_is_refused_before_the_model_loads(run, tmp_path, capsys, extra, message):
    first = _lucid_rows(run, tmp_path, 0)
    arguments = ["render-checkpoint", "--checkpoint", str(tmp_path / "no-such-checkpoint.pt"),
                 "--units", *[f"{layer}={run / layer / 'channels.txt'}" for layer in LAYERS], "--method", "lucid",
                 "--steps", "16", "--size", "32", "--seeds", "0,1", "--rows", "a.npz", "b.npz", "--pngs", "a.png",
                 "b.png", "--warm-start", *first, *extra]
    capsys.readouterr()
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert re.search(message, error) and "rendering epoch" not in error


def test_the_change_table_of_warm_started_renders_leaves_the_pixel_measures_empty(run, tmp_path):
    """Warm renders descend from epoch 0's, so their likeness to it is no evidence; cross-activation still is."""
    store = ["--store", str(tmp_path / "store"), "--warm-steps", "8"]
    first = _lucid_rows(run, tmp_path, 0, *store)
    later = _lucid_rows(run, tmp_path, 1, *store, "--warm-start", *first, "--warm-start-checkpoint",
                        str(run / "epoch_000.pt"))
    out = tmp_path / "change.csv"
    assert main(["change", "--layer", "conv3.0", "--rows", first[1], later[1], "--checkpoints",
                 str(run / "epoch_000.pt"), str(run / "epoch_001.pt"), "--responses",
                 *[str(run / f"responses_{e:03d}.npz") for e in (0, 1)], "--screen", str(run / "conv3.0" / "screen.csv"),
                 "--device", "cpu", "-o", str(out)]) == 0
    table = read_change_table(out, layer="conv3.0")
    pixels = ["ssim_to_first", "ssim_noise", "perceptual_to_first", "perceptual_noise"]
    assert table[pixels].isna().all().all() and pd.isna(table.attrs["perceptual_metric"])
    assert table.query("epoch == 1").cross_activation.notna().sum() >= 2 and table.screen_changed.any()
