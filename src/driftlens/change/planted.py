"""Planted changes and null perturbations that validate the change verdicts: a model copy with known edits.

Example:
    >>> import driftlens
    >>> a = driftlens.models.load("tiny", weights="random")
    >>> b = perturb(a, 1e-6)
    >>> b is not a
    True
"""

import copy

import torch

from driftlens.errors import ConfigError


def reinitialise_channels(model, layer: str, channels, seed: int = 0):
    """A copy of ``model`` whose last convolution under ``layer`` has new incoming weights for ``channels``.

    The planted change that validates the verdict: new weights are drawn from a normal distribution
    with the standard deviation of the layer's weights (and a zero bias); everything else is identical.

    Args:
        model (ModelWrapper): The model (left unchanged).
        layer (str): Layer name or alias; its last ``Conv2d`` (or the module itself) is changed.
        channels (list[int]): Output channels to re-initialise.
        seed (int, optional): Seed of the new weights. Default: 0

    Returns:
        ModelWrapper: The changed copy.

    Example:
        >>> import driftlens
        >>> a = driftlens.models.load("tiny", weights="random")
        >>> b = reinitialise_channels(a, "conv3", [2])
        >>> bool(torch.equal(a.module("conv3")[0].weight[1], b.module("conv3")[0].weight[1]))
        True
    """
    changed = copy.deepcopy(model)
    convolution, _ = _projection(changed, layer)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        scale = convolution.weight.std()
        for channel in channels:
            weight = convolution.weight[channel]
            weight.copy_(torch.randn(weight.shape, generator=generator).to(weight) * scale)
            if convolution.bias is not None:
                convolution.bias[channel] = 0
    return changed


def blend_channels(model, layer: str, pairs: dict, fraction: float):
    """A copy of ``model`` whose channels' incoming weights are blended towards other channels' weights.

    For each ``channel: other`` in ``pairs``, the last convolution under ``layer`` and the batch norm
    that follows it (its affine parameters and running statistics) take
    ``(1 - fraction) * own + fraction * other's`` for that channel. ``fraction=1`` copies the other
    channel; the other channel itself is left as it was (see :func:`swap_channels` for both ways).

    Args:
        model (ModelWrapper): The model (left unchanged).
        layer (str): Layer name or alias.
        pairs (dict[int, int]): Channel to the channel it is blended towards.
        fraction (float): In [0, 1].

    Returns:
        ModelWrapper: The changed copy.

    Example:
        >>> import driftlens
        >>> a = driftlens.models.load("tiny", weights="random")
        >>> b = blend_channels(a, "conv3", {0: 1}, 1.0)
        >>> bool(torch.equal(b.module("conv3")[0].weight[0], a.module("conv3")[0].weight[1]))
        True
    """
    if not 0 <= fraction <= 1:
        raise ConfigError(f"a blend fraction must be in [0, 1], got {fraction}")
    changed = copy.deepcopy(model)
    with torch.no_grad():
        for tensor in _channel_tensors(*_projection(changed, layer)):
            original = tensor.clone()
            for channel, other in pairs.items():
                tensor[channel] = (1 - fraction) * original[channel] + fraction * original[other]
    return changed


def swap_channels(model, layer: str, first: int, second: int):
    """A copy of ``model`` in which two channels of ``layer`` exchange their incoming weights.

    The last convolution under ``layer`` and the batch norm that follows it exchange the two channels'
    rows; in a residual block the skip connection is untouched, so each output channel then carries
    the other's new feature on top of its own skip path.

    Example:
        >>> import driftlens
        >>> a = driftlens.models.load("tiny", weights="random")
        >>> b = swap_channels(a, "conv3", 0, 1)
        >>> bool(torch.equal(b.module("conv3")[0].weight[1], a.module("conv3")[0].weight[0]))
        True
    """
    return blend_channels(model, layer, {first: second, second: first}, 1.0)


def _projection(model, layer):
    """The last ``Conv2d`` under ``layer`` and the ``BatchNorm2d`` after it (None where there is none)."""
    modules = list(model.module(layer).modules())
    convolutions = [i for i, m in enumerate(modules) if isinstance(m, torch.nn.Conv2d)]
    if not convolutions:
        raise ConfigError(f"layer {layer!r} holds no convolution to change")
    convolution = modules[convolutions[-1]]
    norms = [m for m in modules[convolutions[-1]:] if isinstance(m, torch.nn.BatchNorm2d)
             and m.num_features == convolution.out_channels]
    return convolution, (norms[0] if norms else None)


def _channel_tensors(convolution, norm):
    tensors = [convolution.weight, convolution.bias]
    if norm is not None:
        tensors += [norm.weight, norm.bias, norm.running_mean, norm.running_var]
    return [tensor for tensor in tensors if tensor is not None]


def perturb(model, scale: float, seed: int = 0, relative: bool = False):
    """A copy of ``model`` with normal noise added to every parameter (the null case).

    Args:
        model (ModelWrapper): The model (left unchanged).
        scale (float): Standard deviation of the noise.
        seed (int, optional): Seed of the noise. Default: 0
        relative (bool, optional): Noise relative to each weight (``w * (1 + scale * eps)``, the drift of
            untouched weights in fine-tuning) instead of absolute (``w + scale * eps``). Default: False

    Returns:
        ModelWrapper: The perturbed copy.

    Example:
        >>> import driftlens
        >>> a = driftlens.models.load("tiny", weights="random")
        >>> 0 < (perturb(a, 1e-6).net.fc.weight - a.net.fc.weight).abs().max().item() < 1e-4
        True
        >>> bool(((perturb(a, 1e-3, relative=True).net.fc.weight / a.net.fc.weight - 1).abs() < 1e-2).all())
        True
    """
    changed = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in changed.parameters():
            noise = torch.randn(parameter.shape, generator=generator).to(parameter) * scale
            parameter.add_(noise * parameter.abs() if relative else noise)
    return changed
