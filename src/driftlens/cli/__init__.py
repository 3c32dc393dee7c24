"""The ``driftlens`` command line: one module per sub-command in this package.

Each module defines ``add_parser(subparsers)``, which registers its sub-command and sets ``func``
to the function that runs it.

Example:
    >>> main(["layers", "tiny"])  # doctest: +SKIP
"""

import argparse
import importlib
import os
import pkgutil
import sys

from driftlens.errors import USER_ERRORS


def build_parser() -> argparse.ArgumentParser:
    """The parser with every sub-command of this package registered.

    Example:
        >>> build_parser().prog
        'driftlens'
    """
    parser = argparse.ArgumentParser(prog="driftlens", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"{__name__}.{info.name}").add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    """Run the command line; bad input ends with ``driftlens: error: ...`` and exit status 2.

    Example:
        >>> main(["layers", "tiny"])  # doctest: +SKIP
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except USER_ERRORS as err:
        print(f"driftlens: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `driftlens layers googlenet | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
