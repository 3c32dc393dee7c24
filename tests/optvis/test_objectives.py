import pytest
import torch

from driftlens.optvis import objectives as obj


def _acts(batch=3, requires_grad=False):
    torch.manual_seed(1)
    return {"conv": torch.randn(batch, 4, 5, 5, requires_grad=requires_grad),
            "fc": torch.randn(batch, 6, requires_grad=requires_grad)}


def test_channel_is_the_mean_of_the_feature_map_summed_over_images():
    acts = _acts()
    assert obj.channel("conv", 2)(acts).item() == pytest.approx(acts["conv"][:, 2].mean(dim=(1, 2)).sum().item())
    assert obj.channel("fc", 5, image=1)(acts).item() == pytest.approx(acts["fc"][1, 5].item())


def test_objectives_add_subtract_and_scale():
    acts = _acts()
    a, b = obj.channel("conv", 0), obj.neuron("conv", 1, x=0, y=4)
    combined = a - 0.1 * b + obj.class_logit(2, layer="fc") / 2
    expected = a(acts) - 0.1 * b(acts) + acts["fc"][:, 2].sum() / 2
    assert combined(acts).item() == pytest.approx(expected.item())
    assert (-a)(acts).item() == pytest.approx(-a(acts).item())
    assert sorted(combined.layers) == ["conv", "fc"]


def test_an_objective_on_image_k_sends_gradient_to_image_k_only():
    acts = _acts(requires_grad=True)
    (obj.deepdream("conv") + obj.direction("conv", [1.0, 0, 0, 1.0])).on_image(1)(acts).backward()
    per_image = acts["conv"].grad.abs().flatten(1).sum(dim=1)
    assert per_image[1] > 0 and per_image[0] == 0 and per_image[2] == 0


def test_per_image_gives_image_k_the_k_th_objective():
    acts = _acts()
    both = obj.per_image([obj.channel("fc", 0), obj.channel("fc", 3)])
    assert both(acts).item() == pytest.approx((acts["fc"][0, 0] + acts["fc"][1, 3]).item())


def test_a_fixed_image_wins_over_the_one_passed_down():
    acts = _acts()
    fixed = obj.channel("fc", 1, image=2)
    assert obj.per_image([fixed])(acts).item() == pytest.approx(acts["fc"][2, 1].item())


def test_targeting_an_image_beyond_the_batch_names_the_problem():
    with pytest.raises(IndexError, match="image 5 but the batch holds 3"):
        obj.channel("conv", 0, image=5)(_acts())


def test_diversity_prefers_different_images():
    same = {"conv": torch.ones(2, 4, 3, 3)}
    different = {"conv": torch.stack([torch.eye(4)[:, :3, None].expand(4, 3, 3), torch.ones(4, 3, 3)])}
    assert obj.diversity("conv")(different) > obj.diversity("conv")(same)


def test_direction_of_the_wrong_length_names_the_layer():
    with pytest.raises(ValueError, match="layer 'conv' has 4 channels"):
        obj.direction("conv", [1.0, 2.0])(_acts())
