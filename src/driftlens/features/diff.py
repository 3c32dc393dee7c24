"""The feature diff of one layer: a crosscoder over its checkpoints, each latent classed, with its nulls and exemplars.

:func:`feature_diff` trains the crosscoder (:mod:`driftlens.features.crosscoder`) on the training positions,
classes every latent (:mod:`driftlens.features.latents`), reads its exemplars on the probe images, and trains
the two nulls: the same crosscoder between epoch 0 and a copy of it under small relative weight noise (how
many latents look exclusive when nothing changed), and the real crosscoder again with another seed (how
stable the classes are).

Example:
    >>> import torch
    >>> train = {0: torch.randn(600, 8), 2: torch.randn(600, 8)}
    >>> probe = {0: torch.randn(4, 3, 3, 8), 2: torch.randn(4, 3, 3, 8)}
    >>> diff = feature_diff(train, probe, settings=FeatureSettings(steps=30), progress=False)
    >>> sorted(diff.table.columns[:3])
    ['class', 'latent', 'share']
"""

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch

from driftlens.errors import ConfigError
from driftlens.features import latents as rules
from driftlens.features.activations import scale_factors
from driftlens.features.crosscoder import pca_variance_explained, train_crosscoder, variance_explained


@dataclass(frozen=True)
class FeatureSettings:
    """The feature diff's settings, with their defaults (the one place they are stated).

    Attributes:
        expansion (int): Latents per channel of the layer, before the data cap. Default: 2
        k_per_channel (float): Active latents per position, as a share of the channels (at least 4). Default: 1/8
        min_firings (int): A latent that fires on fewer training positions is classed rare, its directions too
            poorly determined to compare. Default: 20
        steps (int): Optimiser steps. Default: None, which is about five passes over the training positions at
            ``batch_size`` 256, at least 200 and at most 1000 (:meth:`training_steps`); 200 steps left a third of
            the latents dead on 32,768 positions of a fine-tuned Lite0's ``blocks.15``, 600 steps 11 %
        batch_size (int): Positions per step. Default: 256
        lr (float): Adam's learning rate. Default: 3e-3, where dead latents stay few both on short runs (the demo's
            200 steps: 1.8 % and 4.4 %, against 7.8 % and 13 % at 2e-3) and on long ones (655 steps on a backdoored
            Lite0's ``blocks.14`` and ``blocks.15``: 2.9 % and 2.5 %; 4e-3 left an eighth of them rare)
        max_vectors (int): Most training positions (a fixed random subset). Default: 32768
        seed (int): Seed of the positions, the initialisation and the batches. Default: 0
        noise (float): Relative weight noise of the noise null's copy of epoch 0. Default: 1e-3
        live_ratio (float): A latent lives where its decoder norm exceeds this share of its largest. Default: 0.2
        strength_ratio (float): A latent living at both ends whose last decoder norm is at least this multiple of
            its first is strengthened, at most its inverse weakened: twice or half, far beyond the noise null
            (whose relative norms stay within 0.42-0.58 on Lite0, a factor of 1.4). Default: 2
        rotation_cosine (float): A shared latent whose decoder cosine is below this is rotated. Default: cos 45°
        scaling_ratio (float): Latent Scaling ratio at which another checkpoint explains a latent. Default: 0.5
        null_quantile (float): How far into the noise null's tail the thresholds must reach. Default: 0.999
        exemplars (int): Top probe images per latent. Default: 8
        gallery (int): New and lost latents each shown in features.png. Default: 3
    """

    expansion: int = 2
    k_per_channel: float = 1 / 8
    min_firings: int = 20
    steps: int | None = None
    batch_size: int = 256
    lr: float = 3e-3
    max_vectors: int = 32768
    seed: int = 0
    noise: float = 1e-3
    live_ratio: float = 0.2
    strength_ratio: float = 2.0
    rotation_cosine: float = 2 ** -0.5
    scaling_ratio: float = 0.5
    null_quantile: float = 0.999
    exemplars: int = 8
    gallery: int = 3

    def size(self, width: int, positions: int, checkpoints: int = 2) -> tuple[int, int]:
        """``(latents, k)`` for a layer of ``width`` channels trained on ``positions`` vectors of ``checkpoints``.

        ``expansion * width`` latents, capped on small data so that a latent fires, on average, on at least as many
        training positions (``positions k / latents``) as its decoder has numbers (``checkpoints width``): every
        decoder direction is then determined by more positions than it has unknowns. The cap binds only on small
        runs: the demo's 2,304 positions of 192 channels (two checkpoints) give 144 latents, where 384 would each
        fire on 144 positions to fit 384 numbers; 32,768 positions allow 2,048.

        Example:
            >>> FeatureSettings().size(192, 100000), FeatureSettings().size(192, 2304)
            ((384, 24), (144, 24))
            >>> FeatureSettings().size(192, 200)
            (48, 24)
        """
        k = max(4, round(width * self.k_per_channel))
        return max(2 * k, min(self.expansion * width, positions * k // (checkpoints * width))), k

    def training_steps(self, positions: int) -> int:
        """The optimiser steps for ``positions`` training vectors: ``steps``, or by default ``positions / 50``
        clamped to [200, 1000].

        Example:
            >>> FeatureSettings().training_steps(2304), FeatureSettings().training_steps(32768)
            (200, 655)
        """
        return self.steps or min(1000, max(200, positions // 50))

    @classmethod
    def from_dict(cls, values: dict) -> "FeatureSettings":
        """Settings from a dict of some of the fields (the config's ``features``), refusing unknown keys.

        Example:
            >>> FeatureSettings.from_dict({"steps": 10}).steps
            10
        """
        unknown = sorted(set(values) - set(asdict(cls())))
        if unknown:
            raise ConfigError(f"unknown feature setting {unknown[0]!r}; known: {', '.join(asdict(cls()))}")
        return cls(**values)


@dataclass
class FeatureDiff:
    """What :func:`feature_diff` found for one layer.

    Attributes:
        table (pandas.DataFrame): One row per latent, columns of :data:`driftlens.artifacts.FEATURE_COLUMNS`
            except the exemplar files (which need the probe's names).
        summary (dict): Quality, nulls, thresholds and counts.
        coder (Crosscoder): The dictionary.
        scales (torch.Tensor): ``(M,)`` the factor each checkpoint's activations were scaled by.
        exemplars (dict[int, np.ndarray]): Epoch (first and last) to ``(L, E, 3)`` (probe image, row, column).
        skipped (dict[int, int]): Checkpoints left out because the layer's upstream weights equal an earlier one's,
            to that epoch (set by the caller). Default: {}
    """

    table: pd.DataFrame
    summary: dict
    coder: object
    scales: torch.Tensor
    exemplars: dict
    skipped: dict = field(default_factory=dict)


def feature_diff(train: dict, probe: dict, noise: torch.Tensor | None = None, labels=None, classes=(),
                 settings: FeatureSettings = FeatureSettings(), progress: bool = True) -> FeatureDiff:
    """Train a crosscoder over a layer's checkpoints and class every latent, with a noise null and a seed null.

    Args:
        train (dict[int, torch.Tensor]): Epoch to ``(N, d)`` training vectors, the same positions at every epoch;
            only checkpoints whose activations differ from the previous one (the caller skips the others).
        probe (dict[int, torch.Tensor]): Epoch to ``(n, h, w, d)`` probe activations, same epochs.
        noise (torch.Tensor, optional): ``(N, d)`` the noise copy of epoch 0 at the training positions; without
            it, no noise null (the thresholds are the minimum effects alone). Default: None
        labels (np.ndarray, optional): ``(n,)`` probe classes, for each latent's class means. Default: None
        classes (list[str], optional): The class names labels index into. Default: ()
        settings (FeatureSettings, optional): Default: the defaults
        progress (bool, optional): Progress bars. Default: True

    Returns:
        FeatureDiff: The table, summary, dictionary, scales and exemplar positions.

    Example:
        >>> train = {0: torch.randn(400, 8), 1: torch.randn(400, 8)}
        >>> probe = {0: torch.randn(3, 2, 2, 8), 1: torch.randn(3, 2, 2, 8)}
        >>> diff = feature_diff(train, probe, settings=FeatureSettings(steps=20), progress=False)
        >>> diff.summary["epochs"], len(diff.table) == diff.summary["latents"]
        ([0, 1], True)
    """
    epochs = sorted(train)
    vectors = torch.stack([train[e] for e in epochs], dim=1).float()
    scales = scale_factors(vectors)
    vectors = vectors * scales[:, None]
    latents, k = settings.size(vectors.shape[2], len(vectors), vectors.shape[1])
    fit = dict(latents=latents, k=k, steps=settings.training_steps(len(vectors)), batch_size=settings.batch_size,
               lr=settings.lr)
    coder = train_crosscoder(vectors, seed=settings.seed, progress=progress, **fit)
    thresholds, noise_null = _noise_null(vectors[:, 0], noise if len(epochs) > 1 else None, settings, fit, progress)
    table = _latent_table(coder, vectors, epochs, thresholds, settings)
    probe_vectors = torch.stack([probe[e] for e in epochs], dim=3).float() * scales[:, None]
    exemplars = _exemplars(coder, probe_vectors, epochs, settings.exemplars, table)
    table = _with_class_means(table, coder, probe_vectors, labels, classes)
    summary = _summary(coder, vectors, probe_vectors, epochs, table, thresholds, settings)
    if len(epochs) > 1:
        other = train_crosscoder(vectors, seed=settings.seed + 1, progress=progress, **fit)
        summary["nulls"] = {"noise": noise_null,
                            "seed": _seed_agreement(table, _latent_table(other, vectors, epochs, thresholds, settings),
                                                    coder, other)}
    return FeatureDiff(_ranked(table), summary, coder, scales, exemplars)


def _noise_null(first: torch.Tensor, noise, settings, fit, progress) -> tuple[dict, dict | None]:
    """The thresholds (minimum effects, made stricter by the noise null's tail) and the noise null's counts."""
    minimum = {"live_ratio": settings.live_ratio, "rotation_cosine": settings.rotation_cosine,
               "strength_ratio": settings.strength_ratio, "rewire_shift": first.shape[1] ** -0.5}
    if noise is None:
        return minimum, None
    pair = torch.stack([first, noise.float()], dim=1)
    pair = pair * scale_factors(pair)[:, None]
    null = train_crosscoder(pair, seed=settings.seed, progress=progress, **fit)
    norms, cosine = null.decoder_norms().detach().cpu().numpy(), rules.decoder_cosines(null.decoder.detach())
    _, share, shift = rules.direction_changes(null.decoder.detach())
    frequency = _frequency(null, pair)
    active = frequency > 0
    decided = frequency >= settings.min_firings / len(pair)  # a rare latent's class is never decided
    thresholds = rules.null_thresholds(norms[decided], cosine[decided], quantile=settings.null_quantile,
                                       null_shift=shift[decided], **minimum)
    by_minimum = rules.latent_classes(norms, cosine, np.full(len(norms), np.nan), frequency, [0, 0],
                                      min_frequency=settings.min_firings / len(pair), change=(share, shift), **minimum)
    return thresholds, {"latents": int(active.sum()), "relative_noise": settings.noise,
                        "exclusive_by_minimum_effect": int(np.isin(by_minimum, rules.EXCLUSIVE).sum()),
                        "rotated_by_minimum_effect": int((by_minimum == "rotated").sum()),
                        "rewired_by_minimum_effect": int((by_minimum == "rewired").sum()),
                        "reweighted_by_minimum_effect": int(np.isin(by_minimum, ("strengthened", "weakened")).sum()),
                        "relative_norms": _relative_norm(norms).round(4).tolist()}


@torch.no_grad()
def _frequency(coder, vectors, batch_size: int = 8192) -> np.ndarray:
    fired = sum((coder.encode(vectors[s:s + batch_size]) > 0).sum(dim=0) for s in range(0, len(vectors), batch_size))
    return (fired.double() / len(vectors)).cpu().numpy()


def _relative_norm(norms: np.ndarray) -> np.ndarray:
    """Minder et al.'s relative decoder norm of the last checkpoint against the first, in [0, 1] (0.5: equal)."""
    first, last = norms[:, 0], norms[:, -1]
    return 0.5 * ((last - first) / np.maximum(np.maximum(first, last), 1e-12) + 1)


@torch.no_grad()
def _latent_table(coder, vectors, epochs, thresholds, settings) -> pd.DataFrame:
    """Every latent's norms, class, life, cosine, Latent Scaling ratio, frequency and share."""
    norms, decoder = coder.decoder_norms().cpu().numpy(), coder.decoder.detach()
    code = torch.cat([coder.encode(vectors[s:s + 8192]) for s in range(0, len(vectors), 8192)])
    frequency = (code > 0).double().mean(dim=0).cpu().numpy()
    lives = rules.alive(norms, thresholds["live_ratio"])
    scaling = rules.scaling_ratios(code, vectors, decoder, lives)
    cosine = rules.decoder_cosines(decoder)
    change_channel, change_share, change_shift = rules.direction_changes(decoder)
    classes = rules.latent_classes(norms, cosine, scaling, frequency, epochs, thresholds["live_ratio"],
                                   thresholds["rotation_cosine"], settings.scaling_ratio,
                                   settings.min_firings / len(vectors), thresholds["strength_ratio"],
                                   (change_share, change_shift), thresholds["rewire_shift"])
    living, appears, disappears = rules.life_epochs(norms, epochs, thresholds["live_ratio"])
    home = norms.argmax(axis=1)
    mass = (code.sum(dim=0).cpu().numpy() * norms[np.arange(len(norms)), home])
    share = np.zeros(len(norms))
    for m in range(len(epochs)):
        share[home == m] = mass[home == m] / max(mass[home == m].sum(), 1e-12)
    channel_mass = decoder[torch.arange(len(decoder)), torch.as_tensor(home)].square()
    channel_mass = (channel_mass / channel_mass.sum(dim=1, keepdim=True).clamp_min(1e-12)).cpu().numpy()
    return pd.DataFrame({
        "latent": np.arange(len(norms)), "class": classes, "share": share, "home_epoch": [epochs[m] for m in home],
        "norm_first": norms[:, 0], "norm_last": norms[:, -1], "relative_norm": _relative_norm(norms),
        "norms": [";".join(f"{e}:{n:.4g}" for e, n in zip(epochs, row)) for row in norms],
        "alive_epochs": [";".join(map(str, row)) for row in living], "appears": appears,
        "disappears": pd.array(disappears, dtype="Int64"), "cosine": cosine, "scaling_ratio": scaling,
        "frequency": frequency, "dead": frequency == 0, "top_channel": channel_mass.argmax(axis=1),
        "top_channel_mass": channel_mass.max(axis=1), "change_channel": change_channel,
        "change_channel_share": change_share, "change_channel_shift": change_shift})


@torch.no_grad()
def _exemplars(coder, probe_vectors, epochs, count, table) -> dict:
    """Per latent, its top ``count`` distinct probe images at the first and last checkpoint, read through that
    checkpoint's encoder slice: ``{epoch: (L, E, 3)}`` of (image, row, column), image ``-1`` past the images."""
    n, h, w = probe_vectors.shape[:3]
    found = {}
    for m in sorted({0, len(epochs) - 1}):
        activation = coder.checkpoint_activations(probe_vectors[:, :, :, m].reshape(n * h * w, -1), m)
        per_image = activation.reshape(n, h * w, -1)
        best, where = per_image.max(dim=1)
        top = torch.topk(best.T, min(count, n), dim=1).indices
        places = where.T.gather(1, top)
        found[epochs[m]] = np.stack([top.cpu().numpy(), *np.divmod(places.cpu().numpy(), w)], axis=2)
    return found


@torch.no_grad()
def _with_class_means(table, coder, probe_vectors, labels, classes) -> pd.DataFrame:
    """The table with each latent's top probe class and its mean activation per class (joint code)."""
    if labels is None or not len(classes):
        return table.assign(top_class="", class_means="")
    n = probe_vectors.shape[0]
    code = coder.encode(probe_vectors.reshape(-1, *probe_vectors.shape[3:])).reshape(n, -1, len(table))
    means = rules.class_means(code.mean(dim=1).cpu().numpy(), labels, classes)
    return table.assign(top_class=[classes[k] if row.max() > 0 else "" for k, row in zip(means.argmax(axis=1), means)],
                        class_means=[";".join(f"{c}:{v:.4g}" for c, v in zip(classes, row)) for row in means])


def _summary(coder, vectors, probe_vectors, epochs, table, thresholds, settings) -> dict:
    held_out = probe_vectors.reshape(-1, *probe_vectors.shape[3:])
    explained, active = variance_explained(coder, held_out)
    components = max(1, round(active))
    pca = [pca_variance_explained(vectors[:, m], held_out[:, m], components) for m in range(len(epochs))]
    counts = table["class"].value_counts()
    return {"epochs": epochs, "vectors": len(vectors), "probe_positions": len(held_out), "width": vectors.shape[2],
            "map_side": probe_vectors.shape[1],
            "latents": len(table), "k": coder.k, "steps": settings.training_steps(len(vectors)),
            "settings": asdict(settings), "thresholds": thresholds,
            "variance_explained": dict(zip(map(str, epochs), explained)), "active_per_position": active,
            "pca_components": components, "pca_variance_explained": dict(zip(map(str, epochs), pca)),
            "dead_fraction": float(table["dead"].mean()),
            "counts": {name: int(counts.get(name, 0)) for name in rules.CLASSES}}


def _seed_agreement(table, other_table, coder, other, match_cosine: float = 0.7) -> dict:
    """How a second seed's dictionary agrees: each latent matched to the other's closest decoder (all checkpoints
    together), and the share of matched latents, and of matched exclusive or rotated ones, of the same class."""
    ours = coder.decoder.detach().flatten(1)
    theirs = other.decoder.detach().flatten(1)
    similarity = torch.nn.functional.normalize(ours, dim=1) @ torch.nn.functional.normalize(theirs, dim=1).T
    best, partner = similarity.max(dim=1)
    matched = (best >= match_cosine).cpu().numpy()
    same = table["class"].to_numpy() == other_table["class"].to_numpy()[partner.cpu().numpy()]
    changed = np.isin(table["class"].to_numpy(), rules.CHANGED) & matched
    return {"matched": int(matched.sum()), "same_class": float(same[matched].mean()) if matched.any() else None,
            "changed_matched": int(changed.sum()),
            "changed_same_class": float(same[changed].mean()) if changed.any() else None,
            "counts": {name: int((other_table["class"] == name).sum()) for name in rules.CLASSES}}


def _ranked(table: pd.DataFrame) -> pd.DataFrame:
    """The classes in :data:`~driftlens.features.latents.CLASSES` order (new and lost first), each changed group by
    the effect its class is decided on, the largest first: how one-sided the relative decoder norm is
    (``|Δ − ½|``) for new, lost, strengthened, weakened and transient latents, how far the direction turned
    (``1 − cosine``) for rotated ones, how far its channel moved (``change_channel_shift``) for rewired ones;
    shared, rare and dead latents by their share. Ties go by share.

    Ranking changed latents by share would put frequent, generic features first; a shortcut, a watermark or a
    background patch is rare by nature (one place in some images), and model diffing sorts by the same axis
    (Lindsey et al. 2024; Minder et al. 2025)."""
    order = table["class"].map({name: rank for rank, name in enumerate(rules.CLASSES)})
    effect = np.where(table["class"] == "rotated", 1 - table["cosine"], np.where(
        table["class"] == "rewired", table["change_channel_shift"], (table["relative_norm"] - 0.5).abs()))
    effect = np.where(table["class"].isin(rules.CHANGED), effect, 0.0)
    return (table.assign(_order=order, _effect=effect)
            .sort_values(["_order", "_effect", "share", "latent"], ascending=[True, False, False, True], kind="stable")
            .drop(columns=["_order", "_effect"]).reset_index(drop=True))


def changed_latents_on(table: pd.DataFrame, channel: int) -> pd.DataFrame:
    """The changed latents (:data:`~driftlens.features.latents.CHANGED`) that are mostly about one channel: a new,
    lost or transient latent whose decoder puts at least half its squared mass there, or a latent living at both
    ends whose direction change does (``change_channel``): what a planted channel should gather.

    Example:
        >>> t = pd.DataFrame({"latent": [0, 1, 2], "class": ["new", "rewired", "shared"], "top_channel": [3, 0, 3],
        ...                   "top_channel_mass": [0.6, 0.2, 0.9], "change_channel": [1, 3, 3],
        ...                   "change_channel_share": [0.9, 0.7, 0.9]})
        >>> changed_latents_on(t, 3)["latent"].tolist()
        [0, 1]
    """
    exclusive = table["class"].isin(rules.EXCLUSIVE)
    mostly = rules.MOSTLY_ONE_CHANNEL
    decoder = exclusive & (table["top_channel"] == channel) & (table["top_channel_mass"] >= mostly)
    change = ~exclusive & (table["change_channel"] == channel) & (table["change_channel_share"] >= mostly)
    return table[table["class"].isin(rules.CHANGED) & (decoder | change)]


def with_exemplar_files(table: pd.DataFrame, exemplars: dict, files, pixels_per_cell: float) -> pd.DataFrame:
    """The table with each latent's exemplars at its home epoch (the first or last): files, cells and pixels.

    Example:
        >>> t = pd.DataFrame({"latent": [0], "home_epoch": [3]})
        >>> with_exemplar_files(t, {0: np.zeros((1, 1, 3), int), 3: np.array([[[1, 0, 2]]])}, ["a.png", "b.png"],
        ...                     16.0).exemplars.tolist()
        ['b.png']
    """
    first, last = min(exemplars), max(exemplars)
    columns = {"exemplars": [], "exemplar_cells": [], "exemplar_pixels": []}
    for latent, home in zip(table["latent"], table["home_epoch"]):
        rows = exemplars[last if home == last else first][latent]
        columns["exemplars"].append(";".join(files[i] for i, _, _ in rows))
        columns["exemplar_cells"].append(";".join(f"{r},{c}" for _, r, c in rows))
        columns["exemplar_pixels"].append(";".join(f"{int((r + 0.5) * pixels_per_cell)},"
                                                   f"{int((c + 0.5) * pixels_per_cell)}" for _, r, c in rows))
    return table.assign(**columns)

