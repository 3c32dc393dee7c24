"""Unit responses: each channel's spatially averaged activation, the quantity every change measure compares.

Example:
    >>> import numpy as np, driftlens
    >>> model = driftlens.models.load("tiny", weights="random")
    >>> layer_responses(model, np.random.rand(2, 32, 32, 3), {"conv2": [0]})["conv2"].shape
    (2, 1)
"""

import numpy as np
import torch

from driftlens.models import capture, channel_means, eval_mode
from driftlens.progress import bar as progress_bar


def batch_activations(model, images, layers, batch_size: int = 32, progress: bool = False, total: int | None = None,
                      desc: str = "probe"):
    """The one forward loop over an image set: yields each batch's activations of ``layers``.

    The model runs on its device, in eval mode, on channels-last batches (the fast layout for convolutions);
    the yielded dict is refilled at every batch, so read it before asking for the next.

    Args:
        model (ModelWrapper): The network.
        images (torch.Tensor or iterable): ``(N, 3, H, W)`` in [0, 1], cut into batches of ``batch_size``; or
            an iterable of such batches (a data loader).
        layers (list[str]): Layer names or aliases.
        batch_size (int, optional): Images per forward pass of a tensor. Default: 32
        progress (bool, optional): Show a progress bar over batches. Default: False
        total (int, optional): How many batches an iterable holds, for the bar. Default: None
        desc (str, optional): The bar's label. Default: "probe"

    Yields:
        dict[str, torch.Tensor]: Layer to the batch's activations.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> [tuple(a["conv3"].shape) for a in batch_activations(model, torch.rand(5, 3, 32, 32), ["conv3"], 4)]
        [(4, 16, 8, 8), (1, 16, 8, 8)]
    """
    batches = images
    if torch.is_tensor(images):
        starts = range(0, len(images), batch_size)
        batches, total = (images[start:start + batch_size] for start in starts), len(starts)
    with eval_mode(model), capture(model, list(layers)) as outputs:
        for batch in progress_bar(batches, total=total, desc=desc, unit="batch", disable=not progress):
            model(batch.to(model.device).contiguous(memory_format=torch.channels_last))
            yield outputs


def unit_responses(model, images, layer: str, channels, batch_size: int = 32) -> np.ndarray:
    """Each channel's spatially averaged response to images: ``responses[..., k]`` is channel ``channels[k]``.

    Args:
        model (ModelWrapper): The network (runs on its device, in eval mode).
        images (np.ndarray): ``(N, H, W, 3)`` in [0, 1] (every channel sees every image), or
            ``(S, C, H, W, 3)`` with ``C = len(channels)`` (channel ``k`` sees only ``images[:, k]``:
            its own visualisations).
        layer (str): Layer name or alias.
        channels (list[int]): The channels.
        batch_size (int, optional): Images per forward pass. Default: 32

    Returns:
        np.ndarray: ``(N, C)`` or ``(S, C)`` float64.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> unit_responses(model, np.random.rand(4, 32, 32, 3), "conv2", [0, 3]).shape
        (4, 2)
        >>> unit_responses(model, np.random.rand(3, 2, 32, 32, 3), "conv2", [0, 3]).shape
        (3, 2)
    """
    images = np.asarray(images, dtype=np.float32)
    flat = images.reshape(-1, *images.shape[-3:])
    responses = layer_responses(model, flat, {layer: channels}, batch_size)[layer]
    if images.ndim == 4:
        return responses
    responses = responses.reshape(images.shape[0], images.shape[1], len(channels))
    return np.stack([responses[:, k, k] for k in range(len(channels))], axis=1)


@torch.inference_mode()
def layer_responses(model, images, units: dict, batch_size: int = 32) -> dict:
    """Every unit's spatially averaged response to every image, for several layers in one forward pass per batch.

    Args:
        model (ModelWrapper): The network (runs on its device, in eval mode).
        images (np.ndarray): ``(N, H, W, 3)`` in [0, 1].
        units (dict[str, list[int]]): Layer to its channels.
        batch_size (int, optional): Images per forward pass. Default: 32

    Returns:
        dict[str, np.ndarray]: Layer to ``(N, len(channels))`` float64.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> {layer: r.shape for layer, r in layer_responses(model, np.random.rand(4, 32, 32, 3),
        ...                                                 {"conv2": [0, 3], "conv3": [1]}).items()}
        {'conv2': (4, 2), 'conv3': (4, 1)}
    """
    tensor = torch.from_numpy(np.asarray(images, dtype=np.float32)).permute(0, 3, 1, 2)
    means = {layer: [] for layer in units}
    for outputs in batch_activations(model, tensor, list(units), batch_size):
        for layer, channels in units.items():
            means[layer].append(channel_means(outputs[layer])[:, channels].double().cpu())
    return {layer: torch.cat(parts).numpy() for layer, parts in means.items()}


def render_responses(first, model, first_renders, renders, layer: str, channels) -> dict:
    """The responses to renders that the render evidence compares at one epoch
    (:func:`driftlens.change.cross_activation_samples`): each model on its own and the other's renders.

    Args:
        first (ModelWrapper): The reference model (epoch 0).
        model (ModelWrapper): The model at this epoch (``first`` itself at epoch 0).
        first_renders (np.ndarray): ``(S, C, H, W, 3)`` the reference model's renders of ``channels``.
        renders (np.ndarray): This model's renders of the same channels and seeds.
        layer (str): The layer.
        channels (list[int]): The rendered channels, in column order.

    Returns:
        dict: ``own`` (this model on its renders), ``cross`` (this model on the reference's renders) and ``reverse``
        (the reference model on this model's renders), each ``(S, C)``; at the reference epoch all three are ``own``.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> renders = np.random.rand(2, 1, 32, 32, 3)
        >>> measured = render_responses(model, model, renders, renders, "conv2", [5])
        >>> measured["own"].shape, measured["cross"] is measured["own"]
        ((2, 1), True)
    """
    own = unit_responses(model, renders, layer, channels)
    if model is first and renders is first_renders:
        return {"own": own, "cross": own, "reverse": own}
    return {"own": own, "cross": unit_responses(model, first_renders, layer, channels),
            "reverse": unit_responses(first, renders, layer, channels)}
