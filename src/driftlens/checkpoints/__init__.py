"""Checkpoints from anywhere, in one package.

- :mod:`~driftlens.checkpoints.format`: the driftlens checkpoint (``epoch_NNN.pt``), written and read only there.
- :mod:`~driftlens.checkpoints.reading`: the safe reader of any tool's files (the one weights-only loader, and where
  a file keeps its weights).
- :mod:`~driftlens.checkpoints.series`: a run trained elsewhere: its files, their order and their epochs (no torch).
- :mod:`~driftlens.checkpoints.importing`: one such file as a driftlens checkpoint and metrics file (the import job).

Names are imported from their module on first use, so ``driftlens.checkpoints.series`` stays free of torch.

Example:
    >>> from driftlens import checkpoints
    >>> checkpoints.checkpoint_series(["run/checkpoint-3.pth.tar", "run/checkpoint-10.pth.tar"], read_stored=False)
    {0: 'run/checkpoint-3.pth.tar', 10: 'run/checkpoint-10.pth.tar'}
"""

import importlib

_MODULE_OF = {
    "format": ["KIND", "Checkpoint", "is_checkpoint", "read_checkpoint", "save_checkpoint"],
    "reading": ["SAFE_GLOBALS", "STATE_DICT_KEYS", "WRAPPER_PREFIXES", "fit_keys", "load_tensors", "load_weights_file",
                "state_dict_of"],
    "series": ["PRETRAINED", "checkpoint_series", "epoch_labels", "find_checkpoints", "name_epoch", "natural_key",
               "stored_epoch"],
    "importing": ["import_checkpoint"],
}
_MODULE_OF = {name: module for module, names in _MODULE_OF.items() for name in names}


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'driftlens.checkpoints' has no attribute {name!r}")
    return getattr(importlib.import_module(f"driftlens.checkpoints.{_MODULE_OF[name]}"), name)


__all__ = sorted(_MODULE_OF)
