import numpy as np
import pytest
import torch
from torch import nn

import driftlens
from driftlens.optvis import NonFiniteError, objectives as obj, param, render, visualize
from driftlens.optvis.render import layer_outputs

SIZE = 32


def _all_hooks(model):
    return [hook for module in model.modules() for hook in module._forward_hooks.values()]


# The random tiny network maps a grey image to zero after most of its ReLUs, where no gradient flows,
# so the tests read the batch-norm outputs before them ("conv3.1") and the logits.
OBJECTIVES = {
    "neuron": lambda: obj.neuron("conv3.1", 3),
    "channel": lambda: obj.channel("conv3.1", 5),
    "deepdream": lambda: obj.deepdream("conv2.1"),
    "class": lambda: obj.class_logit(7),
    "direction": lambda: obj.direction("conv3.1", torch.linspace(-1, 1, 16)),
    "combination": lambda: obj.channel("conv3.1", 1) - 0.5 * obj.channel("conv3.1", 2),
}
RISE = 0.02


@pytest.mark.parametrize("name", OBJECTIVES)
def test_every_objective_rises(tiny, score, name):
    objective = OBJECTIVES[name]()
    start = param.FFTImage(SIZE, seeds=[0])
    before = start().detach().permute(0, 2, 3, 1).numpy()
    result = render(tiny, objective, start, steps=48, progress=False)
    assert score(tiny, objective, result.images) > score(tiny, objective, before) + RISE


def test_diversity_rises(tiny, score):
    objective = obj.diversity("conv2.1")
    start = param.FFTImage(SIZE, seeds=[0, 1, 2])
    before = start().detach().permute(0, 2, 3, 1).numpy()
    result = render(tiny, objective, start, steps=48, progress=False)
    assert score(tiny, objective, result.images) > score(tiny, objective, before) + 0.1


@pytest.mark.parametrize("method", ["lucid", "maco", "yosinski", "erhan"])
def test_every_method_raises_its_channels(tiny, score, method):
    objectives = [obj.channel("conv3.1", 2), obj.channel("conv3.1", 5)]
    before = visualize(tiny, objectives, method=method, size=SIZE, steps=0, progress=False).images
    after = visualize(tiny, objectives, method=method, size=SIZE, steps=48, progress=False).images
    for k, objective in enumerate(objectives):
        assert score(tiny, objective, after[k:k + 1]) > score(tiny, objective, before[k:k + 1]) + RISE


# Float noise between batch sizes (~1e-7) is amplified once Yosinski's percentile clipping flips a pixel
# that ties with its threshold (here after step 8), and from then on the whole image drifts; so that
# method is compared before that happens. Channels-last convolutions pick kernels by batch size, so the
# tolerance is 1e-4: far below one 8-bit grey level (4e-3), far above float noise, and an image that
# leaks into another one differs by ~1e-1.
STEPS_EQUAL = {"lucid": 12, "maco": 12, "erhan": 12, "yosinski": 8}


@pytest.mark.parametrize("method", STEPS_EQUAL)
def test_a_batched_render_equals_the_renders_one_by_one(tiny, method):
    channels = [0, 6, 11]
    objectives = [obj.channel("conv3.1", n) for n in channels]
    steps = STEPS_EQUAL[method]
    batched = visualize(tiny, objectives, method=method, size=SIZE, steps=steps, seed=3, progress=False).images
    for k, objective in enumerate(objectives):
        alone = visualize(tiny, [objective], method=method, size=SIZE, steps=steps, seed=3, image_seeds=[3 + k],
                          progress=False).images
        np.testing.assert_allclose(batched[k], alone[0], atol=1e-4)


def test_the_same_seed_gives_identical_images_and_another_seed_does_not(tiny):
    objectives = [obj.channel("conv2.1", 1), obj.channel("conv2.1", 4)]
    first, second, other = (visualize(tiny, objectives, size=SIZE, steps=6, seed=seed, progress=False)
                            for seed in (0, 0, 1))
    assert np.array_equal(first.images, second.images) and first.losses == second.losses
    assert not np.array_equal(first.images, other.images)


def test_losses_and_snapshots_are_returned(tiny):
    result = render(tiny, obj.channel("conv3", 0), param.FFTImage(SIZE, seeds=[0, 1]), steps=5,
                    snapshot_steps=[2, 5], progress=False)
    assert len(result.losses) == 5 and all(np.isfinite(result.losses))
    assert sorted(result.snapshots) == [2, 5]
    assert np.array_equal(result.snapshots[5], result.images)
    assert result.images.dtype == np.float32 and result.images.min() >= 0 and result.images.max() <= 1


def test_no_hook_is_left_and_the_mode_is_restored(tiny):
    tiny.train()
    render(tiny, obj.class_logit(1) + obj.channel("conv1", 0), param.FFTImage(SIZE, seeds=[0]), steps=2,
           progress=False)
    assert _all_hooks(tiny) == [] and tiny.training


def test_no_hook_is_left_after_a_failure(tiny):
    def boom(image, step):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        render(tiny, obj.channel("conv3", 0), param.FFTImage(SIZE, seeds=[0]), steps=2, after_step=boom,
               progress=False)
    assert _all_hooks(tiny) == []


@pytest.mark.parametrize("fail", [False, True])
def test_the_weights_come_back_in_their_memory_order_with_their_values(tiny, fail):
    before = {name: p.detach().clone() for name, p in tiny.named_parameters()}
    after_step = (lambda image, step: 1 / 0) if fail else None
    try:
        render(tiny, obj.channel("conv3", 0), param.FFTImage(SIZE, seeds=[0]), steps=2, after_step=after_step,
               progress=False)
    except ZeroDivisionError:
        assert fail
    for name, p in tiny.named_parameters():
        assert p.is_contiguous() and torch.equal(p, before[name]), name


def test_the_forward_pass_stops_after_the_last_layer_needed(tiny):
    calls = []
    tiny.net.fc.register_forward_hook(lambda *args: calls.append("fc"))
    with layer_outputs(tiny, ["conv2"]) as forward:
        outputs = forward(torch.rand(1, 3, SIZE, SIZE))
    assert list(outputs) == ["conv2"] and calls == []


def test_a_bad_layer_is_named_with_close_matches(tiny):
    with pytest.raises(driftlens.models.UnknownLayerError, match="'conv33'.*conv3"):
        render(tiny, obj.channel("conv33", 0), param.FFTImage(SIZE, seeds=[0]), steps=1, progress=False)


def test_a_bad_channel_is_named_with_the_layer_and_its_size(tiny):
    with pytest.raises(IndexError, match="channel 16 .* layer 'conv3' .* 16 channels"):
        visualize(tiny, [obj.channel("conv3", 1), obj.channel("conv3", 16)], size=SIZE, steps=1, progress=False)
    with pytest.raises(IndexError, match="channel 10 .* 'logits'"):
        visualize(tiny, [obj.class_logit(10)], size=SIZE, steps=1, progress=False)


class _NaNFrom(nn.Module):
    """Passes its input through, then NaN from call ``first_bad_call`` on."""

    def __init__(self, first_bad_call):
        super().__init__()
        self.first_bad_call = first_bad_call
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x * float("nan") if self.calls >= self.first_bad_call else x


def test_nan_is_caught_and_the_step_named():
    # call 1 is the shape check before the optimisation, so call 4 is step 3
    net = nn.Sequential(nn.Conv2d(3, 4, 3), _NaNFrom(first_bad_call=4))
    model = driftlens.models.ModelWrapper(net, "nan", input_size=16, head="0")
    with pytest.raises(NonFiniteError, match="at step 3"):
        render(model, obj.channel("1", 0), param.FFTImage(16, seeds=[0]), steps=10, progress=False)
    net[1].calls = 0  # again: a caller that guards its loop with `except FloatingPointError` stops it too
    with pytest.raises(FloatingPointError, match="at step 3"):
        render(model, obj.channel("1", 0), param.FFTImage(16, seeds=[0]), steps=10, progress=False)


def test_the_images_follow_the_model_device(tiny):
    image = param.FFTImage(SIZE, seeds=[0])
    render(tiny, obj.channel("conv3", 0), image, steps=1, progress=False)
    assert image.spectrum.device == tiny.device


def test_the_render_adam_takes_torch_adams_steps_exactly():
    """driftlens.optvis.render.Adam (torch's functional update, no torch._dynamo import) = torch.optim.Adam."""
    from driftlens.optvis.render import Adam

    generator = torch.Generator().manual_seed(0)
    start = [torch.randn(2, 3, 8, 5, generator=generator), torch.randn(4, generator=generator)]
    ours, theirs = ([p.clone().requires_grad_() for p in start] for _ in range(2))
    optimizers = Adam(ours, lr=0.05), torch.optim.Adam(theirs, lr=0.05)
    for step in range(5):
        for parameters, optimizer in zip((ours, theirs), optimizers):
            optimizer.zero_grad(set_to_none=True)
            (parameters[0].sin().sum() * (step + 1) + parameters[1].pow(2).sum()).backward()
            optimizer.step()
    for mine, reference in zip(ours, theirs):
        assert torch.equal(mine, reference)
