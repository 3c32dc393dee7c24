"""The device a job runs on (driftlens.devices): what --device asks for, and reproducible kernels on CUDA."""

import os

import pytest
import torch

from driftlens.devices import deterministic, resolve_device


def test_auto_means_cuda_only_where_a_gpu_is_visible_and_a_named_device_is_kept():
    assert resolve_device(None) == resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu") and resolve_device("cuda:1") == torch.device("cuda:1")


@pytest.fixture
def restored(monkeypatch):
    """No cuBLAS setting during the test; afterwards the environment and torch's flag as they were."""
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", "")  # records the original value, which the teardown restores
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG")
    yield
    torch.use_deterministic_algorithms(False)


def test_cuda_work_gets_deterministic_kernels_and_a_fixed_cublas_workspace(restored):
    deterministic("cuda:0")  # only sets flags: no GPU is touched
    assert torch.are_deterministic_algorithms_enabled() and os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


def test_cpu_work_leaves_torchs_settings_alone(restored):
    deterministic("cpu")
    assert not torch.are_deterministic_algorithms_enabled() and "CUBLAS_WORKSPACE_CONFIG" not in os.environ
