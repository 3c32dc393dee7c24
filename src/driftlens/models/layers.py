"""Layer names: listing a network's layers in forward order and resolving names and aliases."""

import difflib

from torch import nn

from driftlens.errors import UnknownLayerError

_CONTAINERS = (nn.Sequential, nn.ModuleList)


def list_layer_paths(net: nn.Module) -> list[str]:
    """Module paths of a network's layers: its children, with plain containers opened up.

    Plain ``nn.Sequential`` and ``nn.ModuleList`` containers are expanded (``features.0``,
    ``layer1.2``); every other module, subclasses of ``Sequential`` included, counts as one layer.

    Args:
        net (nn.Module): The network.

    Returns:
        list[str]: Module paths in registration order (forward order for the models in the zoo).

    Example:
        >>> from torch import nn
        >>> list_layer_paths(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential(nn.ReLU(), nn.Flatten())))
        ['0', '1.0', '1.1']
    """
    paths = []
    for name, child in net.named_children():
        if child is None:
            continue
        if type(child) in _CONTAINERS:
            paths += [f"{name}.{sub}" for sub in list_layer_paths(child)]
        else:
            paths.append(name)
    return paths


def resolve_layer(name: str, aliases: dict[str, str], module_paths: list[str], model_name: str = "model") -> str:
    """Turn a layer name or alias into a module path, or fail naming the closest valid names.

    Args:
        name (str): A module path (``inception4c``) or alias (``mixed4c``).
        aliases (dict[str, str]): Alias to module path.
        module_paths (list[str]): Every module path of the network.
        model_name (str, optional): Used in the error message. Default: "model"

    Returns:
        str: The module path.

    Raises:
        UnknownLayerError: If ``name`` is neither an alias nor a module path.

    Example:
        >>> resolve_layer("mixed4c", {"mixed4c": "inception4c"}, ["inception4c"])
        'inception4c'
    """
    if name in aliases:
        return aliases[name]
    if name in module_paths:
        return name
    candidates = list(aliases) + list(module_paths)
    close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.5)
    hint = f"closest: {', '.join(close)}" if close else "run `driftlens layers` for the list"
    raise UnknownLayerError(f"unknown layer {name!r} for {model_name}; {hint}")
