"""Gradient maps: vanilla, guided backprop, positive/negative saliency, SmoothGrad, integrated gradients.

Every method here first computes a per-colour-channel map ``(B, 3, H, W)`` (:meth:`Gradient.gradients`)
and then reduces the colour channels to ``(B, H, W)`` with one of :data:`REDUCTIONS`:

* ``abs_max``: largest absolute value over R, G, B (Simonyan et al., 2014); default for gradients;
* ``abs_sum``: sum of absolute values;
* ``sum``: signed sum; default for integrated gradients, so the map sums to ``f(x) - f(baseline)``;
* ``positive`` / ``negative``: largest positive part / largest negative part (as a positive number).

Guided backpropagation (Springenberg et al., 2015) changes the backward pass of every rectifier
(ReLU, ReLU6) so that only positive gradients pass, and only where the input was in the linear
range. :class:`GuidedReLUs` does this by intercepting the calls, not by editing the model, so it
works for ``nn.ReLU``/``nn.ReLU6`` modules, for nested or reused modules and for functional calls
(``F.relu``, ``torch.relu``, ``Tensor.relu``, ``F.relu6``, ``F.hardtanh(x, 0, t)``) alike.
"""

from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from driftlens.progress import bar as progress_bar

from driftlens.attribution.base import Attribution, baseline_like, copies_per_pass, stacked_gradients
from driftlens.errors import ConfigError

REDUCTIONS = {
    "abs_max": lambda grads: grads.abs().amax(1),
    "abs_sum": lambda grads: grads.abs().sum(1),
    "sum": lambda grads: grads.sum(1),
    "positive": lambda grads: grads.clamp(min=0).amax(1),
    "negative": lambda grads: (-grads).clamp(min=0).amax(1),
}


def reduce_channels(grads: torch.Tensor, how: str = "abs_max") -> torch.Tensor:
    """Reduce ``(B, 3, H, W)`` per-colour maps to ``(B, H, W)``.

    Args:
        grads (torch.Tensor): Per-colour maps.
        how (str, optional): One of :data:`REDUCTIONS`. Default: "abs_max"

    Returns:
        torch.Tensor: ``(B, H, W)``.

    Example:
        >>> reduce_channels(torch.tensor([-3.0, 1.0, 2.0]).view(1, 3, 1, 1)).item()
        3.0
    """
    return _reduction(how)(grads)


def _reduction(how: str):
    if how not in REDUCTIONS:
        raise ConfigError(f"unknown channel reduction {how!r}; choose one of {', '.join(REDUCTIONS)}")
    return REDUCTIONS[how]


class _GuidedClamp(torch.autograd.Function):
    """``clamp(x, 0, upper)`` whose backward passes only positive gradients, where ``0 < x < upper``."""

    @staticmethod
    def forward(ctx, x, upper):
        ctx.save_for_backward(x)
        ctx.upper = upper
        return x.clamp(0, upper)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        linear = x > 0
        if ctx.upper is not None:
            linear &= x < ctx.upper
        return grad.clamp(min=0) * linear, None


_RELUS = {F.relu, torch.relu, torch.Tensor.relu}


def _rectifier_upper(func, args, kwargs):
    """``(True, upper)`` if ``func(*args, **kwargs)`` is a rectifier clamping to [0, upper], else ``(False, None)``."""
    if func in _RELUS:
        return True, None
    if func is F.relu6:
        return True, 6.0
    if func is F.hardtanh:
        low = args[1] if len(args) > 1 else kwargs.get("min_val", -1.0)
        high = args[2] if len(args) > 2 else kwargs.get("max_val", 1.0)
        return low == 0, high
    return False, None


class GuidedReLUs(TorchFunctionMode):
    """Context manager: inside it, every rectifier call backpropagates guided (positive) gradients.

    The forward values are unchanged. Calls are intercepted with a ``TorchFunctionMode``, so no
    module is replaced and no function of torch is patched; leaving the block (also by an exception)
    ends the interception. In-place variants (``relu_``) are not intercepted; the model wrapper
    switches in-place activations off, and ``F.relu(x, inplace=True)`` is computed out of place.

    Example:
        >>> x = torch.tensor([1.0, -1.0], requires_grad=True)
        >>> with GuidedReLUs():
        ...     y = (-F.relu(x)).sum()
        >>> torch.autograd.grad(y, x)[0]
        tensor([0., 0.])
    """

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        is_rectifier, upper = _rectifier_upper(func, args, kwargs)
        if is_rectifier:
            return _GuidedClamp.apply(args[0], upper)
        return func(*args, **kwargs)


class Gradient(Attribution):
    """Vanilla gradient of the target score with respect to the pixels (Simonyan et al., 2014).

    Args:
        reduce (str, optional): Colour-channel reduction, one of :data:`REDUCTIONS`. Default: "abs_max"
        guided (bool, optional): Use guided backpropagation. Default: False

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> Gradient()(model, torch.rand(2, 3, 32, 32), target=3).shape
        torch.Size([2, 32, 32])
    """

    def __init__(self, reduce: str = "abs_max", guided: bool = False):
        _reduction(reduce)
        self.reduce = reduce
        self.guided = guided

    def attribute(self, model, inputs, target):
        return reduce_channels(self.gradients(model, inputs, target), self.reduce)

    def gradients(self, model, inputs: torch.Tensor, target) -> torch.Tensor:
        """The per-colour map ``(B, 3, H, W)`` before the channel reduction.

        Args:
            model (ModelWrapper): The model, in eval mode.
            inputs (torch.Tensor): ``(B, 3, H, W)`` on the model's device.
            target (torch.Tensor or LayerChannel): A parsed target (see :func:`parse_target`).

        Example:
            >>> import driftlens
            >>> model = driftlens.models.load("tiny", weights="random")
            >>> Gradient().gradients(model, torch.rand(1, 3, 32, 32), torch.tensor([0])).shape
            torch.Size([1, 3, 32, 32])
        """
        return self._gradients_of(model, inputs[None], target)[0]

    def _gradients_of(self, model, copies, target):
        with GuidedReLUs() if self.guided else nullcontext():
            return stacked_gradients(model, copies, target)


class GuidedBackprop(Gradient):
    """Guided backpropagation (Springenberg et al., 2015): only positive gradients pass rectifiers.

    Args:
        reduce (str, optional): Colour-channel reduction. Default: "abs_max"

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> GuidedBackprop()(model, torch.rand(1, 3, 32, 32), target=0).shape
        torch.Size([1, 32, 32])
    """

    def __init__(self, reduce: str = "abs_max"):
        super().__init__(reduce, guided=True)


class PositiveSaliency(Gradient):
    """Where increasing a pixel raises the score: the largest positive part of the (guided) gradient.

    Args:
        guided (bool, optional): Use guided backpropagation. Default: True

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> bool((PositiveSaliency()(model, torch.rand(1, 3, 32, 32), 0) >= 0).all())
        True
    """

    def __init__(self, guided: bool = True):
        super().__init__("positive", guided)


class NegativeSaliency(Gradient):
    """Where increasing a pixel lowers the score: the largest negative part of the (guided) gradient, as a positive map.

    Args:
        guided (bool, optional): Use guided backpropagation. Default: True

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> bool((NegativeSaliency()(model, torch.rand(1, 3, 32, 32), 0) >= 0).all())
        True
    """

    def __init__(self, guided: bool = True):
        super().__init__("negative", guided)


class SmoothGrad(Gradient):
    """SmoothGrad (Smilkov et al., 2017): the gradient averaged over noisy copies of each image.

    The noise is Gaussian with standard deviation ``noise`` times each image's value range
    (max - min); the per-colour gradients are averaged, then reduced.

    Args:
        samples (int, optional): Number of noisy copies. Default: 50
        noise (float, optional): Noise level as a fraction of the value range (10-20 % works well).
            Default: 0.15
        reduce (str, optional): Colour-channel reduction. Default: "abs_max"
        guided (bool, optional): Average guided-backprop gradients instead. Default: False
        seed (int, optional): Seed of the noise. Default: 0
        batch_size (int, optional): Images per forward pass (copies of the batch are stacked).
            Default: 32
        progress (bool, optional): Show a progress bar. Default: False

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> SmoothGrad(samples=4)(model, torch.rand(2, 3, 32, 32), target=1).shape
        torch.Size([2, 32, 32])
    """

    def __init__(self, samples: int = 50, noise: float = 0.15, reduce: str = "abs_max", guided: bool = False,
                 seed: int = 0, batch_size: int = 32, progress: bool = False):
        super().__init__(reduce, guided)
        if samples < 1:
            raise ConfigError(f"samples must be at least 1, got {samples}")
        self.samples, self.noise, self.seed = samples, noise, seed
        self.batch_size, self.progress = batch_size, progress

    def gradients(self, model, inputs, target):
        generator = torch.Generator(inputs.device).manual_seed(self.seed)
        spread = self.noise * (inputs.amax((1, 2, 3)) - inputs.amin((1, 2, 3))).view(1, -1, 1, 1, 1)
        total = torch.zeros_like(inputs)
        chunks = torch.arange(self.samples).split(copies_per_pass(self.batch_size, len(inputs)))
        for chunk in progress_bar(chunks, desc="smoothgrad", disable=not self.progress):
            noise = torch.randn((len(chunk), *inputs.shape), generator=generator, device=inputs.device)
            total += self._gradients_of(model, inputs + spread * noise, target).sum(0)
        return total / self.samples


class GuidedSmoothGrad(SmoothGrad):
    """SmoothGrad of guided-backprop gradients; same arguments as :class:`SmoothGrad` but ``guided``.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> GuidedSmoothGrad(samples=2)(model, torch.rand(1, 3, 32, 32), target=1).shape
        torch.Size([1, 32, 32])
    """

    def __init__(self, samples: int = 50, noise: float = 0.15, reduce: str = "abs_max", seed: int = 0,
                 batch_size: int = 32, progress: bool = False):
        super().__init__(samples, noise, reduce, True, seed, batch_size, progress)


class IntegratedGradients(Gradient):
    """Integrated gradients (Sundararajan et al., 2017) along the straight path from a baseline.

    The path integral is approximated with the trapezoid rule on ``steps`` intervals. With the
    default ``reduce="sum"`` the map sums to ``f(inputs) - f(baseline)`` (completeness), up to
    the integration error, which shrinks as ``steps`` grows (50-300 is usual).

    Args:
        steps (int, optional): Number of intervals (``steps + 1`` gradient evaluations). Default: 64
        baseline (float, sequence of 3 floats or torch.Tensor, optional): The reference image, see
            :func:`baseline_like`. Default: 0.0 (black)
        reduce (str, optional): Colour-channel reduction. Default: "sum"
        batch_size (int, optional): Images per forward pass. Default: 32
        progress (bool, optional): Show a progress bar. Default: False

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> IntegratedGradients(steps=8)(model, torch.rand(2, 3, 32, 32), target=0).shape
        torch.Size([2, 32, 32])
    """

    def __init__(self, steps: int = 64, baseline=0.0, reduce: str = "sum", batch_size: int = 32,
                 progress: bool = False):
        super().__init__(reduce, guided=False)
        if steps < 1:
            raise ConfigError(f"steps must be at least 1, got {steps}")
        self.steps, self.baseline, self.batch_size, self.progress = steps, baseline, batch_size, progress

    def gradients(self, model, inputs, target):
        baseline = baseline_like(self.baseline, inputs)
        alphas = torch.linspace(0, 1, self.steps + 1, device=inputs.device)
        weights = torch.ones_like(alphas) / self.steps
        weights[[0, -1]] /= 2
        total = torch.zeros_like(inputs)
        chunks = torch.arange(self.steps + 1).split(copies_per_pass(self.batch_size, len(inputs)))
        for chunk in progress_bar(chunks, desc="integrated gradients", disable=not self.progress):
            alpha = alphas[chunk].view(-1, 1, 1, 1, 1)
            grads = self._gradients_of(model, baseline + alpha * (inputs - baseline), target)
            total += (weights[chunk].view(-1, 1, 1, 1, 1) * grads).sum(0)
        return (inputs - baseline) * total
