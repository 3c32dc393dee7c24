"""``driftlens layers MODEL``: one layer per line with its output shape, in forward order."""

from driftlens import models
from driftlens.cli._options import positive_int


def add_parser(subparsers):
    parser = subparsers.add_parser("layers")
    parser.add_argument("model", help=f"a zoo model ({', '.join(models.available())}), any torchvision "
                                      "classification model (mobilenet_v3_small) or timm:<name>")
    parser.add_argument("--weights", default="random",
                        help="imagenet, random or a state-dict file; shapes do not depend on it (default: random)")
    parser.add_argument("--size", type=positive_int, help="input side in pixels (default: the model's own)")
    parser.set_defaults(func=run)


def run(args):
    model = models.load(args.model, weights=args.weights)
    names = model.layer_names()
    shapes = model.output_shapes(names, args.size)
    for name in names:
        shape = " x ".join(map(str, shapes.get(name, ())))
        path = model.resolve(name)
        print(f"{name:<24} {shape:<18} {path if path != name else ''}".rstrip())
