"""Representation measures: linear CKA of a layer's probe activations and the relative change of its weights.

Linear CKA is debiased by default (:data:`DEFAULT_CKA_ESTIMATOR`): the biased estimator reads well above 0 on
unrelated features of a small probe set (about 0.2 with 8 features of 32 examples, 0.67 with 64), the debiased
one stays near 0.

Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(10, 4))
    >>> round(linear_cka(x, 2 * x), 6)
    1.0
"""

import math

import torch

from driftlens import models
from driftlens.change.responses import batch_activations
from driftlens.errors import ArtifactError, ConfigError

CKA_ESTIMATORS = ("debiased", "biased")
"""The estimators of linear CKA (:func:`gram_cka`): from the unbiased HSIC (Song et al., 2012) or the biased one."""

DEFAULT_CKA_ESTIMATOR = "debiased"
"""The estimator every CKA of driftlens uses unless told otherwise; ``representation/epoch_NNN.json`` records it."""


def linear_cka(x, y, estimator: str = DEFAULT_CKA_ESTIMATOR) -> float:
    """Linear centered kernel alignment of two representations of the same examples (Kornblith et al., 2019).

    Computed from the centered Gram matrices (:func:`gram_cka`), so the cost is ``O(n^2 d)`` and the memory
    ``O(n^2)`` for ``n`` examples: cheap for a probe set of a few hundred images with wide layers.

    Args:
        x (np.ndarray or torch.Tensor): ``(n, d1)`` features, one row per example.
        y (np.ndarray or torch.Tensor): ``(n, d2)`` features of the same examples.
        estimator (str, optional): ``"debiased"`` (needs ``n >= 4``) or ``"biased"``. Default: ``"debiased"``

    Returns:
        float: 1 when ``y`` is an orthogonal transform and isotropic scaling of ``x``; symmetric in ``x`` and
        ``y``; NaN when one side is constant across examples. Debiased: in [-1, 1], near 0 (either sign) for
        unrelated features. Biased: in [0, 1], and above 0 for unrelated features, the more the fewer examples.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(20, 5))
        >>> round(linear_cka(x, 3 * x), 6)
        1.0
    """
    x, y = _features(x, "x"), _features(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y must describe the same examples, got {len(x)} and {len(y)} rows")
    return gram_cka(centered_gram(x), centered_gram(y.to(x.device)), estimator)


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


def gram_cka(gram_x, gram_y, estimator: str = DEFAULT_CKA_ESTIMATOR) -> float:
    """Linear CKA from two Gram matrices ``K = X X^T``, ``L = Y Y^T`` of the same ``n`` examples, centered or not.

    ``"debiased"`` (the default) is ``HSIC_1(K, L) / sqrt(HSIC_1(K, K) HSIC_1(L, L))`` with the unbiased HSIC
    estimator of Song et al. (2012), "Feature selection via dependence maximization", JMLR 13, eq. 2, as
    Nguyen, Raghu & Kornblith (2021), "Do wide and deep networks learn the same things?", use it for CKA. With
    ``K~`` and ``L~`` the Gram matrices with their diagonals set to 0 and ``1`` the vector of ones:

        HSIC_1(K, L) = [tr(K~ L~) + (1^T K~ 1)(1^T L~ 1) / ((n-1)(n-2)) - 2/(n-2) 1^T K~ L~ 1] / (n(n-3))

    It needs ``n >= 4`` and centres by itself: centering the features adds ``a 1^T + 1 a^T + c 1 1^T`` to ``K``,
    which the formula cancels, so the centered Gram matrices of :func:`centered_gram` (what the probe-responses
    files hold) give the same value as ``X X^T``. Its value lies in [-1, 1] and is near 0, of either sign, for
    unrelated features. ``"biased"`` is the cosine of the doubly-centered ``HKH`` and ``HLH`` (Kornblith et al.,
    2019), in [0, 1]; on unrelated features at ``n = 32`` it reads about 0.2 with 8 features, 0.67 with 64.

    Args:
        gram_x (np.ndarray or torch.Tensor): ``(n, n)`` Gram matrix of one representation.
        gram_y (np.ndarray or torch.Tensor): ``(n, n)`` Gram matrix of the other, same examples in the same order.
        estimator (str, optional): One of :data:`CKA_ESTIMATORS`. Default: :data:`DEFAULT_CKA_ESTIMATOR`

    Returns:
        float: Linear CKA; NaN when one representation is constant across the examples.

    Raises:
        ValueError: An unknown estimator, Gram matrices that are not square and of one size, or ``n < 4`` for the
            debiased estimator.

    Example:
        >>> gram = centered_gram(torch.randn(6, 3))
        >>> round(gram_cka(gram, 4 * gram), 6), round(gram_cka(gram, 4 * gram, "biased"), 6)
        (1.0, 1.0)
    """
    if estimator not in CKA_ESTIMATORS:
        raise ValueError(f"unknown CKA estimator {estimator!r}: use one of {', '.join(CKA_ESTIMATORS)}")
    gram_x, gram_y = torch.as_tensor(gram_x).double(), torch.as_tensor(gram_y).double()
    n = len(gram_x)
    if gram_x.dim() != 2 or gram_x.shape != (n, n) or gram_y.shape != gram_x.shape:
        raise ValueError(f"Gram matrices must be square and of one size, got {tuple(gram_x.shape)} and "
                         f"{tuple(gram_y.shape)}")
    if estimator == "biased":
        gram_x, gram_y = _double_centered(gram_x), _double_centered(gram_y.to(gram_x.device))
        return float((gram_x * gram_y).sum() / (gram_x.norm() * gram_y.norm()))
    if n < 4:
        raise ValueError(f"the debiased CKA needs at least 4 examples, got {n}")
    gram_x, gram_y = _zero_diagonal(gram_x), _zero_diagonal(gram_y.to(gram_x.device))
    return float(_hsic_1(gram_x, gram_y) / (_hsic_1(gram_x, gram_x) * _hsic_1(gram_y, gram_y)).sqrt())


def _double_centered(gram):
    """``H K H`` with ``H = I - 11^T / n``: no change to a centered Gram matrix."""
    gram = gram - gram.mean(dim=0, keepdim=True)
    return gram - gram.mean(dim=1, keepdim=True)


def _zero_diagonal(gram):
    return gram - torch.diag(torch.diagonal(gram))


def _hsic_1(k, l):
    """Song et al. (2012)'s unbiased HSIC of two Gram matrices with zero diagonals (:func:`gram_cka`)."""
    n = len(k)
    trace = (k * l.T).sum()
    sums = k.sum() * l.sum() / ((n - 1) * (n - 2))
    cross = k.sum(dim=0) @ l.sum(dim=1)
    return (trace + sums - 2 * cross / (n - 2)) / (n * (n - 3))


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
    linear CKA between checkpoints (:func:`gram_cka`, either estimator) without keeping any activations.

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
    for activations in batch_activations(model, images, layers, batch_size, progress):
        for layer in layers:
            means[layer].append(models.channel_means(activations[layer]).double().cpu())
            features[layer].append(activations[layer].flatten(1).float().cpu())
    return {"responses": {layer: torch.cat(parts).numpy() for layer, parts in means.items()},
            "grams": {layer: centered_gram(torch.cat(parts)).numpy() for layer, parts in features.items()}}


def representation_change(first, model, first_grams: dict, grams: dict,
                          estimator: str = DEFAULT_CKA_ESTIMATOR) -> dict:
    """Linear CKA of each layer's probe-set activations to the first model's, and its relative weight change.

    Args:
        first (ModelWrapper): The model at epoch 0.
        model (ModelWrapper): The model at a later epoch (same architecture).
        first_grams (dict[str, np.ndarray]): Layer to the first model's centered Gram matrix (:func:`probe_pass`).
        grams (dict[str, np.ndarray]): The later model's, same layers and probe images.
        estimator (str, optional): The CKA estimator (:func:`gram_cka`). Default: :data:`DEFAULT_CKA_ESTIMATOR`

    Returns:
        dict: ``{"cka": {layer: float}, "weight_change": {layer: float}, "estimator": str}``, as
        :func:`driftlens.artifacts.write_representation` writes it.

    Example:
        >>> a = models.load("tiny", weights="random", seed=0); b = models.load("tiny", weights="random", seed=1)
        >>> images = torch.rand(8, 3, 32, 32)
        >>> grams = [probe_pass(m, images, ["conv2"], progress=False)["grams"] for m in (a, b)]
        >>> change = representation_change(a, b, *grams)
        >>> sorted(change), change["estimator"], 0 < change["weight_change"]["conv2"]
        (['cka', 'estimator', 'weight_change'], 'debiased', True)
    """
    paths = {layer: model.resolve(layer) for layer in grams}
    changes = weight_change(dict(first.net.named_parameters()), dict(model.net.named_parameters()), paths.values())
    return {"cka": {layer: gram_cka(first_grams[layer], gram, estimator) for layer, gram in grams.items()},
            "weight_change": {layer: changes[path] for layer, path in paths.items()}, "estimator": estimator}
