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


def schema_error_message(error, source: str = "config.yaml", files=None) -> str:
    """A one-line account of a JSON-schema validation error that names the offending key first.

    Args:
        error (jsonschema.ValidationError): The error, or an exception raised while handling it (as
            Snakemake's ``validate`` raises a ``WorkflowError``).
        source (str, optional): The file named in the message. Default: "config.yaml"
        files (list, optional): The config files in the order they were applied (``config.yaml``, then each
            ``--configfile`` overlay); the message then names the one the key came from (:func:`key_source`).
            Default: None (``source``)

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
    if files:
        source = key_source(_offending_path(error), files)
    key = ".".join(map(str, error.absolute_path)) or "(top level)"
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    return f"{source}: {key}: {error.message}" + (f" ({key.rsplit('.', 1)[-1]}: {description})" if description else "")


def _offending_path(error) -> list:
    """The error's key path, with the unexpected key itself where the error is an unknown key."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = [key for key in error.instance if key not in allowed]
        path += extra[:1]
    return path


def key_source(path, files) -> str:
    """The config file a key came from: of the files applied in order, the last one that holds the longest part of
    ``path`` (a later file overrides an earlier one).

    Args:
        path (list): The key path, e.g. ``["experiments", "demo", "visualize", "steps"]``.
        files (list): Config files (YAML) in the order they were applied.

    Returns:
        str: The file's name as given.

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp(); base, overlay = os.path.join(folder, "c.yaml"), os.path.join(folder, "o.yaml")
        >>> from pathlib import Path
        >>> _ = Path(base).write_text("a: {b: 1, c: 2}"); _ = Path(overlay).write_text("a: {c: 3}")
        >>> key_source(["a", "c"], [base, overlay]) == overlay, key_source(["a", "b"], [base, overlay]) == base
        (True, True)
    """
    from pathlib import Path

    import yaml

    best, depth = str(files[0]), -1
    for file in files:
        try:
            node = yaml.safe_load(Path(file).read_text())
        except (OSError, yaml.YAMLError):
            continue
        found = 0
        for part in path:
            if isinstance(node, dict) and part in node:
                node, found = node[part], found + 1
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node, found = node[part], found + 1
            else:
                break
        if found >= depth:
            best, depth = str(file), found
    return best


class WeightsUnavailableError(DriftlensError, RuntimeError):
    """Weights could not be downloaded or read; the message says where to put the file."""


class DivergedError(DriftlensError, ArithmeticError):
    """Training or rendering produced a non-finite value (NaN or infinity); the message says where."""


class DiskFullError(DriftlensError, OSError):
    """The disk filled up while writing a file; the message names the file."""


USER_ERRORS = (DriftlensError,)
"""What the command line reports in one line; everything else shows its traceback."""
