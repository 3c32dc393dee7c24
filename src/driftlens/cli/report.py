"""``driftlens report``: the self-contained HTML page of one experiment, built from its artifacts."""

import argparse

from driftlens.report import write_report


def add_parser(subparsers):
    """Register ``driftlens report`` on an argparse sub-parsers object.

    Args:
        subparsers (argparse._SubParsersAction): From ``ArgumentParser.add_subparsers()``.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_parser(parser.add_subparsers())
        >>> parser.parse_args(["report", "--exp-dir", "results/demo", "--layers", "a,b", "--epochs", "0,1"]).epochs
        [0, 1]
    """
    parser = subparsers.add_parser("report", help="build an experiment's self-contained report.html")
    parser.add_argument("--exp-dir", required=True, help="the experiment's results folder, e.g. results/demo")
    parser.add_argument("--layers", required=True, type=_names, help="comma-separated layers, e.g. mixed3b,mixed4c")
    parser.add_argument("--epochs", required=True, type=_epochs, help="comma-separated epochs, e.g. 0,1,2,3")
    parser.add_argument("--attribution", action="store_true",
                        help="show the attribution pictures (EXP_DIR/attribution/{merged,drift}.png; required then)")
    parser.add_argument("-o", "--output", help="the page to write (default: EXP_DIR/report.html)")
    parser.set_defaults(func=run)


def run(args):
    """Write the page and print its path.

    Args:
        args (argparse.Namespace): ``exp_dir``, ``layers``, ``epochs`` and ``output`` (None: ``EXP_DIR/report.html``).

    Example:
        >>> run(argparse.Namespace(exp_dir="results/demo", layers=["mixed4c"], epochs=[0, 1], output=None,
        ...                        attribution=False))  # doctest: +SKIP
        results/demo/report.html
    """
    print(write_report(args.exp_dir, args.layers, args.epochs, args.output or f"{args.exp_dir}/report.html",
                       args.attribution))


def _names(text):
    return [name.strip() for name in text.split(",") if name.strip()]


def _epochs(text):
    try:
        return [int(epoch) for epoch in _names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"epochs are comma-separated integers, got {text!r}") from None
