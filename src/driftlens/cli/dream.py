"""``driftlens dream``: DeepDream an image file at one layer.

Example:
    driftlens dream --model efficientnet_lite0 --layer blocks.10 photo.jpg -o dream.png
"""

from driftlens.cli._imaging import read_image
from driftlens.cli._options import add_model_arguments, model_from_args, positive_int
from driftlens.deepdream import deep_dream
from driftlens.io import save_image


def add_parser(subparsers):
    parser = subparsers.add_parser("dream")
    parser.add_argument("image", help="image file")
    add_model_arguments(parser, default_model="efficientnet_lite0")
    parser.add_argument("--layer", required=True, help="layer whose activations are amplified")
    parser.add_argument("--size", type=positive_int,
                        help="longer side in pixels; the aspect ratio is kept (default: the image's own size)")
    parser.add_argument("--octaves", type=positive_int, default=4, help="default: 4")
    parser.add_argument("--scale", type=float, default=1.4, help="size ratio between octaves (default: 1.4)")
    parser.add_argument("--steps", type=positive_int, default=10, help="gradient steps per octave (default: 10)")
    parser.add_argument("--step-size", type=float, default=0.01, help="default: 0.01")
    parser.add_argument("--seed", type=int, default=0, help="default: 0")
    parser.add_argument("-o", "--output", required=True, help="PNG to write")
    parser.set_defaults(func=run)


def run(args):
    model = model_from_args(args)
    image = read_image(args.image, args.size)
    dream = deep_dream(model, image, args.layer, octaves=args.octaves,
                       scale=args.scale, steps=args.steps, step_size=args.step_size, seed=args.seed)
    save_image(dream.permute(1, 2, 0).cpu().numpy(), args.output)
