"""Attribution drift across training checkpoints: maps of a fixed probe set, and how they moved.

The pipeline computes :func:`maps_for_checkpoint` for every epoch's checkpoint and compares each
epoch's maps with a reference epoch's through :func:`rank_correlation` (:func:`drift_table`). Every
method explains a class, so it reads the classification head: the reference is the first epoch whose
head has been trained (the end of the first stage), not epoch 0, whose new head is random.
"""

import warnings

import numpy as np
import pandas as pd
import torch
from scipy import stats

from driftlens.attribution import attribute, method_options
from driftlens.attribution.overlay import normalize


def maps_for_checkpoint(model, images, targets, methods=("gradcam", "smoothgrad"), layer=None,
                        progress: bool = False) -> dict[str, np.ndarray]:
    """Attribution maps of a probe set under one model, normalised to [0, 1] per image.

    Args:
        model (ModelWrapper): The model of one checkpoint.
        images (torch.Tensor or np.ndarray): ``(n, 3, S, S)`` probe images in [0, 1].
        targets (sequence of int): The class to explain for each image (usually its label).
        methods (sequence of str, optional): Keys of :data:`~driftlens.attribution.METHODS`, each with
            its default options. Default: ("gradcam", "smoothgrad")
        layer (str, optional): Layer of the CAM methods. Default: :func:`default_cam_layer`
        progress (bool, optional): Show progress bars. Default: False

    Returns:
        dict[str, np.ndarray]: Method name to ``(n, S, S)`` float32 maps in [0, 1].

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> maps = maps_for_checkpoint(model, torch.rand(3, 3, 32, 32), [0, 1, 2], methods=["gradcam"])
        >>> maps["gradcam"].shape, maps["gradcam"].dtype
        ((3, 32, 32), dtype('float32'))
    """
    images = torch.as_tensor(images, dtype=torch.float32)
    targets = [int(t) for t in targets]
    maps = {}
    for name in methods:
        options = method_options(name, layer=layer, progress=progress)
        maps[name] = normalize(attribute(model, images, targets, method=name, **options))
    return maps


def rank_correlation(map_a, map_b) -> np.ndarray:
    """Spearman rank correlation between two sets of maps, one value per image.

    Args:
        map_a (np.ndarray or torch.Tensor): ``(B, H, W)`` maps (or one ``(H, W)`` map).
        map_b (np.ndarray or torch.Tensor): Same shape.

    Returns:
        np.ndarray: ``(B,)`` float64 in [-1, 1]; NaN where either map is constant.

    Example:
        >>> a = np.random.rand(2, 8, 8)
        >>> rank_correlation(a, 2 * a + 1).round(6).tolist()
        [1.0, 1.0]
    """
    a, b = _float64(map_a), _float64(map_b)
    if a.shape != b.shape or a.ndim not in (2, 3):
        raise ValueError(f"maps to compare must both be (B, H, W) or (H, W), got shapes {a.shape} and {b.shape}")
    a, b = a.reshape(-1, a.shape[-2] * a.shape[-1]), b.reshape(-1, b.shape[-2] * b.shape[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return np.array([stats.spearmanr(x, y).statistic for x, y in zip(a, b)])


def _float64(maps) -> np.ndarray:
    if isinstance(maps, torch.Tensor):
        maps = maps.detach().cpu().numpy()
    return np.asarray(maps, dtype=np.float64)


def drift_table(maps_by_epoch: dict, reference_epoch: int) -> pd.DataFrame:
    """Rank correlation of each epoch's maps to the reference epoch's, per method and image.

    Epochs before the reference are left out; a map that is constant at either epoch (an all-zero
    Grad-CAM, say) has no rank correlation: its row is kept with ``constant_map`` true and NaN.

    Args:
        maps_by_epoch (dict[int, dict[str, np.ndarray]]): Epoch to its maps (method to ``(n, S, S)``).
        reference_epoch (int): The epoch compared with; must be a key.

    Returns:
        pandas.DataFrame: :data:`~driftlens.artifacts.DRIFT_COLUMNS`, one row per (epoch, method, image).

    Example:
        >>> maps = {0: {"gradcam": np.zeros((1, 4, 4))}, 1: {"gradcam": np.eye(4)[None]}, 2: {"gradcam": np.eye(4)[None]}}
        >>> drift_table(maps, reference_epoch=1)[["epoch", "spearman", "constant_map"]].values.tolist()
        [[1, 1.0, False], [2, 1.0, False]]
    """
    from driftlens.artifacts import DRIFT_COLUMNS
    from driftlens.errors import ConfigError

    if reference_epoch not in maps_by_epoch:
        raise ConfigError(f"the reference epoch {reference_epoch} has no attribution maps "
                          f"(epochs with maps: {sorted(maps_by_epoch)})")
    reference = maps_by_epoch[reference_epoch]
    rows = []
    for epoch in sorted(e for e in maps_by_epoch if e >= reference_epoch):
        for method, maps in reference.items():
            values = rank_correlation(maps, maps_by_epoch[epoch][method])
            rows += [{"epoch": epoch, "reference_epoch": reference_epoch, "method": method, "image": image,
                      "spearman": value, "constant_map": bool(np.isnan(value))} for image, value in enumerate(values)]
    return pd.DataFrame(rows, columns=DRIFT_COLUMNS)
