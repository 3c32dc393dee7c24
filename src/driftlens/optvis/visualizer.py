"""High-level APIs: a row of channel visualisations, the most active channels, and the seed scripts' API.

Example:
    >>> import driftlens
    >>> model = driftlens.models.load("tiny", weights="random")
    >>> visualize_channels(model, "conv3", [0, 4], size=32, steps=4, progress=False).shape
    (2, 32, 32, 3)
"""

import numpy as np
import torch
from PIL import Image

from driftlens.errors import ConfigError
from driftlens.io import atomic_path, to_uint8
from driftlens.models import channel_means, eval_mode
from driftlens.models.wrapper import check_top_k
from driftlens.optvis.methods import visualize
from driftlens.optvis.objectives import channel
from driftlens.optvis.render import layer_outputs
from driftlens.progress import bar as progress_bar
from driftlens.schemas.channels import parse_channel_spec


def visualize_channels(model, layer: str, channels, method: str = "lucid", steps: int = 512, size: int = 128,
                       seed: int = 0, progress=True, **options) -> np.ndarray:
    """Visualise channels of one layer in ONE batched optimisation: image ``k`` maximises ``channels[k]``.

    The objective of image ``k`` is the mean of channel ``channels[k]``'s feature map (for a flat layer,
    output ``channels[k]``, e.g. a class logit). Layer and channels are checked before anything runs.
    Runs on the model's device (on a GPU with native bf16, in bf16 autocast unless ``precision="fp32"``: see
    :mod:`driftlens.precision`); on the CPU the same call gives identical arrays every time.

    Args:
        model (ModelWrapper): The network.
        layer (str): Layer name or alias.
        channels (list[int]): Channels to visualise.
        method (str, optional): ``lucid``, ``maco``, ``yosinski`` or ``erhan``. Default: "lucid"
        steps (int, optional): Optimisation steps. Default: 512
        size (int, optional): Side of the images. Default: 128
        seed (int, optional): Random seed. Default: 0
        progress (bool, optional): Show a progress bar. Default: True
        **options: Further keyword arguments of the method (e.g. ``spectrum=`` for ``maco``).

    Returns:
        np.ndarray: ``(len(channels), size, size, 3)`` float32 in [0, 1].

    Raises:
        UnknownLayerError: Unknown layer (the message lists close names).
        IndexError: A channel out of range (the message names the layer and its channel count).
        ValueError: No channels, or an unknown method.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> visualize_channels(model, "logits", [3], size=32, steps=2, progress=False).dtype
        dtype('float32')
    """
    objectives = [channel(layer, n) for n in channels]
    return visualize(model, objectives, method=method, size=size, steps=steps, seed=seed, progress=progress,
                     **options).images


def visualize_units(model, units: dict, seeds, method: str = "lucid", steps: int = 512, size: int = 128,
                    seed: int = 0, max_batch: int | None = None, progress=True, starts: dict | None = None,
                    **options) -> dict:
    """Visualise the channels of several layers, each with several seeds, in one batched optimisation.

    Image ``(s, layer, k)`` maximises channel ``units[layer][k]`` from initialisation seed ``seeds[s]``;
    every image serves its own objective, and one forward pass per step, up to the deepest layer,
    serves the whole batch. The random transforms use ``seed``. Batches larger than ``max_batch`` are
    split into chunks of at most that many images; an image's result does not depend on its chunk
    (up to float rounding), so the chunk size only bounds memory.

    Args:
        model (ModelWrapper): The network; its device is used.
        units (dict[str, list[int]]): Layer to the channels to visualise.
        seeds (list[int]): Initialisation seeds; each unit is rendered once per seed.
        method (str, optional): A key of :data:`~driftlens.optvis.METHODS`. Default: "lucid"
        steps (int, optional): Optimisation steps. Default: 512
        size (int, optional): Side of the images. Default: 128
        seed (int, optional): Seed of the random transforms. Default: 0
        max_batch (int, optional): Most images in one optimisation. Default: :func:`batch_limit`
        progress (bool, optional): Show a progress bar. Default: True
        starts (dict[str, np.ndarray], optional): A warm start: layer to ``(len(seeds), len(channels), size,
            size, 3)`` images (an earlier render row of the same units and seeds); image ``(s, layer, k)``
            continues from ``starts[layer][s, k]``. Default: None (every image starts from its seed's noise)
        **options: Further keyword arguments of the method (e.g. ``spectrum=`` for maco).

    Returns:
        dict[str, np.ndarray]: Layer to ``(len(seeds), len(channels), size, size, 3)`` float32 in [0, 1].

    Raises:
        ConfigError: No units, no seeds, repeated seeds, or starts that do not match the units.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> rows = visualize_units(model, {"conv2": [0, 1], "conv3": [4]}, seeds=[0, 1], size=32, steps=2,
        ...                        progress=False)
        >>> rows["conv2"].shape, rows["conv3"].shape
        ((2, 2, 32, 32, 3), (2, 1, 32, 32, 3))
    """
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds must be distinct and at least one, got {seeds}")
    images = [(s, layer, k) for s in range(len(seeds)) for layer, channels in units.items() for k in range(len(channels))]
    if not images:
        raise ConfigError("no units to visualise")
    max_batch = max_batch or batch_limit(model, size)
    chunks = [images[start:start + max_batch] for start in range(0, len(images), max_batch)]
    rows = {layer: np.empty((len(seeds), len(channels), size, size, 3), np.float32) for layer, channels in units.items()}
    if starts is not None:
        _check_starts(starts, rows)
    with progress_bar(total=steps * len(chunks), desc="render", disable=not progress, leave=False) as bar:
        for chunk in chunks:
            start = None if starts is None else np.stack([starts[layer][s, k] for s, layer, k in chunk])
            result = visualize(model, [channel(layer, units[layer][k]) for _, layer, k in chunk], method=method,
                               size=size, steps=steps, seed=seed, image_seeds=[seeds[s] for s, _, _ in chunk],
                               progress=bar, start=start, **options)
            for (s, layer, k), image in zip(chunk, result.images):
                rows[layer][s, k] = image
    return rows


def _check_starts(starts: dict, rows: dict) -> None:
    for layer, row in rows.items():
        if layer not in starts or starts[layer].shape != row.shape:
            found = starts[layer].shape if layer in starts else "nothing"
            raise ConfigError(f"warm start for {layer}: expected images of shape {row.shape}, got {found}")


def batch_limit(model, size: int, cpu_limit: int = 64, memory_share: float = 0.5) -> int:
    """How many images of side ``size`` one optimisation may hold on the model's device.

    On the CPU at most ``cpu_limit`` (larger batches gain no speed there and only cost memory). On a
    GPU, the free memory times ``memory_share`` divided by a per-image estimate: 64 bytes per input
    pixel per million parameters of the model, floored at 16 images (a conservative reading of
    Lite0's measured use, about 30 MB per 128 px image for forward and backward).

    Example:
        >>> import driftlens
        >>> batch_limit(driftlens.models.load("tiny", weights="random"), 32)
        64
    """
    if model.device.type != "cuda":
        return cpu_limit
    free, _ = torch.cuda.mem_get_info(model.device)
    parameters = sum(p.numel() for p in model.parameters()) / 1e6
    per_image = 64 * size * size * max(parameters, 1.0)
    return max(16, int(free * memory_share // per_image))


def select_channels(model, layer: str, spec: str, images=None) -> list[int]:
    """Turn a channel spec, ``"0,1,2"`` or ``"top_k:K"``, into channel indices that exist in ``layer``.

    Args:
        model (ModelWrapper): The network.
        layer (str): Layer name or alias.
        spec (str): Comma-separated indices, or ``top_k:K``: the K channels with the highest mean
            activation on ``images`` (see :func:`top_channels`).
        images (torch.Tensor, optional): ``(B, 3, H, W)`` in [0, 1]; required for ``top_k``. Default: None

    Returns:
        list[int]: Channel indices.

    Raises:
        UnknownLayerError: Unknown layer.
        OutOfRangeError: A channel the layer does not have.
        ConfigError: A spec that is neither form, or ``top_k`` without images.

    Example:
        >>> import driftlens
        >>> tiny = driftlens.models.load("tiny", weights="random")
        >>> select_channels(tiny, "conv2", "0,3"), len(select_channels(tiny, "conv2", "top_k:2", torch.rand(2, 3, 32, 32)))
        ([0, 3], 2)
    """
    chosen = parse_channel_spec(spec)
    if isinstance(chosen, list):
        for index in chosen:
            model.check_channel(layer, index)
        return chosen
    if "top_k" not in chosen:
        raise ConfigError(f"select_channels takes a list or top_k:K, not {spec!r} (most_changed reads a screen)")
    if images is None:
        raise ConfigError("channels top_k needs probe images")
    return top_channels(model, layer, images, chosen["top_k"])


@torch.no_grad()
def top_channels(model, layer: str, images, k: int) -> list[int]:
    """The ``k`` channels of ``layer`` with the highest mean activation over ``images``.

    Args:
        model (ModelWrapper): The network.
        layer (str): Layer name or alias.
        images (torch.Tensor or iterable of torch.Tensor): ``(B, 3, H, W)`` (or one ``(3, H, W)``) in
            [0, 1], or an iterable of such batches (e.g. from a data loader).
        k (int): How many channels.

    Returns:
        list[int]: Channel indices, most active first.

    Raises:
        UnknownLayerError: Unknown layer.
        ValueError: ``k`` is not between 1 and the layer's channel count, or there are no images.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> len(top_channels(model, "conv3", torch.rand(4, 3, 32, 32), k=3))
        3
    """
    model.resolve(layer)
    batches = [images] if torch.is_tensor(images) else images
    total, count = None, 0
    with eval_mode(model), layer_outputs(model, [layer]) as forward:
        for batch in batches:
            batch = batch[None] if batch.dim() == 3 else batch
            means = channel_means(forward(batch.to(model.device))[layer])
            total = means.sum(dim=0) if total is None else total + means.sum(dim=0)
            count += len(means)
    if total is None:
        raise ConfigError("top_channels got no images")
    check_top_k(layer, total.numel(), k)
    return torch.topk(total / count, k).indices.tolist()


def save_gif(frames, path, duration_ms: int = 100) -> None:
    """Write frames as a looping animated GIF, atomically.

    Args:
        frames (np.ndarray or list[np.ndarray]): ``(N, H, W, 3)`` floats in [0, 1].
        path (str or Path): The ``.gif`` file.
        duration_ms (int, optional): Display time of each frame. Default: 100

    Example:
        >>> import tempfile, os
        >>> save_gif(np.zeros((2, 4, 4, 3)), os.path.join(tempfile.mkdtemp(), "a.gif"))
    """
    images = [Image.fromarray(to_uint8(frame)) for frame in frames]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0)


class FeatureVisualizer:
    """The seed scripts' API: ``FeatureVisualizer(model)(act_idx=309)`` returns a PIL image.

    Without a layer the target is the classifier's output ``act_idx`` (a class); for a volume layer
    it is the mean of channel ``act_idx``'s feature map.

    Args:
        model (ModelWrapper): The network.
        layer (str, optional): Default layer. Default: "logits"
        method (str, optional): ``lucid``, ``maco``, ``yosinski`` or ``erhan``. Default: "lucid"
        size (int, optional): Side of the images. Default: 128
        steps (int, optional): Optimisation steps. Default: 512
        seed (int, optional): Random seed. Default: 0
        progress (bool, optional): Show a progress bar. Default: True

    Example:
        >>> import driftlens
        >>> visualizer = FeatureVisualizer(driftlens.models.load("tiny", weights="random"), size=32, steps=2,
        ...                                progress=False)
        >>> visualizer(act_idx=3).size
        (32, 32)
    """

    def __init__(self, model, layer: str = "logits", method: str = "lucid", size: int = 128, steps: int = 512,
                 seed: int = 0, progress=True):
        self.model = model
        self.layer = layer
        self.settings = dict(method=method, size=size, steps=steps, seed=seed, progress=progress)

    def __call__(self, act_idx: int, layer: str | None = None) -> Image.Image:
        """Visualise unit/channel ``act_idx`` of ``layer`` (default: the visualizer's layer)."""
        return _first_image(self._render(act_idx, layer))

    def gif(self, act_idx: int, path, layer: str | None = None, frames: int = 16, duration_ms: int = 100) -> Image.Image:
        """Visualise like ``__call__`` and also write the optimisation's progress as an animated GIF.

        Args:
            act_idx (int): Unit or channel.
            path (str or Path): The ``.gif`` file.
            layer (str, optional): Default: the visualizer's layer
            frames (int, optional): Number of frames, evenly spaced over the steps. Default: 16
            duration_ms (int, optional): Display time of each frame. Default: 100

        Returns:
            PIL.Image.Image: The final image.

        Example:
            >>> import driftlens, tempfile, os
            >>> visualizer = FeatureVisualizer(driftlens.models.load("tiny", weights="random"), size=32,
            ...                                steps=4, progress=False)
            >>> visualizer.gif(1, os.path.join(tempfile.mkdtemp(), "p.gif"), frames=2).size
            (32, 32)
        """
        steps = self.settings["steps"]
        snapshot_steps = sorted({max(1, round(steps * (i + 1) / frames)) for i in range(frames)})
        result = self._render(act_idx, layer, snapshot_steps)
        save_gif([result.snapshots[step][0] for step in snapshot_steps], path, duration_ms)
        return _first_image(result)

    def _render(self, act_idx, layer, snapshot_steps=()):
        return visualize(self.model, [channel(layer or self.layer, act_idx)], snapshot_steps=snapshot_steps,
                         **self.settings)


def _first_image(result):
    return Image.fromarray(to_uint8(result.images[0]))
