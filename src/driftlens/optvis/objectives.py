"""Objectives: differentiable scores of layer activations that a visualisation maximises.

Objectives add, subtract and scale (``channel("conv3", 3) - 0.1 * channel("conv3", 7)``). Each one
can target a single image of the batch (``image=k``, or :meth:`Objective.on_image`); without a target
it scores every image and sums the scores, so each image's gradient is the one it would get alone.

Example:
    >>> import torch
    >>> objective = channel("conv3", 3, image=1) - 0.5 * neuron("conv3", 2)
    >>> objective({"conv3": torch.ones(2, 16, 8, 8)}).item()
    0.0
"""

from dataclasses import dataclass
from numbers import Real
from operator import index

import torch
import torch.nn.functional as F

from driftlens.errors import ConfigError, OutOfRangeError


@dataclass(frozen=True)
class Target:
    """A layer (and channel) an objective reads, checked against the model before rendering.

    Args:
        layer (str): Layer name or alias.
        channel (int, optional): Channel (or unit of a flat layer). Default: None (the whole layer)
    """

    layer: str
    channel: int | None = None


class Objective:
    """A score of a dict of activations (layer name to tensor), to maximise.

    Args:
        score (callable): ``score(activations, image) -> scalar tensor``; ``image`` is the index of the
            one image to score, or None for all of them (summed).
        targets (tuple[Target, ...]): What it reads, for validation and activation capture.
        name (str): A short description, e.g. ``channel(conv3, 3)``.

    Example:
        >>> import torch
        >>> twice = 2 * channel("fc", 1)
        >>> twice({"fc": torch.tensor([[0.0, 3.0]])}).item()
        6.0
    """

    def __init__(self, score, targets, name: str):
        self._score = score
        self.targets = tuple(targets)
        self.name = name

    @property
    def layers(self) -> list[str]:
        """Names of the layers whose activations the objective reads."""
        return sorted({target.layer for target in self.targets})

    def __call__(self, activations: dict, image: int | None = None) -> torch.Tensor:
        """Score image ``image`` of ``activations`` (None: all images, summed)."""
        return self._score(activations, image)

    def on_image(self, image: int | None) -> "Objective":
        """The same objective, scoring only image ``image`` of the batch whatever its caller asks.

        Parts already fixed to an image keep theirs.

        Example:
            >>> import torch
            >>> channel("fc", 0).on_image(1)({"fc": torch.tensor([[1.0], [7.0]])}).item()
            7.0
        """
        if image is None:
            return self
        image = index(image)
        return Objective(lambda acts, _: self(acts, image), self.targets, f"{self.name}[image {image}]")

    def __add__(self, other):
        if isinstance(other, Real) and other == 0:  # lets sum() start from 0
            return self
        return Objective(lambda acts, image: self(acts, image) + other(acts, image),
                         self.targets + other.targets, f"{self.name} + {other.name}")

    __radd__ = __add__

    def __sub__(self, other):
        return self + (-1 * other)

    def __neg__(self):
        return -1 * self

    def __mul__(self, factor):
        if not isinstance(factor, Real):
            return NotImplemented
        return Objective(lambda acts, image: factor * self(acts, image), self.targets, f"{factor} * {self.name}")

    __rmul__ = __mul__

    def __truediv__(self, divisor):
        return self * (1 / divisor)

    def __repr__(self):
        return f"Objective({self.name})"


def per_image(objectives) -> Objective:
    """One objective for a batch in which image ``k`` serves ``objectives[k]``.

    Args:
        objectives (list[Objective]): One per image.

    Returns:
        Objective: The sum of ``objectives[k].on_image(k)``; image ``k``'s gradient depends on
        ``objectives[k]`` only.

    Example:
        >>> import torch
        >>> both = per_image([channel("fc", 0), channel("fc", 1)])
        >>> both({"fc": torch.tensor([[1.0, 0.0], [0.0, 2.0]])}).item()
        3.0
    """
    return sum(objective.on_image(k) for k, objective in enumerate(objectives))


def _select(activation: torch.Tensor, image):
    if image is None:
        return activation
    if not 0 <= image < activation.shape[0]:
        raise OutOfRangeError(f"the objective targets image {image} but the batch holds {activation.shape[0]} images")
    return activation[image:image + 1]


def _spatial(activation):
    """``(B, C, H, W)`` as is, flat ``(B, C)`` as ``(B, C, 1, 1)``."""
    return activation[:, :, None, None] if activation.dim() == 2 else activation


def channel(layer: str, n: int, image: int | None = None) -> Objective:
    """Mean activation of channel ``n`` over its feature map (for a flat layer: unit ``n``, e.g. a logit).

    Args:
        layer (str): Layer name or alias.
        n (int): Channel index.
        image (int, optional): Score only this image of the batch. Default: None (all, summed)

    Returns:
        Objective: The objective.

    Example:
        >>> import torch
        >>> channel("conv1", 1)({"conv1": torch.arange(8.0).view(1, 2, 2, 2)}).item()
        5.5
    """
    n = index(n)

    def score(acts, image):
        return _spatial(_select(acts[layer], image))[:, n].mean(dim=(1, 2)).sum()

    return Objective(score, [Target(layer, n)], f"channel({layer}, {n})").on_image(image)


def neuron(layer: str, n: int, x: int | None = None, y: int | None = None, image: int | None = None) -> Objective:
    """Activation of channel ``n`` at one position of its feature map.

    Args:
        layer (str): Layer name or alias.
        n (int): Channel index.
        x (int, optional): Column. Default: None (the centre)
        y (int, optional): Row. Default: None (the centre)
        image (int, optional): Score only this image of the batch. Default: None (all, summed)

    Returns:
        Objective: The objective.

    Example:
        >>> import torch
        >>> neuron("conv1", 0, x=1, y=0)({"conv1": torch.arange(4.0).view(1, 1, 2, 2)}).item()
        1.0
    """
    n = index(n)

    def score(acts, image):
        maps = _spatial(_select(acts[layer], image))[:, n]
        height, width = maps.shape[-2:]
        return maps[:, height // 2 if y is None else y, width // 2 if x is None else x].sum()

    return Objective(score, [Target(layer, n)], f"neuron({layer}, {n}, x={x}, y={y})").on_image(image)


def deepdream(layer: str, image: int | None = None) -> Objective:
    """Mean squared activation of a whole layer (DeepDream's objective).

    Args:
        layer (str): Layer name or alias.
        image (int, optional): Score only this image of the batch. Default: None (all, summed)

    Returns:
        Objective: The objective.

    Example:
        >>> import torch
        >>> deepdream("conv1")({"conv1": torch.full((2, 3, 4, 4), 2.0)}).item()
        8.0
    """
    def score(acts, image):
        selected = _select(acts[layer], image)
        return selected.pow(2).flatten(1).mean(dim=1).sum()

    return Objective(score, [Target(layer)], f"deepdream({layer})").on_image(image)


def class_logit(n: int, image: int | None = None, layer: str = "logits") -> Objective:
    """The logit of class ``n`` (before the softmax).

    Args:
        n (int): Class index.
        image (int, optional): Score only this image of the batch. Default: None (all, summed)
        layer (str, optional): The classifier layer. Default: "logits"

    Returns:
        Objective: The objective.

    Example:
        >>> import torch
        >>> class_logit(2)({"logits": torch.tensor([[0.0, 1.0, 5.0]])}).item()
        5.0
    """
    return Objective(channel(layer, n), [Target(layer, index(n))], f"class({n})").on_image(image)


def direction(layer: str, vector, image: int | None = None) -> Objective:
    """Mean projection of the activation vectors of a layer on a direction in its channel space.

    Args:
        layer (str): Layer name or alias.
        vector (torch.Tensor or sequence of float): ``(C,)``; normalised to unit length.
        image (int, optional): Score only this image of the batch. Default: None (all, summed)

    Returns:
        Objective: The objective.

    Example:
        >>> import torch
        >>> round(direction("conv1", [3.0, 4.0])({"conv1": torch.ones(1, 2, 2, 2)}).item(), 4)
        1.4
    """
    unit = F.normalize(torch.as_tensor(vector, dtype=torch.float32).flatten(), dim=0)

    def score(acts, image):
        maps = _spatial(_select(acts[layer], image))
        if maps.shape[1] != unit.numel():
            raise ConfigError(f"direction has {unit.numel()} components but layer {layer!r} has {maps.shape[1]} channels")
        return torch.einsum("bchw,c->bhw", maps, unit.to(maps)).mean(dim=(1, 2)).sum()

    return Objective(score, [Target(layer)], f"direction({layer})").on_image(image)


def diversity(layer: str) -> Objective:
    """Minus the mean cosine similarity between the Gram matrices of every pair of images of the batch.

    Added to another objective, it pushes the images of a batch to differ in style. It couples the
    images, so it cannot target one of them.

    Args:
        layer (str): Layer name or alias.

    Returns:
        Objective: The objective (0 for a batch of one image).

    Example:
        >>> import torch
        >>> diversity("conv1")({"conv1": torch.ones(2, 3, 4, 4)}).item()
        -1.0
    """
    def score(acts, image):
        maps = _spatial(acts[layer]).flatten(2)
        grams = F.normalize(torch.bmm(maps, maps.transpose(1, 2)).flatten(1), dim=1)
        similarity = grams @ grams.T
        count = similarity.shape[0]
        if count < 2:
            return similarity.sum() * 0
        return -(similarity.sum() - similarity.diagonal().sum()) / (count * (count - 1))

    return Objective(score, [Target(layer)], f"diversity({layer})")
