"""Shared fixtures: tiny models and the location of the read-only shared data."""

from pathlib import Path

import pytest
import torch

import driftlens

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def tiny():
    """The tiny CNN with random weights (32 px input, 10 classes)."""
    return driftlens.models.load("tiny", weights="random")


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
