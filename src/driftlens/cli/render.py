"""``driftlens render``: a grid of feature visualisations, rows = layers, columns = channels.

Example:
    driftlens layers googlenet | grep mixed4 | driftlens render --model googlenet --weights random \\
        --layers - --columns 5 -o grid.png
"""

import sys

import numpy as np

from driftlens.cli._options import (add_model_arguments, add_precision, add_progress, comma_list, model_from_args,
                                    positive_int)
from driftlens.errors import ConfigError
from driftlens.grids import image_grid
from driftlens.io import atomic_paths, to_pil
from driftlens.optvis import METHODS, spectrum, visualize_channels
from driftlens.optvis.objectives import channel, per_image
from driftlens.optvis.render import validate


def add_parser(subparsers):
    """Register ``render`` on the ``driftlens`` command line.

    Args:
        subparsers (argparse._SubParsersAction): The sub-command registry of the main parser.

    Example:
        >>> import argparse
        >>> add_parser(argparse.ArgumentParser().add_subparsers())
    """
    parser = subparsers.add_parser("render")
    add_model_arguments(parser)
    parser.add_argument("--layers", required=True,
                        help="comma-separated layer names, or - to read them from standard input "
                             "(first word of each line, as `driftlens layers` prints)")
    parser.add_argument("--channels", type=comma_list(int), help="comma-separated channels, the same for every layer")
    parser.add_argument("--columns", type=positive_int, default=5, help="without --channels: the first N channels (default: 5)")
    parser.add_argument("--method", choices=sorted(METHODS), default="lucid", help="default: lucid")
    parser.add_argument("--spectrum", help="maco only: a magnitude spectrum from `driftlens spectrum` "
                                           "(default: the library's, from scikit-image's sample photographs)")
    parser.add_argument("--steps", type=positive_int, default=512, help="optimisation steps (default: 512)")
    parser.add_argument("--size", type=positive_int, default=128, help="image side in pixels (default: 128)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--no-labels", action="store_true", help="no layer and channel labels on the grid")
    parser.add_argument("--raw", help="also write the raw float images to this .npz "
                                      "(images: layers x channels x H x W x 3, plus layers and channels)")
    add_precision(parser)
    add_progress(parser)
    parser.add_argument("-o", "--output", required=True, help="the grid image (.png)")
    parser.set_defaults(func=run)


def run(args):
    """Render every layer's row of channels and write the grid (and, with ``--raw``, the floats).

    Args:
        args (argparse.Namespace): The parsed options of ``driftlens render``.

    Example:
        >>> from driftlens.cli import main
        >>> main(["render", "--model", "tiny", "--weights", "random", "--layers", "conv3", "--steps", "2",
        ...       "-o", "grid.png"])  # doctest: +SKIP
    """
    layers = read_layers(args.layers, sys.stdin)
    channels = args.channels or list(range(args.columns))
    model = model_from_args(args)
    for layer in layers:  # fail before the first (long) render, not after it
        validate(model, per_image([channel(layer, n) for n in channels]), args.size)
    options = method_options(args)
    rows = []
    for layer in layers:
        print(f"rendering {layer}: channels {', '.join(map(str, channels))}", file=sys.stderr)
        rows.append(visualize_channels(model, layer, channels, method=args.method, steps=args.steps, size=args.size,
                                       seed=args.seed, progress=not args.no_progress, **options))
    classes = all(model.resolve(layer) == model.head for layer in layers)  # class units: name ImageNet's classes
    columns = [model.class_label(c) for c in channels] if classes else channels
    labels = {} if args.no_labels else {"row_labels": layers, "col_labels": columns}
    with atomic_paths(args.output, *([args.raw] if args.raw else [])) as paths:  # the .png and .npz: both or neither
        to_pil(image_grid(rows, **labels)).save(paths[0])
        if args.raw:
            np.savez_compressed(paths[1], images=np.stack(rows), layers=np.array(layers), channels=np.array(channels))


def method_options(args) -> dict:
    """The method's extra options: ``precision``, and ``spectrum`` for maco (read and checked now).

    Raises:
        ConfigError: ``--spectrum`` without ``--method maco``, or a spectrum file that cannot serve ``--size``.

    Example:
        >>> import argparse
        >>> method_options(argparse.Namespace(method="lucid", spectrum=None, size=32, precision="fp32"))
        {'precision': 'fp32'}
    """
    if args.method != "maco":
        if args.spectrum:
            raise ConfigError(f"--spectrum is for --method maco, not {args.method}")
        return {"precision": args.precision}
    return {"precision": args.precision, "spectrum": spectrum.load(args.spectrum, args.size) if args.spectrum else None}


def read_layers(spec: str, stdin) -> list[str]:
    """Layer names from ``--layers``: a comma-separated list, or ``-`` for the first word of each stdin line.

    Lines that ``driftlens layers`` indents (named parts inside a layer, e.g. GoogLeNet's branches) are read
    only when every line is indented: ``grep mixed4`` gives the blocks, ``grep pool_reduce`` the branches.

    Args:
        spec (str): The option's value.
        stdin (io.TextIOBase): Read when ``spec`` is ``-``.

    Returns:
        list[str]: Layer names.

    Raises:
        ConfigError: No layer names.

    Example:
        >>> import io
        >>> read_layers("-", io.StringIO("mixed4a  512 x 14 x 14  inception4a\\n  mixed4a_1x1  192\\n\\nmixed4b\\n"))
        ['mixed4a', 'mixed4b']
        >>> read_layers("-", io.StringIO("  mixed4a_pool_reduce  64 x 14 x 14\\n"))
        ['mixed4a_pool_reduce']
    """
    if spec == "-":
        lines = [line for line in stdin if line.strip()]
        top = [line for line in lines if not line[0].isspace()]
        layers = [line.split()[0] for line in (top or lines)]
    else:
        layers = [name.strip() for name in spec.split(",") if name.strip()]
    if not layers:
        raise ConfigError("--layers: no layer names given" + (" on standard input" if spec == "-" else ""))
    return layers
