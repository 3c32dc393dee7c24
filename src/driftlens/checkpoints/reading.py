"""The safe reader of any tool's checkpoint files (driftlens, timm, Lightning, torchvision's scripts, plain state
dicts, safetensors): the one weights-only loader, where a file keeps its weights, and the wrapper prefix (DDP,
``torch.compile``, Lightning) its keys carry.

Every ``.pt``/``.pth`` file is read with ``torch.load(weights_only=True)``: a file crafted to run code when unpickled
is refused, never run, and the error names what it would have needed.

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.pt"); torch.save({"state_dict": {"w": torch.ones(1)}}, path)
    >>> state_dict_of(load_weights_file(path), path)[1]
    "entry 'state_dict'"
"""

import argparse
import pickle
import re
from pathlib import Path

import torch

from driftlens.errors import ArtifactError, MissingFileError

SAFE_GLOBALS = (argparse.Namespace,)
"""The few harmless classes a weights-only load may rebuild besides tensors and plain values: timm's
``CheckpointSaver`` stores the training arguments as an ``argparse.Namespace`` (attributes only, no code)."""

STATE_DICT_KEYS = ("state_dict", "model", "model_state_dict", "state_dict_ema", "model_ema", "ema")
"""Where training tools keep the weights inside a checkpoint dict, in the order they are tried: Lightning and timm
(``state_dict``; timm's EMA copy ``state_dict_ema``), torchvision's reference scripts (``model``, ``model_ema``),
and the common ``model_state_dict``."""


def load_tensors(path, what: str = "a torch file", mmap: bool = False):
    """``torch.load`` with ``weights_only=True`` onto the CPU, with one-line errors naming the file.

    Args:
        path (str or Path): The file.
        what (str, optional): What the file should be, for the error message. Default: "a torch file"
        mmap (bool, optional): Map the file instead of reading its tensors (to read its plain values). Default: False

    Returns:
        object: The tensors and plain Python values the file holds.

    Raises:
        MissingFileError: No such file.
        ArtifactError: Truncated, not a torch file, or holding other objects (which are not loaded).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "x.pt"); torch.save({"w": torch.ones(1)}, path)
        >>> load_tensors(path)["w"].tolist()
        [1.0]
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path} does not exist")
    try:
        with torch.serialization.safe_globals(list(SAFE_GLOBALS)):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        refused = _refused_globals(path) or re.findall(r"GLOBAL (\S+)", str(err))  # e.g. builtins.exec
        culprit = f" ({', '.join(refused)})" if refused else ""
        raise ArtifactError(f"{path} is not {what}: it holds objects other than tensors and plain values{culprit}, "
                            f"which are never loaded because they could run code") from err
    except Exception as err:  # noqa: BLE001 - any failure to parse the file means it is damaged or foreign
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ArtifactError(f"{path} is not {what}: truncated or not written by torch.save ({first_line})") from err


def _refused_globals(path) -> list[str]:
    """The classes and functions a file would need to be unpickled, other than the allowed ones (read, not run)."""
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # noqa: BLE001 - not torch's zip format: a plain pickle, read opcode by opcode
        found = _pickle_globals(path)
    allowed = {f"{cls.__module__}.{cls.__qualname__}" for cls in SAFE_GLOBALS}
    return sorted(set(found) - allowed)


def _pickle_globals(path) -> list[str]:
    """The ``module.name`` of every global a plain pickle file refers to, read with pickletools (nothing runs)."""
    import pickletools

    names, strings = [], []
    try:
        with open(path, "rb") as file:
            for opcode, argument, _ in pickletools.genops(file):
                if opcode.name == "GLOBAL":
                    names.append(argument.replace(" ", "."))
                elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                    names.append(".".join(strings[-2:]))
                elif isinstance(argument, str):
                    strings.append(argument)
    except Exception:  # noqa: BLE001 - a damaged file: name what was read up to the damage
        pass
    return names


def load_weights_file(path):
    """Read a weights file of any tool: ``.safetensors``, or a torch file read weights-only.

    Args:
        path (str or Path): The file.

    Returns:
        object: A dict of tensors (safetensors), or what the torch file holds.

    Raises:
        MissingFileError: No such file.
        ArtifactError: Damaged, or holding objects other than tensors, plain values and :data:`SAFE_GLOBALS`.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "w.pt"); torch.save({"args": argparse.Namespace(lr=1)}, path)
        >>> load_weights_file(path)["args"].lr
        1
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        return load_tensors(path, "a weights file")
    if not path.is_file():
        raise MissingFileError(f"{path} does not exist")
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path)
    except (SafetensorError, OSError) as err:
        raise ArtifactError(f"{path} is not a safetensors file: {err}") from err


def state_dict_of(record, path, key: str | None = None) -> tuple[dict, str]:
    """The state dict inside a loaded checkpoint of any tool, and where it was found.

    A dict of tensors is itself the state dict; a driftlens checkpoint gives its model; otherwise the
    first of :data:`STATE_DICT_KEYS` that holds a dict of tensors, or ``key`` when given.

    Args:
        record (object): What :func:`load_weights_file` returned.
        path (str or Path): The file, for messages.
        key (str, optional): The entry that holds the weights (e.g. ``state_dict_ema``). Default: the first found

    Returns:
        tuple[dict, str]: The state dict and a description of where it was (``"the file itself"``, ``"'model'"``).

    Raises:
        ArtifactError: No such entry, or no state dict; the message lists the file's entries.

    Example:
        >>> state, where = state_dict_of({"epoch": 3, "state_dict": {"w": torch.ones(1)}}, "x.pth.tar")
        >>> list(state), where
        (['w'], "entry 'state_dict'")
    """
    from driftlens.checkpoints.format import Checkpoint, is_checkpoint  # the driftlens format is one of those read

    if is_checkpoint(record):
        return Checkpoint.from_record(record, path).model, "the driftlens checkpoint"
    if not isinstance(record, dict):
        raise ArtifactError(f"{path} holds a {type(record).__name__}, not a dict of weights")
    if key is None and _is_state_dict(record):
        return record, "the file itself"
    candidates = [key] if key else [name for name in STATE_DICT_KEYS if _is_state_dict(record.get(name))]
    if not candidates or candidates[0] not in record or not _is_state_dict(record[candidates[0]]):
        wanted = f"entry {key!r}" if key else f"any of {', '.join(STATE_DICT_KEYS)}"
        raise ArtifactError(f"{path} holds no state dict in {wanted}; its entries are {', '.join(map(str, record))}")
    return record[candidates[0]], f"entry {candidates[0]!r}"


def _is_state_dict(value) -> bool:
    return isinstance(value, dict) and len(value) > 0 and all(torch.is_tensor(v) for v in value.values())


WRAPPER_PREFIXES = ("module.", "_orig_mod.", "model.", "net.")
"""Key prefixes that wrappers add to a model's own parameter names: DDP (``module.``), ``torch.compile``
(``_orig_mod.``) and LightningModules holding the network as ``model`` or ``net``; any other attribute name is
found too (:func:`fit_keys`)."""


def fit_keys(state: dict, model_keys, source: str) -> dict:
    """``state`` with the prefix removed that a wrapper added to every key, found by matching the model's own keys.

    Args:
        state (dict): A state dict from a file.
        model_keys (list[str]): The model's own state-dict keys.
        source (str): The file, for messages.

    Returns:
        dict: The state dict under the model's key names (keys outside the prefix, e.g. a Lightning module's loss
        or metric state, are left out).

    Raises:
        ArtifactError: Fewer than half of the model's keys can be matched, with or without a prefix.

    Example:
        >>> fit_keys({"_orig_mod.conv.weight": 1, "_orig_mod.fc.bias": 2}, ["conv.weight", "fc.bias"], "x.pt")
        {'conv.weight': 1, 'fc.bias': 2}
    """
    wanted = set(model_keys)
    prefix = _wrapper_prefix(state, wanted)
    fitted = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix) and k[len(prefix):] in wanted} \
        if prefix is not None else {}
    if len(fitted) * 2 < len(wanted):
        missing = [k for k in model_keys if k not in state][:3]
        unexpected = [k for k in state if k not in wanted][:3]
        raise ArtifactError(f"{source} does not fit the model: {len(wanted & set(state))} of its {len(wanted)} keys "
                            f"match; first missing {missing}, first unexpected {unexpected}"
                            + (f"; with the prefix {prefix!r} removed {len(fitted)} would" if prefix else ""))
    return fitted


def _wrapper_prefix(state, wanted) -> str | None:
    """The prefix (``""`` for none) under which most of the model's keys appear in ``state``."""
    counts = {}
    for key in state:
        for prefix in ("", *WRAPPER_PREFIXES, *(key[:i + 1] for i, c in enumerate(key) if c == ".")):
            if key.startswith(prefix) and key[len(prefix):] in wanted:
                counts[prefix] = counts.get(prefix, 0) + 1
    return max(counts, key=lambda p: (counts[p], -len(p))) if counts else None
