"""The one place that chooses a device: what ``--device`` (or a library call) asked for, else CUDA when available.

Example:
    >>> resolve_device("cpu")
    device(type='cpu')
"""

import os

import torch


def resolve_device(device=None) -> torch.device:
    """``None`` or ``auto``: CUDA when available (SLURM's ``--gpus`` sets which), else the CPU; otherwise ``device``.

    Args:
        device (str or torch.device, optional): What was asked for. Default: None

    Returns:
        torch.device: The device to use.

    Example:
        >>> resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
        True
    """
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def deterministic(device) -> None:
    """On CUDA, have torch pick reproducible kernels: a fixed cuBLAS workspace and deterministic algorithms (an op
    without a deterministic kernel then raises instead of varying from run to run). The CPU's kernels already are.

    Call it before the first CUDA operation: cuBLAS reads its workspace setting once.

    Args:
        device (str or torch.device): The device the work runs on.

    Example:
        >>> deterministic("cpu")
        >>> torch.are_deterministic_algorithms_enabled()
        False
    """
    if torch.device(device).type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
