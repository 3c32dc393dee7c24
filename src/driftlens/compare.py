"""Change metrics between epochs: SSIM, perceptual distance, noise floor, linear CKA and weight change.

Pictures: each layer's visualisations at every epoch are compared with the previous epoch and with
the first one, by SSIM and by a perceptual distance; the same checkpoint rendered with a second seed
gives the noise floor, so a real change can be told from optimisation noise. Representations: the
activations of a fixed probe set are compared with epoch 0 by linear CKA, and the weights under each
layer by their relative change.

Example:
    >>> import numpy as np
    >>> a = np.random.default_rng(0).random((16, 16, 3))
    >>> ssim(a, a)
    1.0
"""

import functools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from skimage.metrics import structural_similarity
from driftlens.progress import bar as progress_bar

from driftlens import models
from driftlens.artifacts import read_row, read_table
from driftlens.models.weights import WeightsUnavailableError, cache_file_for

SIMILARITY_COLUMNS = ["epoch", "channel", "ssim_to_previous", "ssim_to_first", "perceptual_to_previous",
                      "perceptual_to_first", "ssim_noise", "perceptual_noise", "perceptual_metric"]
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
            raise ValueError(f"unknown perceptual backend {backend!r}; use auto, lpips or lite0")
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
            raise ValueError(f"no weights under layer {layer!r}")
        difference = reference = 0.0
        for name in names:
            a, b = state_a[name].detach().double().cpu(), _matching(state_b, name, state_a[name].shape)
            difference += float((b - a).square().sum())
            reference += float(a.square().sum())
        changes[layer] = math.sqrt(difference / reference) if reference else (math.inf if difference else 0.0)
    return changes


def _matching(state, name, shape):
    if name not in state:
        raise ValueError(f"weight {name!r} is missing from the second state")
    if state[name].shape != shape:
        raise ValueError(f"weight {name!r} has shape {tuple(state[name].shape)}, expected {tuple(shape)}")
    return state[name].detach().double().cpu()


def layer_similarity_table(npz_paths_by_epoch, noise_paths_by_epoch=None, perceptual=None,
                           progress: bool = True) -> pd.DataFrame:
    """SSIM and perceptual distance of every channel's picture to the previous epoch, epoch 0 and its noise render.

    Args:
        npz_paths_by_epoch (dict[int, str]): Epoch to its ``epoch_NNN.npz`` (same channels in each).
        noise_paths_by_epoch (dict[int, str], optional): Epoch to the ``noise_NNN.npz`` of the same
            checkpoint rendered with a second seed. Default: None
        perceptual (PerceptualDistance, optional): Default: ``PerceptualDistance()``
        progress (bool, optional): Show a progress bar over epochs. Default: True

    Returns:
        pandas.DataFrame: One row per (epoch, channel) with :data:`SIMILARITY_COLUMNS`. "first" is the
        lowest epoch given; ``*_to_previous`` is NaN there, ``*_noise`` is NaN without a noise render.

    Raises:
        ValueError: No epochs, a file whose channels or image size differ from the first one's, or a
            noise render for an epoch that is not in ``npz_paths_by_epoch``.

    Example:
        >>> table = layer_similarity_table({0: "epoch_000.npz", 1: "epoch_001.npz"})  # doctest: +SKIP
        >>> list(table.columns) == SIMILARITY_COLUMNS  # doctest: +SKIP
        True
    """
    noise_paths_by_epoch = noise_paths_by_epoch or {}
    if not npz_paths_by_epoch:
        raise ValueError("no epochs to compare")
    unknown = sorted(set(noise_paths_by_epoch) - set(npz_paths_by_epoch))
    if unknown:
        raise ValueError(f"noise renders for epochs {unknown} that have no epoch_NNN.npz among the inputs")
    perceptual = perceptual or PerceptualDistance()
    epochs = sorted(npz_paths_by_epoch)
    first_path = npz_paths_by_epoch[epochs[0]]
    first = read_row(first_path)
    first_images, channels = first.images, first.channels
    rows, previous = [], None
    for epoch in progress_bar(epochs, desc="similarity", unit="epoch", disable=not progress):
        images = _read_matching(npz_paths_by_epoch[epoch], first_path, first_images, channels)
        columns = {"epoch": epoch, "channel": channels, "perceptual_metric": perceptual.name}
        columns["ssim_to_first"], columns["perceptual_to_first"] = _scores(images, first_images, perceptual)
        if previous is not None:
            columns["ssim_to_previous"], columns["perceptual_to_previous"] = _scores(images, previous, perceptual)
        if epoch in noise_paths_by_epoch:
            noise = _read_matching(noise_paths_by_epoch[epoch], first_path, first_images, channels)
            columns["ssim_noise"], columns["perceptual_noise"] = _scores(images, noise, perceptual)
        rows.append(pd.DataFrame(columns))
        previous = images
    return pd.concat(rows, ignore_index=True).reindex(columns=SIMILARITY_COLUMNS)


def _read_matching(path, reference_path, reference_images, reference_channels):
    row = read_row(path)
    images, channels = row.images, row.channels
    if not np.array_equal(channels, reference_channels) or images.shape != reference_images.shape:
        raise ValueError(f"{path} holds channels {channels.tolist()} of size {images.shape[1:3]}, but "
                         f"{reference_path} holds channels {reference_channels.tolist()} of size "
                         f"{reference_images.shape[1:3]}; all epochs of a layer must match")
    return images


def _scores(images, others, perceptual):
    return [ssim(a, b) for a, b in zip(images, others)], perceptual(images, others)


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


def read_similarity(path) -> pd.DataFrame:
    """Read a ``similarity.csv`` written by ``driftlens similarity``, checking its columns.

    Args:
        path (str or Path): The CSV.

    Returns:
        pandas.DataFrame: One row per (epoch, channel), with :data:`SIMILARITY_COLUMNS`.

    Raises:
        FileNotFoundError: No such file.
        ValueError: A column of :data:`SIMILARITY_COLUMNS` is missing; the message names the file.

    Example:
        >>> table = read_similarity("results/demo/blocks.4/similarity.csv")  # doctest: +SKIP
    """
    return read_table(path, SIMILARITY_COLUMNS, "a similarity table")


def read_representation(paths) -> pd.DataFrame:
    """Read ``representation/epoch_NNN.json`` files into one long table.

    Args:
        paths (list[str]): Files written by ``driftlens representation``.

    Returns:
        pandas.DataFrame: Columns ``epoch``, ``layer``, ``cka``, ``weight_change``, sorted by epoch.

    Raises:
        FileNotFoundError: A missing file.
        ValueError: A file without ``epoch``, ``cka`` or ``weight_change``.

    Example:
        >>> table = read_representation(["results/demo/representation/epoch_001.json"])  # doctest: +SKIP
    """
    rows = []
    for path in map(Path, paths):
        record = json.loads(path.read_text())
        missing = [key for key in ("epoch", "cka", "weight_change") if key not in record]
        if missing:
            raise ValueError(f"{path} has no {', '.join(missing)}")
        rows += [{"epoch": record["epoch"], "layer": layer, "cka": cka,
                  "weight_change": record["weight_change"].get(layer)} for layer, cka in record["cka"].items()]
    table = pd.DataFrame(rows, columns=["epoch", "layer", "cka", "weight_change"])
    return table.sort_values("epoch", ignore_index=True)
