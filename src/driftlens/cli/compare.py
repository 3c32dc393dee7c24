"""``driftlens compare``: which channels changed between checkpoints of a run trained anywhere, without Snakemake.

Reads two or more checkpoints (driftlens, timm, Lightning, torchvision's reference scripts, plain state dicts,
``.safetensors``; always weights-only), screens every channel of the layers asked for on a folder of images
(:mod:`driftlens.change.screen`), writes ``OUT/{layer}/screen.csv`` and its volcano plot, and prints a summary.

Example:
    driftlens compare runs/flowers/checkpoint-0.pth.tar runs/flowers/checkpoint-9.pth.tar \\
        --model timm:resnet50 --layers layer3,layer4 --probe flowers/val -o compare/
    driftlens compare --checkpoints 'runs/flowers/checkpoint-*.pth.tar' --model timm:resnet50 --layers layer4 \\
        --probe flowers/val
"""

from driftlens.cli._options import add_device, add_progress, comma_list, device_of, positive_float, positive_int

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
"""The image files a probe folder is read for (in every sub-folder)."""


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
    parser.add_argument("--min-effect", type=positive_float, help="minimum rank shift (default: 0.04)")
    parser.add_argument("--alpha", type=positive_float, help="false-discovery rate (default: 0.05)")
    parser.add_argument("-o", "--output", default="compare", metavar="DIR", help="where to write (default: compare)")
    add_device(parser)
    add_progress(parser)
    parser.set_defaults(func=run)


def run(args):
    """Screen the checkpoints and write one screen per layer."""
    from pathlib import Path

    from driftlens import models
    from driftlens.artifacts import write_screen_table
    from driftlens.change import screen_checkpoints
    from driftlens.figures import plot_volcano, save_figure

    files = checkpoint_files(args.files, args.checkpoints)
    epochs = epoch_labels(files)
    device = device_of(args)
    size = args.size or models.architecture(args.model).input_size
    probe = probe_folder(args.probe, args.max_images, size)
    options = {key: value for key, value in (("min_effect", args.min_effect), ("alpha", args.alpha)) if value}
    by_epoch = dict(zip(epochs, files))
    tables = screen_checkpoints(lambda epoch: models.from_file(args.model, by_epoch[epoch], args.key).to(device),
                                epochs, args.layers, probe, progress=not args.no_progress, **options)
    for layer, table in tables.items():
        folder = Path(args.output) / layer
        write_screen_table(folder / "screen.csv", table, layer)
        save_figure(plot_volcano(table, layer), folder / "volcano.png")
        last = table[table.epoch == epochs[-1]]
        print(f"{layer}: {int(last.changed.sum())} of {len(last)} channels changed by {Path(files[-1]).name} "
              f"(q <= {last.alpha.iloc[0]:g}, rank shift > {last.min_effect.iloc[0]:g}; median shift "
              f"{last.rank_shift.median():.3f}) -> {folder / 'screen.csv'}")


def checkpoint_files(files, pattern) -> list[str]:
    """The checkpoints: the files given, or the glob's matches in natural order; at least two.

    Example:
        >>> checkpoint_files(["a.pt", "b.pt"], None)
        ['a.pt', 'b.pt']
    """
    import glob

    from driftlens.errors import ConfigError

    if bool(files) == bool(pattern):
        raise ConfigError("give the checkpoints as files or as --checkpoints GLOB, not both and not neither")
    found = files or sorted(glob.glob(pattern), key=natural_key)
    if len(found) < 2:
        raise ConfigError(f"comparing needs at least two checkpoints; got {len(found)}"
                          + (f" from --checkpoints {pattern!r}" if pattern else ""))
    return found


def natural_key(name: str) -> list:
    """Sort key that orders ``epoch_2`` before ``epoch_10``.

    Example:
        >>> sorted(["c-10.pt", "c-2.pt"], key=natural_key)
        ['c-2.pt', 'c-10.pt']
    """
    import re

    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def epoch_labels(files) -> list[int]:
    """Each file's label: the last number in its name when these increase along the files, else its position.

    Example:
        >>> epoch_labels(["run/checkpoint-3.pth.tar", "run/checkpoint-10.pth.tar"]), epoch_labels(["a.pt", "b.pt"])
        ([3, 10], [0, 1])
    """
    import re
    from pathlib import Path

    numbers = [re.findall(r"\d+", Path(path).name) for path in files]
    labels = [int(found[-1]) for found in numbers if found]
    return labels if len(labels) == len(files) and all(a < b for a, b in zip(labels, labels[1:])) \
        else list(range(len(files)))


def probe_folder(folder, count: int, size: int):
    """Up to ``count`` images of a folder (every sub-folder, evenly spread over the sorted names), ``(N, S, S, 3)``.

    Example:
        >>> probe = probe_folder("flowers/val", 256, 224)  # doctest: +SKIP
    """
    from pathlib import Path

    import numpy as np

    from driftlens.data.images import image_transform, load_image
    from driftlens.errors import ConfigError

    files = sorted(path for path in Path(folder).rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < 8:
        raise ConfigError(f"--probe {folder} holds {len(files)} images ({', '.join(IMAGE_SUFFIXES)}); at least 8 needed")
    chosen = [files[round(k * len(files) / min(count, len(files)))] for k in range(min(count, len(files)))]
    transform = image_transform(size)
    return np.stack([transform(load_image(path, size)).permute(1, 2, 0).numpy() for path in chosen])
