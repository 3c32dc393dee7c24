"""What a layer's output depends on: the parameters and buffers upstream of it.

Two checkpoints whose upstream tensors of a layer are bit-identical give that layer bit-identical outputs
for any input, so anything computed from those outputs (renders, probe responses) can be reused exactly.

Example:
    >>> import driftlens
    >>> first = driftlens.models.load("tiny", weights="random", seed=0)
    >>> head_trained = driftlens.models.load("tiny", weights="random", seed=0)
    >>> head_trained.replace_head(3)                  # a new classifier, as at the start of a fine-tune
    >>> same_upstream(first, head_trained, ["conv1", "conv3"])
    True
"""

import torch

from driftlens.models.modes import eval_mode


def upstream_state(model, layer: str, size: int | None = None) -> dict[str, torch.Tensor]:
    """The parameters and buffers that a layer's output can depend on, by name.

    Found by one forward pass (in eval mode) of a ``size`` x ``size`` image with a hook on every module:
    every module whose forward finishes before the layer's (the layer's own submodules included) contributes
    its own tensors, and so does every ancestor of the layer (tensors a container uses directly); plus the
    wrapper's input normalisation. A conservative superset: a tensor listed may not matter, but none that
    matters is missing.

    Args:
        model (ModelWrapper): The network.
        layer (str): Layer name or alias.
        size (int, optional): Side of the image of the scanning pass. Default: the model's ``input_size``

    Returns:
        dict[str, torch.Tensor]: Qualified name (``input.mean``, ``conv1.0.weight``, ...) to the tensor itself.

    Example:
        >>> import driftlens
        >>> sorted(upstream_state(driftlens.models.load("tiny", weights="random"), "conv1"))[:2]
        ['conv1.0.bias', 'conv1.0.weight']
    """
    return _upstream_states(model, [layer], size)[layer]


def same_upstream(first, model, layers, size: int | None = None) -> bool:
    """Whether every layer's upstream parameters and buffers (:func:`upstream_state`) are bit-identical in both
    models (same names, dtypes, shapes and values), so that every layer's output is too.

    Args:
        first (ModelWrapper): One network.
        model (ModelWrapper): The other, same architecture (e.g. a later checkpoint of a fine-tune).
        layers (list[str]): Layer names or aliases.
        size (int, optional): Side of the image of the scanning pass. Default: the model's ``input_size``

    Example:
        >>> import driftlens
        >>> a = driftlens.models.load("tiny", weights="random", seed=0)
        >>> same_upstream(a, driftlens.models.load("tiny", weights="random", seed=1), ["conv1"])
        False
    """
    ours, theirs = _upstream_states(first, layers, size), _upstream_states(model, layers, size)
    return all(_identical(ours[layer], theirs[layer]) for layer in layers)


def _identical(ours: dict, theirs: dict) -> bool:
    return ours.keys() == theirs.keys() and all(
        tensor.dtype == theirs[name].dtype and tensor.shape == theirs[name].shape
        and torch.equal(tensor.cpu(), theirs[name].cpu()) for name, tensor in ours.items())


def _upstream_states(model, layers, size) -> dict[str, dict[str, torch.Tensor]]:
    """:func:`upstream_state` of several layers from one scanning pass."""
    finished = _finish_order(model, size)
    modules = dict(model.net.named_modules())
    states = {}
    for layer in layers:
        path = model.resolve(layer)
        ancestors = {".".join(path.split(".")[:k]) for k in range(path.count(".") + 1)}  # "" is the net itself
        owners = ancestors | set(finished[:finished.index(path) + 1])
        states[layer] = {"input.mean": model.mean, "input.std": model.std}
        for name in owners & modules.keys():
            states[layer].update(_own_tensors(modules[name], name))
    return states


@torch.no_grad()
def _finish_order(model, size) -> list[str]:
    """The net's modules in the order their forward passes finish, from one pass of a blank image in eval mode."""
    finished = []
    hooks = [module.register_forward_hook(lambda m, i, o, name=name: finished.append(name))
             for name, module in model.net.named_modules() if name]
    try:
        side = size or model.input_size
        with eval_mode(model):
            model(torch.zeros(1, 3, side, side, device=model.device))
    finally:
        for hook in hooks:
            hook.remove()
    return finished


def _own_tensors(module, name) -> dict[str, torch.Tensor]:
    prefix = f"{name}." if name else ""
    tensors = [*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)]
    return {prefix + key: tensor for key, tensor in tensors}
