"""Feature accentuation (Hamblin et al., 2024): what a unit sees in *given* images, made stronger.

Instead of starting from noise, the optimisation starts from real images (in lucid's Fourier
parameterisation, :meth:`~driftlens.optvis.param.FFTImage.from_images`) and increases the objective
while a penalty keeps every image close to where it started: ``objective - penalty * mean squared
pixel change``. Hamblin et al. regularise in the space of a network layer; the pixel distance used
here is the simplest of their choices and needs no extra forward pass. lucid's transforms keep the
result robust.

Example:
    >>> import torch, driftlens
    >>> from driftlens.optvis.objectives import channel
    >>> model = driftlens.models.load("tiny", weights="random")
    >>> accentuate(model, channel("conv3", 1), torch.rand(2, 3, 32, 32), steps=2, progress=False).images.shape
    (2, 32, 32, 3)
"""

import torch

from driftlens.errors import ConfigError
from driftlens.optvis.param import FFTImage
from driftlens.optvis.render import RenderResult, render
from driftlens.optvis.transforms import crop_or_pad, standard_transforms


def accentuate(model, objective, images, steps: int = 64, penalty: float = 10.0, lr: float = 0.05, seed: int = 0,
               snapshot_steps=(), progress=True) -> RenderResult:
    """Accentuate ``objective`` in ``images``: start from them, increase it, stay close to them.

    Args:
        model (ModelWrapper): The network.
        objective (Objective or list[Objective]): One objective for every image, or one per image.
        images (torch.Tensor): ``(B, 3, H, H)`` (or one ``(3, H, H)``) in [0, 1].
        steps (int, optional): Optimisation steps. Default: 64
        penalty (float, optional): Weight of the mean squared pixel change (per image); 0 leaves the
            images free, larger values keep them closer. Default: 10.0
        lr (float, optional): Adam's learning rate on the Fourier coefficients. Default: 0.05
        seed (int, optional): Seed of the random transforms. Default: 0
        snapshot_steps (iterable[int], optional): Steps at which to keep the images. Default: ()
        progress (bool, optional): Show a progress bar. Default: True

    Returns:
        RenderResult: ``images`` ``(B, H, H, 3)``, the objective per step (without the penalty), snapshots.

    Raises:
        ValueError: Images that are not a square RGB batch in [0, 1], a negative penalty, or a list of
            objectives whose length is not the number of images.

    Example:
        >>> import torch, driftlens
        >>> from driftlens.optvis.objectives import channel
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> result = accentuate(model, [channel("conv3", 1), channel("conv3", 2)], torch.rand(2, 3, 32, 32),
        ...                     steps=4, progress=False)
        >>> len(result.losses)
        4
    """
    images = images[None] if images.dim() == 3 else images
    if images.dim() != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3]:
        raise ValueError(f"accentuate needs (B, 3, H, H) images, got {tuple(images.shape)}")
    if images.min() < 0 or images.max() > 1:
        raise ValueError("accentuate needs images in [0, 1]")
    if penalty < 0:
        raise ConfigError(f"penalty must be non-negative, got {penalty}")
    if isinstance(objective, (list, tuple)) and len(objective) != len(images):
        raise ConfigError(f"{len(objective)} objectives for {len(images)} images")
    start = images.detach().float().to(model.device)
    param = FFTImage.from_images(start)

    def distance(current):
        return penalty * (current - start).square().flatten(1).mean(dim=1).sum()

    transforms = standard_transforms() + [crop_or_pad(images.shape[-1])]
    return render(model, objective, param, transforms, steps=steps, seed=seed, snapshot_steps=snapshot_steps,
                  optimizer=lambda params: torch.optim.Adam(params, lr=lr), penalty=distance, progress=progress)
