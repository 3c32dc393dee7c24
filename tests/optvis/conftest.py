"""Shared fixtures for the feature-visualisation tests."""

import pytest
import torch

from driftlens.optvis.render import layer_outputs


def _score(model, objective, images):
    batch = torch.from_numpy(images).permute(0, 3, 1, 2)
    with torch.no_grad(), layer_outputs(model, objective.layers) as forward:
        return objective(forward(batch)).item()


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run much faster on one thread, above all on a loaded machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def score():
    """``score(model, objective, images)``: the objective's value on ``(B, H, W, 3)`` arrays, no transforms."""
    return _score
