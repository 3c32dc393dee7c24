"""Image parameterisations: a batch of images computed from learnable tensors.

An :class:`ImageParam` is an ``nn.Module`` whose ``forward()`` returns ``(B, 3, H, W)`` images in
[0, 1]. Its learnable tensor lives either in pixel space (:class:`PixelImage`) or in Fourier space
with a ``1 / frequency`` spectrum scale (:class:`FFTImage`), optionally in a decorrelated colour
space, and is mapped to valid RGB by a sigmoid or by clamping (:func:`to_valid_rgb`).

Every image of a batch has its own seed, so image ``k`` starts the same whether it is rendered alone
or with others.
"""

import functools
import math

import torch
from torch import nn

# Square root of the ImageNet colour covariance (lucid's constant), scaled so that its largest column
# has unit norm: multiplying decorrelated colours by it gives RGB.
_COLOR_SQRT_COVARIANCE = torch.tensor([[0.26, 0.09, 0.02],
                                       [0.27, 0.00, -0.05],
                                       [0.27, -0.09, 0.03]])
COLOR_CORRELATION = _COLOR_SQRT_COVARIANCE / _COLOR_SQRT_COVARIANCE.norm(dim=0).max()
COLOR_MEAN = (0.48, 0.46, 0.41)
_GREY = 0.5
_SIGMOID_EPS = 1e-4


def decorrelate_colors(images: torch.Tensor) -> torch.Tensor:
    """Map images from the decorrelated colour space to RGB.

    Args:
        images (torch.Tensor): ``(B, 3, H, W)`` in decorrelated colour coordinates.

    Returns:
        torch.Tensor: ``(B, 3, H, W)``, each pixel multiplied by :data:`COLOR_CORRELATION`.

    Example:
        >>> decorrelate_colors(torch.ones(1, 3, 2, 2)).shape
        torch.Size([1, 3, 2, 2])
    """
    return torch.einsum("ij,bjhw->bihw", _constant("correlation", images.device, images.dtype), images)


def to_valid_rgb(raw: torch.Tensor, decorrelate: bool = True, sigmoid: bool = True) -> torch.Tensor:
    """Turn unconstrained tensors into RGB images in [0, 1].

    Args:
        raw (torch.Tensor): ``(B, 3, H, W)`` unconstrained values.
        decorrelate (bool, optional): Read ``raw`` as decorrelated colours. Default: True
        sigmoid (bool, optional): Squash with a sigmoid; otherwise shift (by the ImageNet colour mean
            when decorrelating, else by 0.5, so that zero is a mid colour) and clamp. Default: True

    Returns:
        torch.Tensor: ``(B, 3, H, W)`` in [0, 1].

    Example:
        >>> to_valid_rgb(torch.zeros(1, 3, 2, 2), sigmoid=False, decorrelate=False).unique().item()
        0.5
    """
    rgb = decorrelate_colors(raw) if decorrelate else raw
    if sigmoid:
        return torch.sigmoid(rgb)
    return (rgb + _offset(decorrelate, rgb)).clamp(0, 1)


def from_valid_rgb(images: torch.Tensor, decorrelate: bool = True, sigmoid: bool = True) -> torch.Tensor:
    """Invert :func:`to_valid_rgb`: the unconstrained tensor that gives ``images``.

    Args:
        images (torch.Tensor): ``(B, 3, H, W)`` in [0, 1]; 0 and 1 are nudged inside when
            ``sigmoid`` is used.
        decorrelate (bool, optional): As in :func:`to_valid_rgb`. Default: True
        sigmoid (bool, optional): As in :func:`to_valid_rgb`. Default: True

    Returns:
        torch.Tensor: ``(B, 3, H, W)``.

    Example:
        >>> x = torch.rand(1, 3, 4, 4)
        >>> torch.allclose(to_valid_rgb(from_valid_rgb(x)), x, atol=1e-4)
        True
    """
    rgb = torch.logit(images.clamp(_SIGMOID_EPS, 1 - _SIGMOID_EPS)) if sigmoid else images - _offset(decorrelate, images)
    if not decorrelate:
        return rgb
    return torch.einsum("ij,bjhw->bihw", _constant("inverse", images.device, images.dtype), rgb)


def _offset(decorrelate, like):
    return _constant("mean", like.device, like.dtype) if decorrelate else _GREY


@functools.lru_cache(maxsize=None)
def _constant(name, device, dtype):
    """The colour constants on a device, made once rather than at every step."""
    values = {"correlation": COLOR_CORRELATION, "inverse": torch.linalg.inv(COLOR_CORRELATION),
              "mean": torch.tensor(COLOR_MEAN).view(1, 3, 1, 1)}[name]
    return values.to(device=device, dtype=dtype)


def rfft_frequencies(height: int, width: int) -> torch.Tensor:
    """Spatial frequency (cycles per pixel) of each coefficient of a real 2-D FFT.

    Args:
        height (int): Image height.
        width (int): Image width.

    Returns:
        torch.Tensor: ``(height, width // 2 + 1)``, the layout of ``torch.fft.rfft2``.

    Example:
        >>> rfft_frequencies(4, 4)[0, :3].tolist()
        [0.0, 0.25, 0.5]
    """
    fy = torch.fft.fftfreq(height)[:, None]
    fx = torch.fft.rfftfreq(width)[None, :]
    return torch.sqrt(fx * fx + fy * fy)


def seeded_normal(shape, seeds, sd: float) -> torch.Tensor:
    """One normal sample of ``shape`` per seed, stacked: image ``k`` depends only on ``seeds[k]``.

    Args:
        shape (tuple[int, ...]): Shape of one sample.
        seeds (list[int]): One seed per sample.
        sd (float): Standard deviation.

    Returns:
        torch.Tensor: ``(len(seeds), *shape)`` on the CPU.

    Example:
        >>> torch.equal(seeded_normal((2,), [0, 1], 1.0)[1], seeded_normal((2,), [1], 1.0)[0])
        True
    """
    return torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(s)) * sd for s in seeds])


class ImageParam(nn.Module):
    """Base class: a batch of square images computed from learnable tensors.

    Subclasses implement :meth:`raw`, the unconstrained ``(B, 3, H, W)`` tensor; ``forward()``
    maps it to RGB in [0, 1] with :func:`to_valid_rgb`.

    Args:
        decorrelate (bool): Read the raw tensor as decorrelated colours.
        sigmoid (bool): Squash with a sigmoid instead of clamping.
    """

    def __init__(self, decorrelate: bool, sigmoid: bool):
        super().__init__()
        self.decorrelate = decorrelate
        self.sigmoid = sigmoid

    def raw(self) -> torch.Tensor:
        """The unconstrained ``(B, 3, H, W)`` tensor."""
        raise NotImplementedError

    def forward(self) -> torch.Tensor:
        """The images, ``(B, 3, H, W)`` in [0, 1]."""
        return to_valid_rgb(self.raw(), self.decorrelate, self.sigmoid)


class PixelImage(ImageParam):
    """Images whose pixels are the learnable values.

    Args:
        pixels (torch.Tensor): ``(B, 3, H, W)`` initial unconstrained values.
        decorrelate (bool, optional): Read them as decorrelated colours. Default: False
        sigmoid (bool, optional): Squash with a sigmoid instead of clamping. Default: True

    Example:
        >>> PixelImage.random(8, seeds=[0, 1])().shape
        torch.Size([2, 3, 8, 8])
    """

    def __init__(self, pixels: torch.Tensor, decorrelate: bool = False, sigmoid: bool = True):
        super().__init__(decorrelate, sigmoid)
        self.pixels = nn.Parameter(pixels.detach().clone())

    @classmethod
    def random(cls, size: int, seeds, sd: float = 0.01, decorrelate: bool = False,
               sigmoid: bool = True) -> "PixelImage":
        """Random start: normal noise of standard deviation ``sd``, one seed per image.

        Args:
            size (int): Side in pixels.
            seeds (list[int]): One seed per image; the batch size is ``len(seeds)``.
            sd (float, optional): Noise level. Default: 0.01
            decorrelate (bool, optional): As in the constructor. Default: False
            sigmoid (bool, optional): As in the constructor. Default: True

        Example:
            >>> PixelImage.random(4, seeds=[3], sigmoid=False)().shape
            torch.Size([1, 3, 4, 4])
        """
        return cls(seeded_normal((3, size, size), seeds, sd), decorrelate, sigmoid)

    @classmethod
    def from_images(cls, images: torch.Tensor, decorrelate: bool = False, sigmoid: bool = True) -> "PixelImage":
        """Start from given images (to continue an optimisation, or to dream on a photograph).

        Args:
            images (torch.Tensor): ``(B, 3, H, W)`` in [0, 1].
            decorrelate (bool, optional): As in the constructor. Default: False
            sigmoid (bool, optional): As in the constructor. Default: True

        Example:
            >>> x = torch.rand(1, 3, 4, 4)
            >>> torch.allclose(PixelImage.from_images(x, sigmoid=False)(), x)
            True
        """
        return cls(from_valid_rgb(images, decorrelate, sigmoid), decorrelate, sigmoid)

    def raw(self) -> torch.Tensor:
        return self.pixels


class FFTImage(ImageParam):
    """Images whose real 2-D Fourier coefficients are the learnable values (lucid's ``fft_image``).

    Each coefficient is scaled by ``1 / max(frequency, 1 / size) ** decay_power``, so that equal steps
    in the parameters favour low frequencies; the inverse FFT is orthonormal and the result is divided
    by 4, as in lucid.

    Args:
        size (int): Side in pixels.
        seeds (list[int]): One seed per image; the batch size is ``len(seeds)``.
        sd (float, optional): Standard deviation of the initial coefficients. Default: 0.01
        decay_power (float, optional): Exponent of the frequency decay. Default: 1.0
        decorrelate (bool, optional): Read the result as decorrelated colours. Default: True
        sigmoid (bool, optional): Squash with a sigmoid instead of clamping. Default: True

    Example:
        >>> FFTImage(16, seeds=[0, 1, 2])().shape
        torch.Size([3, 3, 16, 16])
    """

    def __init__(self, size: int, seeds, sd: float = 0.01, decay_power: float = 1.0,
                 decorrelate: bool = True, sigmoid: bool = True):
        super().__init__(decorrelate, sigmoid)
        self.size = size
        frequencies = rfft_frequencies(size, size)
        self.spectrum = nn.Parameter(seeded_normal((3, *frequencies.shape, 2), seeds, sd))
        self.register_buffer("scale", frequencies.clamp(min=1.0 / size).pow(-decay_power)[..., None])

    def raw(self) -> torch.Tensor:
        spectrum = torch.view_as_complex(self.spectrum * self.scale)
        return torch.fft.irfft2(spectrum, s=(self.size, self.size), norm="ortho") / 4

    @classmethod
    def from_images(cls, images: torch.Tensor, decay_power: float = 1.0) -> "FFTImage":
        """Start from given images: the coefficients whose image is ``images`` (to accentuate a photograph).

        Args:
            images (torch.Tensor): ``(B, 3, H, H)`` in [0, 1] (0 and 1 are nudged inside).
            decay_power (float, optional): As in the constructor. Default: 1.0

        Example:
            >>> x = torch.rand(2, 3, 8, 8)
            >>> torch.allclose(FFTImage.from_images(x)(), x, atol=1e-3)
            True
        """
        param = cls(images.shape[-1], seeds=range(len(images)), decay_power=decay_power)
        raw = from_valid_rgb(images.to(param.scale), param.decorrelate, param.sigmoid)
        spectrum = torch.fft.rfft2(raw * 4, norm="ortho") / param.scale[..., 0]
        param.spectrum.data = torch.view_as_real(spectrum).contiguous()
        return param


class MacoImage(ImageParam):
    """Images of a fixed Fourier magnitude whose phase is learnable (MACO, Fel et al., 2023).

    The magnitude (one per colour channel, in decorrelated colours) is scaled once so that the images
    have a standard deviation of ``sd`` before the sigmoid and a mean of 0 (its constant term is
    dropped); by Parseval's theorem this holds whatever the phase, so no per-step standardisation is
    needed and every image's magnitude spectrum stays exactly the given one. The phase is kept
    Hermitian-consistent (odd on the columns that are their own mirror image), so the inverse real FFT
    loses nothing.

    Args:
        magnitude (torch.Tensor): ``(3, H, W // 2 + 1)`` magnitudes in the layout of ``torch.fft.rfft2``
            (see :mod:`~driftlens.optvis.spectrum`).
        seeds (list[int]): One seed per image; the batch size is ``len(seeds)``.
        sd (float, optional): Standard deviation of the images before the sigmoid. Default: 1.0

    Example:
        >>> image = MacoImage(torch.ones(3, 8, 5), seeds=[0, 1])
        >>> image().shape
        torch.Size([2, 3, 8, 8])
        >>> torch.allclose(torch.fft.rfft2(image.raw(), norm="ortho").abs()[0], image.magnitude, atol=1e-5)
        True
    """

    def __init__(self, magnitude: torch.Tensor, seeds, sd: float = 1.0):
        super().__init__(decorrelate=True, sigmoid=True)
        height, half = magnitude.shape[-2:]
        self.shape = (height, 2 * (half - 1) if height % 2 == 0 else 2 * half - 1)
        if self.shape[1] != height:
            raise ValueError(f"magnitude of shape {tuple(magnitude.shape)} is not that of a square image's rfft2")
        magnitude = _hermitian(magnitude.float(), height, odd=False).clone()
        magnitude[:, 0, 0] = 0
        energy = (_rfft_weights(height, half) * magnitude.square()).sum() / (3 * height * height)
        self.register_buffer("magnitude", magnitude * sd / energy.sqrt().clamp(min=1e-12))
        self.phase = nn.Parameter(seeded_normal(magnitude.shape, seeds, math.pi))

    def raw(self) -> torch.Tensor:
        phase = _hermitian(self.phase, self.shape[0], odd=True)
        return torch.fft.irfft2(torch.polar(self.magnitude.expand_as(phase), phase), s=self.shape, norm="ortho")


def _self_mirrored_columns(size, half):
    """Mask of the rfft2 columns that are their own mirror image: frequency 0 and, for even sides, Nyquist."""
    columns = torch.zeros(half, dtype=torch.bool)
    columns[0] = True
    columns[-1] |= size % 2 == 0
    return columns


def _hermitian(values, size, odd):
    """Make ``values`` even (magnitudes) or odd (phases) along rows on the self-mirrored columns."""
    mirror = (-torch.arange(size)) % size
    mirrored = values[..., mirror, :]
    symmetric = (values - mirrored) / 2 if odd else (values + mirrored) / 2
    return torch.where(_self_mirrored_columns(size, values.shape[-1]).to(values.device), symmetric, values)


def _rfft_weights(size, half):
    """How often each rfft2 column appears in the full spectrum (1 for self-mirrored columns, else 2)."""
    return 2 - _self_mirrored_columns(size, half).float()
