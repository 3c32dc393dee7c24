"""``driftlens representation``: one forward pass of a checkpoint over the probe set, compared with epoch 0.

It writes every channel's response to the probe images and each layer's centered Gram matrix (the
change screen's input, ``--responses``), and a JSON with each layer's linear CKA to epoch 0 (debiased, the
estimator recorded in the file: :func:`driftlens.change.gram_cka`) and the relative change of its weights.
Epoch 0's Gram matrices come from its own responses file (``--first-responses``), so each checkpoint's images
pass through the network once; a checkpoint whose weights upstream of every layer are bit-identical to epoch 0's
(every epoch of a head-only stage) has epoch 0's responses exactly, and takes them from that file without a
forward pass.

Example:
    driftlens representation --first results/demo/checkpoints/epoch_000.pt \\
        --checkpoint results/demo/checkpoints/epoch_003.pt --probe results/demo/probe.npz \\
        --layers blocks.12,blocks.14 --first-responses results/demo/representation/probe_000.npz \\
        --responses results/demo/representation/probe_003.npz -o results/demo/representation/epoch_003.json
"""

import sys

# The library modules are imported in the run functions: every `driftlens` call builds all parsers.
from driftlens.cli._options import add_device, add_progress, comma_list, device_of, positive_int


def add_parser(subparsers):
    """Register the ``representation`` sub-command."""
    parser = subparsers.add_parser("representation")
    parser.add_argument("--first", required=True, metavar="PT", help="the epoch-0 checkpoint")
    parser.add_argument("--checkpoint", required=True, metavar="PT", help="the checkpoint to measure")
    parser.add_argument("--probe", required=True, metavar="NPZ", help="probe images (probe.npz)")
    parser.add_argument("--layers", required=True, type=comma_list(), help="comma-separated, e.g. mixed3b,mixed4c")
    parser.add_argument("--first-responses", metavar="NPZ",
                        help="epoch 0's responses file (its Gram matrices); default: measure epoch 0 again")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="images per forward pass (default: 32)")
    parser.add_argument("--responses", required=True, metavar="NPZ",
                        help="write the probe responses and Gram matrices here")
    parser.add_argument("-o", "--output", required=True, help="the JSON, e.g. results/demo/representation/epoch_003.json")
    add_device(parser)
    add_progress(parser)
    parser.set_defaults(func=run)


def run(args):
    """Write one checkpoint's probe responses and its representation-change JSON."""
    from driftlens import change, models
    from driftlens.artifacts import write_probe_responses, write_representation

    device = device_of(args)
    first = models.from_checkpoint(args.first).to(device)
    model = models.from_checkpoint(args.checkpoint).to(device)
    first_measured = _read_first(args, first) if args.first_responses else None
    if first_measured and models.same_upstream(first, model, args.layers):
        measured = first_measured
        print(f"every layer's upstream weights are those of epoch {first.epoch}: its probe responses are reused "
              "exactly, no forward pass", file=sys.stderr)
    else:
        measured, first_measured = _measure(args, first, model, first_measured)
    write_probe_responses(args.responses, model.epoch, measured["responses"], measured["grams"])
    write_representation(args.output, model.epoch, change.representation_change(first, model, first_measured["grams"],
                                                                                 measured["grams"]))


def _read_first(args, first) -> dict:
    """Epoch 0's responses and Gram matrices, from its responses file."""
    from driftlens.artifacts import read_probe_responses

    _, responses, grams = read_probe_responses(args.first_responses, epoch=first.epoch, layers=args.layers)
    return {"responses": responses, "grams": grams}


def _measure(args, first, model, first_measured) -> tuple[dict, dict]:
    """The checkpoint's probe pass, and epoch 0's (``first_measured`` when read, else this pass or a second one)."""
    import torch

    from driftlens import change
    from driftlens.artifacts import read_probe

    probe = torch.from_numpy(read_probe(args.probe)[0])
    measured = change.probe_pass(model, probe, args.layers, args.batch_size, progress=not args.no_progress)
    if first_measured:
        return measured, first_measured
    if model.epoch == first.epoch:
        return measured, measured
    return measured, change.probe_pass(first, probe, args.layers, args.batch_size, progress=False)
