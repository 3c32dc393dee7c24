"""``driftlens compare``: which channels changed between checkpoints of a run trained anywhere, without Snakemake.

Reads two or more checkpoints (driftlens, timm, Lightning, torchvision's reference scripts, plain state dicts,
``.safetensors``; always weights-only), screens every channel of the layers asked for on a folder of images
(:mod:`driftlens.change.screen`), writes ``OUT/{layer}/screen.csv`` and its volcano plot, and prints a summary.
With ``--features``, also each layer's feature diff (:mod:`driftlens.features`): ``features.csv``, ``features.json``,
``crosscoder.npz`` and ``features.png`` beside the screen, and the probe set that names the exemplars
(``OUT/probe.npz``).

Example:
    driftlens compare runs/flowers/checkpoint-0.pth.tar runs/flowers/checkpoint-9.pth.tar \\
        --model timm:resnet50 --layers layer3,layer4 --probe flowers/val -o compare/
    driftlens compare --checkpoints 'runs/flowers/checkpoint-*.pth.tar' --model timm:resnet50 --layers layer4 \\
        --probe flowers/val --features --features-images flowers/train
"""

from driftlens.change import defaults
from driftlens.cli._options import (add_device, add_progress, comma_list, device_of, positive_float, positive_int,
                                    probability)

def add_parser(subparsers):
    """Register ``compare``."""
    parser = subparsers.add_parser("compare")
    parser.add_argument("files", nargs="*", metavar="CHECKPOINT", help="checkpoints, the first is the reference")
    parser.add_argument("--checkpoints", metavar="GLOB", help="or a glob of checkpoints, in natural order of names")
    parser.add_argument("--model", required=True, help="the model the files hold (zoo, torchvision or timm:<name>)")
    parser.add_argument("--key", help="the entry holding the weights where a file has several (e.g. state_dict_ema)")
    parser.add_argument("--layers", required=True, type=comma_list(), help="comma-separated, e.g. layer3,layer4")
    parser.add_argument("--probe", required=True, metavar="DIR", help="a folder of images (class sub-folders allowed)")
    parser.add_argument("--max-images", type=positive_int, default=256, help="most probe images (default: 256)")
    parser.add_argument("--size", type=positive_int, help="probe image side (default: the model's input size)")
    parser.add_argument("--min-effect", type=positive_float,
                        help=f"minimum rank shift (default: {defaults.MIN_EFFECT})")
    parser.add_argument("--alpha", type=probability, help=f"false-discovery rate, in (0, 1) (default: {defaults.ALPHA})")
    parser.add_argument("--features", action="store_true",
                        help="also the feature diff of each layer: a crosscoder over the checkpoints (features.csv, "
                             "features.json, crosscoder.npz, features.png per layer)")
    parser.add_argument("--features-images", metavar="DIR",
                        help="the images the crosscoder trains on (default: the probe folder, whose positions then "
                             "serve as both training and held-out data)")
    parser.add_argument("--render-steps", type=positive_int, default=128,
                        help="render steps of the features.png gallery (default: 128)")
    parser.add_argument("-o", "--output", default="compare", metavar="DIR", help="where to write (default: compare)")
    add_device(parser)
    add_progress(parser)
    parser.set_defaults(func=run)


def check_arguments(args) -> list[str]:
    """The checkpoint files, once the arguments are checked without importing torch or loading anything (so a bad
    argument is named at once): the checkpoints are files (or the glob matches files), the probe folder holds
    enough images, and ``-o`` is a folder or can be made one.

    Raises:
        ConfigError: The first bad argument, named.

    Example:
        >>> import argparse
        >>> check_arguments(argparse.Namespace(files=[], checkpoints=None, features=False, features_images=None))
        Traceback (most recent call last):
            ...
        driftlens.errors.ConfigError: give the checkpoints as files or as --checkpoints GLOB, not both and not neither
    """
    from pathlib import Path

    from driftlens.data.folder import probe_folder_images
    from driftlens.errors import ConfigError
    from driftlens.checkpoints.series import find_checkpoints

    if bool(args.files) == bool(args.checkpoints):
        raise ConfigError("give the checkpoints as files or as --checkpoints GLOB, not both and not neither")
    files = find_checkpoints(args.files or args.checkpoints)
    probe_folder_images(args.probe)
    if args.features_images:
        if not args.features:
            raise ConfigError("--features-images goes with --features")
        probe_folder_images(args.features_images)
    output = Path(args.output).expanduser()
    existing = next(path for path in (output, *output.parents) if path.exists())
    if not existing.is_dir():
        raise ConfigError(f"-o {args.output}: {existing} is a file, not a folder")
    return files


def run(args):
    """Check the arguments, then screen the checkpoints and write one screen per layer."""
    files = check_arguments(args)
    from pathlib import Path

    from driftlens import models
    from driftlens.artifacts import write_screen_table
    from driftlens.change import screen_checkpoints
    from driftlens.data import folder_probe_images
    from driftlens.figures import plot_volcano, save_figure
    from driftlens.checkpoints.series import checkpoint_series

    by_epoch = checkpoint_series(files)
    device = device_of(args)
    size = args.size or models.architecture(args.model).input_size
    probe = folder_probe_images(args.probe, args.max_images, size)[0].permute(0, 2, 3, 1).numpy()
    options = {key: value for key, value in (("min_effect", args.min_effect), ("alpha", args.alpha)) if value}
    tables = screen_checkpoints(lambda epoch: models.from_file(args.model, by_epoch[epoch], args.key).to(device),
                                list(by_epoch), args.layers, probe, progress=not args.no_progress, **options)
    last = max(by_epoch)
    for layer, table in tables.items():
        folder = Path(args.output) / layer
        write_screen_table(folder / "screen.csv", table, layer)
        save_figure(plot_volcano(table, layer), folder / "volcano.png")
        end = table[table.epoch == last]
        print(f"{layer}: {int(end.changed.sum())} of {len(end)} channels changed by {Path(by_epoch[last]).name} "
              f"(q <= {end.alpha.iloc[0]:g}, rank shift > {end.min_effect.iloc[0]:g}; median shift "
              f"{end.rank_shift.median():.3f}) -> {folder / 'screen.csv'}")
    if args.features:
        _features(args, lambda epoch: models.from_file(args.model, by_epoch[epoch], args.key).to(device),
                  list(by_epoch), size)


def _features(args, load_model, epochs, size):
    """The feature diff of every layer, written beside its screen, with a probe set that names the images."""
    from pathlib import Path

    from driftlens.artifacts import write_probe
    from driftlens.cli.features import plot_diff, write_diff
    from driftlens.data import folder_probe_files, folder_probe_images
    from driftlens.features.latents import counts_text
    from driftlens.features.series import diff_checkpoints

    probe, labels, classes = folder_probe_images(args.probe, args.max_images, size)
    probe_file = Path(args.output) / "probe.npz"
    write_probe(probe_file, probe.numpy(), labels.numpy(), classes, {"folder": str(args.probe), "size": size},
                folder_probe_files(args.probe, args.max_images))
    train = folder_probe_images(args.features_images, 10 ** 9, size)[0] if args.features_images else probe
    diffs = diff_checkpoints(load_model, epochs, args.layers, lambda: train.split(32), probe, labels.numpy(), classes,
                             progress=not args.no_progress)
    for layer, diff in diffs.items():
        folder = Path(args.output) / layer
        paths = [folder / name for name in ("features.csv", "features.json", "crosscoder.npz")]
        write_diff(diff, layer, probe_file, *paths)
        plot_diff({epoch: load_model(epoch) for epoch in diff.summary["epochs"]}, *paths, probe_file,
                  folder / "features.png", device=device_of(args), steps=args.render_steps, size=size,
                  progress=not args.no_progress)
        counts = diff.summary["counts"]
        print(f"{layer}: {counts_text(counts)} of {diff.summary['latents'] - counts['dead']} active latents "
              f"(variance explained "
              f"{', '.join(f'{v:.2f}' for v in diff.summary['variance_explained'].values())}) -> {paths[0]}")
