"""``driftlens attribution-maps``: attribution maps of a probe set under one training checkpoint.

Example:
    driftlens attribution-maps --checkpoint results/demo/checkpoints/epoch_001.pt \\
        --probe results/demo/probe.npz -o results/demo/attribution/epoch_001.npz --png epoch_001.png
"""

import numpy as np

from driftlens import models
from driftlens.attribution import METHODS
from driftlens.attribution.drift import maps_for_checkpoint
from driftlens.attribution.overlay import overlay
from driftlens.errors import ConfigError
from driftlens.figures import image_grid
from driftlens.io import save_image, save_npz


def add_parser(subparsers):
    parser = subparsers.add_parser("attribution-maps", help="attribution maps of a probe set for one checkpoint (.npz)")
    parser.add_argument("--checkpoint", required=True, help="a driftlens training checkpoint")
    parser.add_argument("--probe", required=True, help="npz with `images` (n,3,S,S) in [0, 1] and `labels` (n,)")
    parser.add_argument("--methods", nargs="+", default=["gradcam", "smoothgrad"], choices=list(METHODS),
                        help="default: gradcam smoothgrad")
    parser.add_argument("--layer", help="Grad-CAM layer (default: the last conv-like layer before the pooling)")
    parser.add_argument("--count", type=int, help="use only the first COUNT probe images (default: all)")
    parser.add_argument("-o", "--output", required=True, help="npz to write: one (n,S,S) array in [0, 1] per method")
    parser.add_argument("--png", help="also write the overlays, one row per method, as this PNG")
    parser.set_defaults(func=run)


def read_probe(path, count=None) -> tuple[np.ndarray, np.ndarray]:
    """The ``images`` and ``labels`` arrays of a probe ``.npz``, checked.

    Raises:
        ConfigError: A key is missing or the shapes do not fit (the message names the file and key).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "probe.npz")
        >>> np.savez(path, images=np.zeros((2, 3, 8, 8)), labels=np.array([0, 1]))
        >>> [a.shape for a in read_probe(path)]
        [(2, 3, 8, 8), (2,)]
    """
    with np.load(path) as probe:
        for key in ("images", "labels"):
            if key not in probe:
                raise ConfigError(f"probe file {path} has no {key!r} array (it has: {', '.join(probe.files)})")
        images, labels = probe["images"][:count], probe["labels"][:count]
    if images.ndim != 4 or images.shape[1] != 3 or len(labels) != len(images):
        raise ConfigError(f"probe file {path}: expected images (n, 3, S, S) and n labels, got shapes "
                          f"{images.shape} and {labels.shape}")
    return images.astype(np.float32), labels


def run(args):
    images, labels = read_probe(args.probe, args.count)
    model = models.from_checkpoint(args.checkpoint)
    maps = maps_for_checkpoint(model, images, labels, args.methods, layer=args.layer, progress=True)
    save_npz(args.output, **maps)
    if args.png:
        rows = [overlay(images, maps[name]) for name in args.methods]
        save_image(image_grid(rows, args.methods, [f"label {label}" for label in labels]), args.png)
