"""A BatchTopK crosscoder: one sparse dictionary of latents read and written by several checkpoints of a network.

Each checkpoint ``m`` has its own encoder ``W_enc[m] (d, L)`` and decoder ``W_dec[m] (L, d)``; the latents are
shared. A position's activation vectors at every checkpoint, ``x[m] (d,)``, are encoded together,

    f = relu(sum_m x[m] W_enc[m] + b_enc),

and each checkpoint's vector is reconstructed from the same latents, ``x̂[m] = f W_dec[m] + b_dec[m]``
(Lindsey et al. 2024, "Sparse crosscoders for cross-layer features and model diffing"). A latent's decoder
norm at a checkpoint says how much it writes there: about equal norms make it shared, a norm near zero at one
checkpoint makes it belong to the others.

Sparsity is BatchTopK (Bussmann et al. 2024, "BatchTopK sparse autoencoders"), not an L1 penalty: over a batch
of ``B`` positions the ``k B`` largest latent scores are kept, a score being the activation times the sum of
the latent's decoder norms. Minder, Dumas et al. 2025 ("Overcoming sparsity artifacts in crosscoders to
interpret chat-tuning") show that an L1 penalty shrinks a weak decoder to zero and splits shared concepts into
latents that seem to belong to one model only; BatchTopK does not reward a small decoder norm, so the norm
can be read. At inference a latent is active where its score passes one threshold, the mean over training
batches of the smallest kept score, so that one position's code does not depend on the others.
Latents that have not fired for a while are trained on the residual by an auxiliary top-k loss (Gao et al.
2024, "Scaling and evaluating sparse autoencoders") on their inputs before the ReLU, so that a latent whose input
is negative everywhere still learns; it keeps the dead share low.

Example:
    >>> import torch
    >>> x = torch.randn(512, 2, 8)
    >>> coder = train_crosscoder(x, latents=16, k=4, steps=50, progress=False)
    >>> coder.decoder_norms().shape, coder.encode(x[:3]).shape
    (torch.Size([16, 2]), torch.Size([3, 16]))
"""

import math

import torch
from torch import nn

from driftlens.progress import bar as progress_bar

AUX_SCALE = 1 / 32
"""Weight of the auxiliary loss on dead latents (Gao et al. 2024)."""


class Crosscoder(nn.Module):
    """A crosscoder over ``checkpoints`` checkpoints of a layer of ``width`` channels, with ``latents`` latents.

    Args:
        checkpoints (int): How many checkpoints read and write the dictionary (1 is a plain sparse autoencoder).
        width (int): The layer's channels ``d``.
        latents (int): The dictionary size ``L``.
        k (int): Active latents per position, on average over a batch.

    Example:
        >>> coder = Crosscoder(2, width=8, latents=16, k=4)
        >>> coder.decode(coder.encode(torch.randn(5, 2, 8))).shape
        torch.Size([5, 2, 8])
    """

    def __init__(self, checkpoints: int, width: int, latents: int, k: int):
        super().__init__()
        self.k = k
        self.encoder = nn.Parameter(torch.zeros(checkpoints, width, latents))
        self.encoder_bias = nn.Parameter(torch.zeros(latents))
        self.decoder = nn.Parameter(torch.zeros(latents, checkpoints, width))
        self.decoder_bias = nn.Parameter(torch.zeros(checkpoints, width))
        self.register_buffer("threshold", torch.tensor(0.0))

    def pre_activations(self, x: torch.Tensor) -> torch.Tensor:
        """``sum_m x[m] W_enc[m] + b_enc``: ``(B, M, d)`` vectors to ``(B, L)`` latent inputs, before the ReLU.

        Example:
            >>> Crosscoder(2, 8, 16, 4).pre_activations(torch.randn(3, 2, 8)).shape
            torch.Size([3, 16])
        """
        return torch.einsum("bmd,mdl->bl", x, self.encoder) + self.encoder_bias

    def scores(self, activations: torch.Tensor) -> torch.Tensor:
        """A latent's selection score: its activation times the sum of its decoder norms over checkpoints.

        Example:
            >>> Crosscoder(2, 8, 16, 4).scores(torch.ones(3, 16)).shape
            torch.Size([3, 16])
        """
        return activations * self.decoder_norms().sum(dim=1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The sparse code ``(B, L)`` of ``(B, M, d)`` vectors: BatchTopK in training, the threshold otherwise.

        Example:
            >>> coder = Crosscoder(2, 8, 16, 4).eval()
            >>> bool((coder.encode(torch.randn(3, 2, 8)) >= 0).all())
            True
        """
        activations = torch.relu(self.pre_activations(x))
        scores = self.scores(activations)
        if self.training:
            kept = batch_top_k(scores, self.k)
        else:
            kept = scores > self.threshold
        return activations * kept

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """Each checkpoint's reconstruction ``(B, M, d)`` of a code ``(B, L)``.

        Example:
            >>> Crosscoder(2, 8, 16, 4).decode(torch.zeros(3, 16)).shape
            torch.Size([3, 2, 8])
        """
        return torch.einsum("bl,lmd->bmd", code, self.decoder) + self.decoder_bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def decoder_norms(self) -> torch.Tensor:
        """``(L, M)``: each latent's decoder norm at each checkpoint.

        Example:
            >>> Crosscoder(3, 8, 16, 4).decoder_norms().shape
            torch.Size([16, 3])
        """
        return self.decoder.norm(dim=2)

    def checkpoint_activations(self, x: torch.Tensor, checkpoint: int) -> torch.Tensor:
        """A latent's activation read from one checkpoint alone: ``relu(x W_enc[m] + b_enc)``, ``(B, d) -> (B, L)``.

        This is how exemplars are ranked at a checkpoint: through that checkpoint's encoder slice, the other
        checkpoints' inputs left out, so that the same latent can be compared before and after.

        Example:
            >>> Crosscoder(2, 8, 16, 4).checkpoint_activations(torch.randn(3, 8), 1).shape
            torch.Size([3, 16])
        """
        return torch.relu(x @ self.encoder[checkpoint] + self.encoder_bias)


def batch_top_k(scores: torch.Tensor, k: int) -> torch.Tensor:
    """A mask of the ``k * B`` largest of ``(B, L)`` non-negative scores over the whole batch (zeros never kept).

    Example:
        >>> batch_top_k(torch.tensor([[3.0, 0.0], [2.0, 1.0]]), 1).tolist()
        [[True, False], [True, False]]
    """
    budget = min(k * scores.shape[0], scores.numel())
    cutoff = torch.topk(scores.flatten(), budget, sorted=False).values.min()
    return (scores >= cutoff) & (scores > 0)


def initialise(coder: Crosscoder, vectors: torch.Tensor, generator: torch.Generator) -> None:
    """Random decoder directions of norm ``0.1`` per checkpoint, the encoder their transpose, ``b_dec`` the mean.

    Example:
        >>> coder = Crosscoder(2, 8, 16, 4); initialise(coder, torch.randn(10, 2, 8), torch.Generator())
        >>> round(float(coder.decoder_norms().detach()[0, 0]), 4)
        0.1
    """
    latents, checkpoints, width = coder.decoder.shape
    directions = torch.randn(latents, checkpoints, width, generator=generator)
    directions = 0.1 * directions / directions.norm(dim=2, keepdim=True)
    with torch.no_grad():
        coder.decoder.copy_(directions)
        coder.encoder.copy_(directions.permute(1, 2, 0))
        coder.decoder_bias.copy_(vectors.mean(dim=0))


def train_crosscoder(vectors: torch.Tensor, latents: int, k: int, steps: int = 1000, batch_size: int = 1024,
                     lr: float = 2e-3, seed: int = 0, dead_after: int | None = None,
                     progress: bool = True) -> Crosscoder:
    """Train a BatchTopK crosscoder on paired activation vectors, deterministically for a given seed and device.

    Adam on the summed squared reconstruction error of every checkpoint, plus :data:`AUX_SCALE` times the
    auxiliary loss: latents that have not fired for ``dead_after`` steps reconstruct the residual with their
    own top-``2k`` inputs (before the ReLU) per position. The learning rate decays linearly over the last fifth of
    the steps. Batches are drawn with a generator seeded by ``seed`` on the CPU, so the same seed gives the same
    dictionary.

    Args:
        vectors (torch.Tensor): ``(N, M, d)``: ``N`` positions, each seen by ``M`` checkpoints (scaled alike,
            see :func:`driftlens.features.activations.scale_factors`). Trains on their device.
        latents (int): Dictionary size ``L``.
        k (int): Active latents per position.
        steps (int, optional): Optimiser steps. Default: 1000
        batch_size (int, optional): Positions per step. Default: 1024
        lr (float, optional): Adam's learning rate. Default: 2e-3
        seed (int, optional): Seed of the initialisation and of the batches. Default: 0
        dead_after (int, optional): Steps without firing after which a latent counts as dead and joins the
            auxiliary loss. Default: an eighth of ``steps`` (25 of 200 kept the demo's dead latents at 1 %, against
            5 % at 50 and 9 % at 100)
        progress (bool, optional): Show a progress bar. Default: True

    Returns:
        Crosscoder: In eval mode, with its inference threshold set (:func:`set_threshold`).

    Example:
        >>> x = torch.randn(256, 2, 8)
        >>> a = train_crosscoder(x, 16, 4, steps=20, seed=1, progress=False)
        >>> b = train_crosscoder(x, 16, 4, steps=20, seed=1, progress=False)
        >>> bool(torch.equal(a.decoder, b.decoder))
        True
    """
    generator = torch.Generator().manual_seed(seed)
    dead_after = dead_after or max(1, steps // 8)
    coder = Crosscoder(vectors.shape[1], vectors.shape[2], latents, k)
    initialise(coder, vectors.cpu(), generator)
    coder = coder.to(vectors.device).train()
    optimiser = torch.optim.Adam(coder.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: min(1.0, 5 * (1 - step / steps)))
    last_fired = torch.zeros(latents, dtype=torch.long, device=vectors.device)
    variance = vectors.var(dim=0).sum()
    for step in progress_bar(range(steps), desc="crosscoder", unit="step", disable=not progress):
        batch = vectors[torch.randint(len(vectors), (min(batch_size, len(vectors)),), generator=generator)
                        .to(vectors.device)]
        pre_activations = coder.pre_activations(batch)  # computed once: the code and the dead latents' loss share it
        activations = torch.relu(pre_activations)
        code = activations * batch_top_k(coder.scores(activations), k)
        residual = batch - coder.decode(code)
        last_fired[(code > 0).any(dim=0)] = step
        loss = residual.square().sum(dim=(1, 2)).mean() / variance
        dead = step - last_fired >= dead_after
        if dead.any():
            loss = loss + AUX_SCALE * _dead_latent_loss(coder, pre_activations, residual.detach(), dead)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
    set_threshold(coder, vectors, batch_size)
    return coder.eval()


def _dead_latent_loss(coder, pre_activations, residual, dead) -> torch.Tensor:
    """How well the dead latents' own top-2k per position reconstruct the residual, relative to its size.

    The dead latents' inputs are taken before the ReLU, as Gao et al. (2024) take them: a latent whose input is
    negative everywhere (the usual way to die) still gets a gradient that can bring it back."""
    inputs = pre_activations[:, dead]  # only the dead latents' columns: a few of them, so the step stays cheap
    kept = torch.topk(inputs, min(2 * coder.k, inputs.shape[1]), dim=1)
    code = torch.zeros_like(inputs).scatter(1, kept.indices, kept.values)
    estimate = torch.einsum("bl,lmd->bmd", code, coder.decoder[dead])
    return (estimate - residual).square().sum() / residual.square().sum().clamp_min(1e-12)


@torch.no_grad()
def set_threshold(coder: Crosscoder, vectors: torch.Tensor, batch_size: int) -> None:
    """The inference threshold: the mean, over the training vectors in batches, of the smallest score BatchTopK keeps.

    Example:
        >>> coder = Crosscoder(1, 4, 8, 2); initialise(coder, torch.randn(4, 1, 4), torch.Generator())
        >>> set_threshold(coder, torch.randn(64, 1, 4), 32); float(coder.threshold) >= 0
        True
    """
    minima = []
    for start in range(0, len(vectors), batch_size):
        scores = coder.scores(torch.relu(coder.pre_activations(vectors[start:start + batch_size])))
        kept = scores[batch_top_k(scores, coder.k)]
        if len(kept):
            minima.append(kept.min())
    coder.threshold.fill_(float(torch.stack(minima).mean()) if minima else math.inf)


@torch.no_grad()
def variance_explained(coder: Crosscoder, vectors: torch.Tensor, batch_size: int = 4096) -> tuple[list[float], float]:
    """Each checkpoint's fraction of variance explained on ``(N, M, d)`` vectors, and the mean active latents per position.

    ``1 - sum ||x - x̂||² / sum ||x - mean(x)||²`` per checkpoint, the code read with the inference threshold.

    Example:
        >>> x = torch.randn(512, 2, 8)
        >>> explained, active = variance_explained(train_crosscoder(x, 32, 8, steps=100, progress=False), x)
        >>> len(explained), 0 < active
        (2, True)
    """
    error = torch.zeros(vectors.shape[1], dtype=torch.float64, device=vectors.device)
    active = 0.0
    for start in range(0, len(vectors), batch_size):
        batch = vectors[start:start + batch_size]
        code = coder.encode(batch)
        error += (coder.decode(code) - batch).double().square().sum(dim=(0, 2))
        active += float((code > 0).sum())
    total = (vectors - vectors.mean(dim=0)).double().square().sum(dim=(0, 2))
    return (1 - error / total).tolist(), active / len(vectors)


def pca_variance_explained(train: torch.Tensor, held_out: torch.Tensor, components: int) -> float:
    """The baseline: variance of ``held_out (N, d)`` explained by the top ``components`` principal axes of ``train``.

    Example:
        >>> x = torch.randn(200, 6)
        >>> round(pca_variance_explained(x, x, 6), 6)
        1.0
    """
    mean = train.double().mean(dim=0)
    _, _, axes = torch.linalg.svd(train.double() - mean, full_matrices=False)
    centred = held_out.double() - mean
    projected = centred @ axes[:components].T @ axes[:components]
    total = (held_out.double() - held_out.double().mean(dim=0)).square().sum()
    return float(1 - (centred - projected).square().sum() / total)
