"""One checkpoint of a run trained elsewhere, as a driftlens checkpoint and metrics file.

An experiment with ``checkpoints:`` has no training jobs: each of its files (or ``imagenet``, the model's pretrained
weights, as the reference) is read once, weights-only (:func:`driftlens.models.from_file`), and written as
``results/{exp}/checkpoints/epoch_NNN.pt`` with its ``metrics/epoch_NNN.json``, so that everything downstream runs
as for a trained experiment. The metrics hold the accuracy and loss on the probe images when these are labelled
with the checkpoint's classes (a classifier of as many outputs as the probe set has classes); every other metric,
which only training knows, is null.

Example:
    >>> import_checkpoint("timm:resnet18", "runs/flowers/checkpoint-3.pth.tar", 4, "results/mine/probe.npz",
    ...                   "results/mine/checkpoints/epoch_004.pt", "results/mine/metrics/epoch_004.json")  # doctest: +SKIP
"""

import torch

from driftlens import models
from driftlens.artifacts import METRIC_COLUMNS, read_probe, read_probe_classes, write_metrics
from driftlens.checkpoints.format import Checkpoint, save_checkpoint
from driftlens.checkpoints.series import PRETRAINED
from driftlens.train import place, run_epoch


def import_checkpoint(model: str, source, epoch: int, probe, out, metrics, key: str | None = None, device=None,
                      precision: str = "auto", batch_size: int = 32) -> dict:
    """Read a checkpoint of any tool and write it as epoch ``epoch`` of an experiment, with its metrics.

    Args:
        model (str): The network (zoo, torchvision or ``timm:<name>``).
        source (str or Path): The checkpoint file, or ``"imagenet"`` for the model's pretrained weights.
        epoch (int): The epoch it stands for (:mod:`driftlens.series`).
        probe (str or Path): The probe set (``probe.npz``): the accuracy is measured on it when labelled.
        out (str or Path): The driftlens checkpoint to write.
        metrics (str or Path): The metrics file to write.
        key (str, optional): The entry holding the weights where the file has several. Default: the first found
        device (str, optional): Where to evaluate. Default: None (CUDA when available)
        precision (str, optional): Of the evaluation's forward passes (see :mod:`driftlens.precision`). Default: "auto"
        batch_size (int, optional): Images per evaluation batch. Default: 32

    Returns:
        dict: The metrics written.

    Raises:
        ArtifactError: The file cannot be read weights-only or does not fit the model (the message says how).

    Example:
        >>> import tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> from driftlens.artifacts import write_probe
        >>> write_probe(os.path.join(folder, "probe.npz"), torch.rand(4, 3, 32, 32).numpy(), torch.arange(4).numpy(),
        ...             [str(c) for c in range(10)])
        >>> torch.save({"epoch": 2, "state_dict": models.load("tiny", weights="random").net.state_dict()},
        ...            os.path.join(folder, "run.pt"))
        >>> metrics = import_checkpoint("tiny", os.path.join(folder, "run.pt"), 3, os.path.join(folder, "probe.npz"),
        ...                             os.path.join(folder, "e.pt"), os.path.join(folder, "e.json"), device="cpu")
        >>> metrics["epoch"], metrics["val_acc"] is not None, metrics["train_loss"]
        (3, True, None)
    """
    network = models.load(model, weights="imagenet") if str(source) == PRETRAINED else models.from_file(model, source, key)
    classes = read_probe_classes(probe)
    labelled = len(classes) == network.num_classes
    result = dict.fromkeys(METRIC_COLUMNS) | {"epoch": epoch}
    if labelled:
        images, labels = (torch.from_numpy(array) for array in read_probe(probe))
        batches = list(zip(images.split(batch_size), labels.split(batch_size)))
        evaluated = run_epoch(place(network, device), batches, progress=False, precision=precision)
        result |= {"val_loss": evaluated["loss"], "val_acc": evaluated["acc"], "seconds": evaluated["seconds"]}
    save_checkpoint(Checkpoint(model=network.net.state_dict(), epoch=epoch, classes=classes if labelled else
                               [str(index) for index in range(network.num_classes)],
                               config={"model": model, "source": str(source), "key": key}), out)
    write_metrics(metrics, result)
    return result
