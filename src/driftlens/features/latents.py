"""What each latent of a crosscoder is: where it lives, its class, whether another checkpoint explains it, what it serves.

The classes, for checkpoints ``c_0`` (epoch 0) ... ``c_T`` (the last):

- a latent **lives** at a checkpoint when its decoder norm there is more than ``live_ratio`` of its largest;
  the default 0.2 is Minder et al.'s (2025) exclusivity cut: a relative decoder norm
  ``Δ = ½((n_B − n_A) / max(n_A, n_B) + 1)`` of at most 0.1 or at least 0.9;
- **strengthened** / **weakened**: lives at epoch 0 and at the last checkpoint, and writes there at least
  ``strength_ratio`` (default 2) times more / less strongly: its decoder norm at the last checkpoint is at least
  twice / at most half its norm at epoch 0 (a relative decoder norm ``Δ`` of at least 0.75 / at most 0.25). It
  answers "which pretrained features did the fine-tune amplify, and which did it give up in part"; a latent that
  also turned is listed here, by its norm change (its cosine is in the table);
- **shared**: lives at both, within that factor, its decoder directions there closer than ``rotation_cosine``
  (default cos 45°: the later direction keeps more of the old one than it gains anew);
- **rotated**: lives at both, within that factor, its directions further apart;
- **rewired**: lives at both, within that factor and that cosine, but the change of its unit decoder direction
  (last minus epoch 0) sits mostly on one channel: that channel holds at least ``MOSTLY_ONE_CHANNEL`` (half) of the
  change's squared mass, and its own change is at least ``rewire_shift``. The default minimum, ``1 / sqrt(d)`` for a
  layer of ``d`` channels, is the weight an average channel holds in a unit direction: the channel's change alone is
  as large as an average channel's whole part. It answers "which channel was rewired under a feature that stays":
  a re-initialised channel changes what many features write there a little, each by a turn far smaller than 45°,
  but all on that channel (a swap splits each change between its two channels, so its latents stay shared);
- **lost**: lives at epoch 0, not at the last; **new**: lives at the last, not at epoch 0; **transient**: lives
  at a middle checkpoint only. ``appears`` is the first epoch it lives at, ``disappears`` the first epoch after
  it last lived (empty while it lives at the last);
- **rare**: active on fewer than ``min_firings`` (20) training positions, too few
  for its decoder directions to be compared; **dead**: never active on the training positions.

A latent that looks exclusive by its norms is kept exclusive only if Latent Scaling (Minder et al. 2025) agrees:
``β_m``, the least-squares scale of the latent's home direction in checkpoint ``m``'s (centred) activations
where the latent fires, is computed at every checkpoint it does not live at; if one of them explains at least
``scaling_ratio`` (0.5) of the home checkpoint's ``β``, that checkpoint carries the latent too, and the latent
is *shared*. Each minimum may be raised by a null (:func:`null_thresholds`).

Example:
    >>> import numpy as np
    >>> norms = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    >>> latent_classes(norms, cosine=np.ones(3), scaling=np.zeros(3), frequency=np.ones(3), epochs=[0, 3]).tolist()
    ['shared', 'lost', 'new']
"""

import numpy as np
import torch

CLASSES = ("new", "lost", "strengthened", "weakened", "rotated", "rewired", "transient", "shared", "rare", "dead")
"""Every latent class, in the order tables list them (new and lost first)."""

CHANGED = ("new", "lost", "strengthened", "weakened", "rotated", "rewired", "transient")
"""The classes of a latent the fine-tune changed (every class but shared, rare and dead)."""

EXCLUSIVE = ("new", "lost", "transient")
"""The classes of a latent that lives at some checkpoints only."""

COUNTED = ("new", "lost", "strengthened", "weakened", "rotated", "rewired")
"""The classes a one-line summary counts (:func:`counts_text`), in this order."""

MOSTLY_ONE_CHANNEL = 0.5
"""A latent's direction change (or decoder) sits mostly on one channel when that channel holds at least this share of
its squared norm: what a rewired latent needs."""


def counts_text(counts: dict) -> str:
    """The one-line count of the :data:`COUNTED` classes, as the report's headline and ``driftlens compare`` write it.

    Example:
        >>> counts_text({"new": 2, "rotated": 1})
        '2 new, 0 lost, 0 strengthened, 0 weakened, 1 rotated, 0 rewired'
    """
    return ", ".join(f"{counts.get(name, 0)} {name}" for name in COUNTED)


def alive(norms: np.ndarray, live_ratio: float = 0.2) -> np.ndarray:
    """``(L, M)``: whether each latent's decoder norm at each checkpoint exceeds ``live_ratio`` of its largest.

    Example:
        >>> alive(np.array([[1.0, 0.1], [0.5, 1.0]])).tolist()
        [[True, False], [True, True]]
    """
    return norms > live_ratio * norms.max(axis=1, keepdims=True)


def latent_classes(norms, cosine, scaling, frequency, epochs, live_ratio: float = 0.2,
                   rotation_cosine: float = 2 ** -0.5, scaling_ratio: float = 0.5, min_frequency: float = 0.0,
                   strength_ratio: float = 2.0, change=None, rewire_shift: float = np.inf) -> np.ndarray:
    """Each latent's class (:data:`CLASSES`) by the rule of this module.

    Args:
        norms (np.ndarray): ``(L, M)`` decoder norms, checkpoints in epoch order.
        cosine (np.ndarray): ``(L,)`` cosine of the decoder directions at the first and last checkpoint.
        scaling (np.ndarray): ``(L,)`` Latent Scaling ratio (:func:`scaling_ratios`); NaN counts as unexplained.
        frequency (np.ndarray): ``(L,)`` share of training positions where the latent is active.
        epochs (list[int]): The checkpoints' epochs.
        live_ratio, rotation_cosine, scaling_ratio (float, optional): The minimum effects (module docstring).
        min_frequency (float, optional): Below it (and above 0) a latent is rare. Default: 0
        strength_ratio (float, optional): The norm factor that makes a latent strengthened or weakened. Default: 2
        change (tuple[np.ndarray, np.ndarray], optional): ``(share, shift)`` of :func:`direction_changes`. Default:
            None, no latent rewired
        rewire_shift (float, optional): The least change of the channel that makes a latent rewired. Default: inf

    Returns:
        np.ndarray: ``(L,)`` class names.

    Example:
        >>> latent_classes(np.array([[1.0, 0.9], [0.4, 1.0]]), np.array([0.2, 0.9]), np.zeros(2), np.ones(2),
        ...                [0, 5]).tolist()
        ['rotated', 'strengthened']
        >>> latent_classes(np.ones((2, 2)), np.array([0.9, 0.9]), np.zeros(2), np.ones(2), [0, 5],
        ...                change=(np.array([0.8, 0.3]), np.array([0.4, 0.4])), rewire_shift=0.2).tolist()
        ['rewired', 'shared']
    """
    lives = alive(norms, live_ratio)
    first, last = lives[:, 0], lives[:, -1]
    growth = norms[:, -1] / np.maximum(norms[:, 0], 1e-12)
    both = np.where(growth >= strength_ratio, "strengthened", np.where(
        growth <= 1 / strength_ratio, "weakened", np.where(cosine < rotation_cosine, "rotated", "shared")))
    if change is not None:
        share, shift = change
        both = np.where((both == "shared") & (share >= MOSTLY_ONE_CHANNEL) & (shift >= rewire_shift), "rewired", both)
    classes = np.where(first & last, both, np.where(last, "new", np.where(first, "lost", "transient"))).astype(object)
    explained = np.isin(classes, EXCLUSIVE) & (np.nan_to_num(scaling, nan=0.0) >= scaling_ratio)
    classes[explained] = "shared"
    classes[np.asarray(frequency) < min_frequency] = "rare"
    classes[np.asarray(frequency) == 0] = "dead"
    if len(epochs) == 1:
        classes[~np.isin(classes, ("dead", "rare"))] = "shared"
    return classes


def life_epochs(norms: np.ndarray, epochs, live_ratio: float = 0.2) -> tuple[list, list, list]:
    """Per latent: the epochs it lives at, the first of them, and the first epoch after it last lived (or None).

    Example:
        >>> life_epochs(np.array([[0.0, 1.0, 0.0]]), [0, 2, 5])
        ([[2]], [2], [5])
    """
    lives = alive(norms, live_ratio)
    living = [[epochs[m] for m in np.flatnonzero(row)] for row in lives]
    after = [None if row[-1] else epochs[int(np.flatnonzero(row).max()) + 1] for row in lives]
    return living, [row[0] for row in living], after


def decoder_cosines(decoder: torch.Tensor) -> np.ndarray:
    """``(L,)`` cosine of each latent's decoder direction at the first and at the last checkpoint, ``(L, M, d)``.

    Example:
        >>> decoder_cosines(torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])).tolist()
        [0.0]
    """
    return torch.nn.functional.cosine_similarity(decoder[:, 0], decoder[:, -1], dim=1, eps=1e-12).cpu().numpy()


def channel_changes(decoder: torch.Tensor) -> torch.Tensor:
    """``(L, d)``: each channel's share of the squared change of each latent's unit decoder direction from the first
    to the last checkpoint (``u_last − u_first``), from ``(L, M, d)``; rows of an unchanged latent are zeros.

    Example:
        >>> channel_changes(torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])).tolist()
        [[0.5, 0.5]]
    """
    unit = decoder / decoder.norm(dim=2, keepdim=True).clamp_min(1e-12)
    change = (unit[:, -1] - unit[:, 0]).square()
    return change / change.sum(dim=1, keepdim=True).clamp_min(1e-24)


def direction_changes(decoder: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each latent's unit decoder direction changed from the first to the last checkpoint, ``(L, M, d)``.

    Returns ``(channel, share, shift)``, each ``(L,)``: the channel that holds the largest part of the change
    ``u_last − u_first``, that part's share of the change's squared norm, and the channel's own change
    ``|u_last[c] − u_first[c]|``.

    Example:
        >>> channel, share, shift = direction_changes(torch.tensor([[[3.0, 4.0, 0.0], [3.0, 4.0, 5.0]]]))
        >>> int(channel[0]), round(float(share[0]), 2), round(float(shift[0]), 2)
        (2, 0.85, 0.71)
    """
    unit = decoder / decoder.norm(dim=2, keepdim=True).clamp_min(1e-12)
    share, channel = channel_changes(decoder).max(dim=1)
    shift = (unit[:, -1] - unit[:, 0]).abs().gather(1, channel[:, None])[:, 0]
    return channel.cpu().numpy(), share.cpu().numpy(), shift.cpu().numpy()


def scaling_ratios(code: torch.Tensor, vectors: torch.Tensor, decoder: torch.Tensor, lives: np.ndarray) -> np.ndarray:
    """Latent Scaling: how much of each latent's home direction the checkpoints it does not live at carry.

    For latent ``j`` with home checkpoint ``h`` (its largest decoder norm) and unit direction ``u`` there,
    ``β_m = Σ_i f_ij <u, x_im − mean(x_m)> / Σ_i f_ij²`` over the positions ``i``; the ratio is the largest
    ``β_m / β_h`` over the checkpoints ``m`` it does not live at (NaN for a latent that lives everywhere or never
    fires, or whose ``β_h`` is not positive).

    Args:
        code (torch.Tensor): ``(N, L)`` latent activations on training positions.
        vectors (torch.Tensor): ``(N, M, d)`` the scaled activation vectors they encode.
        decoder (torch.Tensor): ``(L, M, d)``.
        lives (np.ndarray): ``(L, M)`` from :func:`alive`.

    Returns:
        np.ndarray: ``(L,)`` ratios.

    Example:
        >>> x = torch.randn(50, 2, 3); d = torch.zeros(1, 2, 3); d[0, 0, 0] = 1
        >>> f = x[:, 0, :1].clamp_min(0)
        >>> y = x.clone(); y[:, 1] = x[:, 0]  # the second checkpoint carries the same direction
        >>> float(scaling_ratios(f, y, d, np.array([[True, False]]))[0]) > 0.9
        True
    """
    norms = decoder.norm(dim=2)
    home = norms.argmax(dim=1)
    directions = decoder[torch.arange(len(decoder)), home]
    directions = directions / directions.norm(dim=1, keepdim=True).clamp_min(1e-12)
    energy = code.double().square().sum(dim=0)
    betas = torch.stack([(code.double() * ((vectors[:, m] - vectors[:, m].mean(dim=0)) @ directions.T).double())
                         .sum(dim=0) / energy for m in range(vectors.shape[1])], dim=1).cpu().numpy()
    own = betas[np.arange(len(betas)), home.cpu().numpy()]
    others = np.where(~lives, betas, -np.inf).max(axis=1)
    usable = (own > 0) & np.isfinite(others)
    return np.where(usable, others / np.where(usable, own, 1.0), np.nan)


def null_thresholds(null_norms: np.ndarray, null_cosine: np.ndarray, live_ratio: float, rotation_cosine: float,
                    quantile: float = 0.999, strength_ratio: float = 2.0, null_shift=(), rewire_shift: float = np.inf
                    ) -> dict:
    """The minimum effects, made stricter where a null crosscoder (epoch 0 against a noise copy) needs it.

    A latent of the null lives at both checkpoints by construction; its weaker-to-stronger norm ratio and its
    decoder cosine say how far noise alone moves them. The live ratio becomes the smaller of ``live_ratio`` and
    the null's ``1 − quantile`` quantile of that norm ratio, the strength ratio the larger of ``strength_ratio``
    and its inverse, the rotation cosine the smaller of the two cosines, the rewiring shift the larger of
    ``rewire_shift`` and the null's ``quantile`` quantile of its latents' largest channel change. So a verdict needs
    both the minimum effect and an effect beyond (nearly) every null latent.

    Args:
        null_norms (np.ndarray): ``(L, 2)`` decoder norms of the null's latents that are not rare (whose class
            would be decided).
        null_cosine (np.ndarray): ``(L,)`` their decoder cosines.
        live_ratio, rotation_cosine (float): The minimum effects.
        quantile (float, optional): How far into the null's tail. Default: 0.999
        strength_ratio (float, optional): The minimum norm factor of a strengthened or weakened latent. Default: 2
        null_shift (np.ndarray, optional): ``(L,)`` the null latents' channel changes (:func:`direction_changes`).
            Default: none
        rewire_shift (float, optional): The minimum channel change of a rewired latent. Default: inf

    Returns:
        dict: ``live_ratio``, ``strength_ratio``, ``rotation_cosine``, ``rewire_shift`` (the thresholds used) and
        the null's quantiles.

    Example:
        >>> null_thresholds(np.ones((10, 2)), np.ones(10), 0.2, 0.7)["strength_ratio"]
        2.0
    """
    ratio = null_norms.min(axis=1) / np.maximum(null_norms.max(axis=1), 1e-12)
    null_ratio = float(np.quantile(ratio, 1 - quantile)) if len(ratio) else 1.0
    null_cosine_q = float(np.quantile(null_cosine, 1 - quantile)) if len(null_cosine) else 1.0
    null_shift_q = float(np.quantile(null_shift, quantile)) if len(null_shift) else 0.0
    return {"live_ratio": min(live_ratio, null_ratio),
            "strength_ratio": max(strength_ratio, 1 / max(null_ratio, 1e-12)),
            "rotation_cosine": min(rotation_cosine, null_cosine_q), "rewire_shift": max(rewire_shift, null_shift_q),
            "null_norm_ratio_quantile": null_ratio, "null_cosine_quantile": null_cosine_q,
            "null_shift_quantile": null_shift_q, "quantile": quantile}


def class_means(code_per_image: np.ndarray, labels, classes) -> np.ndarray:
    """``(L, K)``: each latent's mean activation over the probe images of each of ``K`` classes.

    Example:
        >>> class_means(np.array([[1.0], [3.0]]), np.array([0, 1]), ["a", "b"]).tolist()
        [[1.0, 3.0]]
    """
    labels = np.asarray(labels)
    return np.stack([code_per_image[labels == k].mean(axis=0) if (labels == k).any()
                     else np.zeros(code_per_image.shape[1]) for k in range(len(classes))], axis=1)
