"""Moved: a run's checkpoint series is :mod:`driftlens.checkpoints.series`. This name keeps working for one
release.

Example:
    >>> from driftlens.series import checkpoint_series
    >>> checkpoint_series.__module__
    'driftlens.checkpoints.series'
"""

from driftlens.checkpoints.series import (PRETRAINED, checkpoint_series, epoch_labels, find_checkpoints,  # noqa: F401
                                          name_epoch, natural_key, stored_epoch)
