"""Representation measures: linear CKA of a layer's probe activations and the relative change of its weights.

Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(10, 4))
    >>> round(linear_cka(x, 2 * x), 6)
    1.0
"""

import math

import torch

from driftlens import models
from driftlens.errors import ArtifactError, ConfigError
from driftlens.progress import bar as progress_bar


def linear_cka(x, y) -> float:
    """Linear centered kernel alignment of two representations of the same examples (Kornblith et al., 2019).

    Computed from the centered Gram matrices, so the cost is ``O(n^2 d)`` and the memory ``O(n^2)``
    for ``n`` examples: cheap for a probe set of a few hundred images with wide layers.

    Args:
        x (np.ndarray or torch.Tensor): ``(n, d1)`` features, one row per example.
        y (np.ndarray or torch.Tensor): ``(n, d2)`` features of the same examples.

    Returns:
        float: In [0, 1]; 1 when ``y`` is an orthogonal transform and isotropic scaling of ``x``;
        symmetric in ``x`` and ``y``. NaN when one side is constant across examples.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(20, 5))
        >>> round(linear_cka(x, 3 * x), 6)
        1.0
    """
    x, y = _features(x, "x"), _features(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y must describe the same examples, got {len(x)} and {len(y)} rows")
    return gram_cka(centered_gram(x), centered_gram(y.to(x.device)))


def _features(array, name):
    tensor = torch.as_tensor(array)
    if tensor.dim() != 2:
        raise ValueError(f"{name} must be (examples, features), got shape {tuple(tensor.shape)}")
    return tensor.double()


def centered_gram(features, chunk: int = 16384) -> torch.Tensor:
    """The centered Gram matrix ``X_c X_c^T`` of ``(n, d)`` features, in float64, ``chunk`` features at a time.

    Example:
        >>> centered_gram(torch.tensor([[1.0, 0.0], [3.0, 0.0]])).tolist()
        [[1.0, -1.0], [-1.0, 1.0]]
    """
    gram = torch.zeros(len(features), len(features), dtype=torch.float64, device=features.device)
    for start in range(0, features.shape[1], chunk):
        part = features[:, start:start + chunk].double()
        part = part - part.mean(dim=0, keepdim=True)
        gram += part @ part.T
    return gram


def gram_cka(gram_x, gram_y) -> float:
    """Linear CKA from two centered Gram matrices of the same examples (:func:`centered_gram`).

    Example:
        >>> gram = centered_gram(torch.randn(6, 3))
        >>> round(gram_cka(gram, 4 * gram), 6)
        1.0
    """
    gram_x, gram_y = torch.as_tensor(gram_x).double(), torch.as_tensor(gram_y).double()
    return float((gram_x * gram_y).sum() / (gram_x.norm() * gram_y.norm()))


def weight_change(state_a, state_b, layers) -> dict[str, float]:
    """Relative change ``||W_b - W_a|| / ||W_a||`` of all the weights under each layer's module path.

    The norm is the Frobenius norm over every tensor whose name is the path or starts with
    ``path.``, taken together. Integer tensors (batch-norm counters) are left out; pass
    ``dict(net.named_parameters())`` to leave out buffers such as batch-norm statistics too.

    Args:
        state_a (dict[str, torch.Tensor]): The reference weights (epoch 0), name to tensor.
        state_b (dict[str, torch.Tensor]): The later weights, same names and shapes.
        layers (list[str]): Module paths (``inception4c``, ``blocks.3``).

    Returns:
        dict[str, float]: Module path to relative change; 0 when nothing changed.

    Raises:
        ValueError: A path with no weights under it, or a tensor missing or of another shape in
            ``state_b``.

    Example:
        >>> a = {"conv.weight": torch.ones(2, 2), "fc.weight": torch.ones(3)}
        >>> b = {"conv.weight": 2 * torch.ones(2, 2), "fc.weight": torch.ones(3)}
        >>> weight_change(a, b, ["conv", "fc"])
        {'conv': 1.0, 'fc': 0.0}
    """
    changes = {}
    for layer in layers:
        names = [name for name, tensor in state_a.items()
                 if (name == layer or name.startswith(layer + ".")) and tensor.is_floating_point()]
        if not names:
            raise ConfigError(f"no weights under layer {layer!r}")
        difference = reference = 0.0
        for name in names:
            a, b = state_a[name].detach().double().cpu(), _matching(state_b, name, state_a[name].shape)
            difference += float((b - a).square().sum())
            reference += float(a.square().sum())
        changes[layer] = math.sqrt(difference / reference) if reference else (math.inf if difference else 0.0)
    return changes


def _matching(state, name, shape):
    if name not in state:
        raise ArtifactError(f"weight {name!r} is missing from the second state")
    if state[name].shape != shape:
        raise ArtifactError(f"weight {name!r} has shape {tuple(state[name].shape)}, expected {tuple(shape)}")
    return state[name].detach().double().cpu()


@torch.inference_mode()
def probe_pass(model, images, layers, batch_size: int = 32, progress: bool = True) -> dict:
    """One forward pass over the probe set: every channel's response and each layer's centered Gram matrix.

    The responses (spatial means of every channel) feed the change screen; the Gram matrices give
    linear CKA between checkpoints (:func:`gram_cka`) without keeping any activations.

    Args:
        model (ModelWrapper): The network; it runs on its own device, in eval mode.
        images (torch.Tensor): ``(n, 3, S, S)`` images in [0, 1].
        layers (list[str]): Layer names or aliases.
        batch_size (int, optional): Images per forward pass. Default: 32
        progress (bool, optional): Show a progress bar over batches. Default: True

    Returns:
        dict: ``{"responses": {layer: (n, C) array}, "grams": {layer: (n, n) array}}``, float64.

    Example:
        >>> model = models.load("tiny", weights="random")
        >>> measured = probe_pass(model, torch.rand(4, 3, 32, 32), ["conv3"], progress=False)
        >>> measured["responses"]["conv3"].shape, measured["grams"]["conv3"].shape
        ((4, 16), (4, 4))
    """
    means, features = {layer: [] for layer in layers}, {layer: [] for layer in layers}
    with models.eval_mode(model), models.capture(model, layers) as activations:
        starts = range(0, len(images), batch_size)
        for start in progress_bar(starts, desc="probe", unit="batch", disable=not progress):
            batch = images[start:start + batch_size].to(model.device)
            model(batch.contiguous(memory_format=torch.channels_last))  # the fast layout for convolutions
            for layer in layers:
                means[layer].append(models.channel_means(activations[layer]).double().cpu())
                features[layer].append(activations[layer].flatten(1).float().cpu())
    return {"responses": {layer: torch.cat(parts).numpy() for layer, parts in means.items()},
            "grams": {layer: centered_gram(torch.cat(parts)).numpy() for layer, parts in features.items()}}


def representation_change(first, model, first_grams: dict, grams: dict) -> dict:
    """Linear CKA of each layer's probe-set activations to the first model's, and its relative weight change.

    Args:
        first (ModelWrapper): The model at epoch 0.
        model (ModelWrapper): The model at a later epoch (same architecture).
        first_grams (dict[str, np.ndarray]): Layer to the first model's centered Gram matrix (:func:`probe_pass`).
        grams (dict[str, np.ndarray]): The later model's, same layers and probe images.

    Returns:
        dict: ``{"cka": {layer: float}, "weight_change": {layer: float}}``.

    Example:
        >>> a = models.load("tiny", weights="random", seed=0); b = models.load("tiny", weights="random", seed=1)
        >>> images = torch.rand(8, 3, 32, 32)
        >>> grams = [probe_pass(m, images, ["conv2"], progress=False)["grams"] for m in (a, b)]
        >>> change = representation_change(a, b, *grams)
        >>> sorted(change), 0 < change["weight_change"]["conv2"]
        (['cka', 'weight_change'], True)
    """
    paths = {layer: model.resolve(layer) for layer in grams}
    changes = weight_change(dict(first.net.named_parameters()), dict(model.net.named_parameters()), paths.values())
    return {"cka": {layer: gram_cka(first_grams[layer], gram) for layer, gram in grams.items()},
            "weight_change": {layer: changes[path] for layer, path in paths.items()}}
