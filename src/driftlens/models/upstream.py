"""What a layer's output depends on: the parameters and buffers upstream of it.

Two checkpoints whose upstream tensors of a layer are bit-identical give that layer bit-identical outputs
for any input, so anything computed from those outputs (renders, probe responses) can be reused exactly.

Example:
    >>> import driftlens
    >>> a = driftlens.models.load("tiny", weights="random", seed=0)
    >>> b = driftlens.models.load("tiny", weights="random", seed=0)
    >>> with torch.no_grad():
    ...     _ = b.net.fc.weight.add_(1.0)          # after conv3: conv3's outputs cannot change
    >>> same_upstream(a, b, ["conv3"]), same_upstream(a, b, ["fc"])
    (True, False)
"""

import torch

from driftlens.models.modes import eval_mode


@torch.no_grad()
def upstream_state(model, layer: str, size: int = 32) -> dict[str, torch.Tensor]:
    """The parameters and buffers that a layer's output can depend on, by name.

    Found by one forward pass (in eval mode) of a ``size`` x ``size`` image with a hook on every module:
    every module whose forward finishes before the layer's (the layer's own submodules included) contributes
    its own tensors, and so does every ancestor of the layer (tensors a container uses directly); plus the
    wrapper's input normalisation. A conservative superset: a tensor listed may not matter, but none that
    matters is missing.

    Args:
        model (ModelWrapper): The network.
        layer (str): Layer name or alias.
        size (int, optional): Side of the image of the scanning pass. Default: 32

    Returns:
        dict[str, torch.Tensor]: Qualified name (``input.mean``, ``conv1.0.weight``, ...) to the tensor itself.

    Example:
        >>> import driftlens
        >>> sorted(upstream_state(driftlens.models.load("tiny", weights="random"), "conv1"))[:2]
        ['conv1.0.bias', 'conv1.0.weight']
    """
    path = model.resolve(layer)
    finished = []
    hooks = [module.register_forward_hook(lambda m, i, o, name=name: finished.append(name))
             for name, module in model.net.named_modules() if name]
    try:
        with eval_mode(model):
            model(torch.zeros(1, 3, size, size, device=model.device))
    finally:
        for hook in hooks:
            hook.remove()
    upstream = set(finished[:finished.index(path) + 1])
    ancestors = {""} | {".".join(path.split(".")[:k]) for k in range(1, path.count(".") + 1)}
    state = {"input.mean": model.mean, "input.std": model.std}
    for name, module in model.net.named_modules():
        if name in upstream or name in ancestors:
            prefix = f"{name}." if name else ""
            state.update({prefix + key: tensor for key, tensor in module.named_parameters(recurse=False)})
            state.update({prefix + key: tensor for key, tensor in module.named_buffers(recurse=False)})
    return state


def same_upstream(first, model, layers, size: int = 32) -> bool:
    """Whether every layer's upstream parameters and buffers (:func:`upstream_state`) are bit-identical in both
    models (same names, dtypes, shapes and values), so that every layer's output is too.

    Args:
        first (ModelWrapper): One network.
        model (ModelWrapper): The other, same architecture (e.g. a later checkpoint of a fine-tune).
        layers (list[str]): Layer names or aliases.
        size (int, optional): Side of the image of the scanning pass. Default: 32

    Example:
        >>> import driftlens
        >>> a = driftlens.models.load("tiny", weights="random", seed=0)
        >>> same_upstream(a, driftlens.models.load("tiny", weights="random", seed=1), ["conv1"])
        False
    """
    for layer in layers:
        ours, theirs = upstream_state(first, layer, size), upstream_state(model, layer, size)
        if ours.keys() != theirs.keys():
            return False
        for name, tensor in ours.items():
            other = theirs[name]
            if tensor.dtype != other.dtype or tensor.shape != other.shape or not torch.equal(tensor.cpu(), other.cpu()):
                return False
    return True
