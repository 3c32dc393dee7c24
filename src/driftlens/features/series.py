"""The feature diff of a series of checkpoints held in memory: what ``driftlens compare --features`` runs.

The workflow does the same in separate jobs (``feature-activations``, then ``features`` per layer); here one
process loads each checkpoint in turn, skips a layer at a checkpoint whose upstream weights equal the previous
checkpoint's, and keeps epoch 0's noise copy for the null.

Example:
    >>> import torch, driftlens
    >>> nets = {0: driftlens.models.load("tiny", weights="random", seed=0),
    ...         4: driftlens.models.load("tiny", weights="random", seed=1)}
    >>> diffs = diff_checkpoints(nets.get, [0, 4], ["conv3"], lambda: [torch.rand(8, 3, 32, 32)],
    ...                          torch.rand(4, 3, 32, 32), settings=FeatureSettings(steps=5), progress=False)
    >>> diffs["conv3"].summary["epochs"], diffs["conv3"].skipped
    ([0, 4], {})
"""

import torch

from driftlens import models
from driftlens.change.planted import perturb
from driftlens.features.activations import training_and_probe_vectors
from driftlens.features.diff import FeatureSettings, feature_diff
from driftlens.progress import bar as progress_bar


def diff_checkpoints(load_model, epochs, layers, train_batches, probe, labels=None, classes=(),
                     settings: FeatureSettings = FeatureSettings(), progress: bool = True) -> dict:
    """Each layer's :class:`~driftlens.features.diff.FeatureDiff` over a series of checkpoints.

    Args:
        load_model (callable): ``load_model(epoch)`` returns that checkpoint's ModelWrapper.
        epochs (list[int]): The epochs, the first being the reference.
        layers (list[str]): Layer names or aliases.
        train_batches (callable): ``train_batches()`` gives an iterable of ``(B, 3, S, S)`` training images.
        probe (torch.Tensor): ``(n, 3, S, S)`` probe images.
        labels (np.ndarray, optional): Probe classes. Default: None
        classes (list[str], optional): Class names. Default: ()
        settings (FeatureSettings, optional): Default: the defaults
        progress (bool, optional): Default: True

    Returns:
        dict[str, FeatureDiff]: Layer to its diff; each has ``skipped``: ``{epoch: the earlier epoch it equals}``.

    Example:
        >>> import driftlens
        >>> net = driftlens.models.load("tiny", weights="random")
        >>> diffs = diff_checkpoints({0: net, 2: net}.get, [0, 2], ["conv2"], lambda: [torch.rand(4, 3, 32, 32)],
        ...                          torch.rand(2, 3, 32, 32), settings=FeatureSettings(steps=5), progress=False)
        >>> diffs["conv2"].skipped, diffs["conv2"].summary["epochs"]
        ({2: 0}, [0])
    """
    train, maps, skipped = ({layer: {} for layer in layers} for _ in range(3))
    noise, previous = {}, None
    for epoch in progress_bar(epochs, desc="checkpoints", unit="checkpoint", disable=not progress):
        model = load_model(epoch)
        fresh = [layer for layer in layers if previous is None or not models.same_upstream(previous, model, [layer])]
        for layer in set(layers) - set(fresh):
            skipped[layer][epoch] = epochs[epochs.index(epoch) - 1]
        found = _vectors(model, train_batches, probe, fresh, settings) if fresh else {"train": {}, "probe": {}}
        for layer in fresh:
            train[layer][epoch], maps[layer][epoch] = found["train"][layer], found["probe"][layer]
        if previous is None:
            noise = _vectors(perturb(model, settings.noise, settings.seed, relative=True), train_batches, probe, layers,
                             settings)["train"]
        previous = model
    diffs = {}
    for layer in layers:
        diffs[layer] = feature_diff(train[layer], maps[layer], noise[layer], labels, classes, settings, progress)
        diffs[layer].skipped = skipped[layer]
    return diffs


def _vectors(model, train_batches, probe, layers, settings) -> dict:
    found = training_and_probe_vectors(model, train_batches(), probe, layers, settings.max_vectors, settings.seed,
                                       progress=False)
    return {kind: {layer: torch.from_numpy(found[kind][layer]) for layer in layers} for kind in ("train", "probe")}
