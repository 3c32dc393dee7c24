"""The latent rule: where a latent lives, its class, Latent Scaling, and the null's thresholds."""

import numpy as np
import torch

from driftlens.features.latents import (alive, direction_changes, latent_classes, life_epochs, null_thresholds,
                                        scaling_ratios)


def classes(norms, cosine=None, scaling=None, frequency=None, epochs=None, **rule):
    norms = np.asarray(norms, float)
    count = len(norms)
    return latent_classes(norms, np.ones(count) if cosine is None else np.asarray(cosine),
                          np.zeros(count) if scaling is None else np.asarray(scaling),
                          np.ones(count) if frequency is None else np.asarray(frequency),
                          epochs or list(range(norms.shape[1])), **rule).tolist()


def test_the_minimum_norm_ratio_separates_exclusive_from_living_latents():
    assert classes([[1.0, 0.19], [1.0, 0.21], [0.19, 1.0], [0.21, 1.0]]) == ["lost", "weakened", "new", "strengthened"]


def test_a_norm_changed_by_the_strength_ratio_is_strengthened_or_weakened_and_overrides_a_turn():
    norms = [[1.0, 2.0], [1.0, 1.99], [1.0, 0.5], [1.0, 0.51], [1.0, 2.5]]
    assert classes(norms, cosine=[1.0, 1.0, 1.0, 1.0, 0.1]) == ["strengthened", "shared", "weakened", "shared",
                                                                "strengthened"]
    assert classes([[1.0, 2.5]], strength_ratio=3.0) == ["shared"]


def test_a_latent_living_at_a_middle_checkpoint_only_is_transient_with_its_epochs():
    norms = np.array([[0.0, 1.0, 0.05], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert classes(norms, epochs=[0, 4, 9]) == ["transient", "lost", "new"]
    living, appears, disappears = life_epochs(norms, [0, 4, 9])
    assert living == [[4], [0, 4], [9]] and appears == [4, 0, 9] and disappears == [9, 9, None]


def test_decoder_directions_further_apart_than_the_minimum_cosine_are_rotated():
    assert classes([[1.0, 1.0]] * 2, cosine=[0.70, 0.72]) == ["rotated", "shared"]


def test_a_shared_latent_whose_direction_change_sits_mostly_on_one_channel_far_enough_is_rewired():
    change = (np.array([0.5, 0.49, 0.9, 0.9]), np.array([0.3, 0.3, 0.2, 0.19]))
    assert classes([[1.0, 1.0]] * 4, change=change, rewire_shift=0.2) == ["rewired", "shared", "rewired", "shared"]
    # a larger turn, a norm change or a missing end wins over rewiring
    turned = classes([[1.0, 1.0], [1.0, 3.0], [1.0, 0.0]], cosine=[0.5, 1.0, 1.0],
                     change=(np.ones(3), np.ones(3)), rewire_shift=0.2)
    assert turned == ["rotated", "strengthened", "lost"]
    assert classes([[1.0, 1.0]], change=(np.ones(1), np.ones(1))) == ["shared"]  # no threshold given: never rewired


def test_direction_changes_name_the_channel_that_moved_and_ignore_a_change_of_norm():
    decoder = torch.tensor([[[0.6, 0.8, 0.0], [1.2, 1.6, 0.0]],    # twice as strong, same direction
                            [[0.6, 0.8, 0.0], [0.6, 0.0, 0.8]]])   # channel 1's part moved to channel 2
    channel, share, shift = direction_changes(decoder)
    assert shift[0] < 1e-6 and channel[1] in (1, 2) and abs(share[1] - 0.5) < 1e-6 and abs(shift[1] - 0.8) < 1e-6


def test_the_noise_null_can_only_raise_the_rewiring_shift():
    null = np.ones((3, 2))
    assert null_thresholds(null, np.ones(3), 0.2, 0.7, null_shift=np.array([0.01, 0.02, 0.03]),
                           rewire_shift=0.1)["rewire_shift"] == 0.1
    assert null_thresholds(null, np.ones(3), 0.2, 0.7, quantile=1.0, null_shift=np.array([0.1, 0.2, 0.3]),
                           rewire_shift=0.1)["rewire_shift"] == 0.3


def test_latent_scaling_overrules_an_exclusive_latent_the_other_checkpoint_explains():
    assert classes([[1.0, 0.0], [1.0, 0.0]], scaling=[0.6, 0.4]) == ["shared", "lost"]


def test_silent_latents_are_dead_and_rarely_active_ones_rare():
    assert classes([[1.0, 0.0]] * 3, frequency=[0.0, 0.001, 0.5], min_frequency=0.01) == ["dead", "rare", "lost"]


def test_the_noise_null_can_only_raise_the_strength_ratio():
    null = np.array([[1.0, 0.8], [1.0, 1.0], [0.9, 1.0]])
    assert null_thresholds(null, np.ones(3), 0.2, 0.7, quantile=1.0)["strength_ratio"] == 2.0
    wide = np.array([[1.0, 0.3], [1.0, 1.0]])
    assert abs(null_thresholds(wide, np.ones(2), 0.2, 0.7, quantile=1.0)["strength_ratio"] - 1 / 0.3) < 1e-9


def test_with_one_checkpoint_every_active_latent_is_shared():
    assert classes([[1.0], [0.5]], frequency=[0.5, 0.0]) == ["shared", "dead"]


def test_scaling_ratio_is_high_where_the_other_checkpoint_carries_the_direction_and_low_where_not():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(500, 2, 4, generator=generator)
    code = x[:, 0, :1].clamp_min(0)
    decoder = torch.zeros(2, 2, 4)
    decoder[:, 0, 0] = 1.0  # both latents write dimension 0 at checkpoint 0 only
    carried = x.clone()
    carried[:, 1, 0] = 0.8 * x[:, 0, 0]
    lives = alive(decoder.norm(dim=2).numpy())
    ratios = [scaling_ratios(code.repeat(1, 2), vectors, decoder, lives)[0] for vectors in (carried, x)]
    assert ratios[0] > 0.7 and abs(ratios[1]) < 0.2, ratios


def test_a_null_whose_noise_moves_norms_further_than_the_minimum_effect_makes_the_threshold_stricter():
    rng = np.random.default_rng(0)
    quiet = np.stack([np.ones(1000), 1 - 0.01 * rng.random(1000)], axis=1)
    loud = np.stack([np.ones(1000), 1 - 0.9 * rng.random(1000)], axis=1)
    assert null_thresholds(quiet, np.ones(1000), 0.2, 0.7)["live_ratio"] == 0.2
    assert null_thresholds(loud, np.ones(1000), 0.2, 0.7)["live_ratio"] < 0.2
