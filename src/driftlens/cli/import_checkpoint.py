"""``driftlens import-checkpoint``: one checkpoint of a run trained elsewhere as a driftlens checkpoint and metrics
file (:mod:`driftlens.checkpoints.importing`): the workflow's first job for each file of an experiment with ``checkpoints:``.

Example:
    driftlens import-checkpoint --model timm:resnet18 --weights runs/flowers/checkpoint-3.pth.tar --epoch 4 \\
        --probe results/mine/probe.npz --out results/mine/checkpoints/epoch_004.pt \\
        --metrics results/mine/metrics/epoch_004.json
"""

from driftlens.cli._options import add_device, add_precision, non_negative_int


def add_parser(subparsers):
    """Register ``import-checkpoint``."""
    parser = subparsers.add_parser("import-checkpoint")
    parser.add_argument("--model", required=True, help="the model the file holds (zoo, torchvision or timm:<name>)")
    parser.add_argument("--weights", required=True, help="the checkpoint file, or imagenet (the pretrained weights)")
    parser.add_argument("--key", help="the entry holding the weights where the file has several (e.g. state_dict_ema)")
    parser.add_argument("--epoch", type=non_negative_int, required=True, help="the epoch the file stands for")
    parser.add_argument("--probe", required=True, help="probe.npz: each checkpoint is evaluated on it when labelled")
    parser.add_argument("--out", required=True, help="the driftlens checkpoint to write")
    parser.add_argument("--metrics", required=True, help="the metrics JSON to write")
    add_device(parser)
    add_precision(parser)
    parser.set_defaults(func=run)


def run(args):
    """Read the file weights-only, evaluate it on the probe set when labelled, and write checkpoint and metrics."""
    from driftlens.checkpoints.importing import import_checkpoint

    metrics = import_checkpoint(args.model, args.weights, args.epoch, args.probe, args.out, args.metrics, args.key,
                                args.device, args.precision)
    accuracy = "no labels for its classes" if metrics["val_acc"] is None else f"probe accuracy {metrics['val_acc']:.3f}"
    print(f"epoch {args.epoch}: {args.weights} ({accuracy}) -> {args.out}")
