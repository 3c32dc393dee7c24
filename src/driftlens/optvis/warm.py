"""Warm-started renders: continue from an earlier checkpoint's renders where they still serve, restart where not.

Fine-tuning moves most features a little, so a render of epoch *e - 1* is a good start for epoch *e*: it needs a
fraction of the steps. A feature that changed a lot is different: a warm start stays near the old optimum
(hysteresis). The restart rule guards against that, per channel: the start images are scored on both
checkpoints (the channel's mean response, no transforms); where a start keeps less than :data:`RESTART_BELOW`
of its score on the previous checkpoint, for any seed, that channel is rendered from noise with the full steps.
``benchmarks/bench_warm_start.py`` validates both halves against cold renders.

Example:
    >>> import driftlens
    >>> model = driftlens.models.load("tiny", weights="random")
    >>> units = {"conv3": [4, 11]}
    >>> start = driftlens.optvis.visualize_units(model, units, [0, 1], steps=4, size=32, progress=False)
    >>> rows, restarted = continue_units(model, model, units, [0, 1], start, steps=4, warm_steps=2, size=32,
    ...                                  progress=False)
    >>> rows["conv3"].shape, restarted
    ((2, 2, 32, 32, 3), {'conv3': []})
"""

import numpy as np

from driftlens.change.responses import unit_responses
from driftlens.optvis.visualizer import visualize_units

RESTART_BELOW = 0.5
"""A channel's warm start is kept where its start images still score at least this share of their score on the
previous checkpoint (every seed); otherwise it restarts from noise. Between a real fine-tune's epochs the share
stays near 1; a planted swap or re-initialisation takes it below 0.1 (``benchmarks/bench_warm_start.py``)."""


def kept_shares(previous, model, units: dict, starts: dict) -> dict:
    """Per channel, the smallest share over seeds of the start images' score that survives the new weights.

    Args:
        previous (ModelWrapper): The checkpoint the start images were rendered on.
        model (ModelWrapper): The checkpoint to render now.
        units (dict[str, list[int]]): Layer to its channels.
        starts (dict[str, np.ndarray]): Layer to ``(S, C, H, W, 3)`` start images.

    Returns:
        dict[str, np.ndarray]: Layer to ``(C,)``: the minimum over seeds of new score / previous score (0 where the
        previous score was not positive: such a start held nothing to keep).

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> start = np.random.default_rng(0).random((2, 1, 32, 32, 3), dtype=np.float32)
        >>> kept_shares(model, model, {"conv3": [4]}, {"conv3": start})["conv3"].tolist() in ([1.0], [0.0])
        True
    """
    shares = {}
    for layer, channels in units.items():
        before = unit_responses(previous, starts[layer], layer, channels)
        after = unit_responses(model, starts[layer], layer, channels)
        with np.errstate(divide="ignore", invalid="ignore"):
            shares[layer] = np.where(before > 0, after / np.where(before > 0, before, 1), 0.0).min(axis=0)
    return shares


def continue_units(previous, model, units: dict, seeds, starts: dict, steps: int, warm_steps: int,
                   restart_below: float = RESTART_BELOW, **options) -> tuple[dict, dict]:
    """Render ``units`` on ``model`` from ``starts`` (rendered on ``previous``), restarting the channels that moved.

    Args:
        previous (ModelWrapper): The checkpoint ``starts`` were rendered on.
        model (ModelWrapper): The checkpoint to render.
        units (dict[str, list[int]]): Layer to its channels.
        seeds (list[int]): Image seeds (those of ``starts``).
        starts (dict[str, np.ndarray]): Layer to ``(S, C, size, size, 3)`` start images.
        steps (int): Steps of a channel that restarts from noise.
        warm_steps (int): Steps of a channel that continues.
        restart_below (float, optional): See :data:`RESTART_BELOW`. Default: 0.5
        **options: Passed to :func:`~driftlens.optvis.visualize_units` (method, size, seed, ...).

    Returns:
        tuple[dict, dict]: Layer to ``(S, C, size, size, 3)`` images, and layer to the channels restarted.

    Example:
        >>> rows, restarted = continue_units(previous, model, units, [0, 1], starts, 512, 128)  # doctest: +SKIP
    """
    shares = kept_shares(previous, model, units, starts)
    restarted = {layer: [c for c, share in zip(channels, shares[layer]) if share < restart_below]
                 for layer, channels in units.items()}
    kept = {layer: [k for k, share in enumerate(shares[layer]) if share >= restart_below] for layer in units}
    rows = {layer: np.empty_like(starts[layer]) for layer in units}
    warm_units = {layer: [units[layer][k] for k in kept[layer]] for layer in units if kept[layer]}
    if warm_units:
        warm = visualize_units(model, warm_units, seeds, steps=warm_steps,
                               starts={layer: starts[layer][:, kept[layer]] for layer in warm_units}, **options)
        for layer in warm_units:
            rows[layer][:, kept[layer]] = warm[layer]
    cold_units = {layer: channels for layer, channels in restarted.items() if channels}
    if cold_units:
        cold = visualize_units(model, cold_units, seeds, steps=steps, **options)
        for layer, channels in cold_units.items():
            rows[layer][:, [units[layer].index(c) for c in channels]] = cold[layer]
    return rows, restarted
