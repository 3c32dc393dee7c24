"""``driftlens style``: neural style transfer (Gatys) of a content image in the style of another.

Example:
    driftlens style content.jpg style.jpg -o styled.png --steps 300
"""

from driftlens.cli._imaging import read_image
from driftlens.cli._options import add_model_arguments, model_from_args, positive_int
from driftlens.io import save_image
from driftlens.style_transfer import DEFAULT_LR, style_transfer


def add_parser(subparsers):
    parser = subparsers.add_parser("style")
    parser.add_argument("content", help="content image file")
    parser.add_argument("style", help="style image file")
    add_model_arguments(parser, default_model="efficientnet_lite0")
    parser.add_argument("--size", type=positive_int,
                        help="longer side of the result in pixels; the content's aspect ratio is kept (default: the "
                             "content image's own size). The style image is scaled to the same longer side")
    parser.add_argument("--steps", type=positive_int, default=200, help="optimiser steps (default: 200)")
    parser.add_argument("--optimizer", choices=list(DEFAULT_LR), default="adam", help="default: adam")
    parser.add_argument("--lr", type=float, help="learning rate (default: 0.02 for adam, 1 for lbfgs)")
    parser.add_argument("--content-layer", help="default: per model")
    parser.add_argument("--style-layers", nargs="+", help="default: per model")
    parser.add_argument("--style-weight", type=float, default=1e5, help="default: 1e5")
    parser.add_argument("--init", choices=["content", "noise"], default="content", help="default: content")
    parser.add_argument("--seed", type=int, default=0, help="default: 0")
    parser.add_argument("-o", "--output", required=True, help="PNG to write")
    parser.set_defaults(func=run)


def run(args):
    model = model_from_args(args)
    content = read_image(args.content, args.size)
    style = read_image(args.style, max(content.shape[1:]))
    styled = style_transfer(model, content, style, steps=args.steps, optimizer=args.optimizer, lr=args.lr,
                            content_layer=args.content_layer, style_layers=args.style_layers,
                            style_weight=args.style_weight, init=args.init, seed=args.seed)
    save_image(styled.permute(1, 2, 0).cpu().numpy(), args.output)
