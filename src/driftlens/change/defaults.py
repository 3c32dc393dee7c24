"""The change rule's defaults, in one place: the library, the command line's help and the workflow (which passes
only what a config sets) all read them here. No imports, so reading them costs a command nothing.

Example:
    >>> MIN_EFFECT, ALPHA
    (0.04, 0.05)
"""

ALPHA = 0.05
"""False-discovery rate of a verdict over a layer's channels at one epoch (the screen's and the render verdict's)."""

MIN_EFFECT = 0.04
"""Default minimum effect: a rank shift (``sqrt(1 - rho)``) of 0.04, 4 % of the way to an unrelated ranking."""

TOP_K = 5
"""Default size of the top-exemplar sets."""

BOOTSTRAP = 200
"""Default number of bootstrap resamples of the probe images."""
