"""``driftlens select-channels``: the channels to visualise, checked against the layer, as ``0,1,2``.

Example:
    driftlens select-channels --checkpoint results/demo/checkpoints/epoch_000.pt --layer blocks.14 \\
        --channels most_changed:2,least_changed:2 --screen results/demo/blocks.14/screen.csv \\
        -o results/demo/blocks.14/channels.txt
"""

from driftlens.schemas.channels import FORMS, parse_channel_spec


def add_parser(subparsers):
    """Register ``driftlens select-channels``.

    Example:
        >>> import argparse
        >>> add_parser(argparse.ArgumentParser().add_subparsers())
    """
    parser = subparsers.add_parser("select-channels")
    parser.add_argument("--checkpoint", required=True, help="checkpoint whose model is inspected (epoch 0)")
    parser.add_argument("--layer", required=True)
    parser.add_argument("--channels", required=True, help=FORMS)
    parser.add_argument("--probe", help="the probe set (probe.npz; needed for top_k:K)")
    parser.add_argument("--screen", help="the layer's screen.csv (needed for most_changed)")
    parser.add_argument("-o", "--output", required=True, help="text file that receives e.g. 0,1,2")
    parser.set_defaults(func=run)


def run(args):
    """Select the channels (:func:`driftlens.optvis.select_channels`, or from the screen) and write them."""
    from driftlens.artifacts import write_channels

    spec = parse_channel_spec(args.channels)
    if isinstance(spec, dict) and "most_changed" in spec:
        write_channels(args.output, _from_screen(args.screen, args.layer, spec))
        return
    import torch

    from driftlens import models
    from driftlens.artifacts import read_probe
    from driftlens.optvis import select_channels

    images = torch.from_numpy(read_probe(args.probe)[0]) if args.probe else None
    write_channels(args.output, select_channels(models.from_checkpoint(args.checkpoint), args.layer, args.channels,
                                                images))


def _from_screen(screen, layer, spec: dict) -> list[int]:
    from driftlens.artifacts import read_screen_table
    from driftlens.change.screen import most_and_least_changed
    from driftlens.errors import ConfigError

    if not screen:
        raise ConfigError("channels most_changed needs the layer's screen (--screen screen.csv)")
    return most_and_least_changed(read_screen_table(screen, layer), spec["most_changed"], spec["least_changed"],
                                  spec.get("epoch"))
