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
    with eval_mode(model), capture(model, list(units)) as outputs:
        for start in range(0, len(tensor), batch_size):
            model(tensor[start:start + batch_size].to(model.device))
            for layer, channels in units.items():
                means[layer].append(channel_means(outputs[layer])[:, channels].double().cpu())
    return {layer: torch.cat(parts).numpy() for layer, parts in means.items()}
