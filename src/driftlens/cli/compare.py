"""``driftlens similarity`` and ``driftlens representation``: how much a layer changed between epochs.

``similarity`` compares a layer's visualisations at every epoch with the previous epoch, with the
first epoch and with a second-seed render of the same checkpoint (the noise floor), and writes one
CSV row per (epoch, channel). ``representation`` compares a checkpoint with epoch 0 on a fixed probe
set (linear CKA per layer) and by the relative change of each layer's weights, and writes a JSON.

Example:
    driftlens similarity --epochs results/demo/blocks.4/epoch_*.npz --noise results/demo/blocks.4/noise_*.npz \
        -o results/demo/blocks.4/similarity.csv
    driftlens representation --first results/demo/checkpoints/epoch_000.pt \
        --checkpoint results/demo/checkpoints/epoch_003.pt --probe results/demo/probe.npz \
        --layers blocks.4,blocks.10 -o results/demo/representation/epoch_003.json
"""

from driftlens.cli._options import positive_int

# The library modules are imported in the run functions: every `driftlens` call builds all parsers.


def add_parser(subparsers):
    """Register the ``similarity`` and ``representation`` sub-commands."""
    similarity = subparsers.add_parser("similarity", help="SSIM and perceptual distance of a layer's pictures "
                                                          "between epochs, with the noise floor, as a CSV")
    similarity.add_argument("--epochs", nargs="+", required=True, metavar="NPZ",
                            help="the layer's epoch_NNN.npz files; epochs are read from the names")
    similarity.add_argument("--noise", nargs="*", default=[], metavar="NPZ",
                            help="noise_NNN.npz files: the same checkpoints rendered with a second seed")
    similarity.add_argument("--perceptual", choices=["auto", "lpips", "lite0"], default="auto",
                            help="perceptual distance: LPIPS if available offline, else Lite0 features (default: auto)")
    _add_common(similarity, output="the CSV to write, e.g. results/demo/blocks.4/similarity.csv")
    similarity.set_defaults(func=run_similarity)

    representation = subparsers.add_parser("representation", help="linear CKA to epoch 0 on a probe set and "
                                                                   "relative weight change per layer, as a JSON")
    representation.add_argument("--first", required=True, metavar="PT", help="the epoch-0 checkpoint")
    representation.add_argument("--checkpoint", required=True, metavar="PT", help="the checkpoint to compare")
    representation.add_argument("--probe", required=True, metavar="NPZ", help="probe images (probe.npz)")
    representation.add_argument("--layers", required=True, type=_names, help="comma-separated, e.g. mixed3b,mixed4c")
    representation.add_argument("--batch-size", type=positive_int, default=32, help="images per forward pass (default: 32)")
    _add_common(representation, output="the JSON to write, e.g. results/demo/representation/epoch_003.json")
    representation.set_defaults(func=run_representation)


def _add_common(parser, output):
    parser.add_argument("-o", "--output", required=True, help=output)
    parser.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run_similarity(args):
    """Write the similarity CSV of one layer."""
    from driftlens import compare
    from driftlens.io import atomic_path

    perceptual = compare.PerceptualDistance(backend=args.perceptual, device=args.device)
    table = compare.layer_similarity_table(_by_epoch(args.epochs), _by_epoch(args.noise), perceptual,
                                           progress=not args.no_progress)
    with atomic_path(args.output) as tmp:
        table.to_csv(tmp, index=False)


def run_representation(args):
    """Write the representation-change JSON of one checkpoint."""
    import math

    import torch

    from driftlens import compare, models
    from driftlens.artifacts import epoch_of, read_probe
    from driftlens.io import save_json

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    first = models.from_checkpoint(args.first).to(device)
    model = models.from_checkpoint(args.checkpoint).to(device)
    change = compare.representation_change(first, model, torch.from_numpy(read_probe(args.probe)[0]), args.layers,
                                           args.batch_size, progress=not args.no_progress)
    # CKA is undefined (NaN) for a layer that is constant on the probe images; JSON has no NaN: null
    change["cka"] = {layer: None if math.isnan(value) else value for layer, value in change["cka"].items()}
    save_json({"epoch": epoch_of(args.checkpoint), **change}, args.output)


def _by_epoch(paths) -> dict:
    from driftlens.artifacts import epoch_of
    from driftlens.errors import ConfigError

    by_epoch = {}
    for path in paths:
        epoch = epoch_of(path)
        if epoch in by_epoch:
            raise ConfigError(f"{by_epoch[epoch]} and {path} are both epoch {epoch}")
        by_epoch[epoch] = path
    return by_epoch


def _names(text):
    return [name.strip() for name in text.split(",") if name.strip()]
