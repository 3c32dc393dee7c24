"""A layer's activation vectors over a series of checkpoints, and its feature diff: one process, one pass per model.

:func:`collect_vectors` loads each checkpoint in turn, runs the training images and the probe set through it once for
every layer, leaves out a layer at a checkpoint whose upstream weights equal the previous checkpoint's, and runs epoch
0's noise copy too (the noise null). The workflow's ``feature-activations`` job writes what it returns, one file per
experiment; ``driftlens compare --features`` passes it straight to :func:`diff_checkpoints`.

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


def collect_vectors(load_model, epochs, layers, train_batches, probe, settings: FeatureSettings = FeatureSettings(),
                    progress: bool = True) -> dict:
    """Each layer's training vectors and probe maps at every checkpoint that changed it, and its noise copy's vectors.

    Args:
        load_model (callable): ``load_model(epoch)`` returns that checkpoint's ModelWrapper.
        epochs (list[int]): The epochs, the first being the reference.
        layers (list[str]): Layer names or aliases.
        train_batches (callable): ``train_batches()`` gives an iterable of ``(B, 3, S, S)`` training images.
        probe (torch.Tensor): ``(n, 3, S, S)`` probe images.
        settings (FeatureSettings, optional): Its ``max_vectors``, ``seed`` and ``noise`` are used. Default: the
            defaults
        progress (bool, optional): A progress bar over the checkpoints. Default: True

    Returns:
        dict: Layer to ``{"train": {epoch: (N, d)}, "probe": {epoch: (n, h, w, d)}, "noise": (N, d),
        "skipped": {epoch: the earlier epoch it equals}}``, numpy arrays; a skipped epoch has no arrays.

    Example:
        >>> import driftlens
        >>> net = driftlens.models.load("tiny", weights="random")
        >>> found = collect_vectors({0: net, 2: net}.get, [0, 2], ["conv2"], lambda: [torch.rand(4, 3, 32, 32)],
        ...                         torch.rand(2, 3, 32, 32), FeatureSettings(max_vectors=50), progress=False)
        >>> sorted(found["conv2"]["train"]), found["conv2"]["skipped"], found["conv2"]["noise"].shape
        ([0], {2: 0}, (50, 16))
    """
    found = {layer: {"train": {}, "probe": {}, "noise": None, "skipped": {}} for layer in layers}
    previous = None
    for epoch in progress_bar(epochs, desc="checkpoints", unit="checkpoint", disable=not progress):
        model = load_model(epoch)
        fresh = [layer for layer in layers if previous is None or not models.same_upstream(previous, model, [layer])]
        for layer in set(layers) - set(fresh):
            found[layer]["skipped"][epoch] = epochs[epochs.index(epoch) - 1]
        vectors = _vectors(model, train_batches, probe, fresh, settings) if fresh else {"train": {}, "probe": {}}
        for layer in fresh:
            found[layer]["train"][epoch], found[layer]["probe"][epoch] = vectors["train"][layer], vectors["probe"][layer]
        if previous is None:
            noisy = perturb(model, settings.noise, seed=settings.seed, relative=True)
            for layer, values in _vectors(noisy, train_batches, probe, layers, settings)["train"].items():
                found[layer]["noise"] = values
        previous = model
    return found


def diff_layer(vectors: dict, labels=None, classes=(), settings: FeatureSettings = FeatureSettings(),
               device="cpu", progress: bool = True):
    """One layer's :class:`~driftlens.features.diff.FeatureDiff` from its entry of :func:`collect_vectors`.

    Example:
        >>> import driftlens
        >>> net = driftlens.models.load("tiny", weights="random")
        >>> found = collect_vectors({0: net}.get, [0], ["conv3"], lambda: [torch.rand(4, 3, 32, 32)],
        ...                         torch.rand(2, 3, 32, 32), progress=False)
        >>> diff_layer(found["conv3"], settings=FeatureSettings(steps=5), progress=False).summary["epochs"]
        [0]
    """
    train, probe = ({epoch: torch.from_numpy(values).to(device) for epoch, values in vectors[kind].items()}
                    for kind in ("train", "probe"))
    noise = torch.from_numpy(vectors["noise"]).to(device) if len(train) > 1 else None
    diff = feature_diff(train, probe, noise, labels, classes, settings, progress)
    diff.skipped = dict(vectors["skipped"])
    return diff


def diff_checkpoints(load_model, epochs, layers, train_batches, probe, labels=None, classes=(),
                     settings: FeatureSettings = FeatureSettings(), progress: bool = True) -> dict:
    """Each layer's :class:`~driftlens.features.diff.FeatureDiff` over a series of checkpoints: :func:`collect_vectors`
    then :func:`diff_layer`.

    Args:
        load_model, epochs, layers, train_batches, probe: As for :func:`collect_vectors`.
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
    found = collect_vectors(load_model, epochs, layers, train_batches, probe, settings, progress)
    return {layer: diff_layer(found[layer], labels, classes, settings, progress=progress) for layer in layers}


def _vectors(model, train_batches, probe, layers, settings) -> dict:
    return training_and_probe_vectors(model, train_batches(), probe, layers, settings.max_vectors, settings.seed,
                                      progress=False)
