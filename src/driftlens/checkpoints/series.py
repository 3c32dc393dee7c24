"""A run trained elsewhere: its checkpoint files, their order, and the epoch each one stands for.

An experiment with ``checkpoints:`` (and ``driftlens compare``) analyses a series of checkpoints written by any
tool. The rule, in one place:

- **Files**: a glob or a list; a glob's matches in natural order of their names (``checkpoint-2`` before
  ``checkpoint-10``). With the reference, at least two checkpoints.
- **Labels**: each file's epoch is the ``epoch`` it stores (timm's ``CheckpointSaver``, Lightning, torchvision's
  reference scripts and driftlens store one), else the number in its name (``epoch=N`` or ``epoch_N`` where the
  name says so, else its last number), else its position. A kind of label is used only when every file has one
  and they increase along the files.
- **Reference**: epoch 0 of the artifacts is the ``reference`` (a file, or ``imagenet`` for the model's pretrained
  weights), else the first file. Those tools count completed epochs from 0, so when the reference is separate and
  a file is labelled 0, every label moves up by one: the reference stays alone at epoch 0.

Only :func:`stored_epoch` imports torch (to read a file's ``epoch`` weights-only, memory-mapped, without its
tensors); the rest runs at the workflow's parse time in milliseconds.

Example:
    >>> checkpoint_series(["run/checkpoint-3.pth.tar", "run/checkpoint-10.pth.tar"], read_stored=False)
    {0: 'run/checkpoint-3.pth.tar', 10: 'run/checkpoint-10.pth.tar'}
"""

import glob
import re
from pathlib import Path

from driftlens.errors import ConfigError

PRETRAINED = "imagenet"
"""The ``reference`` that means the model's own pretrained weights rather than a file."""


def find_checkpoints(spec) -> list[str]:
    """The checkpoint files of a glob (in natural order) or of a list (in its order).

    Args:
        spec (str or list[str]): A glob such as ``runs/flowers/checkpoint-*.pth.tar``, or the files.

    Raises:
        ConfigError: The glob matches nothing, a listed file does not exist, or a file is a folder.

    Example:
        >>> find_checkpoints("no/such/run/*.pt")
        Traceback (most recent call last):
            ...
        driftlens.errors.ConfigError: the glob 'no/such/run/*.pt' matches no file
    """
    if isinstance(spec, str):
        found = sorted(glob.glob(spec), key=natural_key)
        if not found:
            raise ConfigError(f"the glob {spec!r} matches no file")
    else:
        found = list(spec)
        missing = [path for path in found if not Path(path).exists()]
        if missing:
            raise ConfigError(f"no such checkpoint file: {', '.join(map(str, missing))}")
    folders = [path for path in found if Path(path).is_dir()]
    if folders:
        raise ConfigError(f"{folders[0]} is a folder, not a checkpoint file"
                          + (f" (the glob {spec!r} matches it)" if isinstance(spec, str) else ""))
    return found


def checkpoint_series(files, reference: str | None = None, read_stored: bool = True) -> dict:
    """``{epoch: file}`` of a run: epoch 0 the reference, then every checkpoint under its label (module rule).

    Args:
        files (list[str]): The checkpoints, in order (:func:`find_checkpoints`).
        reference (str, optional): A file, or ``"imagenet"``. Default: the first file
        read_stored (bool, optional): Read the epoch each file stores (imports torch). Default: True

    Returns:
        dict[int, str]: Epochs in increasing order; the reference's value is its file or ``"imagenet"``.

    Raises:
        ConfigError: Fewer than two checkpoints with the reference, or the reference is one of the files.

    Example:
        >>> checkpoint_series(["a/epoch=0-step=9.ckpt", "a/epoch=1-step=18.ckpt"], "imagenet", read_stored=False)
        {0: 'imagenet', 1: 'a/epoch=0-step=9.ckpt', 2: 'a/epoch=1-step=18.ckpt'}
    """
    files = list(files)
    if reference in files:
        raise ConfigError(f"the reference {reference} is also one of the checkpoints; leave it out of one of them")
    if len(files) + (reference is not None) < 2:
        raise ConfigError(f"a series needs at least two checkpoints, the reference included; got {len(files)} "
                          f"file(s) ({', '.join(files) or 'none'}) and {'a' if reference else 'no'} reference")
    labels = epoch_labels(files, read_stored)
    if reference is None:
        return {0: files[0], **dict(zip(labels[1:], files[1:]))}
    shift = 1 if labels[0] == 0 else 0
    return {0: reference, **{label + shift: path for label, path in zip(labels, files)}}


def epoch_labels(files, read_stored: bool = True) -> list[int]:
    """Each file's label: the epochs they store, else the numbers in their names, else their positions (0, 1, ...).

    Example:
        >>> epoch_labels(["run/checkpoint-3.pth.tar", "run/checkpoint-10.pth.tar"], read_stored=False)
        [3, 10]
        >>> epoch_labels(["best.pt", "last.pt"], read_stored=False)
        [0, 1]
    """
    readers = ([stored_epoch] if read_stored else []) + [name_epoch]
    for read in readers:
        labels = [read(path) for path in files]
        if None not in labels and all(a < b for a, b in zip(labels, labels[1:])):
            return labels
    return list(range(len(files)))


def name_epoch(path) -> int | None:
    """The epoch a file's name gives: the number after ``epoch`` where it says so, else its last number.

    Example:
        >>> name_epoch("lightning_logs/epoch=4-step=500.ckpt"), name_epoch("model_12.pth"), name_epoch("last.ckpt")
        (4, 12, None)
    """
    name = Path(path).name
    said = re.search(r"epoch[=_\-]?(\d+)", name, re.IGNORECASE)
    numbers = re.findall(r"\d+", name)
    return int(said.group(1)) if said else int(numbers[-1]) if numbers else None


def stored_epoch(path) -> int | None:
    """The integer ``epoch`` entry of a torch checkpoint, read weights-only and memory-mapped (tensors are not
    read); None for a file without one, a ``.safetensors`` file, or one that cannot be read this way.

    Example:
        >>> import tempfile, os, torch
        >>> path = os.path.join(tempfile.mkdtemp(), "last.pt"); torch.save({"epoch": 7, "w": torch.ones(1)}, path)
        >>> stored_epoch(path)
        7
    """
    if Path(path).suffix == ".safetensors":
        return None
    from driftlens.checkpoints.reading import load_tensors

    try:
        record = load_tensors(path, mmap=True)
    except Exception:  # noqa: BLE001 - unreadable here: the label comes from the name, the import job says why
        return None
    epoch = record.get("epoch") if isinstance(record, dict) else None
    return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 0 else None


def natural_key(name: str) -> list:
    """Sort key that orders ``epoch_2`` before ``epoch_10``.

    Example:
        >>> sorted(["c-10.pt", "c-2.pt"], key=natural_key)
        ['c-2.pt', 'c-10.pt']
    """
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(name))]
