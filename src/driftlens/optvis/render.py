"""The optimisation loop: maximise an objective over a batch of parameterised images.

One forward and one backward pass per step serve the whole batch; image ``k`` can serve its own
objective (:func:`driftlens.optvis.objectives.per_image`). The loop runs on the model's device, stops
the forward pass once every layer the objective reads has been computed, takes gradients with respect
to the image parameters only, and leaves saving and display to the caller. Images and convolution
weights are held in channels-last memory order during the loop, which makes the convolutions faster
(1.2-1.5x for Lite0 on CPU in ``benchmarks/bench_optvis.py``); no weight changes, and results agree
with the default order to float precision.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch

from driftlens.errors import DivergedError, OutOfRangeError
from driftlens.models import capture, eval_mode
from driftlens.optvis.objectives import Objective, per_image
from driftlens.optvis.transforms import compose
from driftlens.precision import autocast
from driftlens.progress import Bar
from driftlens.progress import bar as progress_bar


class NonFiniteError(DivergedError, FloatingPointError):
    """The objective or the image became NaN or infinite; the message names the step."""


@dataclass
class RenderResult:
    """What :func:`render` returns.

    Attributes:
        images (np.ndarray): ``(B, H, W, 3)`` float32 in [0, 1], after the last step.
        losses (list[float]): The objective's value at every step (before that step's update).
        snapshots (dict[int, np.ndarray]): Step to ``(B, H, W, 3)`` images after that step.
        transparency (np.ndarray or None): ``(B, H, W)`` float32, the absolute gradient of the objective
            with respect to each pixel, summed over colours and steps (MACO's attribution map), when
            asked for; else None.
    """

    images: np.ndarray
    losses: list = field(default_factory=list)
    snapshots: dict = field(default_factory=dict)
    transparency: np.ndarray | None = None


def render(model, objective, param, transforms=(), optimizer=None, steps: int = 512, seed: int = 0,
           snapshot_steps=(), after_step=None, penalty=None, transparency: bool = False,
           progress=True, precision: str = "auto") -> RenderResult:
    """Optimise the images of ``param`` to maximise ``objective`` under random ``transforms``.

    Args:
        model (ModelWrapper): The network (images in [0, 1]); it is put in eval mode for the
            optimisation and restored afterwards. Its device is used.
        objective (Objective or list[Objective]): One objective for the batch, or one per image
            (image ``k`` serves ``objective[k]``).
        param (ImageParam): The parameterised images; moved to the model's device.
        transforms (list[callable], optional): Random transforms applied to the batch before the
            model (see :mod:`~driftlens.optvis.transforms`). Default: () (none)
        optimizer (callable, optional): ``optimizer(parameters) -> torch.optim.Optimizer``.
            Default: Adam with learning rate 0.05
        steps (int, optional): Optimisation steps. Default: 512
        seed (int, optional): Seed of the random transforms. Default: 0
        snapshot_steps (iterable[int], optional): Steps after which to keep a copy of the images.
            Default: () (none)
        after_step (callable, optional): ``after_step(param, step)``, run without gradient tracking
            after each update (projections, blurs, clipping). Default: None
        penalty (callable, optional): ``penalty(images) -> scalar`` on the untransformed images,
            subtracted from the objective (e.g. a distance to start images); ``losses`` keep the
            objective alone. Default: None
        transparency (bool, optional): Accumulate the absolute gradient per pixel into
            ``RenderResult.transparency``. Default: False
        progress (bool or tqdm, optional): Show a progress bar, or advance this one. Default: True
        precision (str, optional): Of the model's forward and backward passes: ``auto``, ``fp32`` or
            ``bf16`` (see :mod:`driftlens.precision`); the images, transforms, objective and optimiser
            stay in float32. Default: "auto"

    Returns:
        RenderResult: Final images, the objective per step and the snapshots.

    Raises:
        UnknownLayerError: The objective reads a layer the model does not have.
        IndexError: The objective reads a channel the layer does not have.
        NonFiniteError: The objective or the images became NaN or infinite.

    Example:
        >>> import driftlens
        >>> from driftlens.optvis import objectives, param
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> result = render(model, [objectives.channel("conv3", 0), objectives.channel("conv3", 5)],
        ...                 param.FFTImage(32, seeds=[0, 1]), steps=4, progress=False)
        >>> result.images.shape, len(result.losses)
        ((2, 32, 32, 3), 4)
    """
    objective = per_image(objective) if isinstance(objective, (list, tuple)) else objective
    param = param.to(model.device)
    size = param().shape[-1]
    validate(model, objective, size)
    transform = compose(transforms)
    parameters = list(param.parameters())
    optimizer = (optimizer or _adam)(parameters)
    generator = torch.Generator().manual_seed(seed)
    snapshot_steps = set(snapshot_steps)
    result = RenderResult(images=np.empty(0))
    accumulated = torch.zeros(len(param()), size, size, device=model.device) if transparency else None
    model_precision = autocast(precision, model.device)  # resolved (and checked) once, entered at every step
    with eval_mode(model), channels_last(model), layer_outputs(model, objective.layers) as forward, \
            shared_bar(progress, steps) as bar:
        for step in range(1, steps + 1):
            optimizer.zero_grad(set_to_none=True)
            images = param()
            if transparency:
                images.register_hook(partial(_accumulate, accumulated))
            views = transform(images, generator).contiguous(memory_format=torch.channels_last)
            with model_precision:
                activations = forward(views)
            score = score_views(objective, activations, len(images))
            loss = -score if penalty is None else penalty(images) - score
            _check_finite(loss, images, step)
            loss.backward(inputs=parameters)
            optimizer.step()
            if after_step is not None:
                with torch.no_grad():
                    after_step(param, step)
            result.losses.append(score.item())
            if step in snapshot_steps:
                result.snapshots[step] = _current_images(param)
            bar.update(1)
    result.images = _current_images(param)
    if transparency:
        result.transparency = accumulated.float().cpu().numpy()
    return result


def score_views(objective: Objective, activations: dict, batch: int) -> torch.Tensor:
    """The objective averaged over the views of a batch (see :mod:`~driftlens.optvis.transforms`).

    Args:
        objective (Objective): Scores a batch of ``batch`` images.
        activations (dict[str, torch.Tensor]): Layer outputs of ``V * batch`` images, view by view.
        batch (int): Images per view.

    Returns:
        torch.Tensor: The mean over the ``V`` views of the objective of each view.

    Raises:
        ValueError: The activations do not hold a whole number of views.

    Example:
        >>> from driftlens.optvis.objectives import channel
        >>> score_views(channel("fc", 0, image=1), {"fc": torch.tensor([[0.0], [2.0], [0.0], [4.0]])}, 2).item()
        3.0
    """
    total = next(iter(activations.values())).shape[0]
    if total % batch:
        raise ValueError(f"the transforms made {total} images from {batch}, not a whole number of views")
    views = total // batch
    if views == 1:
        return objective(activations)
    return sum(objective({layer: output[v * batch:(v + 1) * batch] for layer, output in activations.items()})
               for v in range(views)) / views


def validate(model, objective: Objective, size: int) -> None:
    """Check that every layer and channel the objective reads exists in ``model``.

    Args:
        model (ModelWrapper): The network.
        objective (Objective): The objective.
        size (int): Input side used to work out the layers' shapes.

    Raises:
        UnknownLayerError: A layer is unknown (the message lists close names).
        IndexError: A channel is out of range (the message names the layer and its channel count).

    Example:
        >>> import driftlens
        >>> from driftlens.optvis.objectives import channel
        >>> validate(driftlens.models.load("tiny", weights="random"), channel("conv3", 15), 32)
    """
    for layer in objective.layers:
        model.resolve(layer)
    shapes = model.output_shapes(objective.layers, size)
    for target in objective.targets:
        if target.channel is None:
            continue
        channels = shapes[target.layer][0]
        if not 0 <= target.channel < channels:
            raise OutOfRangeError(f"channel {target.channel} is out of range for layer {target.layer!r} of {model.name}, "
                             f"which has {channels} channels (0..{channels - 1})")


def to_numpy(images: torch.Tensor) -> np.ndarray:
    """``(B, 3, H, W)`` tensor to a ``(B, H, W, 3)`` float32 array on the CPU.

    Example:
        >>> to_numpy(torch.zeros(2, 3, 4, 5)).shape
        (2, 4, 5, 3)
    """
    return images.detach().permute(0, 2, 3, 1).float().cpu().numpy()


@torch.no_grad()
def _current_images(param):
    return to_numpy(param())


def _accumulate(total, grad):
    """Gradient hook: add ``|grad|`` summed over colours to ``total``; the gradient itself is unchanged."""
    total.add_(grad.detach().abs().sum(dim=1))


def _adam(parameters):
    return Adam(parameters, lr=0.05)


class Adam:
    """``torch.optim.Adam`` (default settings) by torch's own functional update, ``torch.optim.adam.adam``.

    The same arithmetic, step for step (a test compares them), without ``torch.optim.Optimizer``, whose first
    ``add_param_group`` and every ``step`` import ``torch._dynamo``: about 2.5 s of every render job's start-up.

    Args:
        parameters (iterable[torch.Tensor]): The tensors to optimise.
        lr (float): Learning rate.

    Example:
        >>> x = torch.ones(2, requires_grad=True); optimizer = Adam([x], lr=0.1)
        >>> x.sum().backward(); optimizer.step(); x.tolist()
        [0.9000000357627869, 0.9000000357627869]
    """

    def __init__(self, parameters, lr: float):
        self.parameters, self.lr = list(parameters), lr
        self.averages = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.parameters]
        self.squares = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.parameters]
        self.steps = [torch.tensor(0.0) for _ in self.parameters]

    def zero_grad(self, set_to_none: bool = True):
        for parameter in self.parameters:
            parameter.grad = None

    @torch.no_grad()
    def step(self):
        from torch.optim.adam import adam

        with_grad = [k for k, p in enumerate(self.parameters) if p.grad is not None]
        adam([self.parameters[k] for k in with_grad], [self.parameters[k].grad for k in with_grad],
             [self.averages[k] for k in with_grad], [self.squares[k] for k in with_grad], [],
             [self.steps[k] for k in with_grad], foreach=None, capturable=False, differentiable=False, fused=None,
             grad_scale=None, found_inf=None, has_complex=any(torch.is_complex(p) for p in self.parameters),
             amsgrad=False, beta1=0.9, beta2=0.999, lr=self.lr, weight_decay=0.0, eps=1e-8, maximize=False)


def _check_finite(loss, images, step):
    if not torch.isfinite(loss):
        raise NonFiniteError(f"rendering diverged: the objective became {loss.item()} at step {step} "
                             f"(are the model's weights finite?)")
    if not torch.isfinite(images).all():
        raise NonFiniteError(f"rendering diverged: the images hold NaN or infinite values at step {step}")


class _ForwardDone(Exception):
    """Raised by a hook to end a forward pass once every needed layer has run."""


@contextmanager
def layer_outputs(model, layers):
    """Yield ``forward(images) -> {layer: output}``, a forward pass that stops after the last needed layer.

    The outputs keep their graph (for gradients) and are float32 even when the forward pass ran under
    bf16 autocast, so objectives are always computed in float32; every hook is removed on exit.

    Args:
        model (ModelWrapper): The network.
        layers (list[str]): Layer names or aliases.

    Yields:
        callable: ``forward(images) -> dict[str, torch.Tensor]``.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> with layer_outputs(model, ["conv1"]) as forward:
        ...     forward(torch.rand(1, 3, 32, 32))["conv1"].shape
        torch.Size([1, 8, 32, 32])
    """
    layers = list(dict.fromkeys(layers))
    with capture(model, layers, detach=False) as outputs:
        def stop_when_complete(_module, _inputs, _output):
            if len(outputs) == len(layers):
                raise _ForwardDone

        handles = [model.module(layer).register_forward_hook(stop_when_complete) for layer in layers]

        def forward(images):
            outputs.clear()
            try:
                model(images)
            except _ForwardDone:
                pass
            return {layer: output.float() for layer, output in outputs.items()}

        try:
            yield forward
        finally:
            for handle in handles:
                handle.remove()


@contextmanager
def channels_last(model):
    """Hold the 4-D weights of ``model`` in channels-last memory order for the block, then restore them.

    Only the memory layout changes, never a value; weights that were not contiguous are left alone.

    Example:
        >>> conv = torch.nn.Conv2d(3, 4, 3)
        >>> with channels_last(conv):
        ...     conv.weight.is_contiguous(memory_format=torch.channels_last)
        True
        >>> conv.weight.is_contiguous()
        True
    """
    weights = [p for p in model.parameters() if p.dim() == 4 and p.is_contiguous()]
    for weight in weights:
        weight.data = weight.data.contiguous(memory_format=torch.channels_last)
    try:
        yield
    finally:
        for weight in weights:
            weight.data = weight.data.contiguous()


@contextmanager
def shared_bar(progress, steps):
    """Yield ``progress`` itself when it is a progress bar (so nested loops share one), else a new bar of ``steps``.

    Example:
        >>> with shared_bar(False, 3) as bar:
        ...     bar.update(1)
    """
    if isinstance(progress, Bar):
        yield progress
        return
    bar = progress_bar(total=steps, disable=not progress, desc="render", leave=False)
    try:
        yield bar
    finally:
        bar.close()
