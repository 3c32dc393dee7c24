"""The feature diff: what fine-tuning added and removed, as a crosscoder's latents over a layer's checkpoints.

A channel carries several features, so a channel's change cannot say what the network gained or gave up. A
crosscoder (:mod:`~driftlens.features.crosscoder`) learns one sparse dictionary of latents that every checkpoint
reads and writes; a latent's decoder norms say where it lives, and :mod:`~driftlens.features.latents` classes it
as new, lost, strengthened, weakened, rotated, rewired, transient, shared, rare or dead, against minimum effects, a
noise null and Latent Scaling.
:func:`feature_diff` does it all for one layer.

Example:
    >>> import torch
    >>> from driftlens import features
    >>> diff = features.feature_diff({0: torch.randn(300, 8), 1: torch.randn(300, 8)},
    ...                              {0: torch.randn(2, 2, 2, 8), 1: torch.randn(2, 2, 2, 8)},
    ...                              settings=features.FeatureSettings(steps=10), progress=False)
    >>> set(diff.table["class"]) <= set(features.CLASSES)
    True
"""

from driftlens.features.diff import (FeatureDiff, FeatureSettings, changed_latents_on, feature_diff,
                                     with_exemplar_files)
from driftlens.features.latents import CLASSES

__all__ = ["CLASSES", "FeatureDiff", "FeatureSettings", "changed_latents_on", "feature_diff", "with_exemplar_files"]
