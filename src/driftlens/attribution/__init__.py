"""Attribution maps: which pixels drive a class score or a channel of a layer.

Every method has the same shape: ``method(model, inputs, target) -> torch.Tensor``, where ``model``
is a :class:`~driftlens.models.ModelWrapper`, ``inputs`` a ``(B, 3, H, W)`` batch in [0, 1] and
``target`` a class index (one for all, or one per image), a ``(layer, channel)`` pair, or ``None``
for each image's predicted class. Gradient methods return ``(B, H, W)`` maps (colour channels
reduced as documented in :mod:`~driftlens.attribution.gradients`); CAMs return ``(B, H, W)``, or
``(B, h, w)`` without upsampling. Colouring and overlays live in :mod:`~driftlens.attribution.overlay`;
maps per training checkpoint and their rank correlation in :mod:`~driftlens.attribution.drift`.

Example:
    >>> import torch, driftlens
    >>> model = driftlens.models.load("tiny", weights="random")
    >>> attribute(model, torch.rand(2, 3, 32, 32), target=3, method="gradcam").shape
    torch.Size([2, 32, 32])
"""

import inspect

import torch

from driftlens.attribution.base import Attribution, LayerChannel, default_cam_layer
from driftlens.attribution.cam import GradCAM, GuidedGradCAM
from driftlens.attribution.gradients import (
    Gradient,
    GuidedBackprop,
    GuidedReLUs,
    GuidedSmoothGrad,
    IntegratedGradients,
    NegativeSaliency,
    PositiveSaliency,
    SmoothGrad,
)
from driftlens.attribution.occlusion import Occlusion
from driftlens.errors import ConfigError

METHODS: dict[str, type[Attribution]] = {
    "gradient": Gradient,
    "saliency": Gradient,
    "guided_backprop": GuidedBackprop,
    "positive_saliency": PositiveSaliency,
    "negative_saliency": NegativeSaliency,
    "smoothgrad": SmoothGrad,
    "guided_smoothgrad": GuidedSmoothGrad,
    "integrated_gradients": IntegratedGradients,
    "gradcam": GradCAM,
    "guided_gradcam": GuidedGradCAM,
    "occlusion": Occlusion,
}


def attribute(model, inputs, target=None, method: str = "gradcam", **kwargs) -> torch.Tensor:
    """Compute one attribution method by name.

    Args:
        model (ModelWrapper): The model; inputs in [0, 1].
        inputs (torch.Tensor): ``(B, 3, H, W)`` images in [0, 1].
        target (int, list[int], tuple[str, int] or None, optional): Class index (for all images or
            one per image), ``(layer, channel)``, or None for each image's predicted class. Default: None
        method (str, optional): A key of :data:`METHODS`. Default: "gradcam"
        **kwargs: Options of the method's class (e.g. ``layer="conv2"`` for Grad-CAM, ``samples=20``
            for SmoothGrad).

    Returns:
        torch.Tensor: ``(B, H, W)`` maps (``(B, h, w)`` for Grad-CAM with ``upsample=False``).

    Raises:
        ConfigError: Unknown method name.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> attribute(model, torch.rand(1, 3, 32, 32), 0, "smoothgrad", samples=4).shape
        torch.Size([1, 32, 32])
    """
    return _method_class(method)(**kwargs)(model, inputs, target)


def _method_class(method: str) -> type[Attribution]:
    if method not in METHODS:
        raise ConfigError(f"unknown attribution method {method!r}; available: {', '.join(METHODS)}")
    return METHODS[method]


def method_options(method: str, **options) -> dict:
    """The options that ``METHODS[method]`` accepts, leaving out the others and those set to None.

    Lets callers pass shared settings (``layer``, ``progress``) to any method.

    Example:
        >>> method_options("smoothgrad", layer="conv3", progress=True)
        {'progress': True}
        >>> method_options("gradcam", layer="conv3", progress=True)
        {'layer': 'conv3'}
    """
    accepted = inspect.signature(_method_class(method)).parameters
    return {name: value for name, value in options.items() if name in accepted and value is not None}


__all__ = ["METHODS", "Attribution", "GradCAM", "Gradient", "GuidedBackprop", "GuidedGradCAM", "GuidedReLUs",
           "GuidedSmoothGrad", "IntegratedGradients", "LayerChannel", "NegativeSaliency", "Occlusion",
           "PositiveSaliency", "SmoothGrad", "attribute", "default_cam_layer", "method_options"]
