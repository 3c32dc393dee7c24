"""Training-mode context: the one place that switches a network to eval mode and back."""

from contextlib import contextmanager

from torch import nn


@contextmanager
def eval_mode(model: nn.Module):
    """Put every submodule in eval mode for the block, then restore each one's own flag.

    Batch norm then uses its running statistics (images do not interact and nothing is updated)
    and dropout is off.

    Example:
        >>> net = nn.Sequential(nn.Dropout()).train()
        >>> with eval_mode(net):
        ...     net.training
        False
        >>> net.training
        True
    """
    flags = {module: module.training for module in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for module, flag in flags.items():
            module.training = flag
