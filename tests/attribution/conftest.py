"""Fixtures for the attribution tests: a hand-built model whose classes are driven by known regions."""

import pytest
import torch
from torch import nn

from driftlens.models import ModelWrapper

RED_BOX = (slice(4, 12), slice(4, 12))      # rows, columns of the red square
BLUE_BOX = (slice(20, 28), slice(18, 26))   # rows, columns of the blue square


class RedBlueNet(nn.Module):
    """Class 0 counts reddish pixels, class 1 bluish ones; grey pixels activate nothing.

    A 3 x 3 convolution computes "redness" (R - (G + B) / 2) and "blueness" (B - (R + G) / 2),
    a bias of -0.2 keeps grey and slightly noisy pixels below zero, then ReLU, global average
    pooling and an identity classifier.
    """

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2, 2)
        with torch.no_grad():
            colour = torch.tensor([[1.0, -0.5, -0.5], [-0.5, -0.5, 1.0]])
            self.conv.weight.copy_(colour[:, :, None, None].expand(2, 3, 3, 3) / 9)
            self.conv.bias.fill_(-0.2)
            self.fc.weight.copy_(torch.eye(2))
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(self.pool(self.relu(self.conv(x))).flatten(1))



@pytest.fixture
def redblue():
    """The hand-built model, wrapped without normalisation (32 px, 2 classes)."""
    return ModelWrapper(RedBlueNet(), "redblue", 32, "fc", mean=(0, 0, 0), std=(1, 1, 1)).eval()


@pytest.fixture
def redblue_image():
    """A grey, slightly noisy 32 px image with a red square top left and a blue one bottom right."""
    image = 0.5 + 0.05 * (2 * torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(1)) - 1)
    image[:, RED_BOX[0], RED_BOX[1]] = torch.tensor([0.9, 0.1, 0.1])[:, None, None]
    image[:, BLUE_BOX[0], BLUE_BOX[1]] = torch.tensor([0.1, 0.1, 0.9])[:, None, None]
    return image


@pytest.fixture
def regions():
    """``regions(margin)``: boolean (32, 32) masks of the red and the blue square, grown by ``margin`` pixels."""

    def masks(margin=0):
        found = []
        for rows, cols in (RED_BOX, BLUE_BOX):
            mask = torch.zeros(32, 32, dtype=torch.bool)
            mask[rows.start - margin:rows.stop + margin, cols.start - margin:cols.stop + margin] = True
            found.append(mask)
        return found

    return masks
