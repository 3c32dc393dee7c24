"""ModelWrapper: a network together with its input size, normalisation and layer names."""

import torch
from torch import nn

from driftlens.errors import ConfigError, OutOfRangeError
from driftlens.models.capture import capture
from driftlens.models.layers import list_layer_paths, resolve_layer
from driftlens.models.modes import eval_mode

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ModelWrapper(nn.Module):
    """A network that takes images in [0, 1] and knows its layers.

    The wrapper normalises its input, so everything upstream (data, feature visualisation) works in
    plain [0, 1] RGB. In-place activations are switched off so that captured layer outputs are never
    overwritten by the layer after them.

    Args:
        net (nn.Module): The network; it receives normalised ``(B, 3, H, W)`` input.
        name (str): A short name used in messages and file names.
        input_size (int): The side of the square input the network was trained at.
        head (str or None): Module path of the final classifier (``fc``, ``classifier.6``); None takes
            the last ``nn.Linear`` of the module tree, or the last ``nn.Conv2d`` if it has none
            (SqueezeNet).
        mean (tuple[float, float, float], optional): Per-channel mean. Default: ImageNet's
        std (tuple[float, float, float], optional): Per-channel std. Default: ImageNet's
        aliases (dict[str, str], optional): Extra names for module paths (``mixed4c`` ->
            ``inception4c``). ``logits`` always names ``head``. Default: None
        prefix_tokens (int, optional): Leading non-patch tokens of a vision transformer's token
            layers, dropped when they are read as maps (:mod:`driftlens.models.tokens`). Default: 0

    Example:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
        >>> model = ModelWrapper(net, "mine", input_size=8, head="3")
        >>> model(torch.rand(1, 3, 8, 8)).shape
        torch.Size([1, 2])
    """

    def __init__(self, net, name, input_size, head, mean=IMAGENET_MEAN, std=IMAGENET_STD, aliases=None,
                 prefix_tokens: int = 0):
        super().__init__()
        self.net = net
        self.name = name
        self.input_size = input_size
        self.head = head or find_head(net)
        self.prefix_tokens = prefix_tokens
        self.aliases = {**(aliases or {}), "logits": self.head}
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        for module in net.modules():
            if getattr(module, "inplace", False):
                module.inplace = False

    def forward(self, x):
        return self.net((x - self.mean) / self.std)

    @property
    def device(self) -> torch.device:
        """The device of the network's parameters."""
        return next(self.net.parameters()).device

    def blocks(self) -> list[str]:
        """The network's blocks: its layers (:func:`~driftlens.models.layers.list_layer_paths`) that hold a
        convolution, in forward order; what the change screen covers with ``screen: {layers: blocks}``.

        Example:
            >>> import driftlens
            >>> driftlens.models.load("tiny", weights="random").blocks()
            ['conv1', 'conv2', 'conv3']
        """
        return [path for path in list_layer_paths(self.net)
                if any(isinstance(m, nn.Conv2d) for m in self.net.get_submodule(path).modules())]

    def resolve(self, layer: str) -> str:
        """Module path of a layer name or alias; raises ``UnknownLayerError`` with close matches.

        Example:
            >>> import driftlens
            >>> driftlens.models.load("googlenet", weights="random").resolve("mixed4c")
            'inception4c'
        """
        paths = [path for path, _ in self.net.named_modules() if path]
        return resolve_layer(layer, self.aliases, paths, self.name)

    def module(self, layer: str) -> nn.Module:
        """The submodule behind a layer name or alias.

        Example:
            >>> import driftlens
            >>> driftlens.models.load("tiny", weights="random").module("logits")
            Linear(in_features=16, out_features=10, bias=True)
        """
        return self.net.get_submodule(self.resolve(layer))

    def layer_names(self) -> list[str]:
        """Layer names in forward order, aliases preferred over module paths.

        Example:
            >>> import driftlens
            >>> driftlens.models.load("tiny", weights="random").layer_names()
            ['conv1', 'conv2', 'conv3', 'pool', 'fc']
        """
        by_path = {path: alias for alias, path in self.aliases.items() if alias != "logits"}
        return [by_path.get(path, path) for path in list_layer_paths(self.net)]

    @property
    def num_classes(self) -> int:
        """Number of outputs of the classifier."""
        head = self.module("logits")
        return head.out_features if isinstance(head, nn.Linear) else head.out_channels

    def class_label(self, index: int) -> str:
        """A class index with its name where the head is an ImageNet-1k classifier (``"285 Egyptian cat"``).

        The 1000 names come with torchvision (its weights' metadata), so nothing is downloaded; another head
        (a fine-tuned task's) gives the index alone.

        Example:
            >>> import driftlens
            >>> driftlens.models.load("efficientnet_lite0").class_label(285)
            '285 Egyptian cat'
        """
        if self.num_classes != 1000:
            return str(index)
        from torchvision.models import ResNet50_Weights

        return f"{index} {ResNet50_Weights.IMAGENET1K_V1.meta['categories'][index]}"

    def replace_head(self, num_classes: int) -> None:
        """Put a fresh linear classifier with ``num_classes`` outputs in place of the old one.

        Example:
            >>> import driftlens
            >>> model = driftlens.models.load("tiny", weights="random")
            >>> model.replace_head(3); model.num_classes
            3
        """
        old = self.module("logits")
        parent_path, _, attr = self.head.rpartition(".")
        parent = self.net.get_submodule(parent_path) if parent_path else self.net
        new = (nn.Linear(old.in_features, num_classes) if isinstance(old, nn.Linear)
               else nn.Conv2d(old.in_channels, num_classes, kernel_size=1))
        setattr(parent, attr, new.to(old.weight.device))

    @torch.no_grad()
    def output_shapes(self, layers=None, size=None) -> dict[str, tuple[int, ...]]:
        """Output shape (without batch) of each layer for one ``size`` x ``size`` input.

        Args:
            layers (list[str], optional): Which layers. Default: all of :meth:`layer_names`
            size (int, optional): Input side. Default: ``input_size``

        Raises:
            ValueError: The network cannot take input of that size (the message says its own).

        Example:
            >>> import driftlens
            >>> driftlens.models.load("tiny", weights="random").output_shapes(["conv3"])
            {'conv3': (16, 8, 8)}
        """
        layers = list(layers or self.layer_names())
        size = size or self.input_size
        try:
            with eval_mode(self), capture(self, layers) as acts:
                self(torch.zeros(1, 3, size, size, device=self.device))
        except (AssertionError, RuntimeError) as err:  # e.g. a ViT built for one input size
            raise ConfigError(f"{self.name} cannot take {size} x {size} px input ({err}); its own size is "
                              f"{self.input_size}") from err
        return {name: tuple(acts[name].shape[1:]) for name in layers if name in acts}

    def check_channel(self, layer: str, channel: int, size=None) -> None:
        """Raise :class:`~driftlens.errors.OutOfRangeError` (an ``IndexError``) if ``channel`` is out of range.

        Example:
            >>> import driftlens
            >>> driftlens.models.load("tiny", weights="random").check_channel("conv1", 3)
        """
        check_channel(self.name, layer, self.output_shapes([layer], size)[layer][0], channel)


def check_channel(model_name: str, layer: str, channels: int, channel: int) -> None:
    """Require ``0 <= channel < channels``; the error names the layer and its channel count.

    Args:
        model_name (str): For the message.
        layer (str): For the message.
        channels (int): The layer's channel count.
        channel (int): The index to check.

    Raises:
        OutOfRangeError: ``channel`` is out of range.

    Example:
        >>> check_channel("tiny", "conv1", 8, 8)
        Traceback (most recent call last):
            ...
        driftlens.errors.OutOfRangeError: channel 8 is out of range for layer 'conv1' of tiny, which has 8 channels (0..7)
    """
    if not 0 <= channel < channels:
        raise OutOfRangeError(f"channel {channel} is out of range for layer {layer!r} of {model_name}, "
                              f"which has {channels} channels (0..{channels - 1})")


def check_top_k(layer: str, channels: int, k: int) -> None:
    """Require ``1 <= k <= channels`` for choosing the ``k`` most active channels of a layer.

    Raises:
        OutOfRangeError: ``k`` is out of range; the message names the layer and its channel count.

    Example:
        >>> check_top_k("conv1", 8, 9)
        Traceback (most recent call last):
            ...
        driftlens.errors.OutOfRangeError: k=9 is not between 1 and the 8 channels of layer 'conv1'
    """
    if not 1 <= k <= channels:
        raise OutOfRangeError(f"k={k} is not between 1 and the {channels} channels of layer {layer!r}")


def find_head(net: nn.Module) -> str:
    """Module path of a network's classifier: its last ``nn.Linear``, else its last ``nn.Conv2d``.

    Raises:
        ConfigError: The network has neither.

    Example:
        >>> find_head(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4, 2)))
        '2'
    """
    for kind in (nn.Linear, nn.Conv2d):
        paths = [path for path, module in net.named_modules() if isinstance(module, kind)]
        if paths:
            return paths[-1]
    raise ConfigError(f"{type(net).__name__} has no nn.Linear or nn.Conv2d classifier to use as its head")
