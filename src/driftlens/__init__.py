"""driftlens: see how a convolutional network's features change while it is fine-tuned.

The library has four parts, each usable on its own:

* :mod:`driftlens.models` - model zoo, layer names and activation capture.
* :mod:`driftlens.optvis` - feature visualisation (lucid-style, Yosinski, Erhan).
* :mod:`driftlens.attribution` - saliency, Grad-CAM and occlusion maps.
* :mod:`driftlens.train` / :mod:`driftlens.data` - staged fine-tuning, one epoch per call.

Example:
    >>> import driftlens
    >>> model = driftlens.models.load("tiny", weights="random")
    >>> model.input_size
    32
"""

from driftlens import models

__all__ = ["models"]
__version__ = "0.1.0"
