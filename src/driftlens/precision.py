"""Numeric precision of the model's forward and backward passes: fp32, or bf16 autocast on a GPU.

Under bf16 autocast, convolutions and matrix products run in bfloat16 while the parameters, the
optimiser, the images being optimised and every reduction that decides a result (the objectives,
the loss) stay in float32; bf16 has float32's range, so no loss scaling is needed (fp16 would need
it and is not offered).

``auto``, the default, is bf16 on a CUDA GPU that computes in bf16 natively (Ampere and later) and fp32
everywhere else. On the
CPU bf16 is slower than fp32 on most processors, so it is used there only when asked for (which is
how its tolerance is measured without a GPU: ``benchmarks/bench_precision.py``). The tolerance
stated for bf16: a render's units respond to its bf16 pictures as strongly as to fp32 pictures of
other seeds (the change verdict finds no channel changed between the two), and one training epoch
ends within 0.02 of fp32's loss and accuracy.

Example:
    >>> import torch
    >>> with autocast("bf16", "cpu"):
    ...     (torch.ones(2, 2) @ torch.ones(2, 2)).dtype
    torch.bfloat16
"""

from contextlib import nullcontext

import torch

from driftlens.errors import ConfigError
from driftlens.schemas import train_schema

PRECISIONS = tuple(train_schema()["properties"]["precision"]["enum"])
"""The precisions a command, function or config accepts (defined in the training schema); ``auto`` is the default."""


def autocast_dtype(precision: str, device) -> torch.dtype | None:
    """The dtype autocast runs in for ``precision`` on ``device``, or None for plain fp32.

    Args:
        precision (str): One of :data:`PRECISIONS`.
        device (str or torch.device): Where the model runs.

    Returns:
        torch.dtype or None: ``torch.bfloat16``, or None (no autocast).

    Raises:
        ConfigError: An unknown precision, or bf16 asked for on a GPU without bf16 support.

    Example:
        >>> autocast_dtype("auto", "cpu") is None, autocast_dtype("bf16", "cpu")
        (True, torch.bfloat16)
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; available: {', '.join(PRECISIONS)}")
    device = torch.device(device)
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError(f"precision bf16: {device} does not support bfloat16; use fp32")
    if precision == "bf16" or (precision == "auto" and _native_bf16(device)):
        return torch.bfloat16
    return None


def _native_bf16(device: torch.device) -> bool:
    """A CUDA GPU whose tensor cores compute in bf16 (Ampere and later, or ROCm); older ones only emulate it."""
    return device.type == "cuda" and (torch.version.hip is not None or torch.cuda.get_device_capability(device)[0] >= 8)


def resolved(precision: str, device) -> str:
    """What ``precision`` means on ``device``: ``bf16`` or ``fp32`` (for logs and records).

    Example:
        >>> resolved("auto", "cpu")
        'fp32'
    """
    return "fp32" if autocast_dtype(precision, device) is None else "bf16"


def autocast(precision: str, device):
    """A context in which the forward passes on ``device`` run at ``precision`` (see :func:`autocast_dtype`).

    Example:
        >>> import torch
        >>> with autocast("fp32", "cpu"):
        ...     (torch.ones(2, 2) @ torch.ones(2, 2)).dtype
        torch.float32
    """
    dtype = autocast_dtype(precision, device)
    return nullcontext() if dtype is None else torch.autocast(torch.device(device).type, dtype=dtype)

