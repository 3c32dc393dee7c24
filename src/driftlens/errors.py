"""driftlens's own errors: a problem with the user's input, files or machine, not a bug in driftlens.

The command line prints a :class:`DriftlensError` as one line (``driftlens: error: ...``, exit status 2);
any other exception is a bug and shows its traceback. Each class also derives from the built-in
exception that it refines, so ``except ValueError`` keeps catching a :class:`ConfigError`.

Example:
    >>> issubclass(OutOfRangeError, IndexError), issubclass(OutOfRangeError, DriftlensError)
    (True, True)
"""


class DriftlensError(Exception):
    """Base of the errors caused by input, files or the machine; the message says what and where."""


class ConfigError(DriftlensError, ValueError):
    """A configuration value is missing, of the wrong type or out of range; the message names it."""


class OutOfRangeError(ConfigError, IndexError):
    """An index (a channel, a class, an image) outside its range; the message gives the valid range."""


class UnknownLayerError(DriftlensError, KeyError):
    """A layer name that the model does not have; the message lists the closest valid names."""

    def __str__(self):
        return str(self.args[0])


class ArtifactError(DriftlensError, ValueError):
    """A file is truncated, of the wrong kind or lacks what it should hold; the message names the file."""


class MissingFileError(DriftlensError, FileNotFoundError):
    """An input file or folder does not exist; the message names it and, where known, how to make it."""


class DownloadError(DriftlensError, RuntimeError):
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


class WeightsUnavailableError(DriftlensError, RuntimeError):
    """Weights could not be downloaded or read; the message says where to put the file."""


class DivergedError(DriftlensError, ArithmeticError):
    """Training or rendering produced a non-finite value (NaN or infinity); the message says where."""


class DiskFullError(DriftlensError, OSError):
    """The disk filled up while writing a file; the message names the file."""


USER_ERRORS = (DriftlensError,)
"""What the command line reports in one line; everything else shows its traceback."""
