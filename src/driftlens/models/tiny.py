"""A tiny convolutional network for tests and quick experiments."""

from torch import nn


class ConvBlock(nn.Sequential):
    """Convolution, batch norm and ReLU, listed as one layer."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, stride=stride), nn.BatchNorm2d(cout), nn.ReLU())


class TinyCNN(nn.Module):
    """Three convolutions and a linear head; 32 px input, about 6 k parameters.

    Args:
        num_classes (int, optional): Size of the output layer. Default: 10

    Example:
        >>> import torch
        >>> TinyCNN(num_classes=4)(torch.zeros(1, 3, 32, 32)).shape
        torch.Size([1, 4])
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = ConvBlock(3, 8)
        self.conv2 = ConvBlock(8, 16, stride=2)
        self.conv3 = ConvBlock(16, 16, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        x = self.conv3(self.conv2(self.conv1(x)))
        return self.fc(self.pool(x).flatten(1))
