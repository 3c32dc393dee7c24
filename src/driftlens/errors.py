"""Errors caused by user input: the CLI reports them in one line instead of a traceback."""

from driftlens.models.layers import UnknownLayerError
from driftlens.models.weights import WeightsUnavailableError


class ConfigError(ValueError):
    """A configuration value is missing, of the wrong type or out of range; the message names it."""


class DownloadError(RuntimeError):
    """A download failed or arrived corrupt; the message names the URL and where to put the file by hand."""


def schema_error_message(error, source: str = "config.yaml") -> str:
    """A one-line account of a JSON-schema validation error that names the offending key first.

    Args:
        error (jsonschema.ValidationError): The error, or an exception raised while handling it (as
            Snakemake's ``validate`` raises a ``WorkflowError``).
        source (str, optional): The file named in the message. Default: "config.yaml"

    Returns:
        str: ``config.yaml: experiments.demo.stages.0.lr: 'x' is not of type 'number' (...)``.

    Example:
        >>> import jsonschema
        >>> schema = {"type": "object", "properties": {"lr": {"type": "number", "description": "step size"}}}
        >>> try:
        ...     jsonschema.validate({"lr": "x"}, schema)
        ... except jsonschema.ValidationError as err:
        ...     print(schema_error_message(err))
        config.yaml: lr: 'x' is not of type 'number' (lr: step size)
    """
    import jsonschema

    found = [arg for arg in (error, error.__cause__, error.__context__) if isinstance(arg, jsonschema.ValidationError)]
    if not found:
        return f"{source}: {error}"
    error = found[0]
    key = ".".join(map(str, error.absolute_path)) or "(top level)"
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    return f"{source}: {key}: {error.message}" + (f" ({key.rsplit('.', 1)[-1]}: {description})" if description else "")


USER_ERRORS = (UnknownLayerError, WeightsUnavailableError, ConfigError, DownloadError, FileNotFoundError,
               IndexError, ValueError)
