"""Recording the outputs of named layers during a forward pass, with every hook released on exit."""

from contextlib import contextmanager

import torch

from driftlens.models.tokens import maps_to_tokens, tokens_to_maps


@contextmanager
def capture(model, layers, detach: bool = True):
    """Record the outputs of ``layers`` while the body runs forward passes.

    Every hook is removed when the block exits, also when it raises. Transformer token outputs
    ``(B, N, C)`` are recorded as ``(B, C, h, w)`` maps by the rule of :mod:`driftlens.models.tokens`;
    outputs that are not tensors (tuples, named outputs) are not recorded.

    Args:
        model (ModelWrapper): The wrapped model (anything with ``.module(name)``).
        layers (list[str]): Layer names or aliases.
        detach (bool, optional): Store detached tensors; pass ``False`` to keep the graph for
            objectives that need gradients. Default: True

    Yields:
        dict[str, torch.Tensor]: Layer name to the output of its latest forward pass.

    Example:
        >>> import torch, driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> with capture(model, ["conv2"]) as acts:
        ...     _ = model(torch.zeros(1, 3, 32, 32))
        >>> acts["conv2"].shape
        torch.Size([1, 16, 16, 16])
    """
    modules = {name: model.module(name) for name in layers}
    activations: dict[str, torch.Tensor] = {}
    handles = []
    try:
        for name, module in modules.items():
            hook = _recorder(activations, name, detach, getattr(model, "prefix_tokens", 0))
            handles.append(module.register_forward_hook(hook))
        yield activations
    finally:
        for handle in handles:
            handle.remove()


def _recorder(store, name, detach, prefix):
    def hook(_module, _inputs, output):
        if not torch.is_tensor(output):
            return None
        maps = tokens_to_maps(output, prefix) if output.dim() == 3 else None
        if maps is None:
            store[name] = output.detach() if detach else output
            return None
        if detach:
            store[name] = maps.detach()
            return None
        store[name] = maps
        return maps_to_tokens(maps, output)  # the rest of the pass goes through the maps (for Grad-CAM)

    return hook


def channel_means(activation: torch.Tensor) -> torch.Tensor:
    """Mean of each channel's feature map (the seed ``FeatureVisualizer`` reduction).

    Args:
        activation (torch.Tensor): ``(B, C, H, W)`` or already flat ``(B, C)``.

    Returns:
        torch.Tensor: ``(B, C)``.

    Example:
        >>> channel_means(torch.ones(2, 3, 4, 4)).shape
        torch.Size([2, 3])
    """
    if activation.dim() == 4:
        return activation.mean(dim=(2, 3))
    if activation.dim() == 2:
        return activation
    raise ValueError(f"expected a (B, C, H, W) or (B, C) activation, got shape {tuple(activation.shape)}")
