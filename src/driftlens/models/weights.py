"""Loading weights: torchvision's ImageNet downloads (with clear offline errors) and state-dict files."""

import os
import pickle
from pathlib import Path
from urllib.parse import urlparse

import torch


class WeightsUnavailableError(RuntimeError):
    """Weights could not be downloaded or read; the message says where to put the file."""


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
            f"On a machine with internet run `driftlens fetch EXPERIMENT`, or download {url}\n"
            f"and place it at {target} (a partial or corrupt file there must be deleted first),\n"
            f"or set `experiments.<name>.weights` in config.yaml to a state-dict file") from err
    except (RuntimeError, EOFError, pickle.UnpicklingError) as err:
        raise WeightsUnavailableError(
            f"the cached weights file {target} could not be read ({err}); delete it and retry") from err


def load_timm(name: str):
    """Build a timm model with its default pretrained weights, from the Hugging Face cache or a download.

    Args:
        name (str): The timm model name (``resnet10t``).

    Raises:
        WeightsUnavailableError: Offline with nothing cached, or a failed download; the message says
            how to fetch the weights ahead of time.

    Example:
        >>> net = load_timm("resnet10t")  # doctest: +SKIP
    """
    import timm
    from huggingface_hub.constants import HF_HUB_CACHE

    try:
        return timm.create_model(name, pretrained=True)
    except Exception as err:  # timm and huggingface_hub raise many kinds for offline, missing and corrupt files
        raise WeightsUnavailableError(
            f"could not get the pretrained weights of timm:{name} ({type(err).__name__}: {err}).\n"
            f"On a machine with internet run `driftlens fetch EXPERIMENT` (they go to {HF_HUB_CACHE}; "
            f"set HF_HUB_OFFLINE=1 on offline nodes),\nor set `experiments.<name>.weights` to a state-dict file") from err


def read_state_dict(path) -> dict:
    """Read a state dict from a file: a plain state dict or a driftlens checkpoint (its ``model``).

    Raises:
        WeightsUnavailableError: The file is missing or not a state dict.

    Example:
        >>> import tempfile, torch
        >>> path = tempfile.mktemp(suffix=".pt"); torch.save({"w": torch.ones(1)}, path)
        >>> list(read_state_dict(path))
        ['w']
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsUnavailableError(f"weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise WeightsUnavailableError(f"weights file {path} is not a readable state dict: {err}") from err
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise WeightsUnavailableError(f"weights file {path} does not hold a state dict of tensors")
    return state
