"""DeepDream (Mordvintsev et al., 2015): amplify what a layer sees in an image, octave by octave.

Gradient ascent on the image raises the layer's energy (the mean of its squared activations).
The image is processed from coarse to fine: at each octave the image is ``scale`` times larger
and carries the details dreamt at the coarser octaves. Each step rolls the image by a random
offset (jitter) and divides the gradient by its mean absolute value, so step sizes are comparable
across layers and models.
"""

import torch
import torch.nn.functional as F
from driftlens.progress import bar as progress_bar

from driftlens.models import eval_mode
from driftlens.models import capture


def layer_energy(model, images: torch.Tensor, layer: str) -> torch.Tensor:
    """The DeepDream objective: mean squared activation of ``layer``, one value per image.

    Args:
        model (ModelWrapper): The model; images in [0, 1].
        images (torch.Tensor): ``(B, 3, H, W)``.
        layer (str): Layer name or alias.

    Returns:
        torch.Tensor: ``(B,)``, differentiable with respect to ``images``.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> layer_energy(model, torch.rand(2, 3, 32, 32), "conv2").shape
        torch.Size([2])
    """
    with capture(model, [layer], detach=False) as acts:
        model(images)
    return acts[layer].pow(2).flatten(1).mean(1)


def octave_sizes(height: int, width: int, octaves: int, scale: float) -> list[tuple[int, int]]:
    """Image sizes from the coarsest octave to the original size.

    Example:
        >>> octave_sizes(100, 50, 3, 2.0)
        [(25, 12), (50, 25), (100, 50)]
    """
    return [(round(height / scale ** i), round(width / scale ** i)) for i in reversed(range(octaves))]


def _resize(images: torch.Tensor, size) -> torch.Tensor:
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False)


def _ascent_step(model, images, layer, step_size, jitter, generator) -> torch.Tensor:
    dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
    shifted = torch.roll(images, (dy, dx), (2, 3)).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(layer_energy(model, shifted, layer).sum(), shifted)
    grad = torch.roll(grad, (-dy, -dx), (2, 3))
    grad = grad / (grad.abs().mean((1, 2, 3), keepdim=True) + 1e-8)
    return (images + step_size * grad).clamp(0, 1)


def deep_dream(model, image: torch.Tensor, layer: str, octaves: int = 4, scale: float = 1.4, steps: int = 10,
               step_size: float = 0.01, jitter: int = 16, seed: int = 0, progress: bool = True) -> torch.Tensor:
    """Dream ``layer`` into an image: octave-wise, jittered, normalised gradient ascent.

    Args:
        model (ModelWrapper): The model; it is used in eval mode and left unchanged.
        image (torch.Tensor): ``(3, H, W)`` or ``(B, 3, H, W)`` in [0, 1].
        layer (str): Layer whose energy (mean squared activation) is raised.
        octaves (int, optional): Number of scales. Default: 4
        scale (float, optional): Size ratio between consecutive octaves. Default: 1.4
        steps (int, optional): Gradient steps per octave. Default: 10
        step_size (float, optional): Step size on [0, 1] pixels after normalising the gradient to
            mean absolute value 1. Default: 0.01
        jitter (int, optional): Largest random roll in pixels. Default: 16
        seed (int, optional): Seed of the jitter. Default: 0
        progress (bool, optional): Show a progress bar. Default: True

    Returns:
        torch.Tensor: The dreamt image, same shape as ``image``, in [0, 1], on the model's device.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> deep_dream(model, torch.rand(3, 32, 32), "conv3", octaves=2, steps=2, progress=False).shape
        torch.Size([3, 32, 32])
    """
    single = image.dim() == 3
    base = (image[None] if single else image).detach().to(model.device, torch.float32)
    generator = torch.Generator().manual_seed(seed)
    sizes = octave_sizes(*base.shape[-2:], octaves, scale)
    detail = torch.zeros_like(_resize(base, sizes[0]))
    with eval_mode(model), progress_bar(total=octaves * steps, desc=f"deepdream {layer}", disable=not progress) as bar:
        for size in sizes:
            octave_base = _resize(base, size)
            dream = (octave_base + _resize(detail, size)).clamp(0, 1)
            for _ in range(steps):
                dream = _ascent_step(model, dream, layer, step_size, jitter, generator)
                bar.update()
            detail = dream - octave_base
    return dream[0] if single else dream
