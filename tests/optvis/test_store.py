"""Render reuse (driftlens.optvis.store): keys that change exactly when a render could, and the store in
render-checkpoint handing back identical arrays."""

import numpy as np
import torch

import driftlens
from driftlens.artifacts import read_row
from driftlens.checkpoints import Checkpoint, save_checkpoint
from driftlens.cli import main
from driftlens.optvis.store import RenderStore, render_key

SETTINGS = {"method": "erhan", "steps": 8, "size": 32}


def tiny(seed=0):
    return driftlens.models.load("tiny", weights="random", seed=seed)


def test_the_key_ignores_what_runs_after_the_layer_and_sees_everything_before():
    model, head_changed, early_changed = tiny(), tiny(), tiny()
    with torch.no_grad():
        head_changed.net.fc.weight.add_(1.0)
        head_changed.module("conv3")[0].weight.add_(1.0)
        early_changed.module("conv1")[0].bias.add_(1e-6)
    key = render_key(model, "conv2", [0, 1], [0], SETTINGS)
    assert render_key(head_changed, "conv2", [0, 1], [0], SETTINGS) == key
    assert render_key(early_changed, "conv2", [0, 1], [0], SETTINGS) != key
    assert render_key(model, "conv2", [0, 1], [0], {**SETTINGS, "steps": 9}) != key
    assert render_key(model, "conv2", [0, 2], [0], SETTINGS) != key
    assert render_key(model, "conv3", [0, 1], [0], SETTINGS) != key


def test_store_round_trip_keeps_the_arrays_exactly(tmp_path):
    store = RenderStore(tmp_path)
    images = np.random.default_rng(0).random((2, 3, 8, 8, 3), dtype=np.float32)
    with store.reserve(["k1", "k2"]):
        assert store.get("k1") is None
        store.put("k1", images)
    assert np.array_equal(store.get("k1"), images) and store.get("k1").dtype == images.dtype


def test_render_checkpoint_reuses_renders_of_unchanged_upstream_weights(tmp_path, capsys):
    first, later = tiny(), tiny()
    with torch.no_grad():
        later.module("conv3")[0].weight.mul_(1.5)  # conv2's renders cannot change; conv3's can
    (tmp_path / "channels.txt").write_text("0,1\n")
    for epoch, model in enumerate((first, later)):
        save_checkpoint(Checkpoint(model.net.state_dict(), epoch, {"model": "tiny"}, []), tmp_path / f"e{epoch}.pt")
    rows = {}
    for epoch in (0, 1):
        rows[epoch] = [tmp_path / f"{layer}_{epoch}.npz" for layer in ("conv2", "conv3")]
        assert main(["render-checkpoint", "--checkpoint", str(tmp_path / f"e{epoch}.pt"), "--units",
                     *[f"{layer}={tmp_path / 'channels.txt'}" for layer in ("conv2", "conv3")], "--seeds", "0,1",
                     "--method", "erhan", "--steps", "6", "--size", "32", "--rows", *map(str, rows[epoch]),
                     "--pngs", *[str(p).replace(".npz", ".png") for p in rows[epoch]], "--store",
                     str(tmp_path / "store"), "--no-progress"]) == 0
    assert "reusing 1 of 2 layers' renders" in capsys.readouterr().err
    conv2 = [read_row(rows[epoch][0], epoch=epoch) for epoch in (0, 1)]
    conv3 = [read_row(rows[epoch][1], epoch=epoch) for epoch in (0, 1)]
    assert np.array_equal(conv2[0].images, conv2[1].images)        # reused: identical arrays
    assert not np.array_equal(conv3[0].images, conv3[1].images)    # rendered again: the layer changed


def test_a_key_another_job_holds_is_reported_busy_and_not_waited_for(tmp_path):
    import fcntl

    store = RenderStore(tmp_path)
    with store.claim(["held"]):  # another job renders "held" (flock: another open file description)
        with store.claim(["held", "free"]) as busy:
            assert busy == {"held"}
    with store.claim(["held"]) as busy:  # released
        assert busy == set()
    with open(tmp_path / "held.lock", "w") as other:
        fcntl.flock(other, fcntl.LOCK_EX)
        with store.claim(["held"]) as busy:
            assert busy == {"held"}
