"""Loading weights: torchvision's ImageNet downloads (with clear offline errors) and state-dict files."""

import hashlib
import os
import pickle
from pathlib import Path
from urllib.parse import urlparse

import torch

from driftlens.checkpoints import Checkpoint, is_checkpoint, load_tensors
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
            f"On a machine with internet run `driftlens fetch EXPERIMENT`, or download {url}\n"
            f"and place it at {target} (a partial or corrupt file there must be deleted first),\n"
            f"or set `experiments.<name>.weights` in config.yaml to a state-dict file") from err
    except (RuntimeError, EOFError, pickle.UnpicklingError) as err:
        raise WeightsUnavailableError(
            f"the cached weights file {target} could not be read ({err}); delete it and retry") from err


def download_file(url: str, mirror: str | None = None) -> Path:
    """Download a weights file into torch's hub cache, where torchvision (and lpips) will read it.

    A file already there whose SHA-256 starts with the hash in its name (torchvision's
    ``name-<sha256 prefix>.pth`` convention) is kept; the transfer goes to a temporary file that is
    moved into place only after the hash matched.

    Args:
        url (str): The official URL.
        mirror (str, optional): Take the file of the same name from this folder URL instead.
            Default: None

    Returns:
        Path: The cached file (:func:`cache_file_for`).

    Raises:
        WeightsUnavailableError: Offline, a failed transfer, or a checksum mismatch.

    Example:
        >>> download_file("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth")  # doctest: +SKIP
        PosixPath('/root/.cache/torch/hub/checkpoints/alexnet-owt-7be5be79.pth')
    """
    target = cache_file_for(url)
    match = torch.hub.HASH_REGEX.search(target.name)
    prefix = match.group(1) if match else None
    if target.is_file() and (prefix is None or sha256_of(target).startswith(prefix)):
        return target
    source = f"{mirror.rstrip('/')}/{target.name}" if mirror else url
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(source, str(target), hash_prefix=prefix, progress=False)
    except OSError as err:  # URLError is an OSError
        raise WeightsUnavailableError(f"could not download {source} ({type(err).__name__}: {err}); "
                                      f"download it by hand and place it at {target}") from err
    except RuntimeError as err:  # torch.hub's "invalid hash value"
        raise WeightsUnavailableError(f"checksum mismatch for {source}: its SHA-256 does not start with {prefix} "
                                      f"(a truncated or different file); nothing was written to {target}") from err
    return target


def sha256_of(path) -> str:
    """SHA-256 hex digest of a file.

    Example:
        >>> import tempfile
        >>> path = tempfile.mktemp(); open(path, "wb").write(b"abc") and sha256_of(path)[:8]
        'ba7816bf'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_timm(name: str) -> Path:
    """Download a timm model's default pretrained weights into the Hugging Face cache that timm reads.

    Returns:
        Path: The cached weights file (or the cache folder when timm keeps them elsewhere).

    Raises:
        WeightsUnavailableError: Offline or a failed download.

    Example:
        >>> download_timm("resnet10t")  # doctest: +SKIP
        PosixPath('/root/.cache/huggingface/hub/models--timm--resnet10t.c3_in1k/snapshots/.../model.safetensors')
    """
    import timm
    from huggingface_hub import constants, try_to_load_from_cache

    load_timm(name)
    cfg = timm.get_pretrained_cfg(name)
    for filename in ("model.safetensors", cfg.hf_hub_filename or "pytorch_model.bin"):
        cached = try_to_load_from_cache(cfg.hf_hub_id, filename) if cfg.hf_hub_id else None
        if isinstance(cached, str):
            return Path(cached)
    return Path(constants.HF_HUB_CACHE)


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
    """Read a state dict from a file: a plain state dict or a driftlens checkpoint (its model's state).

    The file is read once, with ``weights_only=True`` (see :func:`driftlens.checkpoints.reading.load_tensors`).

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
