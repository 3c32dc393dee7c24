"""Moved: the import job is :mod:`driftlens.checkpoints.importing`. This name keeps working for one release.

Example:
    >>> from driftlens.importing import import_checkpoint
    >>> import_checkpoint.__module__
    'driftlens.checkpoints.importing'
"""

from driftlens.checkpoints.importing import import_checkpoint  # noqa: F401
