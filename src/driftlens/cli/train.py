"""``driftlens train-epoch``: one epoch of staged fine-tuning, checkpoint N-1 in, checkpoint N out."""

import json
import sys
from pathlib import Path

from driftlens.cli._options import add_device, add_progress, device_of, non_negative_int
from driftlens.errors import ConfigError
from driftlens.precision import resolved
from driftlens.train import TrainConfig, start_checkpoint, train_epoch


def add_parser(subparsers):
    parser = subparsers.add_parser("train-epoch")
    config = parser.add_mutually_exclusive_group(required=True)
    config.add_argument("--config", type=Path, help="training config, a JSON file")
    config.add_argument("--config-json", help="training config as inline JSON")
    parser.add_argument("--epoch", type=non_negative_int, required=True, help="epoch to produce; 0 is the start model")
    parser.add_argument("--out", required=True, help="checkpoint to write, e.g. results/x/checkpoints/epoch_001.pt")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write, e.g. results/x/metrics/epoch_001.json")
    parser.add_argument("--previous", help="checkpoint of epoch N-1 (required for N > 0)")
    add_device(parser)
    add_progress(parser)
    parser.set_defaults(func=run)


def run(args):
    cfg = TrainConfig.from_dict(_read_config(args))
    progress = not args.no_progress
    device = device_of(args)
    print(f"training on {device} in {resolved(cfg.precision, device)}", file=sys.stderr)
    if args.epoch == 0:
        if args.previous:
            raise ConfigError("epoch 0 is the start model and takes no --previous")
        start_checkpoint(cfg, args.out, args.metrics, device, progress)
    elif not args.previous:
        raise ConfigError(f"epoch {args.epoch} needs --previous (the checkpoint of epoch {args.epoch - 1})")
    else:
        train_epoch(cfg, args.previous, args.out, args.metrics, args.epoch, device, progress)


def _read_config(args) -> dict:
    text, where = (args.config.read_text(), str(args.config)) if args.config else (args.config_json, "--config-json")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{where}: not valid JSON: {err}") from err
