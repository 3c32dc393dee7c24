"""Model zoo, layer names and activation capture.

Example:
    >>> import torch
    >>> from driftlens import models
    >>> model = models.load("tiny", weights="random")
    >>> with models.capture(model, ["conv3"]) as acts:
    ...     _ = model(torch.rand(2, 3, 32, 32))
    >>> models.channel_means(acts["conv3"]).shape
    torch.Size([2, 16])
"""

from driftlens.models.capture import capture, channel_means
from driftlens.models.layers import UnknownLayerError
from driftlens.models.modes import eval_mode
from driftlens.models.registry import MODELS, architecture, available, from_checkpoint, from_file, load
from driftlens.models.upstream import same_upstream, upstream_state
from driftlens.models.weights import WeightsUnavailableError
from driftlens.models.wrapper import ModelWrapper

__all__ = ["MODELS", "ModelWrapper", "UnknownLayerError", "WeightsUnavailableError", "architecture", "available",
           "capture", "channel_means", "eval_mode", "from_checkpoint", "from_file", "load", "same_upstream",
           "upstream_state"]
