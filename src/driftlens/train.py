"""Staged fine-tuning, one epoch per call: checkpoint N-1 in, checkpoint N and its metrics out.

A schedule is a list of stages; each freezes a prefix of the network (``cutoff`` or
``train_from``) or a listed set of modules (``freeze``), then trains for its epochs with its own optimizer. Epoch 0 is the start model
with a fresh classifier for the dataset's classes. Every epoch reseeds from ``(seed, epoch)``, so
re-running epoch N from checkpoint N-1 gives the same checkpoint N, bit for bit, on the same machine.

Example:
    >>> cfg = TrainConfig.from_dict({"model": "tiny", "weights": "random", "splits": "resources/toy/splits.json",
    ...                              "image_size": 32, "stages": [{"epochs": 2, "lr": 0.01, "optimizer": "sgd"}]})
    >>> start_checkpoint(cfg, "ckpt/epoch_000.pt", "metrics/epoch_000.json")  # doctest: +SKIP
    >>> train_epoch(cfg, "ckpt/epoch_000.pt", "ckpt/epoch_001.pt", "metrics/epoch_001.json", 1)  # doctest: +SKIP
"""

import dataclasses
import random
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from driftlens import models
from driftlens.data import SplitDataset, read_splits
from driftlens.checkpoints import Checkpoint, read_checkpoint, save_checkpoint
from driftlens.devices import resolve_device
from driftlens.errors import ConfigError, DivergedError
from driftlens.precision import autocast
from driftlens.progress import bar as progress_bar
from driftlens.artifacts import write_metrics
from driftlens.schemas import config_defaults, stage_defaults, validate_train_config

@dataclass(frozen=True)
class Stage:
    """One stage of the schedule: what trains, for how long, with which optimizer.

    Args:
        epochs (int): Epochs in this stage (>= 1).
        lr (float): Learning rate.
        optimizer (str, optional): ``sgd`` or ``adam``. Default: "sgd"
        cutoff (int, optional): Freeze the first ``cutoff`` weight layers (conv/linear, in
            registration order) and everything registered before the next one. Default: None
        train_from (str, optional): Freeze every parameter registered before this layer's first
            parameter (layer name or alias). Default: None
        freeze (tuple[str, ...], optional): Freeze exactly these modules (names, aliases or module paths) and
            nothing else, for a frozen set that is not a prefix. Default: None (with neither ``cutoff`` nor
            ``train_from`` either: train all)
        momentum (float, optional): SGD momentum. Default: 0.9
        weight_decay (float, optional): Weight decay. Default: 0.0

    Example:
        >>> Stage(epochs=2, lr=0.01, optimizer="sgd", cutoff=20).momentum
        0.9
    """

    epochs: int
    lr: float
    optimizer: str = stage_defaults()["optimizer"]
    cutoff: int | None = None
    train_from: str | None = None
    freeze: tuple[str, ...] | None = None
    momentum: float = stage_defaults()["momentum"]
    weight_decay: float = stage_defaults()["weight_decay"]

    def __post_init__(self):
        if self.freeze is not None:  # a list from YAML or JSON; a tuple keeps the stage hashable
            object.__setattr__(self, "freeze", tuple(self.freeze))


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a fine-tuning run; built and validated by :meth:`from_dict`.

    Args:
        model (str): A zoo name (see :func:`driftlens.models.available`).
        splits (str): The dataset's ``splits.json``.
        image_size (int): Side of the square training images.
        stages (tuple[Stage, ...]): The schedule, in order.
        weights (str, optional): ``imagenet``, ``random`` or a state-dict file. Default: "imagenet"
        batch_size (int, optional): Images per batch. Default: 32
        augment (bool, optional): Random crops and flips for training images. Default: True
        seed (int, optional): Seeds the new classifier and every epoch's data order. Default: 0
        num_workers (int, optional): DataLoader worker processes. Default: 0
        precision (str, optional): ``auto``, ``fp32`` or ``bf16`` (see :mod:`driftlens.precision`). Default: "auto"

    Example:
        >>> cfg = TrainConfig.from_dict({"model": "tiny", "splits": "s.json", "image_size": 32,
        ...                              "stages": [{"epochs": 1, "lr": 0.1, "optimizer": "adam"}]})
        >>> cfg.total_epochs, cfg.batch_size
        (1, 32)
    """

    model: str
    splits: str
    image_size: int
    stages: tuple[Stage, ...]
    weights: str = config_defaults()["weights"]
    batch_size: int = config_defaults()["batch_size"]
    augment: bool = config_defaults()["augment"]
    seed: int = config_defaults()["seed"]
    num_workers: int = config_defaults()["num_workers"]
    precision: str = config_defaults()["precision"]

    @classmethod
    def from_dict(cls, config: dict) -> "TrainConfig":
        """Build and validate a config from plain data (parsed JSON or YAML), against the packaged schema.

        Args:
            config (dict): Keys as the fields of this class; ``stages`` a list of dicts with the
                fields of :class:`Stage` (see :func:`driftlens.schemas.validate_train_config`).

        Returns:
            TrainConfig: The validated config.

        Raises:
            ConfigError: An unknown or missing key, a wrong type or an out-of-range value; the
                message names the key path, e.g. ``stages[1].lr``.

        Example:
            >>> TrainConfig.from_dict({"model": "tiny", "splits": "s.json", "image_size": 32,
            ...                        "stages": [{"epochs": 1, "lr": "fast", "optimizer": "sgd"}]})
            Traceback (most recent call last):
                ...
            driftlens.errors.ConfigError: stages[0].lr: 'fast' is not of type 'number'
        """
        fields = validate_train_config(config)
        fields["stages"] = tuple(Stage(**stage) for stage in fields["stages"])
        return cls(**fields)

    def to_dict(self) -> dict:
        """Plain data (JSON-ready) that :meth:`from_dict` turns back into this config.

        Returns:
            dict: The fields, with ``stages`` as a list of dicts (unset ``cutoff``/``train_from``/``freeze`` left out).

        Example:
            >>> cfg = TrainConfig.from_dict({"model": "tiny", "splits": "s.json", "image_size": 32,
            ...                              "stages": [{"epochs": 1, "lr": 0.1, "optimizer": "sgd"}]})
            >>> TrainConfig.from_dict(cfg.to_dict()) == cfg
            True
        """
        config = dataclasses.asdict(self)
        config["stages"] = [{key: list(value) if isinstance(value, tuple) else value for key, value in stage.items()
                             if value is not None} for stage in config["stages"]]
        return config

    @property
    def total_epochs(self) -> int:
        """Epochs over all stages.

        Returns:
            int: The sum of the stages' epochs.

        Example:
            >>> TrainConfig("tiny", "s.json", 32, (Stage(2, 0.1), Stage(3, 0.01))).total_epochs
            5
        """
        return sum(stage.epochs for stage in self.stages)

    def stage_of(self, epoch: int) -> int:
        """Index of the stage that trains ``epoch`` (1-based; stages run in order).

        Args:
            epoch (int): An epoch from 1 to :attr:`total_epochs`.

        Returns:
            int: Index into ``stages``.

        Raises:
            ConfigError: ``epoch`` is below 1 or beyond the schedule.

        Example:
            >>> cfg = TrainConfig.from_dict({"model": "tiny", "splits": "s.json", "image_size": 32, "stages": [
            ...     {"epochs": 2, "lr": 0.1, "optimizer": "sgd"}, {"epochs": 3, "lr": 0.01, "optimizer": "sgd"}]})
            >>> [cfg.stage_of(epoch) for epoch in range(1, 6)]
            [0, 0, 1, 1, 1]
        """
        ends = np.cumsum([stage.epochs for stage in self.stages])
        if not 1 <= epoch <= ends[-1]:
            raise ConfigError(f"epoch {epoch} is outside the schedule's epochs 1..{ends[-1]}")
        return int(np.searchsorted(ends, epoch))


def frozen_parameters(model: models.ModelWrapper, stage: Stage) -> list[str]:
    """Names (in ``model.net``) of the parameters a stage freezes.

    ``cutoff: N`` freezes everything registered before the first parameter of the (N+1)-th conv
    or linear module; ``train_from: layer`` everything before that layer's first parameter;
    ``freeze: [module, ...]`` the parameters of exactly those modules. The classifier head is
    never frozen.

    Args:
        model (ModelWrapper): The network.
        stage (Stage): The stage.

    Returns:
        list[str]: Parameter names, in registration order.

    Raises:
        ConfigError: ``cutoff`` reaches past the last weight layer, ``train_from`` or a ``freeze``
            entry names a module without parameters, or ``freeze`` names the classifier head.
        UnknownLayerError: ``train_from`` or a ``freeze`` entry is not a layer of the model.

    Example:
        >>> tiny = models.load("tiny", weights="random")
        >>> frozen_parameters(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", cutoff=1))
        ['conv1.0.weight', 'conv1.0.bias', 'conv1.1.weight', 'conv1.1.bias']
        >>> len(frozen_parameters(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", train_from="conv3")))
        8
        >>> frozen_parameters(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", freeze=["conv2.0"]))
        ['conv2.0.weight', 'conv2.0.bias']
    """
    names = [name for name, _ in model.net.named_parameters()]
    head = model.resolve("logits") + "."
    if stage.freeze is not None:
        listed = _listed_parameters(model, stage.freeze, head)
        return [name for name in names if name in listed]
    first = _first_trained_parameter(model, stage)
    return [name for name in names[:names.index(first)] if not name.startswith(head)] if first else []


def _listed_parameters(model: models.ModelWrapper, modules, head: str) -> set[str]:
    listed = set()
    for layer in modules:
        path = model.resolve(layer)
        if f"{path}.".startswith(head) or head.startswith(f"{path}."):
            raise ConfigError(f"freeze {layer!r}: {path} holds the classifier head, which always trains")
        parameters = [f"{path}.{name}" for name, _ in model.net.get_submodule(path).named_parameters()]
        if not parameters:
            raise ConfigError(f"freeze {layer!r}: module {path} has no parameters")
        listed.update(parameters)
    return listed


def _first_trained_parameter(model: models.ModelWrapper, stage: Stage) -> str | None:
    if stage.cutoff is not None:
        weight_layers = [path for path, module in model.net.named_modules()
                         if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear))]
        if stage.cutoff >= len(weight_layers):
            raise ConfigError(f"cutoff {stage.cutoff} leaves nothing to train: {model.name} has "
                              f"{len(weight_layers)} conv/linear layers")
        path = weight_layers[stage.cutoff]
    elif stage.train_from is not None:
        path = model.resolve(stage.train_from)
    else:
        return None
    parameters = [name for name, _ in model.net.get_submodule(path).named_parameters()]
    if not parameters:
        raise ConfigError(f"train_from {stage.train_from!r}: layer {path} has no parameters")
    return f"{path}.{parameters[0]}"


def apply_stage(model: models.ModelWrapper, stage: Stage) -> list[nn.Parameter]:
    """Freeze what the stage freezes and put the model in training mode, frozen modules in eval mode.

    Frozen parameters get ``requires_grad=False``, so the frozen part builds no autograd graph;
    modules whose parameters are all frozen stay in eval mode, so their BatchNorm statistics do
    not drift and their dropout is off.

    Args:
        model (ModelWrapper): The network; changed in place.
        stage (Stage): The stage.

    Returns:
        list[nn.Parameter]: The parameters that train, for the optimizer.

    Example:
        >>> tiny = models.load("tiny", weights="random")
        >>> trained = apply_stage(tiny, Stage(epochs=1, lr=0.1, optimizer="sgd", train_from="conv3"))
        >>> tiny.net.conv1.training, tiny.net.conv3.training, len(trained)
        (False, True, 6)
    """
    frozen = set(frozen_parameters(model, stage))
    for name, parameter in model.net.named_parameters():
        parameter.requires_grad_(name not in frozen)
    model.train()
    for module in model.net.modules():
        parameters = list(module.parameters())
        if parameters and not any(p.requires_grad for p in parameters):
            module.eval()
    return [p for p in model.net.parameters() if p.requires_grad]


def make_optimizer(parameters, stage: Stage) -> torch.optim.Optimizer:
    """The stage's optimizer (SGD with momentum, or Adam) over ``parameters``.

    Args:
        parameters (iterable of nn.Parameter): What it trains.
        stage (Stage): Gives the kind, learning rate, momentum (SGD) and weight decay.

    Returns:
        torch.optim.Optimizer: A fresh optimizer.

    Example:
        >>> type(make_optimizer([nn.Parameter(torch.zeros(1))], Stage(epochs=1, lr=0.1, optimizer="adam"))).__name__
        'Adam'
    """
    if stage.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=stage.lr, momentum=stage.momentum, weight_decay=stage.weight_decay)
    return torch.optim.Adam(parameters, lr=stage.lr, weight_decay=stage.weight_decay)


def seed_epoch(seed: int, epoch: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA) from ``(seed, epoch)``; return a generator for data order.

    Args:
        seed (int): The run's seed.
        epoch (int): The epoch.

    Returns:
        torch.Generator: A CPU generator seeded the same way, for the DataLoader's shuffling.

    Example:
        >>> torch.equal(torch.randperm(5, generator=seed_epoch(0, 3)), torch.randperm(5, generator=seed_epoch(0, 3)))
        True
    """
    state = int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])
    random.seed(state)
    np.random.seed(state)
    torch.manual_seed(state)
    return torch.Generator().manual_seed(state)


def run_epoch(model, loader, optimizer=None, progress: bool = True, desc: str = "", precision: str = "auto") -> dict:
    """One pass over ``loader``: a training epoch when given an optimizer, else an evaluation.

    Loss and accuracy are accumulated on the model's device and read once at the end, and so is
    the first step whose loss is not finite (a diverging run). A training pass leaves the modes set
    by :func:`apply_stage` alone; an evaluation switches to eval mode and runs without autograd.

    Args:
        model (nn.Module): The network (a :class:`~driftlens.models.ModelWrapper`).
        loader (Iterable): Batches of ``(images, labels)``.
        optimizer (torch.optim.Optimizer, optional): Train with it. Default: None (evaluate)
        progress (bool, optional): Show a progress bar. Default: True
        desc (str, optional): The progress bar's label. Default: ""
        precision (str, optional): Of the forward and backward passes: ``auto``, ``fp32`` or ``bf16``
            (see :mod:`driftlens.precision`); parameters, optimiser and loss stay float32. Default: "auto"

    Returns:
        dict: ``loss`` and ``acc`` (means over images), ``images``, ``seconds``, ``steps`` (batches) and
        ``first_nonfinite_step`` (1-based; None when every loss was finite).

    Example:
        >>> tiny = models.load("tiny", weights="random")
        >>> run_epoch(tiny, [(torch.rand(4, 3, 32, 32), torch.tensor([0, 1, 2, 3]))], progress=False)["images"]
        4
    """
    training = optimizer is not None
    if not training:
        model.eval()
    device = model.device
    start = time.perf_counter()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    first_bad = torch.zeros((), device=device, dtype=torch.long)  # 0: none yet
    count = steps = 0
    with torch.set_grad_enabled(training):
        for images, labels in progress_bar(loader, desc=desc, unit="batch", leave=False, disable=not progress):
            steps += 1
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            with autocast(precision, device):
                logits = model(images).float()
            loss = F.cross_entropy(logits, labels)
            if training:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            loss_sum += loss.detach() * len(labels)
            correct += (logits.argmax(1) == labels).sum()
            count += len(labels)
            first_bad = torch.where((first_bad == 0) & ~torch.isfinite(loss.detach()), steps, first_bad)
    result = {"loss": loss_sum.item() / max(count, 1), "acc": correct.item() / max(count, 1), "images": count,
              "steps": steps, "first_nonfinite_step": int(first_bad) or None}
    return {**result, "seconds": time.perf_counter() - start}


def start_checkpoint(cfg: TrainConfig, out, metrics, device=None, progress: bool = True) -> None:
    """Epoch 0: build the start model with a fresh classifier for the dataset's classes, evaluate, save.

    Args:
        cfg (TrainConfig): The run's config.
        out (str or Path): Checkpoint to write (``epoch_000.pt``).
        metrics (str or Path): Metrics JSON to write (``epoch_000.json``); ``train_*`` are null.
        device (str, optional): ``cpu``, ``cuda``, ... Default: None (CUDA when available)
        progress (bool, optional): Show progress bars. Default: True

    Example:
        >>> start_checkpoint(cfg, "ckpt/epoch_000.pt", "metrics/epoch_000.json")  # doctest: +SKIP
    """
    classes = read_splits(cfg.splits)["classes"]
    model = models.load(cfg.model, weights=cfg.weights, seed=cfg.seed)
    torch.manual_seed(cfg.seed)
    model.replace_head(len(classes))
    place(model, device)
    seed_epoch(cfg.seed, 0)
    _finish_epoch(cfg, model, None, None, 0, classes, out, metrics, None, progress)


def train_epoch(cfg: TrainConfig, previous, out, metrics, epoch: int, device=None, progress: bool = True) -> None:
    """Train epoch ``epoch`` (>= 1) from checkpoint ``epoch - 1``, then evaluate and save checkpoint ``epoch``.

    The epoch trains under the stage whose epoch range contains it. A new stage starts a fresh
    optimizer; within a stage the optimizer state comes from ``previous``.

    Args:
        cfg (TrainConfig): The run's config.
        previous (str or Path): Checkpoint ``epoch - 1``.
        out (str or Path): Checkpoint to write.
        metrics (str or Path): Metrics JSON to write.
        epoch (int): The epoch to train.
        device (str, optional): ``cpu``, ``cuda``, ... Default: None (CUDA when available)
        progress (bool, optional): Show progress bars. Default: True

    Raises:
        ConfigError: ``epoch`` is outside the schedule, ``previous`` is not checkpoint
            ``epoch - 1``, or its classes differ from the split file's.

    Example:
        >>> train_epoch(cfg, "ckpt/epoch_000.pt", "ckpt/epoch_001.pt", "metrics/epoch_001.json", 1)  # doctest: +SKIP
    """
    stage_index = cfg.stage_of(epoch)
    stage = cfg.stages[stage_index]
    checkpoint = read_checkpoint(previous)
    classes = read_splits(cfg.splits)["classes"]
    if checkpoint.epoch != epoch - 1:
        raise ConfigError(f"{previous} holds epoch {checkpoint.epoch}, not epoch {epoch - 1}")
    if checkpoint.classes != classes:
        raise ConfigError(f"the classes of {previous} differ from those of {cfg.splits}")
    if checkpoint.model_name != cfg.model:
        raise ConfigError(f"{previous} holds a {checkpoint.model_name}, but the config trains a {cfg.model}")
    model = place(models.from_checkpoint(checkpoint), device)
    optimizer = make_optimizer(apply_stage(model, stage), stage)
    if checkpoint.stage == stage_index:
        optimizer.load_state_dict(checkpoint.optimizer)
    generator = seed_epoch(cfg.seed, epoch)
    loader = _loader(cfg, "train", model.device, shuffle=True, generator=generator)
    trained = run_epoch(model, loader, optimizer, progress, f"epoch {epoch} train", cfg.precision)
    _finish_epoch(cfg, model, optimizer, stage_index, epoch, classes, out, metrics, trained, progress)


def place(model: models.ModelWrapper, device=None) -> models.ModelWrapper:
    """Move ``model`` to ``device`` in the channels-last memory layout, the fast one for convolutions.

    On a 2-core CPU this trains EfficientNet-Lite0 at 224 px 1.5 times faster and evaluates it
    1.3 times faster than the default layout (``benchmarks/bench_train.py --layout``); on CUDA it is
    the layout tensor cores want. Values are the same up to float rounding; parameters keep their
    layout in the checkpoint, so a resumed run is bit-identical to a straight one.

    Args:
        model (ModelWrapper): The network; changed in place.
        device (str or torch.device, optional): See :func:`driftlens.devices.resolve_device`. Default: None

    Returns:
        ModelWrapper: ``model``.

    Example:
        >>> tiny = place(models.load("tiny", weights="random"), "cpu")
        >>> tiny.net.conv1[0].weight.is_contiguous(memory_format=torch.channels_last)
        True
    """
    return model.to(resolve_device(device), memory_format=torch.channels_last)


def _loader(cfg: TrainConfig, split: str, device, shuffle=False, generator=None) -> DataLoader:
    data = SplitDataset(cfg.splits, split, cfg.image_size, augment=cfg.augment and split == "train")
    return DataLoader(data, batch_size=cfg.batch_size, shuffle=shuffle, generator=generator,
                      num_workers=cfg.num_workers, pin_memory=device.type == "cuda")


def _finish_epoch(cfg, model, optimizer, stage_index, epoch, classes, out, metrics, trained, progress):
    val, test = (run_epoch(model, _loader(cfg, split, model.device), progress=progress, desc=f"epoch {epoch} {split}",
                           precision=cfg.precision) for split in ("val", "test"))
    _check_finite(cfg, model, stage_index, epoch, trained, {"validation": val, "test": test})
    save_checkpoint(Checkpoint(model=model.net.state_dict(), epoch=epoch, config=cfg.to_dict(), classes=list(classes),
                               stage=stage_index, optimizer=optimizer.state_dict() if optimizer else None,
                               rng=_rng_states()), out)
    trained = trained or dict.fromkeys(("loss", "acc", "images", "seconds"))
    write_metrics(metrics, {
        "epoch": epoch, "stage": stage_index, "train_loss": trained["loss"], "train_acc": trained["acc"],
        "val_loss": val["loss"], "val_acc": val["acc"], "test_acc": test["acc"],
        "seconds": (trained["seconds"] or 0.0) + val["seconds"] + test["seconds"],
        "images_per_s": trained["images"] / trained["seconds"] if trained["images"] else None,
        "lr": cfg.stages[stage_index].lr if stage_index is not None else None})


def _check_finite(cfg, model, stage_index, epoch: int, trained: dict | None, evaluated: dict) -> None:
    """Stop before anything is written when a loss, weight or statistic is NaN or infinite (a diverged epoch)."""
    if trained is None:  # epoch 0: the start model as loaded
        after, advice = "the start model (epoch 0)", f"no checkpoint was written; check the weights {cfg.weights!r}"
    else:
        where = f"training diverged in epoch {epoch}"
        after = f"{where}, after step {trained['steps']} of {trained['steps']}"
        advice = (f"no checkpoint was written; lower the learning rate (this stage's lr is "
                  f"{cfg.stages[stage_index].lr:g}) and run again")
        if trained["first_nonfinite_step"] is not None:
            raise DivergedError(f"{where}, step {trained['first_nonfinite_step']} of {trained['steps']}: the "
                                f"training loss is NaN or infinite; {advice}")
    for name, tensor in model.net.state_dict().items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise DivergedError(f"{after}: {name} is NaN or infinite; {advice}")
    for split, result in evaluated.items():
        if not np.isfinite(result["loss"]):
            raise DivergedError(f"{after}: the {split} loss is NaN or infinite; {advice}")


def _rng_states() -> dict:
    """Random generator states as tensors (loadable with ``weights_only``); a record, not used to resume."""
    _, key, position, _, _ = np.random.get_state()
    _, python_state, _ = random.getstate()
    return {"torch": torch.get_rng_state(),
            "python": torch.tensor(python_state, dtype=torch.int64),
            "numpy": torch.from_numpy(key.astype(np.int64)),
            "numpy_position": torch.tensor(position),
            "cuda": torch.stack(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else None}
