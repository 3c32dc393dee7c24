"""driftlens: see how a convolutional network's features change while it is fine-tuned.

The library has six parts, each usable on its own:

* :mod:`driftlens.models` - model zoo, layer names and activation capture.
* :mod:`driftlens.optvis` - feature visualisation (lucid-style, MACO, Yosinski, Erhan).
* :mod:`driftlens.attribution` - saliency, Grad-CAM and occlusion maps.
* :mod:`driftlens.train` / :mod:`driftlens.data` - staged fine-tuning, one epoch per call.
* :mod:`driftlens.change` - how far each channel moved: the change atlas, render evidence, CKA and weight change.
* :mod:`driftlens.features` - what fine-tuning added and removed: a crosscoder's new, lost, strengthened, weakened,
  rotated and rewired features.

Example:
    >>> import driftlens
    >>> model = driftlens.models.load("tiny", weights="random")
    >>> model.input_size
    32
"""

import importlib

__all__ = ["models"]
__version__ = "0.1.0"


def __getattr__(name):
    """Import ``driftlens.models`` on first use, so that ``driftlens.errors`` (read by the Snakefile) loads no torch."""
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
