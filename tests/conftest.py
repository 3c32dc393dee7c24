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
def _deterministic_single_thread():
    """Seed torch, and run the tests' small models on one thread: on a shared CPU, thread spinning
    costs more than it gains (subprocesses, e.g. the workflow's jobs, keep their own settings)."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
