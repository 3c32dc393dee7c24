"""Errors caused by user input: the CLI reports them in one line instead of a traceback."""

from driftlens.models.layers import UnknownLayerError
from driftlens.models.weights import WeightsUnavailableError


class ConfigError(ValueError):
    """A configuration value is missing, of the wrong type or out of range; the message names it."""


class DownloadError(RuntimeError):
    """A download failed or arrived corrupt; the message names the URL and where to put the file by hand."""


USER_ERRORS = (UnknownLayerError, WeightsUnavailableError, ConfigError, DownloadError, FileNotFoundError,
               IndexError, ValueError)
