"""``driftlens select-channels``: the channels to visualise, checked against the layer, as ``0,1,2``."""

import numpy as np
import torch

from driftlens import models
from driftlens.errors import ConfigError
from driftlens.io import atomic_path
from driftlens.optvis import top_channels


def add_parser(subparsers):
    parser = subparsers.add_parser("select-channels", help="resolve a channel list or top_k:K for a layer")
    parser.add_argument("--checkpoint", required=True, help="checkpoint whose model is inspected (epoch 0)")
    parser.add_argument("--layer", required=True)
    parser.add_argument("--channels", required=True, help="a list like 0,1,2 or top_k:K")
    parser.add_argument("--probe", help="npz of probe images (needed for top_k:K)")
    parser.add_argument("-o", "--output", required=True, help="text file that receives e.g. 0,1,2")
    parser.set_defaults(func=run)


def run(args):
    model = models.from_checkpoint(args.checkpoint)
    channels = resolve_channels(model, args.layer, args.channels, args.probe)
    with atomic_path(args.output) as tmp:
        tmp.write_text(",".join(map(str, channels)) + "\n")


def resolve_channels(model, layer, spec, probe=None) -> list[int]:
    """Turn ``"0,1,2"`` or ``"top_k:K"`` into channel indices that exist in ``layer``.

    Args:
        model (ModelWrapper): The model.
        layer (str): Layer name or alias.
        spec (str): Comma-separated indices, or ``top_k:K`` (the K channels with the highest mean
            activation on the probe images).
        probe (str, optional): npz with ``images``; required for ``top_k``. Default: None

    Returns:
        list[int]: Channel indices.

    Raises:
        UnknownLayerError, IndexError, ConfigError: Bad layer, channel or spec.

    Example:
        >>> from driftlens import models
        >>> resolve_channels(models.load("tiny", weights="random"), "conv2", "0,3")
        [0, 3]
    """
    if spec.startswith("top_k:"):
        if probe is None:
            raise ConfigError("channels top_k needs probe images (--probe)")
        with np.load(probe) as data:
            images = torch.from_numpy(data["images"])
        return top_channels(model, layer, images, int(spec.split(":", 1)[1]))
    try:
        channels = [int(c) for c in spec.split(",")]
    except ValueError as err:
        raise ConfigError(f"channels must be a list like 0,1,2 or top_k:K, got {spec!r}") from err
    for channel in channels:
        model.check_channel(layer, channel)
    return channels
