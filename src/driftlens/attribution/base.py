"""The shape shared by every attribution method: ``method(model, inputs, target) -> map``.

A *target* says which output to explain:

* ``int``: one class index for every image;
* a list, tuple or 1-D tensor of ints: one class index per image;
* ``(layer, channel)``, e.g. ``("mixed4c", 12)``: the spatial mean of that channel of that layer;
* ``None``: each image's top-1 predicted class.

The explained *score* is the class logit (before the softmax) or the channel's spatial mean.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from driftlens.errors import ConfigError, OutOfRangeError
from driftlens.models import capture, channel_means, eval_mode

# Modules that only pool, drop or reshape: Grad-CAM's default layer is never one of these.
_NOT_CONV_LIKE = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.AvgPool2d, nn.MaxPool2d, nn.Dropout,
                  nn.Dropout2d, nn.Flatten, nn.Identity)


@dataclass(frozen=True)
class LayerChannel:
    """A target that is one channel of one layer; its score is the channel's spatial mean.

    Example:
        >>> LayerChannel("conv3", 4)
        LayerChannel(layer='conv3', channel=4)
    """

    layer: str
    channel: int


def parse_target(target, batch_size: int):
    """Turn a user target into a ``LayerChannel``, a ``(B,)`` tensor of class indices, or ``None``.

    Args:
        target (int, list[int], torch.Tensor, tuple[str, int] or None): See the module docstring.
        batch_size (int): Number of images ``B``.

    Returns:
        LayerChannel, torch.Tensor or None: ``None`` means "each image's predicted class".

    Raises:
        ValueError: A per-image list whose length is not ``batch_size``, or an unusable target.

    Example:
        >>> parse_target(3, 2)
        tensor([3, 3])
        >>> parse_target(("conv3", 1), 2)
        LayerChannel(layer='conv3', channel=1)
    """
    if target is None or isinstance(target, LayerChannel):
        return target
    if isinstance(target, tuple) and len(target) == 2 and isinstance(target[0], str):
        return LayerChannel(target[0], int(target[1]))
    try:
        classes = torch.as_tensor(target)
    except (TypeError, ValueError, RuntimeError):
        classes = None
    if classes is not None and classes.dim() == 0:
        classes = classes.expand(batch_size)
    if classes is None or classes.dim() != 1 or classes.dtype.is_floating_point or len(classes) != batch_size:
        raise ConfigError(f"target must be a class index, {batch_size} class indices (one per image), "
                         f"a (layer, channel) pair or None; got {target!r}")
    return classes.long()


def predicted_classes(model, inputs: torch.Tensor) -> torch.Tensor:
    """Each image's top-1 class, ``(B,)``.

    Example:
        >>> import driftlens
        >>> predicted_classes(driftlens.models.load("tiny", weights="random"), torch.rand(2, 3, 32, 32)).shape
        torch.Size([2])
    """
    with torch.no_grad():
        return model(inputs).argmax(1)


def repeat_target(target, copies: int):
    """The target for ``copies`` stacked copies of the batch (``inputs.repeat(copies, 1, 1, 1)``).

    Example:
        >>> repeat_target(torch.tensor([1, 2]), 2)
        tensor([1, 2, 1, 2])
    """
    return target.repeat(copies) if isinstance(target, torch.Tensor) else target


def forward_scores(model, inputs: torch.Tensor, target, layers=()):
    """One forward pass: the per-image score of ``target`` and the outputs of ``layers``.

    The graph is kept, so the scores can be differentiated with respect to the inputs or to the
    returned layer outputs. Hooks are released before returning.

    Args:
        model (ModelWrapper): The model.
        inputs (torch.Tensor): ``(B, 3, H, W)`` in [0, 1], on the model's device.
        target (torch.Tensor or LayerChannel): Class indices ``(B,)`` or a layer channel.
        layers (list[str], optional): Layers whose outputs to return as well. Default: ()

    Returns:
        tuple[torch.Tensor, dict[str, torch.Tensor]]: Scores ``(B,)`` and layer name to output.

    Raises:
        IndexError: A class index or channel out of range (the message names it).

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> scores, acts = forward_scores(model, torch.rand(2, 3, 32, 32), torch.tensor([0, 1]), ["conv3"])
        >>> scores.shape, acts["conv3"].shape
        (torch.Size([2]), torch.Size([2, 16, 8, 8]))
    """
    target_layers = [target.layer] if isinstance(target, LayerChannel) else []
    with capture(model, list(dict.fromkeys([*layers, *target_layers])), detach=False) as acts:
        logits = model(inputs)
    if isinstance(target, LayerChannel):
        return _channel_scores(model, acts[target.layer], target), acts
    classes = target.to(logits.device)
    if classes.min() < 0 or classes.max() >= logits.shape[1]:
        bad = classes[(classes < 0) | (classes >= logits.shape[1])][0].item()
        raise OutOfRangeError(f"class {bad} is out of range for {model.name}, which has {logits.shape[1]} classes")
    return logits.gather(1, classes[:, None]).squeeze(1), acts


def _channel_scores(model, activation, target: LayerChannel) -> torch.Tensor:
    channels = activation.shape[1]
    if not 0 <= target.channel < channels:
        raise OutOfRangeError(f"channel {target.channel} is out of range for layer {target.layer!r} of {model.name}, "
                         f"which has {channels} channels (0..{channels - 1})")
    return channel_means(activation)[:, target.channel]


def input_gradients(model, inputs: torch.Tensor, target) -> torch.Tensor:
    """Gradient of each image's score with respect to its pixels, ``(B, 3, H, W)``.

    Images do not interact (the model is in eval mode), so one backward pass of the summed scores
    gives every image its own gradient. Only the inputs are differentiated: no parameter's
    ``.grad`` is touched.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> input_gradients(model, torch.rand(2, 3, 32, 32), torch.tensor([0, 1])).shape
        torch.Size([2, 3, 32, 32])
    """
    inputs = inputs.detach().requires_grad_(True)
    scores, _ = forward_scores(model, inputs, target)
    (grad,) = torch.autograd.grad(scores.sum(), inputs)
    return grad


def stacked_gradients(model, copies: torch.Tensor, target) -> torch.Tensor:
    """:func:`input_gradients` of ``K`` versions of the batch at once, ``(K, B, 3, H, W)`` in and out.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> stacked_gradients(model, torch.rand(4, 2, 3, 32, 32), torch.tensor([0, 1])).shape
        torch.Size([4, 2, 3, 32, 32])
    """
    grads = input_gradients(model, copies.flatten(0, 1), repeat_target(target, copies.shape[0]))
    return grads.view_as(copies)


def copies_per_pass(batch_size: int, images: int) -> int:
    """How many copies of a batch of ``images`` fit in a forward pass of ``batch_size`` images (at least 1).

    Example:
        >>> copies_per_pass(32, 8)
        4
    """
    return max(1, batch_size // images)


def default_cam_layer(model, shapes=None) -> str:
    """The last conv-like layer before the pooling and the classifier: Grad-CAM's default layer.

    Walks :meth:`ModelWrapper.layer_names` backwards and returns the first layer whose output is a
    spatial map larger than 1 x 1 and that is not a pooling, dropout, flatten or identity module.
    This gives ``conv3`` for ``tiny``, ``head`` for ``efficientnet_lite0``, ``mixed5b`` for
    ``googlenet``, ``layer4.2`` for ``resnet50`` and ``features.29`` (the last ReLU) for ``vgg16``.

    Args:
        model (ModelWrapper): The model.
        shapes (dict[str, tuple], optional): Output shape (without batch) of each layer, e.g. from
            activations already captured. Default: :meth:`ModelWrapper.output_shapes` (one forward pass)

    Raises:
        ValueError: The model has no spatial layer.

    Example:
        >>> import driftlens
        >>> default_cam_layer(driftlens.models.load("tiny", weights="random"))
        'conv3'
    """
    names = model.layer_names()
    shapes = model.output_shapes(names) if shapes is None else shapes
    for name in reversed(names):
        shape = tuple(shapes.get(name, ()))
        if len(shape) == 3 and shape[1] * shape[2] > 1 and not isinstance(model.module(name), _NOT_CONV_LIKE):
            return name
    raise ConfigError(f"{model.name} has no layer with a spatial output; pass the Grad-CAM layer explicitly")


def baseline_like(baseline, inputs: torch.Tensor) -> torch.Tensor:
    """A reference image of the inputs' shape: from a grey level, an RGB colour or a full batch.

    Args:
        baseline (float, sequence of 3 floats or torch.Tensor): A value in [0, 1], an RGB colour, or
            a tensor that broadcasts to ``inputs``.
        inputs (torch.Tensor): ``(B, 3, H, W)``.

    Returns:
        torch.Tensor: Same shape, dtype and device as ``inputs``.

    Example:
        >>> baseline_like([0.0, 0.5, 1.0], torch.zeros(2, 3, 4, 4))[1, :, 0, 0]
        tensor([0.0000, 0.5000, 1.0000])
    """
    baseline = torch.as_tensor(baseline, dtype=inputs.dtype, device=inputs.device)
    if baseline.shape == (3,):
        baseline = baseline.view(3, 1, 1)
    try:
        return baseline.expand_as(inputs)
    except RuntimeError as err:
        raise ValueError(f"baseline of shape {tuple(baseline.shape)} does not fit inputs of shape "
                         f"{tuple(inputs.shape)}") from err


def upsample(maps: torch.Tensor, size) -> torch.Tensor:
    """Bilinear resize of ``(B, h, w)`` maps to ``size`` = ``(H, W)``.

    Example:
        >>> upsample(torch.ones(2, 4, 4), (32, 32)).shape
        torch.Size([2, 32, 32])
    """
    return F.interpolate(maps[:, None], size=tuple(size), mode="bilinear", align_corners=False)[:, 0]


def check_inputs(model, inputs) -> torch.Tensor:
    """A float ``(B, 3, H, W)`` tensor on the model's device, or a ``ValueError`` naming the shape.

    Example:
        >>> import driftlens
        >>> check_inputs(driftlens.models.load("tiny", weights="random"), torch.zeros(1, 3, 8, 8)).shape
        torch.Size([1, 3, 8, 8])
    """
    inputs = torch.as_tensor(inputs)
    if inputs.dim() != 4 or inputs.shape[1] != 3:
        raise ValueError(f"inputs must be a (B, 3, H, W) batch of RGB images, got shape {tuple(inputs.shape)}")
    return inputs.to(model.device, torch.float32)


class Attribution:
    """Base class of the attribution methods: options go to ``__init__``, data to ``__call__``.

    Subclasses implement :meth:`attribute`; ``__call__`` checks the inputs, parses the target,
    switches the model to eval mode for the duration and detaches the result.

    Example:
        >>> import driftlens
        >>> class Ones(Attribution):
        ...     def attribute(self, model, inputs, target):
        ...         return torch.ones(inputs.shape[0], *inputs.shape[2:])
        >>> Ones()(driftlens.models.load("tiny", weights="random"), torch.rand(2, 3, 32, 32), 0).shape
        torch.Size([2, 32, 32])
    """

    def __call__(self, model, inputs, target=None) -> torch.Tensor:
        """Attribute ``target`` for a batch.

        Args:
            model (ModelWrapper): The model; inputs in [0, 1].
            inputs (torch.Tensor): ``(B, 3, H, W)`` images in [0, 1].
            target: See :func:`parse_target`. Default: each image's predicted class

        Returns:
            torch.Tensor: The maps, ``(B, H, W)`` (or ``(B, h, w)`` for a CAM without upsampling),
            on the model's device.
        """
        inputs = check_inputs(model, inputs)
        target = parse_target(target, inputs.shape[0])
        with eval_mode(model):
            if target is None:
                target = predicted_classes(model, inputs)
            return self.attribute(model, inputs, target).detach()

    def attribute(self, model, inputs: torch.Tensor, target) -> torch.Tensor:
        """Compute the maps for checked inputs and a parsed target (see :meth:`__call__`)."""
        raise NotImplementedError
