"""The change screen: every channel of a layer, render-free, judged against epoch 0 on natural probe images.

A channel's *responses* are its spatially averaged activations to the ``N`` images of a held-out probe
set (:func:`~driftlens.change.responses.layer_responses`). Asking the network how it ranks real images
is cheap and deterministic, so every channel at every checkpoint is screened; rendering is spent on the
channels the screen finds.

Measures of one channel at epoch ``e`` against epoch 0 (:func:`screen_measures`):

- **rank shift** (the effect size): the distance between the channel's rankings of the probe images at
  the two epochs, ``sqrt(1 - rho)``, which is the root-mean-square difference of the standardised ranks
  divided by ``sqrt(2)``. It is 0 for the same order, 1 for an unrelated one and ``sqrt(2)`` for the
  reversed one: the fraction of the way from "ranks the images as before" to "ranks them independently".
- **rho**: Spearman's rank correlation of the responses at the two epochs.
- **top-k Jaccard**: overlap of the ``k`` images each epoch ranks highest.
- **exemplar response** (scale-aware): how strongly the epoch-``e`` unit responds to epoch 0's top-k
  images, relative to its own top-k, both above its mean response to the probe set:
  ``(mean b[top_0] - mean b) / (mean b[top_e] - mean b)``; 1 when the favourites are the same.
- **activity**: the standard deviation of the responses across the probe set, as a fraction of the
  layer's median at epoch 0 (how much the channel distinguishes images at all).

**Noise references, from the data.** Each measure's standard error comes from a paired bootstrap over
the probe images (``bootstrap`` resamples of the images, the same resample at both epochs, ranks taken
within each resample, a fixed seed): a channel whose ranking rests on a few images, or on nearly tied
responses, has a wide error and is not called changed on its estimate alone.

**The rule** (:func:`screen_verdict`). A channel is *silent* at an epoch when its activity is below
:data:`SILENT_ACTIVITY` (1 % of the layer's median spread): its ranking is then numerical noise.
Silent at both epochs: not tested (p = 1). Going silent or coming alive: changed (p = 0), whatever its
ranking. Otherwise, the null hypothesis is that the rank shift is at most the minimum effect
``min_effect`` (:data:`MIN_EFFECT`, 0.04: the ranking has moved 4 % of the way to an unrelated one,
Spearman ``rho`` below 0.9984, so that a third of a percent of the ranking's variance, ``1 - rho^2``, is
new; a smaller re-ordering is what weight noise of a thousandth does to an untouched channel). It is tested
one-sided by ``z = (shift - min_effect) / se`` with the bootstrap standard error (p from the normal
distribution). The p-values of all channels of a layer at one epoch are corrected by Benjamini-Hochberg
(false-discovery rate ``alpha``, :data:`ALPHA`); *changed* means ``q <= alpha``, which implies an
estimated shift above the minimum effect. Significance alone never suffices: with many probe images a
tiny, real re-ordering is significant, and the minimum effect keeps it from counting.

Example:
    >>> rng = np.random.default_rng(0)
    >>> first = rng.normal(size=(128, 6))
    >>> later = first.copy(); later[:, 2] = rng.normal(size=128)    # channel 2 re-ranks everything
    >>> screen_table({0: first, 1: later}).query("epoch == 1").changed.tolist()
    [False, False, True, False, False, False]
"""

import warnings

import numpy as np
import pandas as pd

from driftlens.artifacts import SCREEN_COLUMNS
from driftlens.change.defaults import ALPHA, BOOTSTRAP, MIN_EFFECT, TOP_K  # noqa: F401 (the screen's defaults)

SILENT_ACTIVITY = 0.01
"""A channel whose responses spread less than 1 % of the layer's median spread (at epoch 0) is silent."""

_MEASURES = ("rank_shift", "rho", "topk_jaccard", "exemplar_response")


def screen_measures(first, later, top_k: int = TOP_K) -> dict[str, np.ndarray]:
    """The screening measures of every channel, epoch ``e`` against epoch 0 (see the module docstring).

    Args:
        first (np.ndarray): ``(N, C)`` responses to ``N`` probe images at epoch 0.
        later (np.ndarray): ``(N, C)`` responses to the same images at epoch ``e``.
        top_k (int, optional): Size of the top-exemplar sets (at most ``N``). Default: :data:`TOP_K`

    Returns:
        dict[str, np.ndarray]: ``rank_shift``, ``rho``, ``topk_jaccard``, ``exemplar_response``, each ``(C,)``;
        NaN where a channel's responses are constant at an epoch.

    Example:
        >>> a = np.arange(10.0)[:, None]
        >>> {k: v.round(3).tolist() for k, v in screen_measures(a, a[::-1], top_k=2).items()}
        {'rank_shift': [1.414], 'rho': [-1.0], 'topk_jaccard': [0.0], 'exemplar_response': [-1.0]}
    """
    first, later = np.asarray(first, np.float64), np.asarray(later, np.float64)
    if first.shape != later.shape or first.ndim != 2:
        raise ValueError(f"responses must be two (N, C) arrays of one shape, got {first.shape} and {later.shape}")
    top_k = min(top_k, len(first))
    from scipy import stats  # here, not at import: a job that only reads screen tables starts a second sooner

    rank_first, rank_later = stats.rankdata(first, axis=0), stats.rankdata(later, axis=0)
    constant = (np.ptp(first, axis=0) == 0) | (np.ptp(later, axis=0) == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = _column_correlation(rank_first, rank_later)
        shift = _rank_distance(rho)
        top_first, top_later = _top_mask(first, top_k), _top_mask(later, top_k)
        jaccard = (top_first & top_later).sum(0) / (top_first | top_later).sum(0)
        mean_later = later.mean(axis=0)
        response = ((later * top_first).sum(0) / top_k - mean_later) / ((later * top_later).sum(0) / top_k - mean_later)
    values = {"rank_shift": shift, "rho": rho, "topk_jaccard": jaccard, "exemplar_response": response}
    return {name: np.where(constant, np.nan, value) for name, value in values.items()}


def _rank_distance(rho):
    """``sqrt(1 - rho)``, exactly 0 where ``rho`` rounds to 1."""
    return np.sqrt(np.clip(1 - rho, 0, None))


def _column_correlation(a, b):
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))


def _top_mask(responses, top_k):
    """``(N, C)`` booleans: the ``top_k`` highest responses of each column (ties broken by image order)."""
    mask = np.zeros(responses.shape, dtype=bool)
    top = np.argsort(-responses, axis=0, kind="stable")[:top_k]
    np.put_along_axis(mask, top, True, axis=0)
    return mask


def bootstrap_errors(first, later, top_k: int = TOP_K, resamples: int = BOOTSTRAP, seed: int = 0,
                     chunk: int = 128) -> dict:
    """Standard errors of the screening measures from a paired bootstrap over the probe images.

    Each resample draws ``N`` of the probe images with replacement (the same draw at both epochs) and
    weighs each image by how often it was drawn. The images' ranks and top-k sets are those of the full
    probe set, restricted to the drawn images, so a resample costs a few matrix products, not a sort.

    Args:
        first (np.ndarray): ``(N, C)`` responses at epoch 0.
        later (np.ndarray): ``(N, C)`` responses at epoch ``e``.
        top_k (int, optional): Size of the top-exemplar sets. Default: :data:`TOP_K`
        resamples (int, optional): Bootstrap resamples. Default: :data:`BOOTSTRAP`
        seed (int, optional): Seed of the resampling (fixed: identical inputs give identical errors). Default: 0
        chunk (int, optional): Channels measured at a time (bounds the memory). Default: 128

    Returns:
        dict[str, np.ndarray]: ``{measure}_se`` for each measure of :func:`screen_measures`, each ``(C,)``;
        0 where both epochs agree exactly.

    Example:
        >>> a = np.random.default_rng(1).normal(size=(50, 3))
        >>> bootstrap_errors(a, a)["rank_shift_se"].tolist()
        [0.0, 0.0, 0.0]
    """
    first, later = np.asarray(first, np.float64), np.asarray(later, np.float64)
    count = len(first)
    weights = np.random.default_rng(seed).multinomial(count, np.full(count, 1 / count), size=resamples).astype(float)
    parts = [_resampled_measures(first[:, k:k + chunk], later[:, k:k + chunk], weights, min(top_k, count))
             for k in range(0, first.shape[1], chunk)]
    with warnings.catch_warnings():  # a constant channel's measures are NaN in every resample: its error is NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return {f"{name}_se": np.concatenate([np.nanstd(part[name], axis=0) for part in parts]) for name in _MEASURES}


def _resampled_measures(first, later, weights, top_k) -> dict:
    """Each measure per resample and channel, ``(B, C)``, from image weights ``(B, N)``."""
    total = weights.sum(axis=1, keepdims=True)
    from scipy import stats

    rank_first, rank_later = stats.rankdata(first, axis=0), stats.rankdata(later, axis=0)

    def mean(values):  # weighted mean over images, per resample and channel
        return weights @ values / total

    with np.errstate(divide="ignore", invalid="ignore"):
        mf, ml = mean(rank_first), mean(rank_later)
        rho = (mean(rank_first * rank_later) - mf * ml) / np.sqrt((mean(rank_first ** 2) - mf ** 2)
                                                                  * (mean(rank_later ** 2) - ml ** 2))
        shift = _rank_distance(rho)
        top_first, top_later = _resampled_top(first, weights, top_k), _resampled_top(later, weights, top_k)
        jaccard = (top_first & top_later).sum(1) / (top_first | top_later).sum(1)
        level = mean(later)
        response = ((_top_mean(top_first, weights, later) - level)
                    / (_top_mean(top_later, weights, later) - level))
    return {"rank_shift": shift, "rho": rho, "topk_jaccard": jaccard, "exemplar_response": response}


def _top_mean(top, weights, responses):
    """``(B, C)``: each resample's weighted mean of ``responses`` over its top images ``top`` ``(B, N, C)``."""
    weighted = weights[:, :, None] * top
    return np.einsum("bnc,nc->bc", weighted, responses) / weighted.sum(axis=1)


def _resampled_top(responses, weights, top_k):
    """``(B, N, C)`` booleans: each resample's ``top_k`` highest-ranked drawn images of each channel.

    Only the best-ranked images are searched, as deep as it takes for every resample to have drawn
    ``top_k`` of them (a resample draws about 63 % of the images, so a few times ``top_k``).
    """
    order = np.argsort(-responses, axis=0, kind="stable")                     # (N, C), best first
    depth = min(4 * top_k, len(order))
    while True:
        drawn = weights[:, order[:depth]] > 0                                 # (B, depth, C) in that order
        if depth == len(order) or drawn.sum(axis=1).min() >= top_k:
            break
        depth = min(2 * depth, len(order))
    top_in_order = drawn & (np.cumsum(drawn, axis=1) <= top_k)
    top = np.zeros((len(weights), *responses.shape), dtype=bool)
    np.put_along_axis(top, np.broadcast_to(order[:depth], top_in_order.shape), top_in_order, axis=1)
    return top


def activity(responses, reference) -> np.ndarray:
    """Each channel's spread of responses across the probe set, as a fraction of ``reference``.

    Args:
        responses (np.ndarray): ``(N, C)`` responses.
        reference (float): The layer's median spread at epoch 0 (:func:`layer_spread`).

    Returns:
        np.ndarray: ``(C,)``; below :data:`SILENT_ACTIVITY` means silent.

    Example:
        >>> activity(np.array([[0.0, 1.0], [0.0, 3.0]]), reference=1.0).tolist()
        [0.0, 1.0]
    """
    spread = np.std(np.asarray(responses, np.float64), axis=0)
    return spread / reference if reference > 0 else np.where(spread > 0, np.inf, 0.0)


def layer_spread(first) -> float:
    """The median over a layer's channels of their responses' spread across the probe set at epoch 0.

    Example:
        >>> layer_spread(np.array([[0.0, 0.0, 1.0], [2.0, 4.0, 1.0]]))
        1.0
    """
    return float(np.median(np.std(np.asarray(first, np.float64), axis=0)))


def screen_verdict(measures: dict, first_activity, later_activity, min_effect: float = MIN_EFFECT,
                   alpha: float = ALPHA) -> dict[str, np.ndarray]:
    """States, p-values, BH q-values and verdicts of a layer's channels at one epoch (the module's rule).

    Args:
        measures (dict): :func:`screen_measures` and :func:`bootstrap_errors` of the layer, merged.
        first_activity (np.ndarray): ``(C,)`` activity at epoch 0.
        later_activity (np.ndarray): ``(C,)`` activity at epoch ``e``.
        min_effect (float, optional): Minimum rank shift that counts. Default: :data:`MIN_EFFECT`
        alpha (float, optional): False-discovery rate. Default: :data:`ALPHA`

    Returns:
        dict[str, np.ndarray]: ``state`` (active, silent, went silent, came alive), ``p_value``, ``q_value``,
        ``changed``.

    Example:
        >>> measures = {"rank_shift": np.array([0.2, 0.01, np.nan]), "rank_shift_se": np.array([0.02, 0.01, 0])}
        >>> result = screen_verdict(measures, np.ones(3), np.array([1.0, 1.0, 0.0]))
        >>> result["state"].tolist(), result["changed"].tolist()
        (['active', 'active', 'went silent'], [True, False, True])
    """
    from scipy import stats

    silent_first, silent_later = first_activity < SILENT_ACTIVITY, later_activity < SILENT_ACTIVITY
    state = np.select([silent_first & silent_later, silent_later, silent_first], ["silent", "went silent", "came alive"],
                      "active")
    shift, error = np.nan_to_num(measures["rank_shift"]), np.nan_to_num(measures["rank_shift_se"])
    excess = shift - min_effect
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(error > 0, stats.norm.sf(excess / np.where(error > 0, error, 1)), np.where(excess > 0, 0.0, 1.0))
    p = np.select([state == "silent", (state == "went silent") | (state == "came alive")], [1.0, 0.0], p)
    q = stats.false_discovery_control(p, method="bh") if len(p) else p
    return {"state": state, "p_value": p, "q_value": q, "changed": q <= alpha}


def screen_table(responses_by_epoch: dict, channels=None, min_effect: float = MIN_EFFECT, alpha: float = ALPHA,
                 top_k: int = TOP_K, resamples: int = BOOTSTRAP, seed: int = 0) -> pd.DataFrame:
    """The screen of one layer: a row per (epoch, channel) with :data:`~driftlens.artifacts.SCREEN_COLUMNS`.

    Args:
        responses_by_epoch (dict[int, np.ndarray]): Epoch to ``(N, C)`` probe responses of every channel; the
            lowest epoch is the reference (epoch 0).
        channels (list[int], optional): The channel of each column. Default: ``0 .. C-1``
        min_effect (float, optional): Minimum rank shift. Default: :data:`MIN_EFFECT`
        alpha (float, optional): False-discovery rate. Default: :data:`ALPHA`
        top_k (int, optional): Size of the top-exemplar sets. Default: :data:`TOP_K`
        resamples (int, optional): Bootstrap resamples. Default: :data:`BOOTSTRAP`
        seed (int, optional): Bootstrap seed. Default: 0

    Returns:
        pandas.DataFrame: :data:`~driftlens.artifacts.SCREEN_COLUMNS`.

    Example:
        >>> a = np.random.default_rng(0).normal(size=(40, 3))
        >>> screen_table({0: a, 2: a})[["epoch", "channel", "rank_shift", "changed"]].values.tolist()[-1]
        [2, 2, 0.0, False]
    """
    epochs = sorted(responses_by_epoch)
    first = np.asarray(responses_by_epoch[epochs[0]], np.float64)
    channels = list(range(first.shape[1])) if channels is None else list(channels)
    reference = layer_spread(first)
    first_activity = activity(first, reference)
    rows = []
    for epoch in epochs:
        later = np.asarray(responses_by_epoch[epoch], np.float64)
        measures = {**screen_measures(first, later, top_k), **_errors(first, later, top_k, resamples, seed)}
        later_activity = activity(later, reference)
        result = screen_verdict(measures, first_activity, later_activity, min_effect, alpha)
        rows.append(pd.DataFrame({"epoch": epoch, "channel": channels, **measures, "activity_first": first_activity,
                                  "activity": later_activity, **result, "min_effect": min_effect, "alpha": alpha}))
    return pd.concat(rows, ignore_index=True).reindex(columns=SCREEN_COLUMNS)


def _errors(first, later, top_k, resamples, seed):
    """:func:`bootstrap_errors`, or zeros where both epochs are identical (a frozen layer: nothing to resample)."""
    if np.array_equal(first, later):
        return {f"{name}_se": np.zeros(first.shape[1]) for name in _MEASURES}
    return bootstrap_errors(first, later, top_k, resamples, seed)


def change_ranking(table: pd.DataFrame, epoch: int | None = None) -> pd.DataFrame:
    """A layer's channels at one epoch of its screen, most changed first: changed ones, then by rank shift.

    Channels silent at both epochs come last (nothing to rank).

    Args:
        table (pandas.DataFrame): The layer's screen (:func:`screen_table`).
        epoch (int, optional): The epoch. Default: the last in the table

    Returns:
        pandas.DataFrame: That epoch's rows, re-ordered, with a ``rank`` column (1 = most changed).

    Example:
        >>> a = np.random.default_rng(0).normal(size=(64, 3)); b = a.copy(); b[:, 1] = -b[:, 1]
        >>> change_ranking(screen_table({0: a, 1: b})).channel.tolist()
        [1, 0, 2]
    """
    epoch = int(table.epoch.max()) if epoch is None else epoch
    rows = table[table.epoch == epoch]
    if rows.empty:
        raise ValueError(f"the screen has no epoch {epoch} (it has {sorted(table.epoch.unique())})")
    rows = rows.assign(_rankable=rows.state != "silent").sort_values(
        ["_rankable", "changed", "rank_shift", "channel"], ascending=[False, False, False, True], kind="stable")
    return rows.drop(columns="_rankable").assign(rank=np.arange(1, len(rows) + 1))


def most_and_least_changed(table: pd.DataFrame, most: int, least: int, epoch: int | None = None) -> list[int]:
    """The ``most`` most changed channels of a screen, then the ``least`` least changed (controls).

    Controls are taken from the channels that are active at both epochs, so they could have changed.

    Args:
        table (pandas.DataFrame): The layer's screen.
        most (int): How many of the most changed.
        least (int): How many of the least changed, none of them among the first.
        epoch (int, optional): The screen's epoch to choose from. Default: the last

    Returns:
        list[int]: Channels, most changed first, then the controls from the least changed up.

    Example:
        >>> a = np.random.default_rng(0).normal(size=(64, 4)); b = a.copy(); b[:, 2] = -b[:, 2]
        >>> most_and_least_changed(screen_table({0: a, 1: b}), 1, 1)
        [2, 0]
    """
    ranking = change_ranking(table, epoch)
    if most + least > len(ranking):
        raise ValueError(f"cannot choose {most} + {least} channels from a layer of {len(ranking)}")
    chosen = ranking.channel.iloc[:most].tolist()
    controls = ranking[(ranking.state == "active") & ~ranking.channel.isin(chosen)].sort_values(
        ["rank_shift", "channel"], kind="stable")
    return chosen + controls.channel.iloc[:least].tolist()


def channel_labels(table: pd.DataFrame, channels, epoch: int | None = None) -> list[str]:
    """Why each channel is shown, in two lines: the channel (``*``: changed), then its rank among the layer's
    channels by change and its rank shift.

    Example:
        >>> a = np.random.default_rng(0).normal(size=(64, 3)); b = a.copy(); b[:, 1] = -b[:, 1]
        >>> channel_labels(screen_table({0: a, 1: b}), [1, 2])
        ['ch 1*\\n#1/3 · 1.41', 'ch 2\\n#3/3 · 0.00']
    """
    ranking = change_ranking(table, epoch).set_index("channel")
    labels = []
    for channel in channels:
        row = ranking.loc[channel]
        labels.append(f"ch {channel}{'*' if row.changed else ''}\n#{row['rank']}/{len(ranking)} · {row.rank_shift:.2f}")
    return labels
