"""Moved: the driftlens checkpoint is :mod:`driftlens.checkpoints.format`, the reader of other tools' files
:mod:`driftlens.checkpoints.reading`. This name keeps working for one release.

Example:
    >>> from driftlens.checkpoint import read_checkpoint
    >>> read_checkpoint.__module__
    'driftlens.checkpoints.format'
"""

from driftlens.checkpoints.format import KIND, Checkpoint, is_checkpoint, read_checkpoint, save_checkpoint  # noqa: F401
from driftlens.checkpoints.reading import (SAFE_GLOBALS, STATE_DICT_KEYS, load_tensors, load_weights_file,  # noqa: F401
                                           state_dict_of)
