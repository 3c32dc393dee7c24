"""Class activation maps: Grad-CAM at any layer, for a class or for a channel of a layer, and guided Grad-CAM.

Grad-CAM (Selvaraju et al., 2017) weights each channel ``k`` of a layer's output ``A`` by the
spatial mean of the score's gradient, ``w_k = mean_ij dS/dA_kij``, and keeps the positive part of
the weighted sum, ``ReLU(sum_k w_k A_k)``: a ``(B, h, w)`` map at the layer's resolution, optionally
upsampled (bilinear) to the input's ``(H, W)``.
"""

import torch
import torch.nn.functional as F

from driftlens.attribution.base import Attribution, LayerChannel, default_cam_layer, forward_scores, upsample
from driftlens.attribution.gradients import GuidedBackprop, reduce_channels
from driftlens.errors import ConfigError


class GradCAM(Attribution):
    """Grad-CAM of a class score or of a channel's mean activation, at any spatial layer.

    Args:
        layer (str, optional): The layer whose activations are weighted. Default: for a class target,
            :func:`default_cam_layer` (the last conv-like layer before the pooling); for a
            ``(layer, channel)`` target, that layer itself, which gives the channel's own rectified
            activation map.
        upsample (bool, optional): Resize the map to the input size. Default: True

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> GradCAM("conv2", upsample=False)(model, torch.rand(2, 3, 32, 32), target=5).shape
        torch.Size([2, 16, 16])
        >>> GradCAM("conv2")(model, torch.rand(2, 3, 32, 32), target=("conv3", 7)).shape
        torch.Size([2, 32, 32])
    """

    def __init__(self, layer: str | None = None, upsample: bool = True):
        self.layer = layer
        self.upsample = upsample

    def attribute(self, model, inputs, target):
        cam = self.cam(model, inputs, target)
        return upsample(cam, inputs.shape[-2:]) if self.upsample else cam

    def cam(self, model, inputs: torch.Tensor, target) -> torch.Tensor:
        """The map at the layer's resolution, ``(B, h, w)``.

        Raises:
            ValueError: The layer has no spatial output, or the target does not depend on it.

        Example:
            >>> import driftlens
            >>> model = driftlens.models.load("tiny", weights="random")
            >>> GradCAM().cam(model, torch.rand(1, 3, 32, 32), torch.tensor([0])).shape
            torch.Size([1, 8, 8])
        """
        layer, scores, activation = self._forward(model, inputs.detach().requires_grad_(True), target)
        if activation.dim() != 4:
            raise ConfigError(f"Grad-CAM needs a layer with a spatial output; {layer!r} of {model.name} "
                             f"outputs shape {tuple(activation.shape)}")
        (grad,) = torch.autograd.grad(scores.sum(), activation, allow_unused=True)
        if grad is None:
            raise ConfigError(f"the target {target} does not depend on layer {layer!r} of {model.name}; "
                             f"choose a Grad-CAM layer that comes before the target")
        weights = grad.mean((2, 3), keepdim=True)
        return F.relu((weights * activation).sum(1))

    def _forward(self, model, inputs, target):
        """The Grad-CAM layer's name, the scores and the layer's output, from one forward pass."""
        if self.layer is not None or isinstance(target, LayerChannel):
            layer = self.layer or target.layer
            scores, acts = forward_scores(model, inputs, target, [layer])
            return layer, scores, acts[layer]
        # Default layer: capture every layer in this one pass and pick it from their output shapes.
        scores, acts = forward_scores(model, inputs, target, model.layer_names())
        layer = default_cam_layer(model, {name: act.shape[1:] for name, act in acts.items()
                                          if isinstance(act, torch.Tensor)})
        return layer, scores, acts[layer]


class GuidedGradCAM(GradCAM):
    """Guided Grad-CAM: guided-backprop gradients times the upsampled Grad-CAM, then channel-reduced.

    Args:
        layer (str, optional): Grad-CAM layer, as for :class:`GradCAM`. Default: None
        reduce (str, optional): Colour-channel reduction (see :mod:`driftlens.attribution.gradients`).
            Default: "abs_max"

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> GuidedGradCAM()(model, torch.rand(2, 3, 32, 32), target=[1, 2]).shape
        torch.Size([2, 32, 32])
    """

    def __init__(self, layer: str | None = None, reduce: str = "abs_max"):
        super().__init__(layer, upsample=True)
        self.guided = GuidedBackprop(reduce)

    def attribute(self, model, inputs, target):
        cam = super().attribute(model, inputs, target)
        grads = self.guided.gradients(model, inputs, target)
        return reduce_channels(grads * cam[:, None], self.guided.reduce)
