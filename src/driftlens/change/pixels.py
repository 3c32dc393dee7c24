"""Pixel measures of renders: SSIM, a perceptual distance and their seed-noise floor (reported, not judged).

Each layer's visualisations at every epoch are compared with epoch 0's, seed by seed; pairs of seeds of
the same checkpoint give the noise floor. The semantic measures and the verdicts live in
:mod:`driftlens.change.screen` and :mod:`driftlens.change.render_evidence`.

Example:
    >>> import numpy as np
    >>> a = np.random.default_rng(0).random((16, 16, 3))
    >>> ssim(a, a)
    1.0
"""

import functools

import numpy as np
import torch
from skimage.metrics import structural_similarity

from driftlens import models
from driftlens.devices import resolve_device
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
        self.device = str(resolve_device(device))
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
