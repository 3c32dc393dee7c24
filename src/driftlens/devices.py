"""The one place that chooses a device: what ``--device`` (or a library call) asked for, else CUDA when available.

Example:
    >>> resolve_device("cpu")
    device(type='cpu')
"""

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
