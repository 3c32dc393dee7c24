"""The change screen (driftlens.change.screen): its measures, noise references and rule, and planted changes in a
plain and a residual block of small networks found under weight noise, with nulls that are not."""

import numpy as np
import pytest
import torch
from torch import nn

import driftlens
from driftlens import change
from driftlens.artifacts import SCREEN_COLUMNS
from driftlens.change import screen
from driftlens.data.textures import source_photo
from driftlens.models.wrapper import ModelWrapper


def photo_crops(count=256, side=32, seed=0):
    """``(count, side, side, 3)`` crops of scikit-image's photographs: natural images with varied content."""
    rng = np.random.default_rng(seed)
    photos = [source_photo(name) for name in ("astronaut", "chelsea", "coffee", "rocket", "brick", "grass")]
    crops = []
    for k in range(count):
        photo = photos[k % len(photos)]
        y, x = (int(rng.integers(0, size - side)) for size in photo.shape[:2])
        crops.append(photo[y:y + side, x:x + side])
    return np.stack(crops).astype(np.float32)


class Residual(nn.Module):
    """conv-BN-ReLU-conv-BN with an identity skip: its output channel c is the projection's channel c plus input c."""

    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 1), nn.BatchNorm2d(channels))

    def forward(self, x):
        return x + self.body(x)


def residual_net(seed=0):
    """A small network with a residual block (``block``) of 24 channels, random weights, BN statistics set."""
    torch.manual_seed(seed)
    net = nn.Sequential()
    net.add_module("stem", nn.Sequential(nn.Conv2d(3, 24, 3, stride=2, padding=1), nn.BatchNorm2d(24), nn.ReLU()))
    net.add_module("block", Residual(24))
    net.add_module("pool", nn.AdaptiveAvgPool2d(1))
    net.add_module("flat", nn.Flatten())
    net.add_module("fc", nn.Linear(24, 5))
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return ModelWrapper(net.eval(), "residual", input_size=32, head="fc")


BLOCKS = {"plain": ("tiny", "conv3"), "residual": ("residual", "block")}
SWAP, BLEND, REINIT = (2, 9), {4: 11, 6: 13}, [1, 7]


def load(kind):
    return driftlens.models.load("tiny", weights="random", seed=3) if kind == "tiny" else residual_net()


@pytest.fixture(scope="module")
def probe():
    return photo_crops(256)


def verdicts(first, later, layer, probe):
    table = change.compare_models(first, later, {layer: None}, probe, render=False)[layer]
    return table[table.epoch == 1].set_index("channel")


def noisy(model, seed):
    return change.perturb(model, 1e-3, seed=seed, relative=True)


# --- measures and noise references ----------------------------------------------------------------------

def test_measures_of_the_same_and_of_a_reversed_ranking():
    a = np.arange(20.0)[:, None] * np.array([1.0, 2.0])
    same = screen.screen_measures(a, 3 * a + 1)  # a monotone change of scale keeps every measure
    assert same["rank_shift"].tolist() == [0, 0] and same["rho"].tolist() == [1, 1]
    assert same["topk_jaccard"].tolist() == [1, 1] and same["exemplar_response"].tolist() == [1, 1]
    reversed_ = screen.screen_measures(a, -a)
    assert reversed_["rho"].tolist() == [-1, -1] and reversed_["topk_jaccard"].tolist() == [0, 0]
    assert reversed_["rank_shift"].tolist() == pytest.approx([np.sqrt(2)] * 2)


def test_rank_shift_is_the_distance_of_the_standardised_ranks():
    rng = np.random.default_rng(0)
    a, unrelated = rng.normal(size=(2000, 5)), rng.normal(size=(2000, 5))
    b = a + rng.normal(scale=0.5, size=a.shape)
    ranks = [(r - r.mean(0)) / r.std(0) for r in (np.argsort(np.argsort(a, 0), 0), np.argsort(np.argsort(b, 0), 0))]
    measured = screen.screen_measures(a, b)
    np.testing.assert_allclose(measured["rank_shift"], np.sqrt(((ranks[0] - ranks[1]) ** 2).mean(0) / 2), rtol=1e-9)
    assert screen.screen_measures(a, unrelated)["rank_shift"] == pytest.approx(np.ones(5), abs=0.05)


def test_bootstrap_errors_are_deterministic_and_shrink_with_more_images():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 3))
    b = a + rng.normal(scale=0.5, size=a.shape)
    errors = screen.bootstrap_errors(a, b)
    assert all(np.array_equal(errors[k], v) for k, v in screen.bootstrap_errors(a, b).items())
    assert set(errors) == {f"{m}_se" for m in ("rank_shift", "rho", "topk_jaccard", "exemplar_response")}
    fewer = screen.bootstrap_errors(a[:100], b[:100])
    assert (fewer["rank_shift_se"] > 1.3 * errors["rank_shift_se"]).all()  # about sqrt(4) = 2x with 4x the images


def test_each_resamples_top_images_are_its_best_ranked_drawn_images():
    """The shallow search of the bootstrap's top-k sets agrees with a brute-force pick, ties and few images included."""
    rng = np.random.default_rng(0)
    for count, channels, top_k in [(256, 20, 5), (8, 3, 5), (12, 4, 3)]:
        responses = rng.normal(size=(count, channels))
        responses[:, 0] = 1.0  # all tied: image order decides
        weights = rng.multinomial(count, np.full(count, 1 / count), size=50).astype(float)
        expected = np.zeros((50, count, channels), dtype=bool)
        for b, c in np.ndindex(50, channels):
            drawn = [i for i in np.argsort(-responses[:, c], kind="stable") if weights[b, i] > 0]
            expected[b, drawn[:top_k], c] = True
        assert np.array_equal(screen._resampled_top(responses, weights, top_k), expected), (count, top_k)


def test_a_channel_ranked_on_nearly_tied_responses_has_a_wide_noise_reference():
    rng = np.random.default_rng(0)
    clear = rng.normal(size=128)
    tied = np.r_[np.full(124, 0.0), 1, 2, 3, 4] + rng.normal(scale=1e-3, size=128)  # ranks of 124 images: noise
    first = np.stack([clear, tied], axis=1)
    later = first + rng.normal(scale=[0.05, 1e-3], size=first.shape)
    table = screen.screen_table({0: first, 1: later}).query("epoch == 1")
    assert table.rank_shift_se.iloc[1] > 3 * table.rank_shift_se.iloc[0]


# --- the rule ---------------------------------------------------------------------------------------------

def test_significance_alone_is_not_change():
    """Many images and a small, real re-ranking: significant, yet below the minimum effect, so unchanged."""
    rng = np.random.default_rng(0)
    first = rng.normal(size=(2000, 4))
    later = first + rng.normal(scale=0.03, size=first.shape)
    table = screen.screen_table({0: first, 1: later}).query("epoch == 1")
    assert (table.rank_shift < screen.MIN_EFFECT).all() and (table.rank_shift > 5 * table.rank_shift_se).all()
    assert not table.changed.any()
    looser = screen.screen_table({0: first, 1: later}, min_effect=0.01).query("epoch == 1")
    assert looser.changed.all()  # the same shifts pass a smaller minimum effect: the threshold is what decides


def test_silent_channels_are_not_tested_and_going_silent_is_a_change():
    rng = np.random.default_rng(0)
    first = rng.normal(size=(64, 6))
    first[:, 4] = 1e-6 * rng.normal(size=64)             # silent throughout: its ranking is noise
    later = first.copy()
    later[:, 4] = 1e-6 * rng.normal(size=64)
    later[:, 5] = 1e-6 * rng.normal(size=64)              # goes silent, however its noise ranks the images
    table = screen.screen_table({0: first, 1: later}).query("epoch == 1").set_index("channel")
    assert table.state.tolist() == ["active"] * 4 + ["silent", "went silent"]
    assert table.changed.tolist() == [False] * 5 + [True]
    back = screen.screen_table({0: later, 1: first}).query("epoch == 1").set_index("channel")
    assert back.loc[5, "state"] == "came alive" and back.loc[5, "changed"]


def test_false_discovery_rate_is_controlled_over_a_layers_channels():
    """200 channels with a real shift of about 0.1, twice the minimum effect, and 200 without: BH over all 400."""
    rng = np.random.default_rng(1)
    first = rng.normal(size=(300, 400))
    later = first.copy()
    later[:, :200] = first[:, :200] + rng.normal(scale=0.15, size=(300, 200))
    table = screen.screen_table({0: first, 1: later}).query("epoch == 1")
    assert table.changed.iloc[:200].mean() > 0.9 and not table.changed.iloc[200:].any()
    assert (table.q_value >= table.p_value).all()


def test_screen_table_has_the_documented_columns_and_is_deterministic():
    rng = np.random.default_rng(0)
    by_epoch = {0: rng.normal(size=(40, 3)), 2: rng.normal(size=(40, 3))}
    table = screen.screen_table(by_epoch, channels=[5, 6, 7])
    assert list(table.columns) == SCREEN_COLUMNS and table.channel.tolist() == [5, 6, 7] * 2
    assert table.equals(screen.screen_table(by_epoch, channels=[5, 6, 7]))
    assert not table.query("epoch == 0").changed.any()


# --- planted changes and nulls on networks ----------------------------------------------------------------

@pytest.mark.parametrize("block", BLOCKS)
def test_planted_swaps_blends_and_reinitialisations_are_found_and_nothing_else(block, probe):
    kind, layer = BLOCKS[block]
    model = load(kind)
    planted = {"swap": (change.swap_channels(model, layer, *SWAP), list(SWAP)),
               "blend 40%": (change.blend_channels(model, layer, BLEND, 0.4), list(BLEND)),
               "blend 100%": (change.blend_channels(model, layer, BLEND, 1.0), list(BLEND)),
               "reinit": (change.reinitialise_channels(model, layer, REINIT, seed=1), REINIT)}
    for name, (changed, channels) in planted.items():
        table = verdicts(model, noisy(changed, seed=5), layer, probe)
        found = sorted(table.index[table.changed])
        assert found == sorted(channels), (block, name, table.loc[:, ["rank_shift", "rank_shift_se", "q_value"]])


def test_null_perturbations_flag_at_most_one_percent_of_500_channel_tests(probe):
    flagged = {"1e-6": 0, "1e-3": 0}
    tests = {"1e-6": 0, "1e-3": 0}
    for seed in range(9):
        for kind, layer in [*BLOCKS.values(), ("tiny", "conv2")]:
            model = load(kind)
            for name, scale in (("1e-6", 1e-6), ("1e-3", 1e-3)):
                table = verdicts(model, change.perturb(model, scale, seed=seed, relative=True), layer, probe)
                flagged[name] += int(table.changed.sum())
                tests[name] += len(table)
    assert min(tests.values()) >= 500
    assert all(flagged[name] <= 0.01 * tests[name] for name in tests), (flagged, tests)


def test_a_frozen_prefix_reads_exactly_unchanged(probe):
    """conv1 and conv2 frozen, conv3 and the head trained: the frozen layers' screens show no shift at all."""
    model = load("tiny")
    tuned = change.reinitialise_channels(model, "conv3", list(range(16)), seed=2)
    for layer in ("conv1", "conv2"):
        table = verdicts(model, tuned, layer, probe)
        assert not table.changed.any() and (table.rank_shift == 0).all() and (table.rank_shift_se == 0).all()


# --- choosing what to render --------------------------------------------------------------------------------

def test_most_and_least_changed_channels_come_from_the_screen():
    rng = np.random.default_rng(0)
    first = rng.normal(size=(100, 8))
    later = first + rng.normal(scale=[2.0, 0, 0, 1.0, 0, 0, 0, 0.01], size=first.shape)
    later[:, 6] = 0.0  # went silent
    table = screen.screen_table({0: first, 1: later})
    chosen = screen.most_and_least_changed(table, 3, 2)
    assert chosen[:3] == [0, 6, 3] or set(chosen[:3]) == {0, 3, 6}
    assert chosen[3:] == [1, 2]  # controls: unchanged and active, least shifted first (ties: lower channel)
    assert screen.channel_labels(table, [0])[0].startswith("ch 0*\n#1/8")
    with pytest.raises(ValueError, match="cannot choose 6 \\+ 3 channels from a layer of 8"):
        screen.most_and_least_changed(table, 6, 3)


def test_compare_models_screens_every_channel_without_rendering(probe):
    model = load("tiny")
    later = change.reinitialise_channels(model, "conv3", [5], seed=1)
    tables = change.compare_models(model, later, {"conv3": None, "conv2": [0, 1]}, probe, render=False)
    assert len(tables["conv3"].query("epoch == 1")) == 16 and len(tables["conv2"].query("epoch == 1")) == 2
    assert tables["conv3"].query("epoch == 1 and changed").channel.tolist() == [5]
