"""An experiment's layer names and channels, checked against its model: the last of the workflow's cross-key checks.

Every layer an experiment names (visualised, screened, attributed, trained from, frozen) must exist in its model,
and the channels it visualises must exist in each visualised layer. The packaged layer table
(``models/layer_tables.json``) confirms a good config in milliseconds without torch; anything it does not confirm
is checked on the architecture itself, built without weights, which gives the command line's message.

Example:
    >>> experiment = {"model": "tiny", "visualize": {"layers": ["conv9"], "channels": [0]},
    ...               "screen": {"layers": "visualized"}, "attribution": {"layer": None}}
    >>> check_layers("a", experiment)
    Traceback (most recent call last):
    ...
    driftlens.errors.ConfigError: experiments.a.visualize.layers: unknown layer 'conv9' ...
"""

import functools
import importlib.util
import json
from pathlib import Path

from driftlens.errors import ConfigError, DriftlensError


def layer_labels(experiment: dict) -> dict:
    """``{label: layer}`` of an experiment's visualised layers: the label names folders and figures (a list: itself).

    Example:
        >>> layer_labels({"visualize": {"layers": {"mixed4c": "inception4c"}}})
        {'mixed4c': 'inception4c'}
    """
    chosen = experiment["visualize"]["layers"]
    return dict(chosen) if isinstance(chosen, dict) else {layer: layer for layer in chosen}


def visualised_layers(experiment: dict) -> list[str]:
    """The model's names of an experiment's visualised layers, in order.

    Example:
        >>> visualised_layers({"visualize": {"layers": ["conv2", "conv3"]}})
        ['conv2', 'conv3']
    """
    return list(layer_labels(experiment).values())


def channels_wanted(spec: dict) -> int:
    """How many channels a ``{top_k: K}`` or ``{most_changed: K, least_changed: M}`` spec chooses.

    Example:
        >>> channels_wanted({"most_changed": 3, "least_changed": 2})
        5
    """
    return spec["top_k"] if "top_k" in spec else spec["most_changed"] + spec["least_changed"]


def check_layers(name: str, experiment: dict) -> None:
    """Check every layer an experiment names, and its visualised channels, against its model.

    Args:
        name (str): The experiment's key under ``experiments``.
        experiment (dict): Its config, validated with defaults.

    Raises:
        ConfigError: The first unknown layer or channel, starting with its key.

    Example:
        >>> check_layers("a", {"model": "tiny", "visualize": {"layers": ["conv2"], "channels": {"top_k": 4}},
        ...                    "screen": {"layers": "visualized"}, "attribution": {"layer": None}})
    """
    if _table_confirms(name, experiment):
        return
    from driftlens.models import architecture
    from driftlens.models.wrapper import check_channel, check_top_k

    channels, model = experiment["visualize"]["channels"], experiment["model"]
    where = f"experiments.{name}.visualize.layers"  # the key an error names
    try:
        counts = _channel_counts(model, tuple(visualised_layers(experiment)))
        for where, layer in _other_layers(name, experiment).items():
            architecture(model).resolve(layer)
        where = f"experiments.{name}.visualize.channels"
        for layer, count in counts.items():
            if isinstance(channels, dict):
                check_top_k(layer, count, channels_wanted(channels))
            else:
                for channel in channels:
                    check_channel(model, layer, count, channel)
    except DriftlensError as err:
        raise ConfigError(f"{where}: {err}") from None


def _other_layers(name: str, experiment: dict) -> dict:
    """``{key: layer}`` of the layers an experiment names besides the visualised ones."""
    key, stages = f"experiments.{name}", experiment.get("stages", [])
    named = {f"{key}.stages[{i}].train_from": stage["train_from"] for i, stage in enumerate(stages)
             if "train_from" in stage}
    named.update({f"{key}.stages[{i}].freeze[{j}]": module for i, stage in enumerate(stages)
                  for j, module in enumerate(stage.get("freeze", []))})
    if isinstance(experiment["screen"]["layers"], list):
        named.update({f"{key}.screen.layers[{i}]": layer for i, layer in enumerate(experiment["screen"]["layers"])})
    if experiment["attribution"]["layer"]:
        named[f"{key}.attribution.layer"] = experiment["attribution"]["layer"]
    return named


def _table_confirms(name: str, experiment: dict) -> bool:
    """True when the packaged table confirms every layer and channel of an experiment (the fast path)."""
    table, channels = _packaged_layer_table(experiment["model"]), experiment["visualize"]["channels"]
    shown = visualised_layers(experiment)
    named = [*shown, *_other_layers(name, experiment).values()]
    highest = channels_wanted(channels) - 1 if isinstance(channels, dict) else max(channels)
    return all(layer in table for layer in named) and all(highest < table[layer] for layer in shown)


def _packaged_layer_table(model: str) -> dict:
    """``{layer or alias: channels}`` of a zoo model from the packaged table, read without importing torch."""
    package = Path(importlib.util.find_spec("driftlens").origin).parent
    return json.loads((package / "models" / "layer_tables.json").read_text()).get(model, {})


@functools.lru_cache(maxsize=None)
def _channel_counts(model: str, layers: tuple) -> dict:
    """``{layer: channel count}`` from the model's architecture alone (no weights loaded), cached; an unknown layer
    raises the command line's UnknownLayerError."""
    from driftlens.models import architecture

    network = architecture(model)
    for layer in layers:
        network.resolve(layer)
    return {layer: shape[0] for layer, shape in network.output_shapes(list(layers)).items()}
