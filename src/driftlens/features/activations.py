"""A layer's activation vectors at every spatial position, the crosscoder's input, and their scaling.

A feature map ``(C, h, w)`` gives ``h w`` vectors of ``C`` channels. Training vectors are a fixed random subset
of the training images' positions, the same positions at every checkpoint (a crosscoder needs each position
seen by every checkpoint); the probe images keep every position, so that exemplars can say where a latent fires.

Example:
    >>> import torch, driftlens
    >>> model = driftlens.models.load("tiny", weights="random")
    >>> maps = layer_maps(model, [torch.rand(2, 3, 32, 32)], ["conv3"], progress=False)
    >>> maps["conv3"].shape
    (2, 8, 8, 16)
"""

import numpy as np
import torch

from driftlens.change.responses import batch_activations


@torch.inference_mode()
def layer_maps(model, batches, layers, progress: bool = True, total: int | None = None) -> dict[str, np.ndarray]:
    """Every position's activation vector of some layers, for batches of images, in float32.

    Args:
        model (ModelWrapper): The network; it runs on its own device, in eval mode.
        batches (iterable of torch.Tensor): ``(B, 3, S, S)`` images in [0, 1].
        layers (list[str]): Layer names or aliases.
        progress (bool, optional): Show a progress bar over batches. Default: True
        total (int, optional): How many batches, for the progress bar. Default: None

    Returns:
        dict[str, np.ndarray]: Layer to ``(N, h, w, C)`` activations (channels last).

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> layer_maps(model, [torch.rand(1, 3, 32, 32)] * 2, ["conv2"], progress=False)["conv2"].shape
        (2, 16, 16, 16)
    """
    parts = {layer: [] for layer in layers}
    for outputs in batch_activations(model, batches, layers, progress=progress, total=total, desc="activations"):
        for layer in layers:
            parts[layer].append(outputs[layer].float().permute(0, 2, 3, 1).cpu().numpy())
    return {layer: np.concatenate(chunks) for layer, chunks in parts.items()}


def sample_positions(images: int, height: int, width: int, count: int, seed: int = 0) -> np.ndarray:
    """``(n, 3)`` (image, row, column) of ``n = min(count, images h w)`` positions, drawn without replacement.

    The same arguments give the same positions, sorted, so every checkpoint is read at the same places.

    Example:
        >>> sample_positions(2, 2, 2, 3, seed=0).shape
        (3, 3)
        >>> sample_positions(2, 2, 2, 100).shape
        (8, 3)
    """
    total = images * height * width
    chosen = np.arange(total) if count >= total else np.sort(
        np.random.default_rng(seed).choice(total, size=count, replace=False))
    return np.stack(np.unravel_index(chosen, (images, height, width)), axis=1)


def scale_factors(vectors: torch.Tensor) -> torch.Tensor:
    """Per checkpoint, the factor that makes the mean vector norm ``sqrt(d)``: ``(N, M, d) -> (M,)``.

    Checkpoints whose activations grew or shrank in fine-tuning then weigh the same in the loss, and a decoder
    norm compares across checkpoints (Lindsey et al. 2024 scale each model's activations alike).

    Example:
        >>> x = torch.ones(4, 2, 9); x[:, 1] *= 10
        >>> [round(v, 4) for v in scale_factors(x).tolist()]
        [1.0, 0.1]
    """
    return vectors.shape[2] ** 0.5 / vectors.norm(dim=2).mean(dim=0).clamp_min(1e-12)


def training_and_probe_vectors(model, train_batches, probe, layers, max_vectors: int, seed: int = 0, batch_size: int = 32,
                               progress: bool = True, total: int | None = None) -> dict:
    """Each layer's vectors at sampled training positions, those positions, and its probe maps: one checkpoint's input.

    Args:
        model (ModelWrapper): The checkpoint's network.
        train_batches (iterable of torch.Tensor): The training images, ``(B, 3, S, S)`` batches.
        probe (torch.Tensor): ``(n, 3, S, S)`` probe images.
        layers (list[str]): Layer names or aliases.
        max_vectors (int): Most training positions (:func:`sample_positions`, the same for every checkpoint).
        seed (int, optional): Seed of the positions. Default: 0
        batch_size (int, optional): Probe images per forward pass. Default: 32
        progress (bool, optional): A progress bar over the training batches. Default: True
        total (int, optional): How many training batches, for the bar. Default: None

    Returns:
        dict: ``{"train": {layer: (N, d)}, "positions": {layer: (N, 3)}, "probe": {layer: (n, h, w, d)}}``.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> found = training_and_probe_vectors(model, [torch.rand(2, 3, 32, 32)], torch.rand(1, 3, 32, 32),
        ...                                    ["conv3"], max_vectors=10, progress=False)
        >>> found["train"]["conv3"].shape, found["probe"]["conv3"].shape
        ((10, 16), (1, 8, 8, 16))
    """
    train = layer_maps(model, train_batches, layers, progress, total=total)
    positions = {layer: sample_positions(*train[layer].shape[:3], max_vectors, seed) for layer in layers}
    return {"train": {layer: train[layer][tuple(positions[layer].T)] for layer in layers}, "positions": positions,
            "probe": layer_maps(model, probe.split(batch_size), layers, progress=False)}
