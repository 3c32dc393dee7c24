"""Measuring change between checkpoints: the render-free screen, render evidence, representations and pixels.

- :mod:`~driftlens.change.responses`: unit responses, the quantity the semantic measures compare.
- :mod:`~driftlens.change.screen`: every channel, render-free, with bootstrap noise references and a verdict
  (minimum effect, false-discovery rate); the change atlas.
- :mod:`~driftlens.change.render_evidence`: cross-activation of renders, its seed-noise reference, the render
  verdict and the change table of rendered channels (which combines both verdicts).
- :mod:`~driftlens.change.representation`: linear CKA and relative weight change.
- :mod:`~driftlens.change.pixels`: SSIM and perceptual distance of renders (reported, not judged).
- :mod:`~driftlens.change.planted`: planted changes and null perturbations that validate the verdicts.
- :mod:`~driftlens.change.compare`: :func:`compare_models`, the library's one call.

Example:
    >>> import numpy as np
    >>> a = np.random.default_rng(0).normal(size=(64, 4))
    >>> screen_table({0: a, 1: a}).changed.any()
    np.False_
"""

from driftlens.change.compare import compare_models, screen_checkpoints
from driftlens.change.pixels import PerceptualDistance, lpips_backbone_url, pixel_scores, ssim
from driftlens.change.planted import blend_channels, perturb, reinitialise_channels, swap_channels
from driftlens.change.render_evidence import (ALPHA, change_table, cross_activation_samples, exemplar_agreement,
                                              relative_response, verdict)
from driftlens.change.representation import (centered_gram, gram_cka, linear_cka, probe_pass, representation_change,
                                             weight_change)
from driftlens.change.responses import layer_responses, unit_responses
from driftlens.change.screen import MIN_EFFECT, screen_table

__all__ = ["ALPHA", "MIN_EFFECT", "PerceptualDistance", "blend_channels", "change_table", "compare_models",
           "centered_gram", "cross_activation_samples", "exemplar_agreement", "gram_cka", "layer_responses", "linear_cka",
           "lpips_backbone_url", "perturb", "pixel_scores", "probe_pass", "reinitialise_channels", "relative_response",
           "representation_change", "screen_checkpoints", "screen_table", "ssim", "swap_channels", "unit_responses", "verdict",
           "weight_change"]
