"""Loading weights: torchvision's ImageNet downloads (with clear offline errors) and state-dict files."""

import os
import pickle
from pathlib import Path
from urllib.parse import urlparse

import torch

from driftlens.checkpoint import Checkpoint, is_checkpoint, load_tensors
from driftlens.errors import WeightsUnavailableError


def cache_file_for(url: str) -> Path:
    """Where torch's hub cache keeps the download of ``url`` (honours ``TORCH_HOME``).

    Example:
        >>> cache_file_for("https://example.org/googlenet-1378be20.pth").name
        'googlenet-1378be20.pth'
    """
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def load_torchvision(builder, weights_enum, **kwargs):
    """Build a torchvision model with ImageNet weights through torchvision's own download and cache.

    Args:
        builder (callable): e.g. ``torchvision.models.googlenet``.
        weights_enum: e.g. ``GoogLeNet_Weights.IMAGENET1K_V1``.
        **kwargs: Passed to ``builder``.

    Raises:
        WeightsUnavailableError: Offline or a failed download (names the URL and the cache file to
            place it at), or an unreadable cached file.

    Example:
        >>> from torchvision.models import googlenet, GoogLeNet_Weights
        >>> net = load_torchvision(googlenet, GoogLeNet_Weights.IMAGENET1K_V1)  # doctest: +SKIP
    """
    url = weights_enum.url
    target = cache_file_for(url)
    try:
        return builder(weights=weights_enum, **kwargs)
    except OSError as err:  # URLError is an OSError
        raise WeightsUnavailableError(
            f"could not get ImageNet weights {weights_enum} ({type(err).__name__}: {err}).\n"
            f"Download {url}\nand place it at {target}\n"
            f"(a partial or corrupt file there must be deleted first)") from err
    except (RuntimeError, EOFError, pickle.UnpicklingError) as err:
        raise WeightsUnavailableError(
            f"the cached weights file {target} could not be read ({err}); delete it and retry") from err


def read_state_dict(path) -> dict:
    """Read a state dict from a file: a plain state dict or a driftlens checkpoint (its model's state).

    The file is read once, with ``weights_only=True`` (see :func:`driftlens.checkpoint.load_tensors`).

    Raises:
        MissingFileError: The file does not exist.
        ArtifactError: The file is truncated, not a torch file, or holds objects that are not loaded.
        WeightsUnavailableError: The file holds no state dict of tensors.

    Example:
        >>> import tempfile, torch
        >>> path = tempfile.mktemp(suffix=".pt"); torch.save({"w": torch.ones(1)}, path)
        >>> list(read_state_dict(path))
        ['w']
    """
    state = load_tensors(path, "a state dict or a driftlens checkpoint")
    if is_checkpoint(state):
        state = Checkpoint.from_record(state, path).model
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise WeightsUnavailableError(f"weights file {path} does not hold a state dict of tensors")
    return state
