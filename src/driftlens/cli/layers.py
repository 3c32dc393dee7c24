"""``driftlens layers MODEL``: one layer per line with its output shape, in forward order.

Named parts inside a layer (GoogLeNet's branches: lucid's ``mixed4b_pool_reduce``, the seed's Keras
``Mixed_4c_Branch_3_b_1x1``) follow their layer, indented, with every name they answer to.
"""

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
        for part, aliases in _parts(model, path).items():
            part_shape = " x ".join(map(str, model.output_shapes([part], args.size)[part]))
            print(f"  {aliases[0]:<22} {part_shape:<18} {part}  (also {', '.join(aliases[1:])})")


def _parts(model, path) -> dict[str, list[str]]:
    """Module paths inside ``path`` that have aliases, each with its aliases (the shortest first)."""
    parts = {}
    for alias, target in model.aliases.items():
        if target.startswith(path + "."):
            parts.setdefault(target, []).append(alias)
    return {part: sorted(aliases, key=len) for part, aliases in parts.items()}
