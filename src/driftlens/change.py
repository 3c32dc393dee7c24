"""Which channels really changed: semantic change metrics, their seed-noise references and a verdict.

A render is a chaotic function of the weights, so its pixels alone cannot say that a feature changed.
For every rendered checkpoint ``e`` and channel, with ``S`` seeds of renders at ``e`` and at epoch 0:

- **Unit responses** (:func:`unit_responses`): a channel's response to an image is the spatial mean of
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

import copy

import numpy as np
import pandas as pd
import torch
from scipy import stats

from driftlens.artifacts import CHANGE_COLUMNS
from driftlens.errors import ConfigError
from driftlens.models import capture, channel_means, eval_mode

ALPHA = 0.05
"""False-discovery rate of the verdict: a channel has changed where its BH-corrected p-value is at most this."""


def unit_responses(model, images, layer: str, channels, batch_size: int = 32) -> np.ndarray:
    """Each channel's spatially averaged response to images: ``responses[..., k]`` is channel ``channels[k]``.

    Args:
        model (ModelWrapper): The network (runs on its device, in eval mode).
        images (np.ndarray): ``(N, H, W, 3)`` in [0, 1] (every channel sees every image), or
            ``(S, C, H, W, 3)`` with ``C = len(channels)`` (channel ``k`` sees only ``images[:, k]``:
            its own visualisations).
        layer (str): Layer name or alias.
        channels (list[int]): The channels.
        batch_size (int, optional): Images per forward pass. Default: 32

    Returns:
        np.ndarray: ``(N, C)`` or ``(S, C)`` float64.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> unit_responses(model, np.random.rand(4, 32, 32, 3), "conv2", [0, 3]).shape
        (4, 2)
        >>> unit_responses(model, np.random.rand(3, 2, 32, 32, 3), "conv2", [0, 3]).shape
        (3, 2)
    """
    images = np.asarray(images, dtype=np.float32)
    flat = images.reshape(-1, *images.shape[-3:])
    responses = layer_responses(model, flat, {layer: channels}, batch_size)[layer]
    if images.ndim == 4:
        return responses
    responses = responses.reshape(images.shape[0], images.shape[1], len(channels))
    return np.stack([responses[:, k, k] for k in range(len(channels))], axis=1)


@torch.inference_mode()
def layer_responses(model, images, units: dict, batch_size: int = 32) -> dict:
    """Every unit's spatially averaged response to every image, for several layers in one forward pass per batch.

    Args:
        model (ModelWrapper): The network (runs on its device, in eval mode).
        images (np.ndarray): ``(N, H, W, 3)`` in [0, 1].
        units (dict[str, list[int]]): Layer to its channels.
        batch_size (int, optional): Images per forward pass. Default: 32

    Returns:
        dict[str, np.ndarray]: Layer to ``(N, len(channels))`` float64.

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> {layer: r.shape for layer, r in layer_responses(model, np.random.rand(4, 32, 32, 3),
        ...                                                 {"conv2": [0, 3], "conv3": [1]}).items()}
        {'conv2': (4, 2), 'conv3': (4, 1)}
    """
    tensor = torch.from_numpy(np.asarray(images, dtype=np.float32)).permute(0, 3, 1, 2)
    means = {layer: [] for layer in units}
    with eval_mode(model), capture(model, list(units)) as outputs:
        for start in range(0, len(tensor), batch_size):
            model(tensor[start:start + batch_size].to(model.device))
            for layer, channels in units.items():
                means[layer].append(channel_means(outputs[layer])[:, channels].double().cpu())
    return {layer: torch.cat(parts).numpy() for layer, parts in means.items()}


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


def exemplar_agreement(first_probe, later_probe, top_k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Spearman's rho and top-k Jaccard overlap of each channel's probe responses at two epochs.

    Args:
        first_probe (np.ndarray): ``(N, C)`` responses to the probe images at epoch 0.
        later_probe (np.ndarray): ``(N, C)`` at a later epoch.
        top_k (int, optional): Size of the top sets (at most ``N``). Default: 5

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(rho, jaccard)``, each ``(C,)``.

    Example:
        >>> a = np.arange(8.0)[:, None]
        >>> exemplar_agreement(a, a)[0].tolist(), exemplar_agreement(a, -a, top_k=2)[1].tolist()
        ([1.0], [0.0])
    """
    top_k = min(top_k, len(first_probe))
    rho = np.array([stats.spearmanr(a, b).statistic for a, b in zip(first_probe.T, later_probe.T)])
    jaccard = []
    for a, b in zip(first_probe.T, later_probe.T):
        top_a, top_b = set(np.argsort(-a)[:top_k]), set(np.argsort(-b)[:top_k])
        jaccard.append(len(top_a & top_b) / len(top_a | top_b))
    return rho, np.array(jaccard)


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


def change_table(responses_by_epoch: dict, channels, pixel_scores=None, top_k: int = 5,
                 alpha: float = ALPHA) -> pd.DataFrame:
    """The change table of one layer: one row per (epoch, channel) with :data:`CHANGE_COLUMNS`.

    Args:
        responses_by_epoch (dict[int, dict]): Epoch to that checkpoint's responses (see
            :func:`cross_activation_samples`); the lowest epoch is the reference (epoch 0).
        channels (list[int]): The layer's channels, in column order.
        pixel_scores (dict[int, dict], optional): Epoch to ``{column: (C,) array}`` of pixel metrics
            (``ssim_to_first``, ``ssim_noise``, ...). Default: None (NaN columns)
        top_k (int, optional): Size of the exemplar top sets. Default: 5
        alpha (float, optional): False-discovery rate of the verdict. Default: :data:`ALPHA`

    Returns:
        pandas.DataFrame: See :data:`~driftlens.artifacts.CHANGE_COLUMNS`.

    Example:
        >>> own = np.array([[2.0], [2.4], [1.6]]); probe = np.arange(6.0)[:, None] / 100
        >>> same = {"own": own, "probe": probe, "cross": own, "reverse": own}
        >>> table = change_table({0: same, 1: same}, [7])
        >>> table[["epoch", "channel", "changed"]].values.tolist(), table.cross_activation.round(3).tolist()
        ([[0, 7, False], [1, 7, False]], [1.021, 1.021])
    """
    epochs = sorted(responses_by_epoch)
    first = responses_by_epoch[epochs[0]]
    samples = {epoch: cross_activation_samples(first, responses_by_epoch[epoch]) for epoch in epochs}
    p_values, q_values, changed = verdict({e: s[0] for e, s in samples.items()}, {e: s[1] for e, s in samples.items()},
                                          alpha)
    rows = []
    for epoch in epochs:
        cross, noise = samples[epoch]
        rho, jaccard = exemplar_agreement(first["probe"], responses_by_epoch[epoch]["probe"], top_k)
        cross, noise = pd.DataFrame(cross), pd.DataFrame(noise)  # NaN-skipping means and minima
        columns = {"epoch": epoch, "channel": list(channels), "cross_activation": cross.mean().to_numpy(),
                   "cross_activation_noise": noise.mean().to_numpy(),
                   "cross_activation_noise_low": noise.min().to_numpy(), "exemplar_rho": rho,
                   "exemplar_jaccard": jaccard, "p_value": p_values[epoch], "q_value": q_values[epoch],
                   "changed": changed[epoch], **(pixel_scores or {}).get(epoch, {})}
        rows.append(pd.DataFrame(columns))
    return pd.concat(rows, ignore_index=True).reindex(columns=CHANGE_COLUMNS)


def compare_models(first, later, units: dict, probe, seeds=(0, 1, 2), **render) -> dict:
    """Render both models' units, measure their responses and return each layer's change table.

    The library's one-call version of what the workflow does per checkpoint (``render-checkpoint``,
    ``representation --responses``, ``change``), without pixel metrics.

    Args:
        first (ModelWrapper): The reference model (epoch 0).
        later (ModelWrapper): The model compared with it (same architecture).
        units (dict[str, list[int]]): Layer to channels.
        probe (np.ndarray): ``(N, H, W, 3)`` natural images in [0, 1] (baselines and exemplars).
        seeds (list[int], optional): Image seeds, at least two. Default: (0, 1, 2)
        **render: Passed to :func:`~driftlens.optvis.visualize_units` (method, steps, size, ...).

    Returns:
        dict[str, pandas.DataFrame]: Layer to its change table (epochs 0 and 1).

    Example:
        >>> import driftlens
        >>> a = driftlens.models.load("tiny", weights="random")
        >>> tables = compare_models(a, a, {"conv3.0": [0, 1]}, np.random.rand(8, 32, 32, 3), size=32, steps=2,
        ...                         progress=False)
        >>> bool(tables["conv3.0"].changed.any())
        False
    """
    from driftlens.optvis import visualize_units

    renders = [visualize_units(model, units, list(seeds), **render) for model in (first, later)]
    tables = {}
    for layer, channels in units.items():
        ours, theirs = renders[0][layer], renders[1][layer]
        start = {"own": unit_responses(first, ours, layer, channels),
                 "probe": unit_responses(first, probe, layer, channels)}
        end = {"own": unit_responses(later, theirs, layer, channels), "cross": unit_responses(later, ours, layer, channels),
               "reverse": unit_responses(first, theirs, layer, channels),
               "probe": unit_responses(later, probe, layer, channels)}
        tables[layer] = change_table({0: {**start, "cross": start["own"], "reverse": start["own"]}, 1: end}, channels)
    return tables


def reinitialise_channels(model, layer: str, channels, seed: int = 0):
    """A copy of ``model`` whose last convolution under ``layer`` has new incoming weights for ``channels``.

    The planted change that validates the verdict: new weights are drawn from a normal distribution
    with the standard deviation of the layer's weights (and a zero bias); everything else is identical.

    Args:
        model (ModelWrapper): The model (left unchanged).
        layer (str): Layer name or alias; its last ``Conv2d`` (or the module itself) is changed.
        channels (list[int]): Output channels to re-initialise.
        seed (int, optional): Seed of the new weights. Default: 0

    Returns:
        ModelWrapper: The changed copy.

    Example:
        >>> import driftlens
        >>> a = driftlens.models.load("tiny", weights="random")
        >>> b = reinitialise_channels(a, "conv3", [2])
        >>> bool(torch.equal(a.module("conv3")[0].weight[1], b.module("conv3")[0].weight[1]))
        True
    """
    changed = copy.deepcopy(model)
    convolutions = [m for m in changed.module(layer).modules() if isinstance(m, torch.nn.Conv2d)]
    if not convolutions:
        raise ConfigError(f"layer {layer!r} holds no convolution to re-initialise")
    weight = convolutions[-1].weight
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        scale = weight.std()
        for channel in channels:
            weight[channel] = torch.randn(weight[channel].shape, generator=generator).to(weight) * scale
            if convolutions[-1].bias is not None:
                convolutions[-1].bias[channel] = 0
    return changed


def perturb(model, scale: float, seed: int = 0):
    """A copy of ``model`` with normal noise of standard deviation ``scale`` added to every parameter (the null case).

    Example:
        >>> import driftlens
        >>> a = driftlens.models.load("tiny", weights="random")
        >>> 0 < (perturb(a, 1e-6).net.fc.weight - a.net.fc.weight).abs().max().item() < 1e-4
        True
    """
    changed = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in changed.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator).to(parameter) * scale)
    return changed
