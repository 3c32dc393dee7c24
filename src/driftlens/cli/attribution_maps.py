"""``driftlens attribution-maps``: attribution maps of a probe set under one training checkpoint.

Example:
    driftlens attribution-maps --checkpoint results/demo/checkpoints/epoch_001.pt \\
        --probe results/demo/probe.npz -o results/demo/attribution/epoch_001.npz --png epoch_001.png
"""


from driftlens import models
from driftlens.artifacts import read_probe, read_probe_classes, write_attribution_maps
from driftlens.attribution import METHODS
from driftlens.attribution.drift import maps_for_checkpoint
from driftlens.attribution.overlay import overlay
from driftlens.cli._options import add_device, device_of, positive_int
from driftlens.grids import image_grid
from driftlens.io import save_image


def add_parser(subparsers):
    parser = subparsers.add_parser("attribution-maps")
    parser.add_argument("--checkpoint", required=True, help="a driftlens training checkpoint")
    parser.add_argument("--probe", required=True, help="npz with `images` (n,3,S,S) in [0, 1] and `labels` (n,)")
    parser.add_argument("--methods", nargs="+", default=["gradcam", "smoothgrad"], choices=list(METHODS),
                        help="default: gradcam smoothgrad")
    parser.add_argument("--layer", help="Grad-CAM layer (default: the last conv-like layer before the pooling)")
    parser.add_argument("--count", type=positive_int, help="use only the first COUNT probe images (default: all)")
    parser.add_argument("-o", "--output", required=True, help="npz to write: one (n,S,S) array in [0, 1] per method")
    parser.add_argument("--png", help="also write the overlays, one row per method, as this PNG")
    add_device(parser)
    parser.set_defaults(func=run)


def run(args):
    images, labels = read_probe(args.probe, args.count)
    model = models.from_checkpoint(args.checkpoint).to(device_of(args))
    maps = maps_for_checkpoint(model, images, labels, args.methods, layer=args.layer, progress=True)
    write_attribution_maps(args.output, model.epoch, maps)
    if args.png:
        rows = [overlay(images, maps[name]) for name in args.methods]
        classes = read_probe_classes(args.probe)
        save_image(image_grid(rows, args.methods, [classes[label] for label in labels]), args.png)
