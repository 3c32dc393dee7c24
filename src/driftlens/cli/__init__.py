"""The ``driftlens`` command line: each sub-command lives in a module of this package.

A module defines ``add_parser(subparsers)``, which registers its sub-command(s) and sets ``func``
to the function that runs it. Only the module of the command being run is imported, so a command
starts without loading what the others need.

Example:
    >>> main(["layers", "tiny"])  # doctest: +SKIP
"""

import argparse
import importlib
import os
import sys

from driftlens.errors import USER_ERRORS

COMMANDS = {
    "layers": "layers",
    "render": "render",
    "select-channels": "channels",
    "prepare-data": "prepare_data",
    "probe": "probe",
    "train-epoch": "train",
    "similarity": "compare",
    "representation": "compare",
    "grid": "grid",
    "plot-change": "plots",
    "plot-training": "plots",
    "report": "report",
    "attribute": "attribute",
    "attribution-maps": "attribution_maps",
    "attribution-grid": "attribution_figures",
    "attribution-drift": "attribution_figures",
    "dream": "dream",
    "style": "style",
    "spectrum": "spectrum",
    "accentuate": "accentuate",
}
"""Sub-command name to the module (in this package) that implements it."""


def build_parser(command=None) -> argparse.ArgumentParser:
    """The parser with ``command``'s module registered, or every module when ``command`` is None.

    Example:
        >>> build_parser("layers").prog
        'driftlens'
    """
    parser = argparse.ArgumentParser(prog="driftlens", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    modules = [COMMANDS[command]] if command in COMMANDS else sorted(set(COMMANDS.values()))
    for module in modules:
        importlib.import_module(f"{__name__}.{module}").add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    """Run the command line; bad input ends with ``driftlens: error: ...`` and exit status 2.

    Example:
        >>> main(["layers", "tiny"])  # doctest: +SKIP
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    try:
        return args.func(args) or 0
    except USER_ERRORS as err:
        print(f"driftlens: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `driftlens layers googlenet | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
