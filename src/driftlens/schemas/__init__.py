"""Packaged JSON schemas. ``train.schema.yaml`` is the one definition of the training config: its keys, types,
bounds and defaults, used by :mod:`driftlens.train` and, through ``$ref``, by the workflow's config schema.

Example:
    >>> training_keys()[:3]
    ['model', 'weights', 'image_size']
"""

import copy
from functools import lru_cache
from importlib import resources

import yaml

from driftlens.errors import ConfigError


@lru_cache(maxsize=None)
def train_schema() -> dict:
    """The training config's JSON schema (``train.schema.yaml``), parsed.

    Example:
        >>> train_schema()["$defs"]["stage"]["properties"]["optimizer"]["default"]
        'sgd'
    """
    return yaml.safe_load(resources.files(__name__).joinpath("train.schema.yaml").read_text())


def training_keys() -> list[str]:
    """The keys of an experiment that training depends on (all but ``splits``, which the workflow derives).

    Example:
        >>> "stages" in training_keys() and "splits" not in training_keys()
        True
    """
    return [key for key in train_schema()["properties"] if key != "splits"]


def stage_defaults() -> dict:
    """Default value of each optional key of a stage.

    Example:
        >>> stage_defaults()["momentum"]
        0.9
    """
    return _defaults(train_schema()["$defs"]["stage"])


def config_defaults() -> dict:
    """Default value of each optional top-level key of the training config.

    Example:
        >>> config_defaults()["batch_size"]
        32
    """
    return _defaults(train_schema())


def validate_train_config(config: dict) -> dict:
    """Check a training config against :func:`train_schema` and return a copy with every default filled in.

    Args:
        config (dict): Plain data (parsed JSON or YAML).

    Returns:
        dict: The config with defaults, stages included.

    Raises:
        ConfigError: The first problem, naming its key path, e.g. ``stages[1].lr: 'fast' is not of type 'number'``.

    Example:
        >>> validate_train_config({"model": "tiny", "splits": "s.json", "image_size": 32,
        ...                        "stages": [{"epochs": 1, "lr": 0.1}]})["stages"][0]["optimizer"]
        'sgd'
    """
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(train_schema()).iter_errors(config))
    if error is not None:
        raise ConfigError(f"{_key_path(error.absolute_path)}: {_message(error)}")
    filled = {**config_defaults(), **copy.deepcopy(config)}
    filled["stages"] = [{**stage_defaults(), **stage} for stage in filled["stages"]]
    return filled


def _defaults(schema) -> dict:
    return {key: value["default"] for key, value in schema["properties"].items() if "default" in value}


def _key_path(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "config"


def _message(error) -> str:
    if error.validator == "not" and list(error.validator_value) == ["required"]:
        return " and ".join(error.validator_value["required"]) + " exclude each other"
    return error.message
