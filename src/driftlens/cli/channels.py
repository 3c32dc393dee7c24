"""``driftlens select-channels``: the channels to visualise, checked against the layer, as ``0,1,2``."""


def add_parser(subparsers):
    """Register ``driftlens select-channels``.

    Example:
        >>> import argparse
        >>> add_parser(argparse.ArgumentParser().add_subparsers())
    """
    parser = subparsers.add_parser("select-channels", help="resolve a channel list or top_k:K for a layer")
    parser.add_argument("--checkpoint", required=True, help="checkpoint whose model is inspected (epoch 0)")
    parser.add_argument("--layer", required=True)
    parser.add_argument("--channels", required=True, help="a list like 0,1,2 or top_k:K")
    parser.add_argument("--probe", help="the probe set (probe.npz; needed for top_k:K)")
    parser.add_argument("-o", "--output", required=True, help="text file that receives e.g. 0,1,2")
    parser.set_defaults(func=run)


def run(args):
    """Select the channels (:func:`driftlens.optvis.select_channels`) and write them."""
    import torch

    from driftlens import models
    from driftlens.artifacts import read_probe, write_channels
    from driftlens.optvis import select_channels

    images = torch.from_numpy(read_probe(args.probe)[0]) if args.probe else None
    write_channels(args.output, select_channels(models.from_checkpoint(args.checkpoint), args.layer, args.channels,
                                                images))
