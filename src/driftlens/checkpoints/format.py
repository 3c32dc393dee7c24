"""The driftlens checkpoint (``results/{exp}/checkpoints/epoch_NNN.pt``): written and read only here.

A checkpoint holds tensors and plain Python values only, and is read weights-only
(:func:`driftlens.checkpoints.reading.load_tensors`): a file crafted to run code when unpickled is refused, never
run. Identical runs write byte-identical checkpoints (see :func:`driftlens.io.save_torch`).

Example:
    >>> import tempfile, os, torch
    >>> path = os.path.join(tempfile.mkdtemp(), "epoch_000.pt")
    >>> save_checkpoint(Checkpoint(model={"w": torch.ones(1)}, epoch=0, config={"model": "tiny"},
    ...                            classes=["a", "b"]), path)
    >>> read_checkpoint(path).epoch
    0
"""

import dataclasses
from dataclasses import dataclass

import torch

from driftlens.checkpoints.reading import load_tensors
from driftlens.errors import ArtifactError
from driftlens.io import save_torch

KIND = "driftlens checkpoint"
"""The ``kind`` entry that marks a file as a driftlens checkpoint."""


@dataclass(frozen=True)
class Checkpoint:
    """The state after one epoch of fine-tuning.

    Args:
        model (dict[str, torch.Tensor]): The network's state dict.
        epoch (int): The epoch it ends (0: the start model).
        config (dict): The training config as plain data (:meth:`driftlens.train.TrainConfig.to_dict`);
            ``config["model"]`` names the network.
        classes (list[str]): The data set's class names; the classifier's outputs in this order.
        stage (int, optional): Index of the stage that trained this epoch. Default: None (epoch 0)
        optimizer (dict, optional): The optimizer's state dict. Default: None
        rng (dict, optional): Random generator states, as tensors. Default: None

    Example:
        >>> Checkpoint(model={}, epoch=3, config={"model": "tiny"}, classes=["a"]).model_name
        'tiny'
    """

    model: dict
    epoch: int
    config: dict
    classes: list
    stage: int | None = None
    optimizer: dict | None = None
    rng: dict | None = None

    @classmethod
    def from_record(cls, record, path) -> "Checkpoint":
        """Check what ``torch.load`` read from ``path`` and turn it into a :class:`Checkpoint`.

        Args:
            record (object): The loaded object.
            path (str or Path): Where it came from, for the error message.

        Raises:
            ArtifactError: ``record`` is not a complete driftlens checkpoint.

        Example:
            >>> Checkpoint.from_record({"w": 1}, "weights.pt")
            Traceback (most recent call last):
                ...
            driftlens.errors.ArtifactError: weights.pt is not a driftlens checkpoint (it has no 'driftlens checkpoint' marker); give a checkpoint that `driftlens train-epoch` wrote
        """
        if not is_checkpoint(record):
            raise ArtifactError(f"{path} is not a driftlens checkpoint (it has no {KIND!r} marker); "
                                f"give a checkpoint that `driftlens train-epoch` wrote")
        names = [field.name for field in dataclasses.fields(cls)]
        missing = [name for name in names if name not in record]
        if missing or not isinstance(record["config"], dict) or not isinstance(record["config"].get("model"), str):
            raise ArtifactError(f"{path} is not a complete driftlens checkpoint: it lacks "
                                f"{', '.join(missing) or 'config.model'}")
        return cls(**{name: record[name] for name in names})

    @property
    def model_name(self) -> str:
        """The zoo name of the network (``config["model"]``)."""
        return self.config["model"]


def save_checkpoint(checkpoint: Checkpoint, path) -> None:
    """Write a checkpoint atomically; identical checkpoints give identical bytes.

    Args:
        checkpoint (Checkpoint): What to write (tensors are moved to the CPU).
        path (str or Path): The ``.pt`` file.

    Raises:
        DiskFullError: The disk filled up while writing.

    Example:
        >>> import tempfile, os, torch
        >>> save_checkpoint(Checkpoint({"w": torch.ones(1)}, 0, {"model": "tiny"}, ["a"]),
        ...                 os.path.join(tempfile.mkdtemp(), "c.pt"))
    """
    record = {field.name: getattr(checkpoint, field.name) for field in dataclasses.fields(Checkpoint)}
    record["model"] = {name: tensor.detach().cpu() for name, tensor in checkpoint.model.items()}
    save_torch({"kind": KIND, **record}, path)


def read_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`, safely and once.

    Args:
        path (str or Path): The ``.pt`` file.

    Returns:
        Checkpoint: Its contents, tensors on the CPU.

    Raises:
        MissingFileError: No such file.
        ArtifactError: The file is truncated, holds anything other than tensors and plain values
            (nothing in it is run), or is not a driftlens checkpoint; the message names the file.

    Example:
        >>> read_checkpoint("results/demo/checkpoints/epoch_001.pt").epoch  # doctest: +SKIP
        1
    """
    return Checkpoint.from_record(load_tensors(path, "a driftlens checkpoint"), path)


def is_checkpoint(record) -> bool:
    """Whether a loaded ``.pt`` object is a driftlens checkpoint (rather than, e.g., a plain state dict).

    Example:
        >>> is_checkpoint({"conv.weight": None}), is_checkpoint({"kind": KIND})
        (False, True)
    """
    return isinstance(record, dict) and record.get("kind") == KIND


