"""Render evidence of change: cross-activation of visualisations, its seed-noise reference and the render verdict.

A render is a chaotic function of the weights, so its pixels alone cannot say that a feature changed.
For every rendered checkpoint ``e`` and channel, with ``S`` seeds of renders at ``e`` and at epoch 0:

- **Unit responses** (:func:`~driftlens.change.responses.unit_responses`): a channel's response to an image is the spatial mean of
  its activation, measured above a *baseline*, the channel's mean response to the natural probe
  images (block outputs can be negative or near zero, so raw ratios would mean nothing).
- **Cross-activation**: how strongly the epoch-``e`` unit responds to its epoch-0 visualisations,
  relative to its own (``a_e(x_0) / a_e(x_e)``), averaged with the reverse direction
  (``a_0(x_e) / a_0(x_0)``; one direction alone where the other's own pictures do not rise above
  the baseline). Each seed's picture is compared with the mean of the *other* seeds' own
  pictures, so the **noise reference** is the same ratio with a held-out own picture in place of the
  other checkpoint's: 1 means "as preferred as a picture from another seed".
- **Natural-exemplar agreement**: Spearman's rho of the channel's responses to the probe images at
  epoch 0 and ``e``, and the Jaccard overlap of their top-k images (deterministic, no render needed).
- **The verdict** (:func:`verdict`): a channel has changed at epoch ``e`` when its cross-activation
  samples (one per seed) are lower than the seed-noise samples of the layer's channels at every
  rendered epoch (one-sided Mann-Whitney U test), with the p-values of a layer's channels at one epoch
  corrected by Benjamini-Hochberg; changed means ``q <= alpha`` (0.05).

Example:
    >>> import numpy as np
    >>> own = np.array([[2.0], [2.2], [1.8]])              # a_e(x_e), 3 seeds x 1 channel
    >>> relative_response(own, own, baseline=np.zeros(1)).round(2).ravel().tolist()
    [1.0, 1.16, 0.86]
"""

import numpy as np
import pandas as pd
from scipy import stats

from driftlens.artifacts import CHANGE_COLUMNS
from driftlens.change.screen import ALPHA, TOP_K, screen_measures
from driftlens.errors import ConfigError



def relative_response(own, other, baseline) -> np.ndarray:
    """Responses to ``other`` relative to the unit's own visualisations, both above ``baseline``.

    ``(other[s] - baseline) / (mean over t != s of own[t] - baseline)``: seed ``s``'s picture is
    compared with the other seeds' own pictures (leave one out), so ``relative_response(own, own, b)``
    is the seed-noise reference of ``relative_response(own, other, b)``.

    Args:
        own (np.ndarray): ``(S, C)`` responses of the units to their own visualisations, ``S >= 2``.
        other (np.ndarray): ``(S, C)`` responses to the pictures compared (seed ``s`` in row ``s``).
        baseline (np.ndarray): ``(C,)`` mean responses to natural images.

    Returns:
        np.ndarray: ``(S, C)``; NaN where the own pictures do not rise above the baseline.

    Example:
        >>> own = np.array([[3.0], [5.0]])
        >>> relative_response(own, np.array([[1.0], [1.0]]), np.array([1.0])).ravel().tolist()
        [0.0, 0.0]
    """
    own, other = np.asarray(own, dtype=np.float64), np.asarray(other, dtype=np.float64)
    if len(own) < 2:
        raise ConfigError(f"relative responses need at least two seeds, got {len(own)}")
    others_mean = (own.sum(axis=0) - own) / (len(own) - 1)
    scale = others_mean - baseline
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scale > 0, (other - baseline) / np.where(scale > 0, scale, 1), np.nan)


def cross_activation_samples(first, later) -> tuple[np.ndarray, np.ndarray]:
    """Per-seed cross-activation and seed-noise samples of one checkpoint against epoch 0.

    Args:
        first (dict): Epoch 0's responses: ``own`` (S, C) to its own pictures, ``probe`` (N, C).
        later (dict): Epoch e's: ``own`` (S, C), ``probe`` (N, C), ``cross`` (S, C) = epoch e's units on
            epoch 0's pictures, ``reverse`` (S, C) = epoch 0's units on epoch e's pictures.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(cross, noise)``, each ``(S, C)``; identical where nothing changed.

    Example:
        >>> own = np.array([[2.0, 1.0], [2.4, 1.2], [1.6, 0.8]]); probe = np.zeros((4, 2))
        >>> first = {"own": own, "probe": probe}
        >>> cross, noise = cross_activation_samples(first, {**first, "cross": own, "reverse": own})
        >>> bool(np.array_equal(cross, noise))
        True
    """
    first_base, later_base = first["probe"].mean(axis=0), later["probe"].mean(axis=0)
    cross = _mean_of_defined(relative_response(later["own"], later["cross"], later_base),
                             relative_response(first["own"], later["reverse"], first_base))
    noise = _mean_of_defined(relative_response(later["own"], later["own"], later_base),
                             relative_response(first["own"], first["own"], first_base))
    return cross, noise


def _mean_of_defined(a, b):
    """Elementwise mean of two arrays, or the one that is defined where the other is NaN."""
    return pd.DataFrame({"a": a.ravel(), "b": b.ravel()}).mean(axis=1).to_numpy().reshape(a.shape)


def verdict(cross_by_epoch: dict, noise_by_epoch: dict, alpha: float = ALPHA) -> tuple[dict, dict, dict]:
    """p-values, BH-corrected q-values and verdicts per epoch and channel (the rule in the module docstring).

    The null distribution of a channel is its seed-noise samples at every rendered epoch, pooled over
    the layer's channels (relative responses share one scale); the samples of epoch 0 itself, where
    cross and noise coincide, are never tested (p = 1).

    Args:
        cross_by_epoch (dict[int, np.ndarray]): Epoch to ``(S, C)`` cross-activation samples.
        noise_by_epoch (dict[int, np.ndarray]): Epoch to ``(S, C)`` seed-noise samples.
        alpha (float, optional): False-discovery rate. Default: :data:`ALPHA`

    Returns:
        tuple[dict, dict, dict]: Epoch to ``(C,)`` p-values, q-values and booleans (changed).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> noise = {e: 1 + 0.05 * rng.standard_normal((3, 4)) for e in (0, 1)}
        >>> cross = {0: noise[0], 1: np.array([[0.1, 1.0, 1.0, 1.0]] * 3) + 0.05 * rng.standard_normal((3, 4))}
        >>> verdict(cross, noise)[2][1].tolist()
        [True, False, False, False]
    """
    null = np.concatenate([samples.ravel() for samples in noise_by_epoch.values()])
    null = null[np.isfinite(null)]
    p_values, q_values, changed = {}, {}, {}
    for epoch, cross in cross_by_epoch.items():
        same = np.array_equal(cross, noise_by_epoch[epoch], equal_nan=True)
        p = np.array([1.0 if same else _one_sided_p(column, null) for column in cross.T])
        q = stats.false_discovery_control(np.where(np.isnan(p), 1.0, p), method="bh")
        p_values[epoch], q_values[epoch], changed[epoch] = p, q, q <= alpha
    return p_values, q_values, changed


def _one_sided_p(samples, null) -> float:
    samples = samples[np.isfinite(samples)]
    if len(samples) == 0 or len(null) == 0:
        return float("nan")
    return float(stats.mannwhitneyu(samples, null, alternative="less").pvalue)


def change_table(responses_by_epoch: dict, channels, pixel_scores=None, screen=None, top_k: int = TOP_K,
                 alpha: float = ALPHA) -> pd.DataFrame:
    """The change table of one layer's rendered channels: one row per (epoch, channel) with :data:`CHANGE_COLUMNS`.

    **The combined verdict.** ``render_changed`` is the render verdict (:func:`verdict`), ``screen_changed``
    the screen's (:mod:`driftlens.change.screen`); a channel has ``changed`` when either found change
    (each controls its false-discovery rate at ``alpha``, so the union's rate is at most ``2 * alpha``).
    ``evidence`` says what the verdict rests on: ``both``, ``screen``, ``render`` or ``none``.

    Args:
        responses_by_epoch (dict[int, dict]): Epoch to that checkpoint's responses (see
            :func:`cross_activation_samples`); the lowest epoch is the reference (epoch 0).
        channels (list[int]): The layer's channels, in column order.
        pixel_scores (dict[int, dict], optional): Epoch to ``{column: (C,) array}`` of pixel metrics
            (``ssim_to_first``, ``ssim_noise``, ...). Default: None (NaN columns)
        screen (pandas.DataFrame, optional): The layer's screen (:data:`~driftlens.artifacts.SCREEN_COLUMNS`),
            covering these channels and epochs. Default: None (render evidence alone)
        top_k (int, optional): Size of the exemplar top sets. Default: :data:`~driftlens.change.screen.TOP_K`
        alpha (float, optional): False-discovery rate of the render verdict. Default: :data:`ALPHA`

    Returns:
        pandas.DataFrame: See :data:`~driftlens.artifacts.CHANGE_COLUMNS`.

    Example:
        >>> own = np.array([[2.0], [2.4], [1.6]]); probe = np.arange(6.0)[:, None] / 100
        >>> same = {"own": own, "probe": probe, "cross": own, "reverse": own}
        >>> table = change_table({0: same, 1: same}, [7])
        >>> table[["epoch", "channel", "changed", "evidence"]].values.tolist()
        [[0, 7, False, 'none'], [1, 7, False, 'none']]
    """
    epochs = sorted(responses_by_epoch)
    first = responses_by_epoch[epochs[0]]
    samples = {epoch: cross_activation_samples(first, responses_by_epoch[epoch]) for epoch in epochs}
    p_values, q_values, changed = verdict({e: s[0] for e, s in samples.items()}, {e: s[1] for e, s in samples.items()},
                                          alpha)
    rows = []
    for epoch in epochs:
        cross, noise = samples[epoch]
        agreement = screen_measures(first["probe"], responses_by_epoch[epoch]["probe"], top_k)  # the screen's own
        rho, jaccard = agreement["rho"], agreement["topk_jaccard"]
        cross, noise = pd.DataFrame(cross), pd.DataFrame(noise)  # NaN-skipping means and minima
        columns = {"epoch": epoch, "channel": list(channels), "cross_activation": cross.mean().to_numpy(),
                   "cross_activation_noise": noise.mean().to_numpy(),
                   "cross_activation_noise_low": noise.min().to_numpy(), "exemplar_rho": rho,
                   "exemplar_jaccard": jaccard, "p_value": p_values[epoch], "q_value": q_values[epoch],
                   "render_changed": changed[epoch], **_screen_columns(screen, epoch, channels),
                   **(pixel_scores or {}).get(epoch, {})}
        rows.append(pd.DataFrame(columns))
    table = pd.concat(rows, ignore_index=True)
    table["changed"] = table.render_changed | table.screen_changed
    table["evidence"] = np.select([table.render_changed & table.screen_changed, table.screen_changed,
                                   table.render_changed], ["both", "screen", "render"], "none")
    return table.reindex(columns=CHANGE_COLUMNS)


def _screen_columns(screen, epoch, channels) -> dict:
    """The screen's effect size, q-value and verdict of ``channels`` at ``epoch`` (NaN and False without a screen)."""
    if screen is None:
        return {"rank_shift": np.nan, "screen_q_value": np.nan, "screen_changed": False}
    rows = screen[screen.epoch == epoch].set_index("channel")
    missing = sorted(set(channels) - set(rows.index))
    if missing:
        raise ConfigError(f"the screen has no epoch-{epoch} rows of channels {missing}")
    rows = rows.loc[list(channels)]
    return {"rank_shift": rows.rank_shift.to_numpy(), "screen_q_value": rows.q_value.to_numpy(),
            "screen_changed": rows.changed.to_numpy(dtype=bool)}
