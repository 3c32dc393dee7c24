"""``driftlens representation``: how a checkpoint's representation and units compare with epoch 0.

It compares a checkpoint with epoch 0 on a fixed probe set (linear CKA per layer) and by the relative
change of each layer's weights, and writes a JSON. With the render rows of both checkpoints it also
writes the units' responses that the change table needs (see :mod:`driftlens.change`): each model's
response to the probe images, to its own visualisations and to the other checkpoint's.

Example:
    driftlens representation --first results/demo/checkpoints/epoch_000.pt \\
        --checkpoint results/demo/checkpoints/epoch_003.pt --probe results/demo/probe.npz \\
        --layers blocks.12,blocks.14 -o results/demo/representation/epoch_003.json \\
        --rows results/demo/blocks.12/epoch_003.npz --first-rows results/demo/blocks.12/epoch_000.npz \\
        --responses results/demo/representation/responses_003.npz
"""

# The library modules are imported in the run functions: every `driftlens` call builds all parsers.
from driftlens.cli._options import add_device, add_progress, comma_list, device_of, positive_int


def add_parser(subparsers):
    """Register the ``representation`` sub-command."""
    parser = subparsers.add_parser("representation", help="linear CKA to epoch 0, weight change and "
                                                          "unit responses of a checkpoint")
    parser.add_argument("--first", required=True, metavar="PT", help="the epoch-0 checkpoint")
    parser.add_argument("--checkpoint", required=True, metavar="PT", help="the checkpoint to compare")
    parser.add_argument("--probe", required=True, metavar="NPZ", help="probe images (probe.npz)")
    parser.add_argument("--layers", required=True, type=comma_list(), help="comma-separated, e.g. mixed3b,mixed4c")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="images per forward pass (default: 32)")
    parser.add_argument("--rows", nargs="*", default=[], metavar="NPZ", help="the checkpoint's render rows")
    parser.add_argument("--first-rows", nargs="*", default=[], metavar="NPZ", help="epoch 0's rows, same layers")
    parser.add_argument("--responses", metavar="NPZ", help="write the unit responses here (needs the rows)")
    parser.add_argument("-o", "--output", required=True, help="the JSON, e.g. results/demo/representation/epoch_003.json")
    add_device(parser)
    add_progress(parser)
    parser.set_defaults(func=run)


def run(args):
    """Write the representation-change JSON of one checkpoint (and its unit responses)."""
    import torch

    from driftlens import compare, models
    from driftlens.artifacts import read_probe, write_representation
    from driftlens.errors import ConfigError

    device = device_of(args)
    first = models.from_checkpoint(args.first).to(device)
    model = models.from_checkpoint(args.checkpoint).to(device)
    probe = read_probe(args.probe)[0]
    change = compare.representation_change(first, model, torch.from_numpy(probe), args.layers, args.batch_size,
                                           progress=not args.no_progress)
    write_representation(args.output, model.epoch, change)
    if args.responses:
        if not args.rows or len(args.rows) != len(args.first_rows):
            raise ConfigError("--responses needs --rows and --first-rows, one per layer each")
        write_unit_responses(first, model, probe.transpose(0, 2, 3, 1), args.rows, args.first_rows, args.responses)


def write_unit_responses(first, model, probe, rows, first_rows, path) -> None:
    """Measure and write the unit responses of ``model`` (epoch e) and ``first`` (epoch 0).

    Args:
        first (ModelWrapper): The epoch-0 model.
        model (ModelWrapper): The epoch-e model.
        probe (np.ndarray): ``(N, H, W, 3)`` probe images.
        rows (list[str]): Epoch e's render rows, one per layer.
        first_rows (list[str]): Epoch 0's rows of the same layers, in the same order.
        path (str): The responses file to write.

    Example:
        >>> write_unit_responses(first, model, probe, rows, first_rows, "responses.npz")  # doctest: +SKIP
    """
    from driftlens.artifacts import RESPONSE_KINDS, read_row, write_responses
    from driftlens.change import layer_responses, unit_responses
    from driftlens.errors import ConfigError

    pairs = []
    for row_path, first_path in zip(rows, first_rows):
        row = read_row(row_path, epoch=model.epoch)
        reference = read_row(first_path, layer=row.layer, epoch=first.epoch)
        if row.channels != reference.channels or row.seeds != reference.seeds:
            raise ConfigError(f"{row_path} and {first_path} hold different channels or seeds")
        pairs.append((row, reference))
    channels = {row.layer: row.channels for row, _ in pairs}
    probe_responses = {"probe": layer_responses(model, probe, channels),  # one pass per model for every layer
                       "first_probe": layer_responses(first, probe, channels)}
    responses = {}
    for row, reference in pairs:
        measured = {"own": (model, row), "cross": (model, reference), "reverse": (first, row),
                    "first_own": (first, reference)}
        values = {kind: unit_responses(net, source.images, row.layer, row.channels)
                  for kind, (net, source) in measured.items()}
        values.update({kind: by_layer[row.layer] for kind, by_layer in probe_responses.items()})
        responses[row.layer] = {kind: values[kind] for kind in RESPONSE_KINDS}
    write_responses(path, model.epoch, responses, channels, pairs[0][0].seeds)

