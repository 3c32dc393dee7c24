"""``driftlens attribute``: attribution maps of image files, as a grid of images over overlays.

Example:
    driftlens attribute --model efficientnet_lite0 --method gradcam --target 285 cat.jpg -o cat_gradcam.png
"""

from pathlib import Path

from driftlens.attribution import METHODS, attribute, method_options
from driftlens.attribution.base import predicted_classes
from driftlens.attribution.overlay import overlay
from driftlens.cli._imaging import read_images
from driftlens.cli._options import add_model_arguments, model_from_args, positive_int
from driftlens.errors import ConfigError
from driftlens.grids import image_grid
from driftlens.io import save_image


def add_parser(subparsers):
    parser = subparsers.add_parser("attribute")
    parser.add_argument("images", nargs="+", help="image files")
    add_model_arguments(parser)
    parser.add_argument("--method", default="gradcam", choices=list(METHODS), help="default: gradcam")
    parser.add_argument("--target", help="class index, or LAYER:CHANNEL (default: each image's predicted class)")
    parser.add_argument("--layer", help="Grad-CAM layer (default: the last conv-like layer before the pooling)")
    parser.add_argument("--size", type=positive_int, help="image side in pixels (default: the model's input size)")
    parser.add_argument("-o", "--output", required=True, help="PNG to write")
    parser.set_defaults(func=run)


def parse_target(text):
    """``"285"`` -> 285, ``"mixed4c:12"`` -> ``("mixed4c", 12)``, ``None`` -> None.

    Example:
        >>> parse_target("mixed4c:12")
        ('mixed4c', 12)
    """
    if text is None:
        return None
    layer, _, channel = text.rpartition(":")
    try:
        return (layer, int(channel)) if layer else int(channel)
    except ValueError:
        raise ConfigError(f"--target must be a class index or LAYER:CHANNEL, got {text!r}") from None


def run(args):
    model = model_from_args(args)
    images = read_images(args.images, args.size or model.input_size).to(model.device)
    target = parse_target(args.target)
    if target is None:
        target = predicted_classes(model, images).tolist()
    options = method_options(args.method, layer=args.layer, progress=True)
    maps = attribute(model, images, target, method=args.method, **options)
    labels = [f"{Path(path).name} -> {model.class_label(t) if isinstance(t, int) else t}"
              for path, t in zip(args.images, _per_image(target, len(images)))]
    rows = [images.permute(0, 2, 3, 1).cpu().numpy(), overlay(images, maps)]
    save_image(image_grid(rows, ["image", args.method], labels), args.output)


def _per_image(target, count):
    if isinstance(target, list):
        return target
    return [f"{target[0]}:{target[1]}" if isinstance(target, tuple) else target] * count
