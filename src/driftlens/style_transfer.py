"""Neural style transfer (Gatys et al., 2016) on any model of the zoo, EfficientNet-Lite0 by default.

The pixels of an image are optimised so that the activations of a *content layer* match those of
the content image and the Gram matrices (channel correlations) of several *style layers* match
those of the style image.
"""

import torch
import torch.nn.functional as F
from driftlens.progress import bar as progress_bar

from driftlens.models import eval_mode
from driftlens.errors import ConfigError
from driftlens.models import capture

# Content layer and style layers per model: the style layers sample every resolution of the
# network (for Lite0, the rectified depthwise outputs at 112, 56, 28, 14 and 7 px for 224 px input).
DEFAULT_LAYERS = {
    "efficientnet_lite0": ("blocks.8", ("stem", "blocks.1.depthwise", "blocks.3.depthwise", "blocks.5.depthwise",
                                        "blocks.11.depthwise")),
    "vgg16": ("features.22", ("features.1", "features.6", "features.11", "features.18", "features.25")),
    "googlenet": ("mixed4b", ("conv2d0", "conv2d2", "mixed3b", "mixed4b", "mixed5b")),
    "tiny": ("conv3", ("conv1", "conv2", "conv3")),
}
DEFAULT_LR = {"adam": 0.02, "lbfgs": 1.0}


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Channel correlations of ``(B, C, H, W)`` features, ``(B, C, C)``, divided by ``C * H * W``.

    Example:
        >>> gram_matrix(torch.ones(1, 2, 3, 3))
        tensor([[[0.5000, 0.5000],
                 [0.5000, 0.5000]]])
    """
    flat = features.flatten(2)
    return flat @ flat.transpose(1, 2) / flat[0].numel()


def default_layers(model) -> tuple[str, tuple[str, ...]]:
    """The content layer and the style layers used for ``model`` when none are given.

    Raises:
        ConfigError: The model has no defaults (name the layers explicitly).

    Example:
        >>> import driftlens
        >>> default_layers(driftlens.models.load("tiny", weights="random"))
        ('conv3', ('conv1', 'conv2', 'conv3'))
    """
    if model.name not in DEFAULT_LAYERS:
        raise ConfigError(f"no default style-transfer layers for {model.name}; pass content_layer and style_layers "
                          f"(models with defaults: {', '.join(DEFAULT_LAYERS)})")
    return DEFAULT_LAYERS[model.name]


class GatysLoss:
    """Weighted content plus style loss of an image, against a fixed content and style image.

    Args:
        model (ModelWrapper): The model; images in [0, 1].
        content (torch.Tensor): ``(3, H, W)`` content image in [0, 1].
        style (torch.Tensor): ``(3, h, w)`` style image in [0, 1]; its size may differ.
        content_layer (str, optional): Layer whose activations are matched. Default: per model,
            see :data:`DEFAULT_LAYERS`
        style_layers (sequence of str, optional): Layers whose Gram matrices are matched. Default:
            per model
        content_weight (float, optional): Weight of the content term. Default: 1.0
        style_weight (float, optional): Weight of the style term. Default: 1e5

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> loss = GatysLoss(model, torch.rand(3, 32, 32), torch.rand(3, 32, 32))
        >>> loss(torch.rand(3, 32, 32)).dim()
        0
    """

    def __init__(self, model, content: torch.Tensor, style: torch.Tensor, content_layer: str | None = None,
                 style_layers=None, content_weight: float = 1.0, style_weight: float = 1e5):
        defaults = default_layers(model) if content_layer is None or style_layers is None else (None, None)
        self.model = model
        self.content_layer = content_layer or defaults[0]
        self.style_layers = list(style_layers or defaults[1])
        self.content_weight, self.style_weight = content_weight, style_weight
        with torch.no_grad():
            self.content_target = self._features(content)[self.content_layer]
            style_features = self._features(style)
            self.style_targets = {layer: gram_matrix(style_features[layer]) for layer in self.style_layers}

    def _features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        with capture(self.model, [self.content_layer, *self.style_layers], detach=False) as acts:
            self.model(image[None].to(self.model.device, torch.float32))
        return acts

    def terms(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The unweighted content loss and style loss (mean over style layers) of ``image``.

        Example:
            >>> import driftlens
            >>> model = driftlens.models.load("tiny", weights="random")
            >>> content = torch.rand(3, 32, 32)
            >>> GatysLoss(model, content, torch.rand(3, 32, 32)).terms(content)[0].item()
            0.0
        """
        features = self._features(image)
        content = F.mse_loss(features[self.content_layer], self.content_target)
        style = torch.stack([F.mse_loss(gram_matrix(features[layer]), target)
                             for layer, target in self.style_targets.items()]).mean()
        return content, style

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        content, style = self.terms(image)
        return self.content_weight * content + self.style_weight * style


def style_transfer(model, content: torch.Tensor, style: torch.Tensor, steps: int = 200, optimizer: str = "adam",
                   lr: float | None = None, content_layer: str | None = None, style_layers=None,
                   content_weight: float = 1.0, style_weight: float = 1e5, init: str = "content", seed: int = 0,
                   progress: bool = True) -> torch.Tensor:
    """Paint ``content`` in the style of ``style`` by optimising pixels (Gatys et al., 2016).

    Args:
        model (ModelWrapper): The model, e.g. ``load("efficientnet_lite0")``; left unchanged.
        content (torch.Tensor): ``(3, H, W)`` in [0, 1].
        style (torch.Tensor): ``(3, h, w)`` in [0, 1].
        steps (int, optional): Optimiser steps: Adam updates, or L-BFGS iterations (each with a
            strong-Wolfe line search of a few evaluations). Default: 200
        optimizer (str, optional): "adam" or "lbfgs". Default: "adam"
        lr (float, optional): Learning rate. Default: 0.02 for Adam, 1.0 for L-BFGS
        content_layer (str, optional): See :class:`GatysLoss`. Default: per model
        style_layers (sequence of str, optional): See :class:`GatysLoss`. Default: per model
        content_weight (float, optional): Weight of the content term. Default: 1.0
        style_weight (float, optional): Weight of the style term. Default: 1e5
        init (str, optional): Start from the "content" image or from uniform "noise". Default: "content"
        seed (int, optional): Seed of the noise start. Default: 0
        progress (bool, optional): Show a progress bar with the loss. Default: True

    Returns:
        torch.Tensor: ``(3, H, W)`` in [0, 1], on the model's device.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> style_transfer(model, torch.rand(3, 32, 32), torch.rand(3, 32, 32), steps=2, progress=False).shape
        torch.Size([3, 32, 32])
    """
    if optimizer not in DEFAULT_LR:
        raise ConfigError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(DEFAULT_LR)}")
    if init not in ("content", "noise"):
        raise ConfigError(f"unknown init {init!r}; choose 'content' or 'noise'")
    with eval_mode(model):
        loss_fn = GatysLoss(model, content, style, content_layer, style_layers, content_weight, style_weight)
        image = _start_image(content.to(model.device, torch.float32), init, seed).requires_grad_(True)
        if optimizer == "adam":
            opt = torch.optim.Adam([image], lr=lr or DEFAULT_LR["adam"])
        else:
            opt = torch.optim.LBFGS([image], lr=lr or DEFAULT_LR["lbfgs"], max_iter=1, line_search_fn="strong_wolfe")

        def closure():
            with torch.no_grad():
                image.clamp_(0, 1)
            loss = loss_fn(image)
            image.grad = torch.autograd.grad(loss, image)[0]
            return loss

        with progress_bar(range(steps), desc="style transfer", disable=not progress) as bar:
            for _ in bar:
                bar.set_postfix(loss=f"{opt.step(closure).item():.4g}")
    return image.detach().clamp(0, 1)


def _start_image(content: torch.Tensor, init: str, seed: int) -> torch.Tensor:
    if init == "content":
        return content.clone()
    generator = torch.Generator(content.device).manual_seed(seed)
    return torch.rand(content.shape, generator=generator, device=content.device)
