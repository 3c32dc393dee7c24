"""Four feature-visualisation methods, selectable by name: ``lucid``, ``maco``, ``yosinski`` and ``erhan``.

- ``lucid`` (Olah et al., 2017): Fourier parameterisation with decorrelated colours and a sigmoid,
  lucid's standard transforms, Adam with learning rate 0.05.
- ``maco`` (Fel et al., 2023): the Fourier magnitude fixed to that of natural images, only the phase
  learnt; several random crops per step and additive noise; Adam.
- ``yosinski`` (Yosinski et al., 2015): pixel space, normalised gradient steps, then L2 decay, a
  Gaussian blur every few steps, and clipping of the pixels of smallest norm and smallest contribution.
- ``erhan`` (Erhan et al., 2009, made multiscale): pixel space, Adam; start small, optimise, upscale by
  1.2 with a blur, repeat up to the final size.

Every method takes a list of objectives (image ``k`` serves objective ``k``) and renders the batch in
one optimisation.

Example:
    >>> import driftlens
    >>> from driftlens.optvis.objectives import channel
    >>> model = driftlens.models.load("tiny", weights="random")
    >>> visualize(model, [channel("conv2", 1)], method="erhan", size=32, steps=8, progress=False).images.shape
    (1, 32, 32, 3)
"""

import math

import torch

from driftlens.errors import ConfigError
from driftlens.optvis import imageops
from driftlens.optvis.param import FFTImage, MacoImage, PixelImage
from driftlens.optvis.render import RenderResult, render, shared_bar
from driftlens.optvis.spectrum import magnitude_for
from driftlens.optvis.transforms import crop_or_pad, gaussian_noise, random_crops, standard_transforms


def lucid(model, objectives, size, steps, seeds, seed=0, snapshot_steps=(), progress=True,
          precision="auto", start=None) -> RenderResult:
    """lucid's recipe: FFT + decorrelated colour + sigmoid, standard transforms, Adam 0.05.

    After the standard transforms, the centre ``size`` x ``size`` square is cropped (grey where the
    image shrank), so the network sees inputs of the rendered size at lucid's scale.

    A warm start (``start``) continues from given images instead of noise: the Fourier coefficients
    begin as the exact inverse of ``start`` (:meth:`FFTImage.from_images`), so step 0 shows those
    images. Adam begins afresh (zero moments), as it would from noise: its first steps move every
    coefficient by about the learning rate, which shakes the start a little before the new optimum
    pulls it. Pixels at 0 or 1 are nudged inside by 1e-4 (the sigmoid's inverse is infinite there);
    they sit where the sigmoid's gradient is about 1e-4, so saturated pixels move slowly.

    Args:
        model (ModelWrapper): The network.
        objectives (list[Objective]): One per image.
        size (int): Side of the images.
        steps (int): Optimisation steps.
        seeds (list[int]): Initialisation seed of each image.
        seed (int, optional): Seed of the random transforms. Default: 0
        snapshot_steps (iterable[int], optional): Steps at which to keep the images. Default: ()
        progress (bool, optional): Show a progress bar. Default: True
        precision (str, optional): Of the model's passes (see :mod:`driftlens.precision`). Default: "auto"
        start (np.ndarray, optional): ``(len(objectives), size, size, 3)`` images in [0, 1] to continue
            from (a warm start); ``seeds`` are then unused. Default: None (start from seeded noise)

    Returns:
        RenderResult: See :func:`~driftlens.optvis.render.render`.

    Example:
        >>> import driftlens
        >>> from driftlens.optvis.objectives import channel
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> cold = lucid(model, [channel("conv3", 2)], 32, 4, seeds=[0], progress=False)
        >>> lucid(model, [channel("conv3", 2)], 32, 2, seeds=[0], progress=False, start=cold.images).images.shape
        (1, 32, 32, 3)
    """
    transforms = standard_transforms() + [crop_or_pad(size)]
    param = FFTImage(size, seeds) if start is None else FFTImage.from_images(_start_images(start, objectives, size))
    return render(model, objectives, param, transforms, steps=steps, seed=seed,
                  snapshot_steps=snapshot_steps, progress=progress, precision=precision)


def _start_images(start, objectives, size) -> torch.Tensor:
    """``start`` as a ``(B, 3, H, W)`` float32 tensor, checked against the batch."""
    start = torch.as_tensor(start, dtype=torch.float32)
    if start.shape != (len(objectives), size, size, 3):
        raise ConfigError(f"warm start: expected images of shape {(len(objectives), size, size, 3)}, "
                          f"got {tuple(start.shape)}")
    return start.permute(0, 3, 1, 2)


def maco(model, objectives, size, steps, seeds, seed=0, snapshot_steps=(), progress=True, precision="auto",
         spectrum=None, crops=4, crop_scale=(0.5, 1.0), noise=0.05, lr=0.2, sd=1.0, transparency=True) -> RenderResult:
    """MACO: optimise only the phase of images whose Fourier magnitude is that of natural images.

    Each step scores ``crops`` random square crops of every image (sides ``crop_scale`` of the image,
    resized anti-aliased to ``size``) with additive noise, so a step costs ``crops`` forward and
    backward passes. Unlike horama, the crops stay inside the image, their side is drawn from
    ``crop_scale`` as given (horama's formula adds the largest side to the range), the images of a
    batch are standardised separately (by construction, see :class:`~driftlens.optvis.param.MacoImage`),
    and the spectrum is estimated, never downloaded.

    The defaults were chosen by ``benchmarks/bench_quality.py --tune --steps 64`` (three class logits
    of Lite0 at 128 px, images recognised by Lite1): 1, 2 and 4 crops gave 1/3, 2/3 and 3/3 top-1
    (at 1x, 2x and 4x the cost); learning rate 0.05 gave 1/3, 0.2 and 0.5 both 3/3; crops of 0.25-0.5
    of the side lost one image on Lite0 itself; no noise and ``sd=2`` changed nothing at that budget.

    Args:
        model, objectives, size, steps, seeds, seed, snapshot_steps, progress, precision: As in :func:`lucid`.
        spectrum (str, Path or Spectrum, optional): The magnitude spectrum (a file from
            ``driftlens spectrum``). Default: None (:func:`~driftlens.optvis.spectrum.default_spectrum`)
        crops (int, optional): Crops per image and step. Default: 4
        crop_scale (tuple[float, float], optional): Crop sides as fractions of ``size``. Default: (0.5, 1.0)
        noise (float, optional): Standard deviation of the additive noise. Default: 0.05
        lr (float, optional): Adam's learning rate on the phases (radians). Default: 0.2
        sd (float, optional): Standard deviation of the images before the sigmoid. Default: 1.0
        transparency (bool, optional): Return the accumulated gradient magnitude. Default: True

    Returns:
        RenderResult: See :func:`~driftlens.optvis.render.render`, with ``transparency``.

    Example:
        >>> import driftlens
        >>> from driftlens.optvis.objectives import channel
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> result = maco(model, [channel("conv3", 2)], 32, 4, seeds=[0], progress=False)
        >>> result.images.shape, result.transparency.shape
        ((1, 32, 32, 3), (1, 32, 32))
    """
    image = MacoImage(magnitude_for(size, spectrum), seeds, sd=sd)
    transforms = [random_crops(crops, crop_scale, size), gaussian_noise(noise)]
    return render(model, objectives, image, transforms, steps=steps, seed=seed, snapshot_steps=snapshot_steps,
                  optimizer=lambda params: torch.optim.Adam(params, lr=lr), transparency=transparency,
                  progress=progress, precision=precision)


class NormalizedSGD(torch.optim.Optimizer):
    """Gradient descent whose step for each image is ``lr * grad / mean(|grad|)`` of that image.

    Normalising per image makes the step size independent of the scale of the activations, and keeps
    the images of a batch independent of each other.

    Args:
        params (iterable[torch.Tensor]): Tensors whose first dimension indexes the images.
        lr (float, optional): Mean absolute change per step. Default: 0.01

    Example:
        >>> x = torch.nn.Parameter(torch.zeros(2, 3))
        >>> x.grad = torch.tensor([[1.0, 1.0, 1.0], [4.0, 0.0, 2.0]])
        >>> NormalizedSGD([x], lr=0.1).step(); [round(v, 4) for v in x.data[1].tolist()]
        [-0.2, 0.0, -0.1]
    """

    def __init__(self, params, lr: float = 0.01):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                scale = p.grad.abs().flatten(1).mean(dim=1).clamp(min=1e-12)
                p.sub_(group["lr"] * p.grad / scale.view(-1, *[1] * (p.dim() - 1)))


class YosinskiRegularizer:
    """Yosinski's regularisers, applied to a :class:`PixelImage` after each gradient step.

    In order: L2 decay towards grey, a Gaussian blur every ``blur_every`` steps, zeroing (setting to
    grey) the pixels whose colour norm is below the ``norm_percentile`` of the image, and the pixels
    whose contribution ``|sum over colours of pixel * gradient|`` is below ``contribution_percentile``.

    Args:
        decay (float, optional): L2 decay per step. Default: 1e-4
        blur_every (int, optional): Blur every this many steps (0: never). Default: 4
        blur_sigma (float, optional): Standard deviation of the blur in pixels. Default: 1.0
        norm_percentile (float, optional): Percentile (0-100) for norm clipping (0: off). Default: 10
        contribution_percentile (float, optional): Percentile for contribution clipping (0: off).
            Default: 10

    Example:
        >>> image = PixelImage.random(8, seeds=[0], sigmoid=False)
        >>> image.pixels.grad = torch.ones_like(image.pixels)
        >>> YosinskiRegularizer()(image, step=4)
        >>> bool(image.pixels.abs().max() <= 0.5)
        True
    """

    def __init__(self, decay=1e-4, blur_every=4, blur_sigma=1.0, norm_percentile=10, contribution_percentile=10):
        self.decay = decay
        self.blur_every = blur_every
        self.blur_sigma = blur_sigma
        self.norm_percentile = norm_percentile
        self.contribution_percentile = contribution_percentile

    @torch.no_grad()
    def __call__(self, image: PixelImage, step: int) -> None:
        pixels = image.pixels
        pixels.mul_(1 - self.decay)
        if self.blur_every and step % self.blur_every == 0:
            pixels.copy_(_blur(pixels, self.blur_sigma))
        if self.norm_percentile:
            _zero_below_percentile(pixels, pixels.norm(dim=1), self.norm_percentile)
        if self.contribution_percentile and pixels.grad is not None:
            _zero_below_percentile(pixels, (pixels * pixels.grad).sum(dim=1).abs(), self.contribution_percentile)
        pixels.clamp_(-0.5, 0.5)


def yosinski(model, objectives, size, steps, seeds, seed=0, snapshot_steps=(), progress=True, precision="auto",
             lr=0.03, regularizer=None) -> RenderResult:
    """Yosinski et al.'s regularised gradient ascent in pixel space.

    Args:
        model, objectives, size, steps, seeds, seed, snapshot_steps, progress, precision: As in :func:`lucid`.
        lr (float, optional): Mean absolute pixel change per step (:class:`NormalizedSGD`). Default: 0.03
        regularizer (YosinskiRegularizer, optional): Default: ``YosinskiRegularizer()``

    Returns:
        RenderResult: See :func:`~driftlens.optvis.render.render`.

    Example:
        >>> import driftlens
        >>> from driftlens.optvis.objectives import channel
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> yosinski(model, [channel("conv3", 2)], 32, 4, seeds=[0], progress=False).images.shape
        (1, 32, 32, 3)
    """
    image = PixelImage.random(size, seeds, sigmoid=False)
    return render(model, objectives, image, steps=steps, seed=seed, snapshot_steps=snapshot_steps,
                  optimizer=lambda params: NormalizedSGD(params, lr=lr),
                  after_step=regularizer or YosinskiRegularizer(), progress=progress, precision=precision)


def erhan(model, objectives, size, steps, seeds, seed=0, snapshot_steps=(), progress=True, precision="auto",
          stages=8, factor=1.2, blur_sigma=1.0, lr=0.02, weight_decay=1e-6) -> RenderResult:
    """Multiscale activation maximisation in pixel space: optimise small, upscale with a blur, repeat.

    The images start as uniform noise in [150, 180] / 255 at ``size / factor ** (stages - 1)`` pixels;
    the steps are shared equally between the stages.

    Args:
        model, objectives, size, steps, seeds, seed, snapshot_steps, progress, precision: As in :func:`lucid`.
        stages (int, optional): Number of scales. Default: 8
        factor (float, optional): Upscaling factor between scales. Default: 1.2
        blur_sigma (float, optional): Gaussian blur after each upscaling, in pixels. Default: 1.0
        lr (float, optional): Adam's learning rate. Default: 0.02
        weight_decay (float, optional): Adam's weight decay. Default: 1e-6

    Returns:
        RenderResult: Snapshots of the smaller scales are upscaled to ``size``.

    Example:
        >>> import driftlens
        >>> from driftlens.optvis.objectives import channel
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> erhan(model, [channel("conv3", 2)], 32, 8, seeds=[0], progress=False).images.shape
        (1, 32, 32, 3)
    """
    sides = [max(1, round(size / factor ** i)) for i in reversed(range(stages))]
    stage_steps = [steps // stages + (i < steps % stages) for i in range(stages)]
    images = _uniform_noise(sides[0], seeds, 150 / 255, 180 / 255)
    result = RenderResult(images=None)
    done = 0
    with shared_bar(progress, steps) as bar:
        for side, count in zip(sides, stage_steps):
            images = _blur(_resize(images, side), blur_sigma) if images.shape[-1] != side else images
            stage = render(model, objectives, PixelImage.from_images(images, sigmoid=False), steps=count,
                           seed=seed, snapshot_steps=[s - done for s in snapshot_steps],
                           optimizer=lambda params: torch.optim.Adam(params, lr=lr, weight_decay=weight_decay),
                           progress=bar, precision=precision)
            result.losses += stage.losses
            for step, snapshot in stage.snapshots.items():
                result.snapshots[step + done] = _resize_array(snapshot, size)
            images = torch.from_numpy(stage.images).permute(0, 3, 1, 2)
            done += count
    result.images = stage.images
    return result


METHODS = {"lucid": lucid, "maco": maco, "yosinski": yosinski, "erhan": erhan}

WARM_START_METHODS = ("lucid",)
"""Methods that can continue from given images (a warm start, validated in ``benchmarks/bench_warm_start.py``).
``maco`` fixes the Fourier magnitude to natural images', so the phase alone cannot hold a start image's own
magnitude; ``erhan`` grows its image from a small size, so it has no full-size start; ``yosinski``'s decay, blur
and clipping were set for a start from noise, and a warm start is not validated for it."""


def visualize(model, objectives, method: str = "lucid", size: int = 128, steps: int = 512, seed: int = 0,
              image_seeds=None, snapshot_steps=(), progress=True, precision: str = "auto", **options) -> RenderResult:
    """Render one image per objective, all in one batched optimisation, with the method named.

    Args:
        model (ModelWrapper): The network; its device is used.
        objectives (list[Objective]): Image ``k`` maximises ``objectives[k]``.
        method (str, optional): ``lucid``, ``maco``, ``yosinski`` or ``erhan``. Default: "lucid"
        size (int, optional): Side of the images. Default: 128
        steps (int, optional): Optimisation steps. Default: 512
        seed (int, optional): Seed of the random transforms and, by default, of the images. Default: 0
        image_seeds (list[int], optional): Initialisation seed of each image; give ``[seed + k]`` to
            reproduce image ``k`` of a batch alone. Default: ``[seed, seed + 1, ...]``
        snapshot_steps (iterable[int], optional): Steps at which to keep the images. Default: ()
        progress (bool, optional): Show a progress bar. Default: True
        precision (str, optional): ``auto`` (bf16 autocast on a GPU with native bf16, else fp32),
            ``fp32`` or ``bf16`` (see :mod:`driftlens.precision`). Default: "auto"
        **options: Further keyword arguments of the method (e.g. ``spectrum=`` for :func:`maco`, ``start=``
            for a warm start of a method in :data:`WARM_START_METHODS`).

    Returns:
        RenderResult: ``images`` of shape ``(len(objectives), size, size, 3)``, losses, snapshots.

    Raises:
        ValueError: Unknown method, no objectives, a seed list of the wrong length, or a warm start for a
            method that cannot take one.

    Example:
        >>> import driftlens
        >>> from driftlens.optvis.objectives import channel
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> visualize(model, [channel("conv3", 0)], size=32, steps=2, progress=False).images.shape
        (1, 32, 32, 3)
    """
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; available: {', '.join(METHODS)}")
    if options.get("start") is None:
        options.pop("start", None)
    elif method not in WARM_START_METHODS:
        raise ConfigError(f"method {method!r} cannot continue from given images; warm starts are for "
                          f"{', '.join(WARM_START_METHODS)}")
    objectives = list(objectives)
    if not objectives:
        raise ConfigError("no objectives to visualise")
    image_seeds = list(image_seeds) if image_seeds is not None else [seed + k for k in range(len(objectives))]
    if len(image_seeds) != len(objectives):
        raise ConfigError(f"{len(image_seeds)} image seeds for {len(objectives)} objectives")
    return METHODS[method](model, objectives, size, steps, image_seeds, seed=seed, snapshot_steps=snapshot_steps,
                           progress=progress, precision=precision, **options)


def _blur(images, sigma):
    kernel = 2 * math.ceil(2 * sigma) + 1
    return imageops.gaussian_blur(images, kernel, sigma)


def _zero_below_percentile(pixels, score, percentile):
    """Set to zero the pixels of each image whose ``score`` (B, H, W) is below its percentile."""
    threshold = torch.quantile(score.flatten(1), percentile / 100, dim=1).view(-1, 1, 1)
    pixels.mul_((score >= threshold).unsqueeze(1))


def _uniform_noise(size, seeds, low, high):
    return torch.stack([torch.empty(3, size, size).uniform_(low, high, generator=torch.Generator().manual_seed(s))
                        for s in seeds])


def _resize(images, size):
    return imageops.resize(images, [size, size], "bicubic").clamp(0, 1)


def _resize_array(images, size):
    tensor = torch.from_numpy(images).permute(0, 3, 1, 2)
    return _resize(tensor, size).permute(0, 2, 3, 1).numpy()

