"""Argument types shared by the sub-commands."""

import argparse


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


def _int_at_least(text: str, minimum: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
    return value
