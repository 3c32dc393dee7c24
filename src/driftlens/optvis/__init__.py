"""Feature visualisation: parameterisations, transforms, objectives, a batched render loop, four methods,
natural-image spectra (for MACO) and feature accentuation.

Example:
    >>> import driftlens
    >>> from driftlens import optvis
    >>> model = driftlens.models.load("tiny", weights="random")
    >>> optvis.visualize_channels(model, "conv3", [0, 1, 2], size=32, steps=4, progress=False).shape
    (3, 32, 32, 3)
"""

from driftlens.optvis import objectives, param, spectrum, transforms
from driftlens.optvis.accentuate import accentuate
from driftlens.optvis.methods import METHODS, visualize
from driftlens.optvis.render import NonFiniteError, RenderResult, render
from driftlens.optvis.visualizer import (FeatureVisualizer, batch_limit, save_gif, select_channels, top_channels,
                                        visualize_channels, visualize_units)

__all__ = ["METHODS", "FeatureVisualizer", "NonFiniteError", "RenderResult", "accentuate", "batch_limit", "objectives",
           "param", "render", "save_gif", "select_channels", "spectrum", "top_channels", "transforms", "visualize",
           "visualize_channels", "visualize_units"]
