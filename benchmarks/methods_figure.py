"""The picture in docs/visualisation.md: every method on the same unit of EfficientNet-Lite0, and one accentuation.

    python benchmarks/methods_figure.py -o docs/methods.png
"""

import argparse

import skimage.data
import torch
import torch.nn.functional as F

import driftlens
from driftlens.grids import image_grid
from driftlens.io import save_image
from driftlens.optvis import METHODS, accentuate, visualize
from driftlens.optvis.objectives import class_logit

ZEBRA = 340


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=128)
    parser.add_argument("-o", "--output", default="docs/methods.png")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model = driftlens.models.load("efficientnet_lite0")
    objective = class_logit(ZEBRA)
    images = [visualize(model, [objective], method=method, size=args.size, steps=args.steps, progress=False).images[0]
              for method in METHODS]
    photo = torch.from_numpy(skimage.data.chelsea()[:, 75:375]).permute(2, 0, 1)[None].float() / 255
    photo = F.interpolate(photo, size=(args.size, args.size), mode="bilinear", antialias=True).clamp(0, 1)
    accentuated = accentuate(model, objective, photo, steps=args.steps, progress=False).images[0]
    labels = [*METHODS, "photo", "accentuated"]
    row = [*images, photo[0].permute(1, 2, 0).numpy(), accentuated]
    save_image(image_grid([row], col_labels=labels), args.output)


if __name__ == "__main__":
    main()
