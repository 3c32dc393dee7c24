"""The mean Fourier magnitude of natural images, which MACO keeps fixed while it optimises the phase.

A spectrum is a ``(3, S, S // 2 + 1)`` float32 array in the layout of ``torch.fft.rfft2`` (orthonormal),
of images in the decorrelated colour space of :mod:`~driftlens.optvis.param`. It is estimated from
given images (:func:`estimate`), never downloaded: the workflow estimates one per data set from its
training images; the library default (:func:`default_spectrum`) comes from scikit-image's sample
photographs and is cached in memory and under the user's cache directory. A spectrum of side ``S``
serves any render size up to ``S`` (:func:`fit`).

Files are ``.npz`` with the magnitude and its metadata (``size``, ``source``, ``count``), checked on
read (:func:`load`).

Example:
    >>> import torch
    >>> spectrum = estimate(torch.rand(4, 3, 16, 16))
    >>> spectrum.magnitude.shape, spectrum.count
    ((3, 16, 9), 4)
"""

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs
import torch

from driftlens.errors import ConfigError, MissingFileError
from driftlens.io import save_npz
from driftlens.optvis import imageops
from driftlens.optvis.param import from_valid_rgb
from driftlens.progress import bar as progress_bar

SAMPLE_IMAGES = ("astronaut", "chelsea", "coffee", "rocket")
"""scikit-image's colour photographs (shipped with the package) behind the default spectrum."""
CROPS_PER_SAMPLE = 16
_FORMAT = "driftlens-spectrum-2"  # 2: Hann-windowed images
_KEYS = ("format", "magnitude", "size", "source", "count")


@dataclass(frozen=True)
class Spectrum:
    """A mean Fourier magnitude and where it comes from.

    Attributes:
        magnitude (np.ndarray): ``(3, size, size // 2 + 1)`` float32, non-negative.
        source (str): What it was estimated from (a path or ``skimage``).
        count (int): How many images went into the mean.
    """

    magnitude: np.ndarray
    source: str
    count: int

    @property
    def size(self) -> int:
        """Side of the images it describes."""
        return self.magnitude.shape[1]


def estimate(batches, source: str = "images", progress: bool = False) -> Spectrum:
    """Mean magnitude of the orthonormal 2-D FFT of square images, in decorrelated colours.

    Each image is first multiplied by a 2-D Hann window (scaled to keep its energy): the FFT treats an
    image as periodic, so without it the jump between opposite borders adds a cross of energy along
    the frequency axes, which MACO then draws as a grid of horizontal and vertical lines.

    Args:
        batches (torch.Tensor or iterable of torch.Tensor): ``(B, 3, S, S)`` images in [0, 1], or an
            iterable of such batches (e.g. a data loader's images), all of side ``S``.
        source (str, optional): Recorded as the spectrum's source. Default: "images"
        progress (bool, optional): Show a progress bar over the batches. Default: False

    Returns:
        Spectrum: The mean magnitude, ``(3, S, S // 2 + 1)``.

    Raises:
        ValueError: No images, images that are not square RGB, or batches of different sides.

    Example:
        >>> import torch
        >>> bool(estimate(torch.zeros(2, 3, 8, 8)).magnitude.max() > 0)  # mid grey is not zero in these colours
        True
    """
    batches = [batches] if torch.is_tensor(batches) else batches
    total, count = None, 0
    for batch in progress_bar(batches, disable=not progress, desc="spectrum", leave=False):
        if batch.dim() != 4 or batch.shape[1] != 3 or batch.shape[2] != batch.shape[3]:
            raise ValueError(f"estimate needs (B, 3, S, S) batches of square RGB images, got {tuple(batch.shape)}")
        windowed = from_valid_rgb(batch.float(), sigmoid=False) * _hann(batch.shape[-1])
        magnitude = torch.fft.rfft2(windowed, norm="ortho").abs().sum(dim=0)
        if total is not None and magnitude.shape != total.shape:
            raise ValueError(f"images of side {batch.shape[-1]} after images of side {total.shape[1]}")
        total = magnitude if total is None else total + magnitude
        count += len(batch)
    if not count:
        raise ValueError("estimate got no images")
    return Spectrum((total / count).numpy().astype(np.float32), source, count)


@functools.lru_cache(maxsize=8)
def _hann(size):
    """``(size, size)`` Hann window with a mean square of 1."""
    window = torch.outer(*2 * [torch.hann_window(size, periodic=False, dtype=torch.float64)])
    return (window / window.square().mean().sqrt()).float()


def sample_images(size: int, crops: int = CROPS_PER_SAMPLE, seed: int = 0) -> torch.Tensor:
    """Square crops of scikit-image's colour photographs, resized to ``size``: the default's images.

    From each photograph of :data:`SAMPLE_IMAGES`, ``crops`` squares of random position and of side
    between half and all of its short side (anti-aliased resize).

    Args:
        size (int): Side of the crops.
        crops (int, optional): Crops per photograph. Default: 16
        seed (int, optional): Seed of the crop positions. Default: 0

    Returns:
        torch.Tensor: ``(len(SAMPLE_IMAGES) * crops, 3, size, size)`` in [0, 1].

    Example:
        >>> sample_images(8, crops=1).shape
        torch.Size([4, 3, 8, 8])
    """
    import skimage.data  # here, not at import: it costs start-up time in every render job

    generator = torch.Generator().manual_seed(seed)
    out = []
    for name in SAMPLE_IMAGES:
        photo = torch.from_numpy(getattr(skimage.data, name)()[..., :3].copy()).permute(2, 0, 1).float() / 255
        short = min(photo.shape[1:])
        for _ in range(crops):
            side = int(torch.randint(short // 2, short + 1, (), generator=generator))
            top, left = (int(torch.randint(extent - side + 1, (), generator=generator)) for extent in photo.shape[1:])
            out.append(imageops.resize(photo[:, top:top + side, left:left + side], [size, size], antialias=True))
    return torch.stack(out).clamp(0, 1)


def default_spectrum(size: int) -> Spectrum:
    """The library's default spectrum for ``size``: from :func:`sample_images`, cached.

    Computed once per size, then read from memory or from
    ``<user cache dir>/driftlens/spectrum/skimage_<size>.npz``.

    Args:
        size (int): Image side.

    Returns:
        Spectrum: Of side ``size``, source ``skimage``.

    Example:
        >>> default_spectrum(16).magnitude.shape
        (3, 16, 9)
    """
    return _default_spectrum(int(size), cache_dir())


def cache_dir() -> Path:
    """Folder of the cached default spectra: ``<user cache dir>/driftlens/spectrum``.

    Example:
        >>> cache_dir().name
        'spectrum'
    """
    return Path(platformdirs.user_cache_dir("driftlens")) / "spectrum"


@functools.lru_cache(maxsize=8)
def _default_spectrum(size, folder):
    path = folder / f"skimage_{size}.npz"
    if path.exists():
        try:
            return load(path, size)
        except ConfigError:
            pass  # a stale or damaged cache file: recompute and replace it
    spectrum = estimate(sample_images(size), source="skimage")
    save(spectrum, path)
    return spectrum


def save(spectrum: Spectrum, path) -> None:
    """Write a spectrum and its metadata to an ``.npz`` file, atomically.

    Args:
        spectrum (Spectrum): What to write.
        path (str or Path): The ``.npz`` file (folders are created).

    Example:
        >>> import tempfile, os, torch
        >>> path = os.path.join(tempfile.mkdtemp(), "spectrum.npz")
        >>> save(estimate(torch.rand(2, 3, 8, 8)), path); load(path).count
        2
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_npz(path, format=np.array(_FORMAT), magnitude=spectrum.magnitude, size=np.array(spectrum.size),
             source=np.array(spectrum.source), count=np.array(spectrum.count))


def load(path, size: int | None = None) -> Spectrum:
    """Read a spectrum written by :func:`save`, checking its contents (and that it serves ``size``).

    Args:
        path (str or Path): The ``.npz`` file.
        size (int, optional): The render size it must serve (at most its own side); the result is
            cut to it with :func:`fit`. Default: None (as stored)

    Returns:
        Spectrum: The stored spectrum, or its fit to ``size``.

    Raises:
        FileNotFoundError: No such file.
        ConfigError: Not a driftlens spectrum file, inconsistent metadata, or smaller than ``size``.

    Example:
        >>> import tempfile, os, torch
        >>> path = os.path.join(tempfile.mkdtemp(), "spectrum.npz")
        >>> save(estimate(torch.rand(2, 3, 16, 16), source="demo"), path)
        >>> spectrum = load(path, size=8); spectrum.size, spectrum.source
        (8, 'demo')
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"spectrum file {path} does not exist")
    fields = _read_npz(path)
    missing = [key for key in _KEYS if key not in fields]
    if missing:
        raise ConfigError(f"{path} is not a driftlens spectrum file: it lacks {', '.join(missing)} "
                          f"(make one with `driftlens spectrum`)")
    magnitude, stored = fields["magnitude"].astype(np.float32), int(fields["size"])
    if str(fields["format"]) != _FORMAT:
        raise ConfigError(f"{path}: format {fields['format']} is not {_FORMAT}; estimate it again "
                          f"(`driftlens spectrum`)")
    if magnitude.shape != (3, stored, stored // 2 + 1):
        raise ConfigError(f"{path}: magnitude of shape {magnitude.shape} does not match its size {stored} "
                          f"(expected {(3, stored, stored // 2 + 1)})")
    if int(fields["count"]) < 1 or not np.isfinite(magnitude).all() or (magnitude < 0).any():
        raise ConfigError(f"{path}: the magnitude must be finite and non-negative and the count positive")
    spectrum = Spectrum(magnitude, str(fields["source"]), int(fields["count"]))
    if size is None:
        return spectrum
    if size > stored:
        raise ConfigError(f"{path} describes {stored} px images and cannot serve {size} px; estimate it at "
                          f"{size} px or more (`driftlens spectrum --size {size}`)")
    return fit(spectrum, size)


def _read_npz(path) -> dict:
    """Every array of an ``.npz`` file (no pickles), or a ConfigError saying it is not one."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path} is not a driftlens spectrum file: {err}") from err
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ConfigError(f"{path} is not a driftlens spectrum file: it holds one array, not an .npz archive")
    with data:
        return {key: data[key] for key in data.files}


def fit(spectrum: Spectrum, size: int) -> Spectrum:
    """The spectrum of the same images at a smaller side: the low frequencies, in cycles per image.

    Resizing an image keeps its content at the same number of cycles per image, so the magnitude
    at ``size`` is that of the frequencies ``|k| <= size / 2`` at the stored side (up to a factor,
    which MACO normalises away).

    Args:
        spectrum (Spectrum): The stored spectrum.
        size (int): The side wanted, at most ``spectrum.size``.

    Returns:
        Spectrum: ``(3, size, size // 2 + 1)``.

    Raises:
        ConfigError: ``size`` is larger than the spectrum's side.

    Example:
        >>> import torch
        >>> fit(estimate(torch.rand(1, 3, 16, 16)), 6).magnitude.shape
        (3, 6, 4)
    """
    if size > spectrum.size:
        raise ConfigError(f"a spectrum of {spectrum.size} px cannot serve {size} px images")
    rows = (np.fft.fftfreq(size) * size).round().astype(int) % spectrum.size
    magnitude = spectrum.magnitude[:, rows, :size // 2 + 1]
    return Spectrum(np.ascontiguousarray(magnitude), spectrum.source, spectrum.count)


def magnitude_for(size: int, spectrum=None) -> torch.Tensor:
    """The magnitude MACO uses at ``size``: from a file, a :class:`Spectrum`, or the default.

    Args:
        size (int): Render size.
        spectrum (str, Path or Spectrum, optional): A spectrum file, or a spectrum. Default: None
            (:func:`default_spectrum`)

    Returns:
        torch.Tensor: ``(3, size, size // 2 + 1)`` float32.

    Raises:
        ConfigError: See :func:`load` and :func:`fit`.

    Example:
        >>> magnitude_for(16).shape
        torch.Size([3, 16, 9])
    """
    if spectrum is None:
        spectrum = default_spectrum(size)
    elif not isinstance(spectrum, Spectrum):
        spectrum = load(spectrum, size)
    return torch.from_numpy(fit(spectrum, size).magnitude.copy())
