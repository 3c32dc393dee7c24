"""The per-channel change verdict (driftlens.change): planted changes found, null and frozen layers never flagged."""

import numpy as np
import pytest
import skimage.data
from skimage.transform import resize

import driftlens
from driftlens import change
from driftlens.change.screen import screen_measures
from driftlens.artifacts import CHANGE_COLUMNS

LAYER = "conv3.0"  # the tiny model's third convolution, before BN and ReLU: no dead units with random weights
CHANNELS = list(range(16))
RENDER = {"method": "erhan", "size": 32, "steps": 48, "progress": False}


@pytest.fixture(scope="module")
def first():
    return driftlens.models.load("tiny", weights="random", seed=3)


@pytest.fixture(scope="module")
def probe():
    photos = [resize(getattr(skimage.data, name)(), (64, 64), anti_aliasing=True)
              for name in ("astronaut", "chelsea", "coffee", "rocket")]
    return np.stack([photo[y:y + 32, x:x + 32] for photo in photos for y in (0, 32) for x in (0, 32)]).astype("f4")


def _verdict(first, later, probe, units=None):
    tables = change.compare_models(first, later, units or {LAYER: CHANNELS}, probe, **RENDER)
    return {layer: table[table.epoch == 1].set_index("channel") for layer, table in tables.items()}


def test_planted_change_is_found_and_nothing_else(first, probe):
    planted = change.reinitialise_channels(first, LAYER, [3, 11], seed=1)
    table = _verdict(first, planted, probe)[LAYER]
    assert sorted(table.index[table.changed]) == [3, 11]
    assert (table.loc[[3, 11], "cross_activation"] < table.loc[[3, 11], "cross_activation_noise"] - 0.3).all()
    assert (table.loc[[3, 11], "q_value"] <= change.ALPHA).all()


def test_null_perturbation_flags_no_channel(first, probe):
    table = _verdict(first, change.perturb(first, 1e-6, seed=2), probe)[LAYER]
    assert not table.changed.any(), table[["cross_activation", "cross_activation_noise", "p_value"]]
    assert table.exemplar_rho.min() > 0.999


def test_frozen_layer_has_exactly_zero_change(first, probe):
    """Only conv3 changes: conv2's renders and responses are identical, so cross equals noise exactly."""
    later = change.reinitialise_channels(first, "conv3", [0, 1, 2, 3], seed=4)
    table = _verdict(first, later, probe, {"conv2.0": [0, 1, 2, 3]})["conv2.0"]
    assert (table.cross_activation == table.cross_activation_noise).all()
    assert (table.p_value == 1).all() and not table.changed.any() and (table.exemplar_rho == 1).all()


def test_change_table_has_the_documented_columns(first, probe):
    tables = change.compare_models(first, first, {LAYER: [0, 1]}, probe, seeds=[0, 1], size=32, steps=2,
                                   progress=False)
    assert list(tables[LAYER].columns) == CHANGE_COLUMNS
    assert sorted(tables[LAYER].epoch.unique()) == [0, 1]


def test_relative_response_leaves_each_seed_out_and_rejects_one_seed():
    own = np.array([[2.0], [4.0], [6.0]])
    assert change.relative_response(own, own, np.zeros(1)).ravel().tolist() == [0.4, 4 / 4, 6 / 3]
    assert np.isnan(change.relative_response(own, own, np.full(1, 10.0))).all()  # own pictures below baseline
    with pytest.raises(ValueError, match="at least two seeds"):
        change.relative_response(own[:1], own[:1], np.zeros(1))


def test_verdict_corrects_for_the_number_of_channels():
    """A borderline channel is flagged alone but not among many channels (Benjamini-Hochberg)."""
    rng = np.random.default_rng(0)
    noise = {e: 1 + 0.1 * rng.standard_normal((3, 1)) for e in range(4)}
    cross = {**noise, 3: np.full((3, 1), 0.8)}
    alone = change.verdict(cross, noise)
    many_noise = {e: np.concatenate([v] + [1 + 0.1 * rng.standard_normal((3, 1)) for _ in range(30)], axis=1)
                  for e, v in noise.items()}
    many_cross = {**many_noise, 3: np.concatenate([cross[3], many_noise[3][:, 1:]], axis=1)}
    many = change.verdict(many_cross, many_noise)
    assert many[0][3][0] <= alone[0][3][0] * 1.5  # similar raw p-value
    assert many[1][3][0] > alone[1][3][0]  # larger after correction
    assert not many[2][0].any() and not alone[2][0].any()  # epoch 0 is never tested


def test_the_change_tables_exemplar_agreement_is_the_screens_with_ties_broken_by_image_order():
    """Reversed rankings give rho -1 and no shared exemplars; tied responses (a constant top) keep the first images,
    as the screen does, so the two tables agree."""
    responses = np.arange(10.0)[:, None].repeat(2, axis=1)
    tied = np.concatenate([np.ones((6, 2)), np.zeros((4, 2))])
    for later in (-responses, tied):
        same = {"own": np.ones((2, 2)), "probe": responses, "cross": np.ones((2, 2)), "reverse": np.ones((2, 2))}
        table = change.change_table({0: same, 1: {**same, "probe": later}}, [0, 1], top_k=3).query("epoch == 1")
        measures = screen_measures(responses, later, top_k=3)
        np.testing.assert_array_equal(table.exemplar_rho, measures["rho"])
        np.testing.assert_array_equal(table.exemplar_jaccard, measures["topk_jaccard"])
    assert table.exemplar_jaccard.tolist() == [0.0, 0.0]  # ties: images 0-2 of the tied top, against 7-9
