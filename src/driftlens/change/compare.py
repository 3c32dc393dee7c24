"""Moved: the library's one call is :mod:`driftlens.change.tables` (the word "compare" now names only the user's
``driftlens compare``). This name keeps working for one release.

Example:
    >>> from driftlens.change.compare import compare_models
    >>> compare_models.__module__
    'driftlens.change.tables'
"""

from driftlens.change.tables import compare_models, rendered_table, screen_checkpoints  # noqa: F401
