"""Options and argument types shared by the sub-commands: the model source, the device, progress bars, removed
options that name their replacement, comma-separated lists, positive integers and probabilities.

Each option is spelled here once, so every command reads it the same way.
"""

import argparse

from driftlens.errors import ConfigError


def add_device(parser) -> None:
    """Add ``--device`` (a torch device; default: cuda if available, else cpu).

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(); add_device(parser)
        >>> parser.parse_args(["--device", "cpu"]).device
        'cpu'
    """
    parser.add_argument("--device", help="torch device: auto, cpu, cuda, cuda:1, ... (default: auto, cuda if available, "
                                         "else cpu)")


def add_precision(parser) -> None:
    """Add ``--precision`` (of the model's passes: auto, fp32 or bf16; see :mod:`driftlens.precision`).

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(); add_precision(parser)
        >>> parser.parse_args([]).precision
        'auto'
    """
    from driftlens.precision import PRECISIONS

    parser.add_argument("--precision", choices=PRECISIONS, default=PRECISIONS[0],
                        help="of the model's passes: auto (bf16 autocast on a GPU with native bf16, Ampere or later; "
                             "else fp32), fp32 or bf16 (default: auto)")


def device_of(args) -> str:
    """The device that ``--device`` names (see :func:`driftlens.devices.resolve_device`; ``auto`` or none: cuda when
    a GPU is visible, else cpu).

    Example:
        >>> import argparse
        >>> device_of(argparse.Namespace(device="cpu"))
        'cpu'
    """
    from driftlens.devices import resolve_device

    return str(resolve_device(args.device))


def add_progress(parser) -> None:
    """Add ``--no-progress`` (no progress bars).

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(); add_progress(parser)
        >>> parser.parse_args([]).no_progress
        False
    """
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_moved(parser, flag: str, message: str) -> None:
    """Keep a removed option ``flag`` only to say what replaced it: given, it ends in a usage error with ``message``.

    Example:
        >>> parser = argparse.ArgumentParser(prog="x", exit_on_error=False)
        >>> add_moved(parser, "--old", "give --new instead")
        >>> parser.parse_args([]).old is None
        True
    """
    class Moved(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            parser.error(f"{option_string} is gone: {message}")

    parser.add_argument(flag, nargs="*", action=Moved, help=argparse.SUPPRESS)


def comma_list(item=str):
    """An argparse ``type`` for comma-separated lists (``a,b`` or ``0, 1``), of ``item`` each; never empty.

    Example:
        >>> comma_list(int)("0, 3,5")
        [0, 3, 5]
    """
    def parse(text):
        try:
            values = [item(token.strip()) for token in text.split(",") if token.strip()]
        except ValueError:
            values = []
        if not values:  # argparse prints the message with the option's name
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {item.__name__}, got {text!r}")
        return values

    parse.__name__ = f"comma-separated {item.__name__} list"
    return parse


def positive_int(text: str) -> int:
    """An ``argparse`` type: an integer of at least 1 (steps, sizes, counts), or a clear usage error.

    Args:
        text (str): The option's value.

    Returns:
        int: The value.

    Raises:
        argparse.ArgumentTypeError: Not an integer, or below 1 (argparse prints it with the option's name).

    Example:
        >>> positive_int("64")
        64
        >>> positive_int("0")
        Traceback (most recent call last):
            ...
        argparse.ArgumentTypeError: must be a positive integer, got 0
    """
    return _int_at_least(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """An ``argparse`` type: an integer of at least 0 (epochs), or a clear usage error.

    Example:
        >>> non_negative_int("0")
        0
    """
    return _int_at_least(text, 0, "an integer of at least 0")


def positive_float(text: str) -> float:
    """An ``argparse`` type: a number above 0 (rates, effect sizes), or a clear usage error.

    Example:
        >>> positive_float("0.05")
        0.05
        >>> positive_float("0")
        Traceback (most recent call last):
            ...
        argparse.ArgumentTypeError: must be a number above 0, got 0.0
    """
    return _float_in(text, 0, float("inf"), "a number above 0")


def probability(text: str) -> float:
    """An ``argparse`` type: a number strictly between 0 and 1 (a false-discovery rate), or a clear usage error.

    Example:
        >>> probability("0.05")
        0.05
        >>> probability("5")
        Traceback (most recent call last):
            ...
        argparse.ArgumentTypeError: must be a number between 0 and 1 (both excluded), got 5.0
    """
    return _float_in(text, 0, 1, "a number between 0 and 1 (both excluded)")


def _float_in(text: str, low: float, high: float, what: str) -> float:
    """``text`` as a number strictly between ``low`` and ``high``, or a usage error that says ``what`` it must be."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if not low < value < high:
        raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
    return value


def _int_at_least(text: str, minimum: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
    return value


def add_model_arguments(parser, default_model: str | None = None) -> None:
    """Add ``--model``, ``--weights``, ``--checkpoint`` and ``--device`` to a sub-command's parser.

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(); add_model_arguments(parser)
        >>> parser.parse_args(["--model", "tiny"]).weights
        'imagenet'
    """
    parser.add_argument("--model", default=default_model,
                        help="zoo model, torchvision model or timm:<name>"
                             + (f" (default: {default_model})" if default_model else ""))
    parser.add_argument("--weights", default="imagenet",
                        help="imagenet, random or a state-dict file (default: imagenet)")
    parser.add_argument("--checkpoint", help="a driftlens training checkpoint (it names its model); replaces --weights")
    add_device(parser)


def model_from_args(args):
    """The model named by ``--checkpoint`` or ``--model``/``--weights``, on ``--device``, in eval mode.

    Raises:
        ConfigError: Neither ``--model`` nor ``--checkpoint`` was given, or ``--model`` names another
            model than the checkpoint holds.

    Example:
        >>> import argparse
        >>> model_from_args(argparse.Namespace(model="tiny", weights="random", checkpoint=None, device="cpu")).name
        'tiny'
    """
    from driftlens import models

    if args.checkpoint:
        model = models.from_checkpoint(args.checkpoint)
        if args.model and args.model != model.name:
            raise ConfigError(f"--model {args.model} does not match the checkpoint's model {model.name}")
    elif args.model:
        model = models.load(args.model, weights=args.weights)
    else:
        raise ConfigError("give --model (with --weights) or --checkpoint")
    return model.to(device_of(args)).eval()


def layer_and_path(item: str, option: str, fallback=None) -> tuple[str, str]:
    """A ``LAYER=PATH`` argument as ``(layer, path)``, the one parser of such arguments.

    Args:
        item (str): The argument.
        option (str): The option it came with, for the error.
        fallback (callable, optional): ``fallback(path) -> layer`` for a bare path. Default: None (a bare path is
            an error)

    Raises:
        ConfigError: Not ``LAYER=PATH`` (and no fallback for a bare path).

    Example:
        >>> layer_and_path("blocks.12=results/demo/blocks.12/screen.csv", "--screen")
        ('blocks.12', 'results/demo/blocks.12/screen.csv')
        >>> layer_and_path("a/conv2/screen.csv", "--screen", fallback=lambda path: path.split("/")[-2])
        ('conv2', 'a/conv2/screen.csv')
    """
    layer, sign, path = item.partition("=")
    if sign and layer and path:
        return layer, path
    if not sign and fallback is not None:
        return fallback(item), item
    raise ConfigError(f"{option} takes LAYER=PATH items, got {item!r}")
