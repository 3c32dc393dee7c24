"""Change metrics between epochs: SSIM, perceptual distance, noise floor, linear CKA and weight change.

Pictures: each layer's visualisations at every epoch are compared with epoch 0's, seed by seed, by
SSIM and by a perceptual distance; pairs of seeds of the same checkpoint give the noise floor (pixel
metrics are reported, not judged: :mod:`driftlens.change` holds the semantic metrics and the verdict). Representations: the
activations of a fixed probe set are compared with epoch 0 by linear CKA, and the weights under each
layer by their relative change.

Example:
    >>> import numpy as np
    >>> a = np.random.default_rng(0).random((16, 16, 3))
    >>> ssim(a, a)
    1.0
"""

import functools
import math

import numpy as np
import torch
from skimage.metrics import structural_similarity
from driftlens.progress import bar as progress_bar

from driftlens import models
from driftlens.errors import ArtifactError, ConfigError
from driftlens.models.weights import WeightsUnavailableError, cache_file_for

LITE0_FEATURE_LAYERS = ("stem", "blocks.2", "blocks.4", "blocks.10", "blocks.15")
"""Lite0 layers whose features the fallback perceptual distance compares: one per resolution."""

def ssim(a, b) -> float:
    """Structural similarity of two RGB images in [0, 1] (scikit-image, ``data_range=1``).

    Args:
        a (np.ndarray): ``(H, W, 3)`` image, at least 7 pixels on each side.
        b (np.ndarray): Image of the same shape.

    Returns:
        float: 1 for identical images, lower the more they differ.

    Example:
        >>> a = np.zeros((8, 8, 3)); b = np.ones((8, 8, 3))
        >>> ssim(a, a), ssim(a, b) < 0.1
        (1.0, True)
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare images of shapes {a.shape} and {b.shape}")
    return float(structural_similarity(a, b, channel_axis=-1, data_range=1.0))


class PerceptualDistance:
    """Perceptual distance between images: LPIPS where it can run offline, else a Lite0 feature distance.

    ``lpips-alex`` is LPIPS (Zhang et al., 2018) with its AlexNet trunk; it is used when the ``lpips``
    package is installed (the ``lpips`` extra) and its trunk, torchvision's AlexNet weights, is already
    in torch's cache (``driftlens fetch EXPERIMENT`` puts it there; it is never downloaded here). Otherwise,
    ``lite0-feature-distance`` applies the LPIPS recipe without its learned weights to the offline
    ImageNet EfficientNet-Lite0: the features of :data:`LITE0_FEATURE_LAYERS` are unit-normalised
    along channels, their squared differences summed over channels, averaged over positions, then
    averaged over layers. The network is loaded once per process and device.

    Args:
        backend (str, optional): ``auto`` (LPIPS if available, else Lite0), ``lpips`` or ``lite0``.
            Default: "auto"
        device (str or torch.device, optional): Where to run. Default: cuda if available, else cpu
        batch_size (int, optional): Image pairs per forward pass. Default: 16

    Attributes:
        name (str): ``lpips-alex`` or ``lite0-feature-distance``.

    Raises:
        WeightsUnavailableError: ``backend="lpips"`` but LPIPS cannot be loaded offline.

    Example:
        >>> distance = PerceptualDistance(backend="lite0", device="cpu")
        >>> images = np.random.default_rng(0).random((2, 32, 32, 3))
        >>> distance.name, distance(images, images).tolist()
        ('lite0-feature-distance', [0.0, 0.0])
    """

    def __init__(self, backend: str = "auto", device=None, batch_size: int = 16):
        if backend not in ("auto", "lpips", "lite0"):
            raise ConfigError(f"unknown perceptual backend {backend!r}; use auto, lpips or lite0")
        self.device = str(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.batch_size = batch_size
        self._lpips = _lpips_alex(self.device) if backend != "lite0" else None
        if backend == "lpips" and self._lpips is None:
            raise WeightsUnavailableError("LPIPS needs the lpips package (pip install 'driftlens[lpips]') and its "
                                          f"AlexNet trunk in {cache_file_for(lpips_backbone_url())} "
                                          "(`driftlens fetch EXPERIMENT` downloads it)")
        self.name = "lpips-alex" if self._lpips is not None else "lite0-feature-distance"
        self._lite0 = _lite0(self.device) if self._lpips is None else None

    @torch.inference_mode()
    def __call__(self, a, b) -> np.ndarray:
        """Distance of each pair ``(a[i], b[i])``.

        Args:
            a (np.ndarray or torch.Tensor): ``(N, H, W, 3)`` images in [0, 1].
            b (np.ndarray or torch.Tensor): Images of the same shape.

        Returns:
            np.ndarray: ``(N,)`` distances, 0 for identical images.
        """
        a, b = _to_batch(a, self.device), _to_batch(b, self.device)
        if a.shape != b.shape:
            raise ValueError(f"cannot compare images of shapes {tuple(a.shape)} and {tuple(b.shape)}")
        chunks = [self._distance(a[i:i + self.batch_size], b[i:i + self.batch_size])
                  for i in range(0, len(a), self.batch_size)]
        return torch.cat(chunks).double().cpu().numpy() if chunks else np.zeros(0)

    def _distance(self, a, b):
        if self._lpips is not None:
            return self._lpips(a, b, normalize=True).flatten()
        with models.capture(self._lite0, LITE0_FEATURE_LAYERS) as features:
            self._lite0(torch.cat([a, b]))
        per_layer = [_unit_feature_distance(*features[layer].chunk(2)) for layer in LITE0_FEATURE_LAYERS]
        return torch.stack(per_layer).mean(dim=0)


def _unit_feature_distance(fa, fb, eps: float = 1e-10):
    fa = fa / (fa.norm(dim=1, keepdim=True) + eps)
    fb = fb / (fb.norm(dim=1, keepdim=True) + eps)
    return (fa - fb).square().sum(dim=1).mean(dim=(1, 2))


def _to_batch(images, device):
    if not torch.is_tensor(images):
        images = torch.from_numpy(np.ascontiguousarray(images))  # also flipped or strided views
    if images.dim() != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected (N, H, W, 3) images, got shape {tuple(images.shape)}")
    return images.to(device=device, dtype=torch.float32).permute(0, 3, 1, 2)


@functools.lru_cache(maxsize=None)
def _lite0(device: str):
    return models.load("efficientnet_lite0", weights="imagenet").to(device).requires_grad_(False)


def lpips_backbone_url() -> str:
    """URL of LPIPS-Alex's trunk weights (torchvision's AlexNet), which ``driftlens fetch`` puts in torch's cache.

    LPIPS's own linear layers ship inside the ``lpips`` package; only this trunk is downloaded.

    Example:
        >>> lpips_backbone_url().rsplit("/", 1)[-1]
        'alexnet-owt-7be5be79.pth'
    """
    from torchvision.models import AlexNet_Weights

    return AlexNet_Weights.IMAGENET1K_V1.url


@functools.lru_cache(maxsize=None)
def _lpips_alex(device: str):
    """LPIPS-Alex on ``device``, or None when the package or the cached AlexNet weights are missing."""
    try:
        import lpips
    except ImportError:
        return None
    if not cache_file_for(lpips_backbone_url()).is_file():  # never try a download: it hangs or fails offline
        return None
    try:
        return lpips.LPIPS(net="alex", verbose=False).to(device).eval().requires_grad_(False)
    except Exception:  # an lpips release that cannot build its trunk with this torchvision
        return None


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
        >>> x = np.random.default_rng(0).normal(size=(20, 5))
        >>> round(linear_cka(x, 3 * x), 6)
        1.0
    """
    x, y = _features(x, "x"), _features(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y must describe the same examples, got {len(x)} and {len(y)} rows")
    gram_x, gram_y = _centered_gram(x), _centered_gram(y.to(x.device))
    return float((gram_x * gram_y).sum() / (gram_x.norm() * gram_y.norm()))


def _features(array, name):
    tensor = torch.as_tensor(array)
    if tensor.dim() != 2:
        raise ValueError(f"{name} must be (examples, features), got shape {tuple(tensor.shape)}")
    return tensor.double()


def _centered_gram(features):
    centered = features - features.mean(dim=0, keepdim=True)
    return centered @ centered.T


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


def pixel_scores(images, first, perceptual) -> dict:
    """SSIM and perceptual distance of one checkpoint's renders to epoch 0's, and between its own seeds.

    ``*_to_first`` compares seed ``s`` with seed ``s`` of epoch 0; ``*_noise`` compares every pair of
    seeds of the same checkpoint (the seed-noise reference). Both are means over seeds or pairs.

    Args:
        images (np.ndarray): ``(S, C, H, W, 3)`` renders of one checkpoint, ``S >= 2``.
        first (np.ndarray): Epoch 0's renders of the same shape.
        perceptual (PerceptualDistance): The perceptual distance.

    Returns:
        dict[str, np.ndarray]: ``ssim_to_first``, ``ssim_noise``, ``perceptual_to_first``,
        ``perceptual_noise``, each ``(C,)``.

    Example:
        >>> images = np.random.default_rng(0).random((2, 3, 16, 16, 3))
        >>> scores = pixel_scores(images, images, PerceptualDistance(backend="lite0", device="cpu"))
        >>> scores["ssim_to_first"].tolist(), scores["perceptual_to_first"].tolist()
        ([1.0, 1.0, 1.0], [0.0, 0.0, 0.0])
    """
    if images.shape != first.shape:
        raise ArtifactError(f"renders of shape {images.shape} cannot be compared with epoch 0's {first.shape}")
    pairs = [(s, t) for s in range(len(images)) for t in range(s + 1, len(images))]
    ssim_to_first = [[ssim(a, b) for a, b in zip(images[s], first[s])] for s in range(len(images))]
    ssim_noise = [[ssim(a, b) for a, b in zip(images[s], images[t])] for s, t in pairs]
    perceptual_to_first = [perceptual(images[s], first[s]) for s in range(len(images))]
    perceptual_noise = [perceptual(images[s], images[t]) for s, t in pairs]
    return {name: np.mean(values, axis=0) for name, values in [
        ("ssim_to_first", ssim_to_first), ("ssim_noise", ssim_noise),
        ("perceptual_to_first", perceptual_to_first), ("perceptual_noise", perceptual_noise)]}


@torch.inference_mode()
def layer_features(model, images, layers, batch_size: int = 32, progress: bool = True) -> dict[str, torch.Tensor]:
    """Activations of ``layers`` for a set of images, flattened per image.

    Args:
        model (ModelWrapper): The network; it runs on its own device.
        images (torch.Tensor): ``(n, 3, S, S)`` images in [0, 1].
        layers (list[str]): Layer names or aliases.
        batch_size (int, optional): Images per forward pass. Default: 32
        progress (bool, optional): Show a progress bar over batches. Default: True

    Returns:
        dict[str, torch.Tensor]: Layer to ``(n, features)`` activations, on the model's device.

    Example:
        >>> model = models.load("tiny", weights="random")
        >>> layer_features(model, torch.rand(4, 3, 32, 32), ["conv3"], progress=False)["conv3"].shape
        torch.Size([4, 1024])
    """
    batches = {layer: [] for layer in layers}
    with models.capture(model, layers) as activations:
        starts = range(0, len(images), batch_size)
        for start in progress_bar(starts, desc="features", unit="batch", disable=not progress):
            model(images[start:start + batch_size].to(model.device))
            for layer in layers:
                batches[layer].append(activations[layer].flatten(1))
    return {layer: torch.cat(parts) for layer, parts in batches.items()}


def representation_change(first, model, probe, layers, batch_size: int = 32, progress: bool = True) -> dict:
    """Linear CKA of each layer's probe-set activations to the first model's, and its relative weight change.

    Args:
        first (ModelWrapper): The model at epoch 0.
        model (ModelWrapper): The model at a later epoch (same architecture, same device).
        probe (torch.Tensor): ``(n, 3, S, S)`` probe images in [0, 1].
        layers (list[str]): Layer names or aliases.
        batch_size (int, optional): Images per forward pass. Default: 32
        progress (bool, optional): Show progress bars. Default: True

    Returns:
        dict: ``{"cka": {layer: float}, "weight_change": {layer: float}}``.

    Example:
        >>> a = models.load("tiny", weights="random", seed=0); b = models.load("tiny", weights="random", seed=1)
        >>> change = representation_change(a, b, torch.rand(8, 3, 32, 32), ["conv2"], progress=False)
        >>> sorted(change), 0 < change["weight_change"]["conv2"]
        (['cka', 'weight_change'], True)
    """
    features_first = layer_features(first, probe, layers, batch_size, progress)
    features = layer_features(model, probe, layers, batch_size, progress)
    paths = {layer: model.resolve(layer) for layer in layers}
    changes = weight_change(dict(first.net.named_parameters()), dict(model.net.named_parameters()), paths.values())
    return {"cka": {layer: linear_cka(features_first[layer], features[layer]) for layer in layers},
            "weight_change": {layer: changes[path] for layer, path in paths.items()}}
