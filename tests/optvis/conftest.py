"""Shared fixtures for the feature-visualisation tests."""

import pytest
import torch

from driftlens.optvis.render import layer_outputs


def _score(model, objective, images):
    batch = torch.from_numpy(images).permute(0, 3, 1, 2)
    with torch.no_grad(), layer_outputs(model, objective.layers) as forward:
        return objective(forward(batch)).item()


@pytest.fixture
def score():
    """``score(model, objective, images)``: the objective's value on ``(B, H, W, 3)`` arrays, no transforms."""
    return _score


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Default spectra are cached in a folder of the test session, not the user's cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
