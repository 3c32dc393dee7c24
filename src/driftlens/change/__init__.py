"""Measuring change between checkpoints: the render-free screen, render evidence, representations and pixels.

- :mod:`~driftlens.change.responses`: unit responses, the quantity the semantic measures compare.
- :mod:`~driftlens.change.screen`: every channel, render-free, with bootstrap noise references and a verdict
  (minimum effect, false-discovery rate); the change atlas.
- :mod:`~driftlens.change.render_evidence`: cross-activation of renders, its seed-noise reference, the render
  verdict and the change table of rendered channels (which combines both verdicts).
- :mod:`~driftlens.change.representation`: linear CKA and relative weight change.
- :mod:`~driftlens.change.pixels`: SSIM and perceptual distance of renders (reported, not judged).
- :mod:`~driftlens.change.planted`: planted changes and null perturbations that validate the verdicts.
- :mod:`~driftlens.change.tables`: :func:`compare_models`, the library's one call: the change tables of two models
  (``driftlens.change.compare``, its old name, keeps working for one release).

Example:
    >>> import numpy as np
    >>> from driftlens.change import screen_table
    >>> a = np.random.default_rng(0).normal(size=(64, 4))
    >>> screen_table({0: a, 1: a}).changed.any()
    np.False_
"""

import importlib

_EXPORTS = {
    "pixels": ["PerceptualDistance", "lpips_backbone_url", "pixel_scores", "ssim"],
    "planted": ["blend_channels", "perturb", "reinitialise_channels", "swap_channels"],
    "render_evidence": ["ALPHA", "change_table", "cross_activation_samples", "relative_response",
                        "verdict"],
    "representation": ["CKA_ESTIMATORS", "DEFAULT_CKA_ESTIMATOR", "centered_gram", "gram_cka", "linear_cka",
                       "probe_pass", "representation_change", "weight_change"],
    "responses": ["batch_activations", "layer_responses", "render_responses", "unit_responses"],
    "screen": ["MIN_EFFECT", "screen_table"],
    "tables": ["compare_models", "rendered_table", "screen_checkpoints"],
}
"""Each submodule's public names, importable from the package: a submodule is imported on first use, so a job that
reads a screen table (``driftlens.change.screen``) does not import torch with the render evidence."""

_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name in _MODULE_OF:
        return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
