"""The crosscoder: BatchTopK, determinism, reconstruction against PCA, and its inference threshold."""

import torch

from driftlens.features.crosscoder import (batch_top_k, pca_variance_explained, train_crosscoder,
                                           variance_explained)


def sparse_pair(n=4000, width=24, atoms=48, seed=0):
    """Two checkpoints' vectors made of the same sparse atoms (plus small noise), and the atoms."""
    generator = torch.Generator().manual_seed(seed)
    dictionary = torch.nn.functional.normalize(torch.randn(atoms, width, generator=generator), dim=1)
    code = (torch.rand(n, atoms, generator=generator) < 0.06) * torch.rand(n, atoms, generator=generator) * 3
    x = code @ dictionary
    return torch.stack([x, x], dim=1) + 0.02 * torch.randn(n, 2, width, generator=generator), dictionary


def test_batch_top_k_keeps_k_per_position_over_the_batch_and_never_a_zero():
    scores = torch.tensor([[5.0, 4.0, 0.0], [3.0, 0.0, 0.0], [2.0, 1.0, 0.5]])
    kept = batch_top_k(scores, 1)  # three over the batch: two for the first position, none for the last
    assert kept.tolist() == [[True, True, False], [True, False, False], [False, False, False]]
    assert batch_top_k(scores, 3).sum() == 6  # nine wanted, but the zero scores are never kept


def test_the_same_seed_gives_the_same_dictionary_and_another_seed_another():
    x, _ = sparse_pair(n=600)
    first = train_crosscoder(x, 32, 4, steps=30, seed=3, progress=False)
    again = train_crosscoder(x, 32, 4, steps=30, seed=3, progress=False)
    other = train_crosscoder(x, 32, 4, steps=30, seed=4, progress=False)
    assert torch.equal(first.decoder, again.decoder) and torch.equal(first.threshold, again.threshold)
    assert not torch.equal(first.decoder, other.decoder)


def test_it_recovers_sparse_atoms_and_explains_more_than_pca_with_as_many_components():
    x, dictionary = sparse_pair()
    coder = train_crosscoder(x[:3000], 96, 4, steps=600, progress=False)
    explained, active = variance_explained(coder, x[3000:])
    pca = pca_variance_explained(x[:3000, 0], x[3000:, 0], round(active))
    assert min(explained) > 0.8 and min(explained) > pca + 0.1, (explained, pca, active)
    directions = torch.nn.functional.normalize(coder.decoder.detach()[:, 0], dim=1)
    recovered = (dictionary @ directions.T).max(dim=1).values
    assert (recovered > 0.8).float().mean() > 0.8, recovered


def test_the_inference_threshold_keeps_about_k_latents_per_position():
    x, _ = sparse_pair(n=2000)
    coder = train_crosscoder(x, 64, 6, steps=200, progress=False)
    _, active = variance_explained(coder, x)
    assert 3 < active < 12
