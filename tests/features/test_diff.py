"""The feature diff on planted cases: atoms that appear, vanish or turn are found, and a noise copy shows nothing."""

import numpy as np
import pytest
import torch

from driftlens.features import FeatureSettings, feature_diff, with_exemplar_files
from driftlens.features.latents import CHANGED

WIDTH, ATOMS = 24, 40


@pytest.fixture(scope="module")
def planted():
    """Epoch 0 and epoch 5 made of sparse atoms: 4 vanish (lost), 4 appear (new), 4 turn by 80° (rotated), 4 write
    four times as strongly (strengthened) and 4 a third as strongly (weakened)."""
    generator = torch.Generator().manual_seed(1)
    atoms = torch.nn.functional.normalize(torch.randn(ATOMS, WIDTH, generator=generator), dim=1)
    later = atoms.clone()
    later[:4] = 0  # lost
    first = atoms.clone()
    first[4:8] = 0  # new
    turn = torch.nn.functional.normalize(torch.randn(4, WIDTH, generator=generator), dim=1)
    turn = torch.nn.functional.normalize(turn - (turn * atoms[8:12]).sum(1, keepdim=True) * atoms[8:12], dim=1)
    later[8:12] = np.cos(np.radians(80)) * atoms[8:12] + np.sin(np.radians(80)) * turn
    later[12:16] *= 4  # strengthened
    later[16:20] /= 3  # weakened
    code = (torch.rand(5000, ATOMS, generator=generator) < 0.08) * (1 + torch.rand(5000, ATOMS, generator=generator))
    noise = 0.02 * torch.randn(2, 5000, WIDTH, generator=generator)
    epoch0, epoch5 = code @ first + noise[0], code @ later + noise[1]
    copy = epoch0 + 1e-3 * epoch0.abs() * torch.randn(epoch0.shape, generator=generator)
    train = {0: epoch0[:4000], 5: epoch5[:4000]}
    probe = {0: epoch0[4000:].reshape(250, 2, 2, WIDTH), 5: epoch5[4000:].reshape(250, 2, 2, WIDTH)}
    labels = np.arange(250) % 2
    settings = FeatureSettings(expansion=6, steps=1000, k_per_channel=0.125, batch_size=1024, lr=2e-3)
    diff = feature_diff(train, probe, copy[:4000], labels, ["a", "b"], settings, progress=False)
    return diff, atoms, later


@pytest.fixture(scope="module")
def rewired():
    """Epoch 0 and epoch 5 made of sparse atoms, 4 of which gain a weight of 0.45 on their weakest channel at epoch 5
    (a turn of about 24°, nine tenths of the change on that channel); the others untouched."""
    generator = torch.Generator().manual_seed(2)
    atoms = torch.nn.functional.normalize(torch.randn(ATOMS, WIDTH, generator=generator), dim=1)
    channels = atoms[:4].abs().argmin(dim=1)
    later = atoms.clone()
    later[:4] = torch.nn.functional.normalize(atoms[:4] + 0.45 * torch.nn.functional.one_hot(channels, WIDTH), dim=1)
    code = (torch.rand(5000, ATOMS, generator=generator) < 0.08) * (1 + torch.rand(5000, ATOMS, generator=generator))
    noise = 0.02 * torch.randn(2, 5000, WIDTH, generator=generator)
    epoch0, epoch5 = code @ atoms + noise[0], code @ later + noise[1]
    copy = epoch0 + 1e-3 * epoch0.abs() * torch.randn(epoch0.shape, generator=generator)
    probe = {0: epoch0[4000:].reshape(250, 2, 2, WIDTH), 5: epoch5[4000:].reshape(250, 2, 2, WIDTH)}
    settings = FeatureSettings(expansion=6, steps=400, k_per_channel=0.125, batch_size=1024, lr=2e-3)
    diff = feature_diff({0: epoch0[:4000], 5: epoch5[:4000]}, probe, copy[:4000], settings=settings, progress=False)
    return diff, atoms, channels


def matches(diff, directions, epoch_index):
    """For each planted direction: the class of the latent whose decoder at that checkpoint is closest to it."""
    decoder = torch.nn.functional.normalize(diff.coder.decoder.detach()[:, epoch_index], dim=1)
    best = (directions @ decoder.T).max(dim=1)
    by_latent = dict(zip(diff.table["latent"], diff.table["class"]))
    return [(by_latent[int(latent)], float(cos)) for cos, latent in zip(*best)]


def test_vanished_atoms_come_out_lost_and_new_ones_new_or_at_least_changed(planted):
    diff, atoms, later = planted
    for found, exclusive in ((matches(diff, atoms[:4], 0), "lost"), (matches(diff, atoms[4:8], 1), "new")):
        assert all(kind in CHANGED and cos > 0.8 for kind, cos in found), found
        assert sum(kind == exclusive for kind, _ in found) >= 2, found


def test_turned_atoms_come_out_rotated_and_untouched_ones_shared(planted):
    diff, atoms, later = planted
    assert all(kind == "rotated" for kind, _ in matches(diff, atoms[8:12], 0)), matches(diff, atoms[8:12], 0)
    untouched = matches(diff, atoms[20:], 0)
    assert sum(kind == "shared" for kind, _ in untouched) >= 0.9 * len(untouched), untouched


def test_atoms_written_several_times_more_or_less_strongly_come_out_strengthened_or_weakened(planted):
    diff, atoms, later = planted
    # the mean-norm scaling turns 4x into 2.8x here, and a dictionary blends some atoms: at least half pass the 2x
    strong = [kind for kind, _ in matches(diff, atoms[12:16], 1)]
    assert strong.count("strengthened") >= 2 and set(strong) <= {"strengthened", "shared"}, strong
    assert [kind for kind, _ in matches(diff, atoms[16:20], 0)] == ["weakened"] * 4, matches(diff, atoms[16:20], 0)


def test_atoms_that_gain_a_weight_on_one_channel_come_out_rewired_on_that_channel_and_the_others_shared(rewired):
    diff, atoms, channels = rewired
    found = matches(diff, atoms[:4], 0)
    assert [kind for kind, _ in found] == ["rewired"] * 4, found
    decoder = torch.nn.functional.normalize(diff.coder.decoder.detach()[:, 0], dim=1)
    rows = diff.table.set_index("latent").loc[(atoms[:4] @ decoder.T).argmax(dim=1).tolist()]
    assert rows["change_channel"].tolist() == channels.tolist() and (rows["change_channel_share"] >= 0.5).all()
    untouched = [kind for kind, _ in matches(diff, atoms[4:], 0)]
    assert untouched.count("shared") >= 0.9 * len(untouched), untouched
    noise = diff.summary["nulls"]["noise"]
    assert noise["rewired_by_minimum_effect"] <= 0.01 * noise["latents"], noise


def test_the_noise_null_shows_almost_no_exclusive_latent_and_the_seed_null_agrees(planted):
    diff, _, _ = planted
    noise, seed = diff.summary["nulls"]["noise"], diff.summary["nulls"]["seed"]
    assert noise["exclusive_by_minimum_effect"] <= 0.01 * noise["latents"], noise
    assert noise["rewired_by_minimum_effect"] <= 0.01 * noise["latents"], noise
    assert seed["changed_same_class"] >= 0.8, seed


def test_the_table_lists_new_and_lost_first_and_each_latent_serves_a_class(planted):
    diff, _, _ = planted
    order = diff.table["class"].tolist()
    exclusive = order.count("new") + order.count("lost")
    assert exclusive >= 5 and order[:exclusive] == ["new"] * order.count("new") + ["lost"] * order.count("lost")
    effects = (diff.table["relative_norm"] - 0.5).abs().tolist()  # each changed group by its effect, largest first
    assert effects[:order.count("new")] == sorted(effects[:order.count("new")], reverse=True)
    turns = (1 - diff.table.loc[diff.table["class"] == "rotated", "cosine"]).tolist()
    assert turns == sorted(turns, reverse=True)
    shares = diff.table.loc[diff.table["class"] == "shared", "share"].tolist()
    assert shares == sorted(shares, reverse=True)
    assert set(diff.table.loc[~diff.table.dead, "top_class"]) <= {"a", "b", ""}
    assert diff.summary["variance_explained"]["0"] > diff.summary["pca_variance_explained"]["0"]


def test_exemplars_are_distinct_probe_images_with_their_cell(planted):
    diff, _, _ = planted
    files = [f"img_{i}.png" for i in range(250)]
    table = with_exemplar_files(diff.table, diff.exemplars, files, pixels_per_cell=16)
    first = table.iloc[0]
    names = first.exemplars.split(";")
    assert len(names) == 8 and len(set(names)) == 8
    assert all(0 <= int(v) < 2 for cell in first.exemplar_cells.split(";") for v in cell.split(","))
    assert all(int(v) in (8, 24) for pixel in first.exemplar_pixels.split(";") for v in pixel.split(","))


def test_a_single_distinct_checkpoint_has_only_shared_latents_and_no_null():
    train, probe = {0: torch.randn(800, 8)}, {0: torch.randn(4, 2, 2, 8)}
    diff = feature_diff(train, probe, torch.randn(800, 8), settings=FeatureSettings(steps=20), progress=False)
    assert set(diff.table["class"]) <= {"shared", "rare", "dead"} and "nulls" not in diff.summary
